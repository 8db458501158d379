"""One SVG file -> one training example: the creation grid (PNG), its caption and what it was made of.

A pure function of the file's bytes and the options, so a test or a Ray task calls it the same way; a bad file
becomes a row with status="error" and a one-line reason, never an exception.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field

import numpy as np

from layertracer.dataset.captions import CaptionOptions, describe, description_from_name
from layertracer.dataset.sanitize import ParsedSvg, SvgError, SvgLimits, parse_svg
from layertracer.dataset.steps import balanced_cuts, step_ranges, unit_weights
from layertracer.dataset.svgdoc import cell_document, drawable_units
from layertracer.errors import UserError
from layertracer.grid import DEFAULT_CELL_PX, GridSpec, compose_grid
from layertracer.images import encode_png
from layertracer.metrics import render_svg

# Visual change is measured on small renders; more units than this are weighed in consecutive blocks.
MAX_WEIGHED_BLOCKS = 256
CHANGED_LEVEL = 8  # a pixel counts as changed when a channel moves by more than this (of 255): not AA noise


@dataclass(frozen=True)
class DatasetOptions:
    """How SVGs become creation grids. `cell_px` None takes the paper's size (512 px for 4 frames, 352 for 9)."""

    frames: int = 4
    order: str = "serpentine"
    cell_px: int | None = None
    margin: float = 0.06
    count_weight: float = 0.25
    weigh_px: int = 128
    max_units: int = 5000
    limits: SvgLimits = field(default_factory=SvgLimits)
    captions: CaptionOptions = field(default_factory=CaptionOptions)

    def __post_init__(self) -> None:
        GridSpec(self.frames, self.order)  # validates frames and order
        if not 0 <= self.margin < 0.5:
            raise UserError(f"margin must be in [0, 0.5), got {self.margin}")
        if not 0 <= self.count_weight <= 1:
            raise UserError(f"count_weight must be in [0, 1], got {self.count_weight}")
        if self.cell_px is not None and self.cell_px < 16:
            raise UserError(f"cell size must be at least 16 px, got {self.cell_px}")

    @property
    def spec(self) -> GridSpec:
        return GridSpec(self.frames, self.order)  # type: ignore[arg-type]

    @property
    def cell(self) -> int:
        return self.cell_px or DEFAULT_CELL_PX[self.frames]


@dataclass(frozen=True)
class CreationFrames:
    """The cumulative frames of one icon and the unit range [start, end) each step added."""

    frames: list[np.ndarray]
    steps: list[tuple[int, int]]
    n_units: int


def creation_frames(svg: ParsedSvg, options: DatasetOptions, name: str = "svg") -> CreationFrames:
    """Split the icon's units into steps and render the state after each step, on white."""
    units = drawable_units(svg, options.frames)
    if not units:
        raise SvgError(f"{name}: no drawable elements")
    if len(units) > options.max_units:
        raise SvgError(f"{name}: {len(units)} top-level shapes exceeds the limit of {options.max_units}")
    block = math.ceil(len(units) / MAX_WEIGHED_BLOCKS)
    block_ends = list(range(block, len(units), block)) + [len(units)]
    change = _visual_change(svg, units, block_ends, options, name)
    block_cuts = balanced_cuts(unit_weights(change, options.count_weight), options.frames)
    cuts = [block_ends[c - 1] if c else 0 for c in block_cuts]
    frames: list[np.ndarray] = []
    for k, cut in enumerate(cuts):
        if k and cut == cuts[k - 1]:
            frames.append(frames[-1])  # a repeated state renders the same
            continue
        frames.append(_render(svg, units[cut:], options.cell, options.margin, name))
    return CreationFrames(frames=frames, steps=step_ranges(cuts), n_units=len(units))


def _visual_change(svg, units, block_ends, options: DatasetOptions, name: str) -> list[float]:
    """Fraction of pixels each block of units changes, on small cumulative renders."""
    previous = np.full((options.weigh_px, options.weigh_px, 3), 255, np.uint8)
    change = []
    for end in block_ends:
        state = _render(svg, units[end:], options.weigh_px, options.margin, name)
        diff = np.abs(state.astype(np.int16) - previous.astype(np.int16)).max(axis=2)
        change.append(float(np.mean(diff > CHANGED_LEVEL)))
        previous = state
    return change


def _render(svg: ParsedSvg, hidden_units, cell_px: int, margin: float, name: str) -> np.ndarray:
    document = cell_document(svg, frozenset(map(id, hidden_units)), cell_px, margin)
    try:
        return render_svg(document, cell_px, cell_px)
    except Exception as exc:  # resvg raises plain exceptions for documents it cannot draw
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SvgError(f"{name}: cannot render ({reason})") from exc


def build_example(
    data: bytes, source: str, options: DatasetOptions, example_id: str, sidecar: str | None = None
) -> dict:
    """One dataset row (see `ROW_SCHEMA` in dataset.job) for one SVG file's bytes; never raises a UserError."""
    row = empty_row(source, example_id, options)
    row["svg_bytes"] = len(data)
    try:
        svg = parse_svg(data, options.limits, name=source)
        made = creation_frames(svg, options, name=source)
        final = made.frames[-1]
        if final.min() == 255:
            raise SvgError(f"{source}: renders as a blank (white) image")
        grid = compose_grid(made.frames, options.spec)
        description = describe(source, svg, sidecar)
    except UserError as exc:
        row["error"] = str(exc)
        return row
    row.update(
        status="ok",
        description=description,
        caption=options.captions.caption(description, options.frames),
        grid_png=encode_png(grid),
        grid_px=int(grid.shape[0]),
        n_elements=made.n_units,
        steps=json.dumps(made.steps),
        final_sha256=hashlib.sha256(np.ascontiguousarray(final).tobytes()).hexdigest(),
    )
    return row


def empty_row(source: str, example_id: str, options: DatasetOptions) -> dict:
    """An error row, to be filled in: every row has every column."""
    description = description_from_name(source)
    return {
        "id": example_id,
        "source": source,
        "status": "error",
        "error": None,
        "frames": options.frames,
        "order": options.order,
        "description": description,
        "caption": options.captions.caption(description, options.frames),
        "grid_png": None,
        "grid_px": None,
        "n_elements": None,
        "steps": None,
        "final_sha256": None,
        "duplicate_of": None,
        "svg_bytes": None,
    }
