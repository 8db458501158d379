"""Presets: the sampling settings the authors' public LayerTracer LoRAs were trained and released with.

A LoRA draws well only at the grid layout, canvas and prompt wording it was trained on, so a preset bundles them;
explicit flags or manifest fields still override each value. Source: the authors' released inference code
(showlab/LayerTracer: scripts/text2sequence.sh, Inference_text2sequence.py, layertracer_icon_9grid.py,
layertracer_emoji_4grid.py, Inference_image2sequence.py). Pure data: importable without torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from layertracer.errors import UserError
from layertracer.grid import Order


@dataclass(frozen=True)
class KindSettings:
    """Canvas and schedule for one row kind: text -> grid, or Image2Layers."""

    cell_px: int
    steps: int
    guidance: float


@dataclass(frozen=True)
class Preset:
    """One released LoRA's setup. Image2Layers rows pin the reference clean (`reference`), as the authors' code."""

    name: str
    lora: str  # the authors' file name, for the help text
    frames: int
    order: Order
    template: str
    text: KindSettings
    image: KindSettings
    reference: str = "clean"

    def for_kind(self, kind: str) -> KindSettings:
        return self.text if kind == "text" else self.image

    def describe(self) -> str:
        side = 2 if self.frames == 4 else 3
        return (
            f"{self.name}: {self.lora}, {side}x{side} {self.order}, {self.text.cell_px * side} px, "
            f"{self.text.steps} steps, guidance {self.text.guidance}"
        )


PRESETS: dict[str, Preset] = {
    "icon9": Preset(
        name="icon9",
        lora="flux_lora_icon_blackline",
        frames=9,
        order="rowmajor",  # layertracer_icon_9grid.py reads cells TL, TC, TR, ML, ... BR
        template="sks, This is a nine square grid image that describes the process of creating SVG icon images, "
        "{prompt}",
        text=KindSettings(cell_px=256, steps=25, guidance=3.5),  # text2sequence.sh: 768 x 768, 25 steps; 3.5 default
        image=KindSettings(cell_px=352, steps=20, guidance=1.0),  # the recraft setup: 1056 x 1056, 20 steps
    ),
    "emoji4": Preset(
        name="emoji4",
        lora="flux_lora_emoji",
        frames=4,
        order="serpentine",  # layertracer_emoji_4grid.py reads cells TL, TR, BR, BL
        template="sks, This is a four square grid image that describes the process of creating SVG emoji images, "
        "{prompt}",
        text=KindSettings(cell_px=512, steps=25, guidance=3.5),  # 1024 x 1024
        image=KindSettings(cell_px=512, steps=20, guidance=1.0),  # no released emoji recraft LoRA: our defaults
    ),
}
PRESET_NAMES: tuple[str, ...] = tuple(PRESETS)


def get_preset(name: str | None) -> Preset | None:
    """The preset called `name` (None -> None); UserError naming the choices for an unknown one."""
    if name is None:
        return None
    if name not in PRESETS:
        raise UserError(f"unknown preset {name!r} (choices: {', '.join(PRESET_NAMES)})")
    return PRESETS[name]
