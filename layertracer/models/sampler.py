"""FluxSampler: load once, sample many rows in batches, and turn every failure into that row's error.

A row (`SampleRequest`) leaves any setting unset; it is resolved (`settings_for`) from the row's preset, else the
sampler's, else the built-in defaults, into the `GridSettings` its grid is drawn with (returned in its
`SampleResult`). Rows are grouped by kind and resolved settings and run in chunks of `max_batch`. A bad row (no
prompt, unreadable image array, bad settings) fails alone; a failing chunk fails its rows only; a chunk that runs
out of GPU memory is retried one row at a time.
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
from layertracer.models.denoise import GridSettings
from layertracer.models.latents import grid_canvas_px
from layertracer.models.loading import ModelConfig, Reference, load_pipeline, reference_override
from layertracer.models.presets import get_preset
from layertracer.models.prompts import DEFAULT_PROMPT_TEMPLATE, check_template, format_prompt
from layertracer.seeds import MAX_SEED

if TYPE_CHECKING:
    from diffusers import FluxPipeline

Kind = Literal["text", "image"]
MAX_STEPS = 200
MAX_CANVAS_PX = 2048  # FLUX.1 is trained up to ~2 megapixels


@dataclass(frozen=True, eq=False)
class SampleRequest:
    """One row to sample: a text prompt, or a reference image (HxWx3|4 uint8) for Image2Layers.

    Unset (None) settings come from `preset` (a name in `models.presets`), else the sampler's preset, else the
    defaults (9 frames, serpentine, the paper's steps and guidance, `DEFAULT_PROMPT_TEMPLATE`).
    """

    kind: Kind
    prompt: str | None = None
    image: np.ndarray | None = None
    frames: int | None = None
    seed: int = 0
    steps: int | None = None
    guidance: float | None = None
    cell_px: int | None = None
    order: str | None = None
    template: str | None = None
    preset: str | None = None


@dataclass(frozen=True)
class SampleResult:
    """A grid (HxWx3 uint8, frames laid out in `settings.order`) or an error; sample_s is this row's share of its
    batch. `settings`: what the grid was drawn with (None when the row failed before sampling).

    `note` says what was done to the row without failing it (a prompt cut to the text encoder's limit).
    """

    grid: np.ndarray | None
    sample_s: float
    error: str | None = None
    note: str | None = None
    settings: GridSettings | None = None


class FluxSampler:
    """Holds one loaded FluxPipeline (per process / Ray actor) and samples lists of requests."""

    def __init__(
        self,
        config: ModelConfig,
        max_batch: int = 4,
        prompt_template: str | None = None,
        show_progress: bool = False,
        pipe: FluxPipeline | None = None,
    ) -> None:
        """`prompt_template`: overrides every row's preset template (None: the preset's, else the default).
        `pipe`: an already-built pipeline to use instead of loading `config` (benchmarks, training previews)."""
        if max_batch < 1:
            raise UserError(f"batch size must be at least 1, got {max_batch}")
        if prompt_template is not None:
            check_template(prompt_template)
        get_preset(config.preset)  # an unknown name fails before the model loads
        self.config = config
        self.max_batch = max_batch
        self.prompt_template = prompt_template
        self.pipe = load_pipeline(config) if pipe is None else pipe
        self.reference = reference_override(config)
        self.pipe.set_progress_bar_config(disable=not show_progress, leave=False)

    def settings_for(self, request: SampleRequest) -> GridSettings:
        """The request's settings with this sampler's preset, template and Image2Layers reference as defaults."""
        return settings_for(request, self.config.preset, self.prompt_template, self.reference)

    def sample(self, requests: Sequence[SampleRequest]) -> list[SampleResult]:
        """One result per request, in order; never raises for a bad row."""
        results: list[SampleResult | None] = [None] * len(requests)
        groups: dict[tuple[str, GridSettings], list[int]] = {}
        for i, request in enumerate(requests):
            try:
                groups.setdefault((request.kind, self.settings_for(request)), []).append(i)
            except UserError as exc:
                results[i] = SampleResult(None, 0.0, str(exc))
        for (kind, settings), rows in groups.items():
            for start in range(0, len(rows), self.max_batch):
                chunk = rows[start : start + self.max_batch]
                for i, result in zip(chunk, self._sample_chunk(kind, settings, [requests[i] for i in chunk])):
                    results[i] = result
        return results  # type: ignore[return-value]

    def _sample_chunk(self, kind: str, settings: GridSettings, rows: list[SampleRequest]) -> list[SampleResult]:
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
        notes = [self._prompt_note(row, settings) for row in rows]
        return [SampleResult(grid, share, None, note, settings) for grid, note in zip(grids, notes)]

    def _prompt_note(self, row: SampleRequest, settings: GridSettings) -> str | None:
        """A note when the prompt (with its template) is longer than T5 reads: the rest is silently cut."""
        if not row.prompt:
            return None
        from layertracer.models.denoise import MAX_SEQUENCE_LENGTH

        text = format_prompt(row.prompt, settings.frames, settings.template)
        tokens = len(self.pipe.tokenizer_2(text, truncation=False).input_ids)
        if tokens <= MAX_SEQUENCE_LENGTH:
            return None
        return f"prompt truncated to {MAX_SEQUENCE_LENGTH} of its {tokens} T5 tokens"

    def _run(self, kind: str, settings: GridSettings, rows: list[SampleRequest]) -> list[np.ndarray]:
        seeds = [row.seed for row in rows]
        if kind == "text":
            from layertracer.models.denoise import sample_text_grids

            prompts = [row.prompt or "" for row in rows]
            return sample_text_grids(self.pipe, prompts, seeds, settings)
        from layertracer.models.image2layers import sample_image2layers

        images = [row.image for row in rows]
        prompts = [row.prompt for row in rows]
        return sample_image2layers(self.pipe, images, prompts, seeds, settings)  # type: ignore[arg-type]


def settings_for(
    request: SampleRequest,
    preset: str | None = None,
    template: str | None = None,
    reference: Reference | None = None,
) -> GridSettings:
    """Validate a request and resolve its settings: the request's own, else its preset's (else `preset`'s), else
    the defaults for its kind. `template` overrides any preset's; `reference` (None: the preset's, else noised)
    is how Image2Layers pins the last cell. UserError names what is wrong."""
    kind = request.kind
    if kind not in DEFAULT_STEPS:
        raise UserError(f"kind must be 'text' or 'image', got {kind!r}")
    if kind == "text" and not (isinstance(request.prompt, str) and request.prompt.strip()):
        raise UserError("text row needs a non-empty prompt")
    if kind == "image":
        _check_image(request.image)
    chosen = get_preset(request.preset or preset)
    trained = chosen.for_kind(kind) if chosen else None
    frames = request.frames if request.frames is not None else chosen.frames if chosen else 9
    if chosen and frames != chosen.frames:
        raise UserError(f"preset {chosen.name} draws {chosen.frames} frames; this row asks for {frames}")
    spec = GridSpec(frames=frames, order=request.order or (chosen.order if chosen else "serpentine"))
    template = request.template or template or (chosen.template if chosen else DEFAULT_PROMPT_TEMPLATE)
    check_template(template)
    steps = request.steps if request.steps is not None else trained.steps if trained else DEFAULT_STEPS[kind]
    guidance = request.guidance if request.guidance is not None else (
        trained.guidance if trained else DEFAULT_GUIDANCE[kind]
    )
    guidance = float(guidance)
    if not isinstance(steps, (int, np.integer)) or not 1 <= steps <= MAX_STEPS:
        raise UserError(f"steps must be an integer from 1 to {MAX_STEPS}, got {steps!r}")
    if not math.isfinite(guidance) or guidance < 0:
        raise UserError(f"guidance must be a finite number >= 0, got {guidance!r}")
    if not isinstance(request.seed, (int, np.integer)) or not 0 <= request.seed <= MAX_SEED:
        raise UserError(f"seed must be an integer from 0 to 2**63-1, got {request.seed!r}")
    canvas = grid_canvas_px(spec, request.cell_px if request.cell_px is not None else trained and trained.cell_px)
    if canvas > MAX_CANVAS_PX:
        raise UserError(f"grid of {canvas} px exceeds {MAX_CANVAS_PX} px; use smaller cells")
    return GridSettings(
        frames=spec.frames, cell_px=canvas // spec.side, steps=int(steps), guidance=guidance, order=spec.order,
        template=template, reference=reference or (chosen.reference if chosen else "noised"),  # type: ignore[arg-type]
    )


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
