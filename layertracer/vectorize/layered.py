"""Layer-wise vectorization: creation frames in, one SVG layer per step out.

Frames are aligned and their backgrounds normalised; step 1 traces what the first frame drew, step K what
frame K changed against frame K-1 (added, recoloured or erased: all are repainted, so no stale colour
survives); regions that later steps repaint entirely are dropped, since nobody would see them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np

from layertracer.errors import GridError
from layertracer.grid import GridSpec, split_grid
from layertracer.images import pixel_block
from layertracer.opencv import single_threaded
from layertracer.vectorize.coverage import StepCrop, crop_step, layer_raster
from layertracer.vectorize.edges import FIELD_MARGIN_PX, snap_paths
from layertracer.vectorize.masks import (
    MaskOptions,
    align_frames,
    change_masks,
    drop_covered,
    foreground_mask,
    normalize_backgrounds,
    paper_color,
)
from layertracer.vectorize.noise import denoise, frame_noise, noise_tolerance
from layertracer.vectorize.svg import layered_svg
from layertracer.vectorize.trace import Path, VtracerSettings, trace_fills
from layertracer.vectorize.workers import map_in_workers

# Images decomposed without a model are traced on at least this many pixels along their long side, so a small
# raster gets the sub-pixel edges a larger one has (see `TraceOptions`): a 512 px icon at 1x sets the budget.
TRACE_BUDGET_PX = 512


@dataclass(frozen=True)
class TraceOptions:
    """How frames become layers.

    `keep_background` keeps the first frame's background in layer 1. `drop_covered` skips regions that
    later steps repaint entirely: smaller files with the same final render, but layers 1..K then no longer
    show frame K (the layered-SVG contract), so it is off by default.

    `upscale`: frames are traced at this multiple of their size, so an edge sits where its anti-aliasing puts
    it, to a fraction of a pixel; vtracer's time grows with the square. `exact_upscale` replaces it for exact
    frames (`for_exact_frames`, the model-free path). Either may be None: the largest integer multiple that
    traces the frames' long side within `TRACE_BUDGET_PX` (at least 1). That is exact frames' default: an image
    of 512 px or more is traced at 1x, where snapping does most of what 2x would, and a smaller one costs at
    most what a 512 px icon does (a 64 px icon: 8x) for its edges' sake, where 1x would leave it polygonal.
    Exact frames of pixel art (`images.pixel_block`) are traced at 2x at least (see `vectorize_frames`).
    `snap_edges` moves each traced outline onto the 0.5 iso-line of its coverage (edges.py): far closer edges at
    any upscale for a quarter to a third more time; off, outlines stay on the (upscaled) pixel grid.
    """

    keep_background: bool = False
    upscale: int | None = 2
    exact_upscale: int | None = None
    drop_covered: bool = False
    masks: MaskOptions = field(default_factory=MaskOptions)
    vtracer: VtracerSettings = field(default_factory=VtracerSettings)
    workers: int = 1
    snap_edges: bool = True

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if any(up is not None and up < 1 for up in (self.upscale, self.exact_upscale)):
            raise ValueError(f"upscale must be at least 1, got {self.upscale} and {self.exact_upscale}")

    def with_upscale(self, upscale: int | None) -> TraceOptions:
        """These options tracing every kind of frame at `upscale`."""
        return replace(self, upscale=upscale, exact_upscale=upscale)

    def for_exact_frames(self) -> TraceOptions:
        """These options for frames rendered from one drawing, like the decomposer's (see `MaskOptions.exact`)."""
        return replace(self, masks=replace(self.masks, exact=True), upscale=self.exact_upscale)

    def upscale_for(self, width: int, height: int) -> int:
        """The multiple that frames of width x height pixels are traced at."""
        return self.upscale or max(1, TRACE_BUDGET_PX // max(width, height))


@dataclass(frozen=True)
class LayeredSVG:
    """A layered SVG and the figures the index records about it."""

    svg: str
    width: int
    height: int
    n_layers: int
    n_paths: int


def check_frames(frames: Sequence[np.ndarray]) -> None:
    if len(frames) == 0:
        raise GridError("no frames to vectorize")
    shapes = {f.shape[:2] for f in frames}
    if len(shapes) != 1:
        raise GridError(f"frames differ in size: {sorted(shapes)}")
    for frame in frames:
        if frame.ndim != 3 or frame.shape[2] not in (3, 4) or frame.dtype != np.uint8:
            raise GridError(f"frames must be HxWx3 or HxWx4 uint8 arrays, got {frame.dtype} {frame.shape}")
    height, width = frames[0].shape[:2]
    if min(height, width) < 8:
        raise GridError(f"frames of {width}x{height} px are too small to trace")


def prepare_frames(frames: Sequence[np.ndarray], options: MaskOptions) -> list[np.ndarray]:
    """Frames with one background shade and one channel layout, moved onto the last frame's position."""
    if any(f.shape[-1] == 4 for f in frames):
        frames = [f if f.shape[-1] == 4 else np.dstack([f, np.full(f.shape[:2], 255, np.uint8)]) for f in frames]
    if options.exact:
        return list(frames)
    return align_frames(normalize_backgrounds(frames, options.background_tolerance), options.max_align_px)


def step_masks(frames: Sequence[np.ndarray], options: TraceOptions) -> Iterator[np.ndarray]:
    """One mask per step of prepared frames: what it drew (step 1) or changed (later steps)."""
    if options.keep_background:
        first = np.ones(frames[0].shape[:2], bool)
    else:
        first = foreground_mask(frames[0], options.masks)
    if options.drop_covered:
        yield from drop_covered([first, *change_masks(frames, options.masks)])
    else:
        yield first
        yield from change_masks(frames, options.masks)


def trace_step(step: StepCrop | None, upscale: int, settings: VtracerSettings, snap_edges: bool = True) -> list[Path]:
    """One step's paths (none if it changed nothing visible): its colours cleaned, then traced one by one,
    and (`snap_edges`) their nodes moved onto the edges' sub-pixel positions (see edges.py)."""
    raster = None if step is None else layer_raster(step, upscale)
    if raster is None:
        return []
    fills = trace_fills(raster, upscale, settings)
    if not snap_edges or raster.cover is None:
        return [path for _, paths in fills for path in paths]
    # What a fill reaches under (see stacked_regions): the fills drawn after it, except translucent ones and those
    # vtracer dropped whole as specks (they hide nothing: the white inside a small ring stays a hole of the ring).
    hiding = [[r for r, traced in fills[k + 1 :] if traced and r not in raster.opacities] for k in range(len(fills))]
    groups = [(paths, raster.cover.of(row, later, FIELD_MARGIN_PX)) for (row, paths), later in zip(fills, hiding)]
    return snap_paths(groups, upscale, settings.corner_threshold)


def _box_area(step: StepCrop | None) -> int:
    """What a step costs to trace, roughly: its box's area."""
    return 0 if step is None else step.changed.size


@single_threaded
def vectorize_frames(
    frames: Sequence[np.ndarray], options: TraceOptions = TraceOptions(), size: tuple[int, int] | None = None,
    box: tuple[float, float, float, float] | None = None,
) -> LayeredSVG:
    """Creation frames (creation order, equal sizes, uint8 RGB/RGBA) -> layered SVG whose render is the last frame.

    `box` (x, y, width, height in frame pixels): the part of the frames the SVG shows, by default all of them (an
    Image2Layers cell shows its reference where `grid.square_frame` put it). `size` (width, height): the SVG's
    size in pixels, by default the box's; an image decomposed smaller than it came (`DecomposeOptions.trace_px`)
    keeps its own size, its traced coordinates in the viewBox.
    """
    check_frames(frames)
    if size is not None and min(size) < 1:
        raise GridError(f"an SVG size must be positive, got {size}")
    if box is not None and min(box[2:]) <= 0:
        raise GridError(f"an SVG's view box must have a positive size, got {box}")
    prepared = prepare_frames([np.ascontiguousarray(f) for f in frames], options.masks)
    sigma = 0.0 if options.masks.exact else frame_noise(prepared)
    if sigma > 0:
        # Noisy frames (a model's grid): fills flattened before colours are read, and the frame diff forgives
        # what the noise explains. Clean frames measure 0 and pass untouched.
        prepared = [denoise(frame, sigma) for frame in prepared]
        tolerance = max(options.masks.color_tolerance, noise_tolerance(sigma))
        options = replace(options, masks=replace(options.masks, color_tolerance=tolerance))
    # Each step is what its frame shows over the frame before (step 1: over the bare background), so a
    # recoloured region is traced in its new colour and its edges blend against what lies beneath.
    if prepared[0].shape[-1] == 3:
        paper = paper_color(prepared[-1], options.masks)
        canvas = np.empty_like(prepared[0])
        canvas[...] = 255 if paper is None else paper.astype(np.uint8)
    else:
        canvas = np.zeros_like(prepared[0])

    def steps() -> Iterator[StepCrop | None]:
        # Lazy, so that with workers > 1 a step is traced while the next frames are diffed.
        masks = step_masks(prepared, options)
        for k, (under, over, mask) in enumerate(zip([canvas] + prepared[:-1], prepared, masks)):
            yield crop_step(under, over, mask, base=k == 0, exact=options.masks.exact)

    height, width = prepared[-1].shape[:2]
    upscale = options.upscale_for(width, height)
    if options.masks.exact and options.upscale is None and pixel_block(prepared[-1]) > 1:
        # Pixel art: each fill reaches a pixel under the fills drawn after it, and on a long block edge vtracer
        # straightens that one-pixel step away by moving the whole edge out a pixel. At 2x the step is half a
        # frame pixel and snapping brings the edge back onto the block grid.
        upscale = max(upscale, 2)
    trace = partial(trace_step, upscale=upscale, settings=options.vtracer, snap_edges=options.snap_edges)
    layers = map_in_workers(trace, steps(), options.workers, cost=_box_area)
    box = box or (0, 0, width, height)
    size = size or (max(1, round(box[2])), max(1, round(box[3])))
    return LayeredSVG(
        svg=layered_svg(layers, box, size, upscale), width=size[0], height=size[1],
        n_layers=len(layers), n_paths=sum(len(p) for p in layers),
    )


def vectorize_grid(grid: np.ndarray, spec: GridSpec, options: TraceOptions = TraceOptions()) -> LayeredSVG:
    """A frame grid image -> layered SVG (split per `spec`, then `vectorize_frames`)."""
    return vectorize_frames(split_grid(grid, spec), options)
