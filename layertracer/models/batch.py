"""FluxSampler: load once, sample many rows in batches, and turn every failure into that row's error.

Rows are grouped by what must match inside one pipeline call (kind, frames, cell size, steps, guidance) and run
in chunks of `max_batch`. A bad row (no prompt, unreadable image array, bad settings) fails alone; a failing chunk
fails its rows only; a chunk that runs out of GPU memory is retried one row at a time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from layertracer.errors import UserError, error_line
from layertracer.grid import GridSpec
from layertracer.models.defaults import DEFAULT_GUIDANCE, DEFAULT_STEPS
from layertracer.models.latents import grid_canvas_px
from layertracer.models.loading import ModelConfig, image2layers_reference, load_pipeline
from layertracer.models.prompts import DEFAULT_PROMPT_TEMPLATE, check_template, format_prompt
from layertracer.models.sampler import SampleSettings

if TYPE_CHECKING:
    from diffusers import FluxPipeline

Kind = Literal["text", "image"]
MAX_STEPS = 200
MAX_CANVAS_PX = 2048  # FLUX.1 is trained up to ~2 megapixels
MAX_SEED = 2**63 - 1  # fits the index's int64 column


@dataclass(frozen=True, eq=False)
class SampleRequest:
    """One row to sample: a text prompt, or a reference image (HxWx3|4 uint8) for Image2Layers."""

    kind: Kind
    prompt: str | None = None
    image: np.ndarray | None = None
    frames: int = 9
    seed: int = 0
    steps: int | None = None
    guidance: float | None = None
    cell_px: int | None = None


@dataclass(frozen=True)
class SampleResult:
    """A grid (HxWx3 uint8, frames in serpentine order) or an error; sample_s is this row's share of its batch.

    `note` says what was done to the row without failing it (a prompt cut to the text encoder's limit).
    """

    grid: np.ndarray | None
    sample_s: float
    error: str | None = None
    note: str | None = None


class FluxSampler:
    """Holds one loaded FluxPipeline (per process / Ray actor) and samples lists of requests."""

    def __init__(
        self,
        config: ModelConfig,
        max_batch: int = 4,
        prompt_template: str = DEFAULT_PROMPT_TEMPLATE,
        show_progress: bool = False,
        pipe: FluxPipeline | None = None,
    ) -> None:
        """`pipe`: an already-built pipeline to use instead of loading `config` (benchmarks, training previews)."""
        if max_batch < 1:
            raise UserError(f"batch size must be at least 1, got {max_batch}")
        check_template(prompt_template)
        self.config = config
        self.max_batch = max_batch
        self.prompt_template = prompt_template
        self.pipe = load_pipeline(config) if pipe is None else pipe
        self.reference = image2layers_reference(config)
        self.pipe.set_progress_bar_config(disable=not show_progress, leave=False)

    def sample(self, requests: Sequence[SampleRequest]) -> list[SampleResult]:
        """One result per request, in order; never raises for a bad row."""
        results: list[SampleResult | None] = [None] * len(requests)
        groups: dict[tuple[str, SampleSettings], list[int]] = {}
        for i, request in enumerate(requests):
            try:
                groups.setdefault((request.kind, settings_for(request)), []).append(i)
            except UserError as exc:
                results[i] = SampleResult(None, 0.0, str(exc))
        for (kind, settings), rows in groups.items():
            for start in range(0, len(rows), self.max_batch):
                chunk = rows[start : start + self.max_batch]
                for i, result in zip(chunk, self._sample_chunk(kind, settings, [requests[i] for i in chunk])):
                    results[i] = result
        return results  # type: ignore[return-value]

    def _sample_chunk(self, kind: str, settings: SampleSettings, rows: list[SampleRequest]) -> list[SampleResult]:
        import torch

        started = time.perf_counter()
        try:
            grids = self._run(kind, settings, rows)
        except torch.cuda.OutOfMemoryError:
            if len(rows) == 1:
                return [SampleResult(None, time.perf_counter() - started, "out of GPU memory for one grid")]
            _free_memory()
            return [self._sample_chunk(kind, settings, [row])[0] for row in rows]
        except Exception as exc:  # one chunk's failure must not end the job: its rows carry the message
            message = f"sampling failed: {type(exc).__name__}: {error_line(exc)}"
            return [SampleResult(None, (time.perf_counter() - started) / len(rows), message) for _ in rows]
        share = (time.perf_counter() - started) / len(rows)
        return [SampleResult(grid, share, None, self._prompt_note(row)) for grid, row in zip(grids, rows)]

    def _prompt_note(self, row: SampleRequest) -> str | None:
        """A note when the prompt (with its template) is longer than T5 reads: the rest is silently cut."""
        if not row.prompt:
            return None
        from layertracer.models.sampler import MAX_SEQUENCE_LENGTH

        text = format_prompt(row.prompt, row.frames, self.prompt_template)
        tokens = len(self.pipe.tokenizer_2(text, truncation=False).input_ids)
        if tokens <= MAX_SEQUENCE_LENGTH:
            return None
        return f"prompt truncated to {MAX_SEQUENCE_LENGTH} of its {tokens} T5 tokens"

    def _run(self, kind: str, settings: SampleSettings, rows: list[SampleRequest]) -> list[np.ndarray]:
        seeds = [row.seed for row in rows]
        if kind == "text":
            from layertracer.models.sampler import sample_text_grids

            prompts = [row.prompt or "" for row in rows]
            return sample_text_grids(self.pipe, prompts, seeds, settings, self.prompt_template)
        from layertracer.models.image2layers import sample_image2layers

        images = [row.image for row in rows]
        prompts = [row.prompt for row in rows]
        return sample_image2layers(
            self.pipe, images, prompts, seeds, settings, self.prompt_template, self.reference  # type: ignore[arg-type]
        )


def settings_for(request: SampleRequest) -> SampleSettings:
    """Validate a request and fill in the defaults for its kind; UserError names what is wrong."""
    kind = request.kind
    if kind not in DEFAULT_STEPS:
        raise UserError(f"kind must be 'text' or 'image', got {kind!r}")
    if kind == "text" and not (isinstance(request.prompt, str) and request.prompt.strip()):
        raise UserError("text row needs a non-empty prompt")
    if kind == "image":
        _check_image(request.image)
    spec = GridSpec(frames=request.frames)
    steps = DEFAULT_STEPS[kind] if request.steps is None else request.steps
    guidance = DEFAULT_GUIDANCE[kind] if request.guidance is None else float(request.guidance)
    if not isinstance(steps, (int, np.integer)) or not 1 <= steps <= MAX_STEPS:
        raise UserError(f"steps must be an integer from 1 to {MAX_STEPS}, got {steps!r}")
    if not math.isfinite(guidance) or guidance < 0:
        raise UserError(f"guidance must be a finite number >= 0, got {guidance!r}")
    if not isinstance(request.seed, (int, np.integer)) or not 0 <= request.seed <= MAX_SEED:
        raise UserError(f"seed must be an integer from 0 to 2**63-1, got {request.seed!r}")
    canvas = grid_canvas_px(spec, request.cell_px)
    if canvas > MAX_CANVAS_PX:
        raise UserError(f"grid of {canvas} px exceeds {MAX_CANVAS_PX} px; use smaller cells")
    return SampleSettings(frames=spec.frames, cell_px=canvas // spec.side, steps=int(steps), guidance=guidance)


def _check_image(image: object) -> None:
    if not isinstance(image, np.ndarray):
        raise UserError("image row needs a decoded image array")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4) or min(image.shape[:2]) < 1:
        raise UserError(f"image must be HxWx3 or HxWx4 uint8, got {image.dtype} array of shape {image.shape}")


def _free_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
