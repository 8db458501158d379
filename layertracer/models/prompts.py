"""Prompt templates carrying the LoRA trigger: one place, shared by sampling and by training-caption writing.

A LoRA only answers to the wording it was trained with, so the template must match the LoRA's training captions.
Placeholders: {prompt} (the subject; required), {frames} (4 or 9), {side} (2 or 3).
"""

from __future__ import annotations

from layertracer.errors import UserError
from layertracer.grid import GridSpec

DEFAULT_PROMPT_TEMPLATE = (
    "sks, a {side}x{side} grid of {frames} frames showing the step-by-step creation process of a flat vector icon, "
    "from the first shapes to the finished design: {prompt}"
)
# Image2Layers rows may come without a description; the last frame is then the reference itself.
IMAGE_SUBJECT = "the icon shown in the last frame"


def format_prompt(prompt: str, frames: int, template: str = DEFAULT_PROMPT_TEMPLATE) -> str:
    """The full prompt for a subject and a grid size."""
    check_template(template)
    spec = GridSpec(frames=frames)
    return template.format(prompt=prompt.strip(), frames=spec.frames, side=spec.side)


def check_template(template: str) -> None:
    """A template must contain {prompt} and no placeholder other than {prompt}, {frames}, {side}."""
    if "{prompt}" not in template:
        raise UserError("prompt template must contain {prompt}")
    try:
        template.format(prompt="", frames=9, side=3)
    except (KeyError, IndexError, ValueError) as exc:
        raise UserError(f"prompt template has an unknown placeholder or stray brace: {exc}") from None
