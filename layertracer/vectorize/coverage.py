"""Sub-pixel layer rasters: what a step drew, with its edges placed where its anti-aliasing says.

An edge pixel of a new shape is a blend of the shape's colour and what lay beneath. Tracing such pixels
as they are either grows the shape by a pixel (they join its colour cluster) or leaves a sliver of blend
colours. Instead we estimate each edge pixel's coverage (how far its colour moved from the old colour
towards the shape's), upsample the coverage smoothly and cut it at one half: the traced outline then sits
at the edge's true sub-pixel position, and the shape is one flat colour, which vtracer turns into one path.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from layertracer.images import flatten_on_white

EDGE_BAND_PX = 2.5  # how far from the step's solid pixels its anti-aliased rim can reach
PAD_PX = 3
PALETTE_SPACING = 20  # two fills closer than this (max channel difference) are one colour
SNAP_DISTANCE = 40  # pixels this close to a dominant colour are that colour, blurred or noisy
MIN_PALETTE_SHARE = 0.002  # a dominant colour holds at least this share of the step's pixels
MAX_BLEND_COLORS = 8  # fills per step that blends are looked for between (pairs grow fast)
SAME_COLOR = 16  # a step's pixel this close to what lay beneath adds nothing visible
BLEND_MAX_SHARE = 0.25  # an edge blend has fewer pixels than this share of the fills it blends
BLEND_WEIGHT = 3.0  # a pixel 13 levels off the line between two fills counts as 40 from a fill


@dataclass(frozen=True)
class LayerRaster:
    """An upscaled RGBA crop to trace (alpha 0 = not this step's) and its top-left corner in 1x pixels."""

    rgba: np.ndarray
    x: int
    y: int


def layer_raster(
    under: np.ndarray, over: np.ndarray, changed: np.ndarray, upscale: int, base: bool = False
) -> LayerRaster | None:
    """The step that turned `under` into `over`, given the pixels it visibly changed.

    `base` marks the first step, drawn on nothing: its pixels are drawn even where they have the
    background's colour (the white of an eye), and `under` (the bare background) only places its edges.
    """
    ys, xs = np.nonzero(changed)
    if len(ys) == 0:
        return None
    height, width = changed.shape
    y0, y1 = max(0, ys.min() - PAD_PX), min(height, ys.max() + 1 + PAD_PX)
    x0, x1 = max(0, xs.min() - PAD_PX), min(width, xs.max() + 1 + PAD_PX)
    box = (slice(y0, y1), slice(x0, x1))
    solid = core(changed[box])
    old = flatten_on_white(under[box]).astype(np.float32)
    new = flatten_on_white(over[box]).astype(np.float32)

    # A changed pixel whose clean colour is the old colour is noise or a blend that belongs beneath.
    solid_colors, drawn, settled = clean_colors(new[solid], old[solid], base)
    anchor = solid.copy()
    solid[solid] = drawn
    anchor[anchor] = drawn & settled
    if not anchor.any():
        return None

    # The colour of the nearest settled pixel: what an edge pixel would be if the shape covered it fully,
    # and what a stray shade inside the shape really is.
    distance, labels = cv2.distanceTransformWithLabels(
        (~anchor).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    shape_color = solid_colors[(drawn & settled)][np.maximum(labels, 1) - 1]
    pure = shape_color.copy()
    pure[anchor] = solid_colors[drawn & settled]

    coverage = _coverage(old, new, shape_color)
    coverage[distance > EDGE_BAND_PX] = 0.0
    coverage[solid] = 1.0
    if over.shape[-1] == 4:
        coverage = np.minimum(coverage, over[box][..., 3].astype(np.float32) / 255.0)

    if upscale > 1:
        coverage = cv2.resize(coverage, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_LINEAR)
        pure = cv2.resize(pure, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_NEAREST)
    rgba = np.dstack([np.clip(pure + 0.5, 0, 255).astype(np.uint8), np.where(coverage >= 0.5, 255, 0).astype(np.uint8)])
    return LayerRaster(rgba=rgba, x=int(x0), y=int(y0))


def clean_colors(
    colors: np.ndarray, beneath: np.ndarray, base: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each changed pixel's clean colour, whether the step drew it at all, and whether the colour is settled.

    Flat icons use a few colours; JPEG, diffusion noise and anti-aliasing scatter pixels around them, and
    every scattered shade would become a speck path. A pixel near a dominant colour of the step, or on the
    line between two of them (a boundary between two new fills), takes the nearer dominant colour. A pixel
    on the line between a dominant colour and what lay beneath it is an edge blend: it is drawn only if
    it is mostly the new colour. Pixels far from all of these keep their colour if it is common (a
    gradient); rare ones are unsettled, and take the colour of the nearest settled pixel.
    """
    palette = dominant_colors(colors, beneath)
    target, gap = colors.copy(), np.full(len(colors), np.inf, np.float32)
    keeps_beneath = np.zeros(len(colors), bool)
    common = palette[:MAX_BLEND_COLORS]
    ends = [(p, p) for p in palette] + [(p, q) for i, p in enumerate(common) for q in common[i + 1 :]]
    for start, end in ends + [(beneath, p) for p in common]:
        towards, off = _on_segment(colors, start, end)
        better = off < gap
        gap[better] = off[better]
        nearer_end = towards[better] >= 0.5
        target[better] = np.where(nearer_end[:, None], end, start if start.ndim == 1 else start[better])
        keeps_beneath[better] = ~nearer_end & (start.ndim == 2)
    snapped = gap <= SNAP_DISTANCE
    out = np.where(snapped[:, None], target, colors)
    blends_into_beneath = snapped & keeps_beneath
    if base:
        # The first step draws on nothing: if the background's colour is one of its fills (the white of
        # an eye), that area is drawn too; else a pixel that blends into the background is not.
        background_is_fill = bool(len(palette)) and np.abs(palette - beneath[0]).max(axis=-1).min() <= PALETTE_SPACING
        drawn = np.full(len(colors), background_is_fill) | ~blends_into_beneath
    else:
        drawn = ~blends_into_beneath & (np.abs(out - beneath).max(axis=-1) > SAME_COLOR)
    _, inverse, counts = _color_bins(colors)
    settled = snapped | (counts[inverse] >= _min_fill_count(len(colors)))
    return out, drawn, settled


def _color_bins(colors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """5-bit-per-channel bins: (bin keys, each colour's bin index, pixels per bin)."""
    bins = (colors.astype(np.int32) >> 3) @ np.array([1 << 10, 1 << 5, 1])
    return np.unique(bins, return_inverse=True, return_counts=True)


def _min_fill_count(n_pixels: int) -> int:
    return max(8, int(MIN_PALETTE_SHARE * n_pixels))


def dominant_colors(colors: np.ndarray, beneath: np.ndarray) -> np.ndarray:
    """The step's fills, most common first: mean colours of the most populated 5-bit bins.

    A bin is not a fill if it is near a fill already taken, or a blend of a fill with another fill or
    with what lies beneath its pixels: a long anti-aliased edge fills a bin too.
    """
    if len(colors) == 0:
        return np.zeros((0, 3), np.float32)
    keys, inverse, counts = _color_bins(colors)
    means, under = (np.zeros((len(keys), 3)) for _ in range(2))
    np.add.at(means, inverse, colors)
    np.add.at(under, inverse, beneath)
    means, under = means / counts[:, None], under / counts[:, None]
    min_count = _min_fill_count(len(colors))
    palette: list[np.ndarray] = []
    palette_counts: list[int] = []
    for index in np.argsort(-counts):
        if counts[index] < min_count:
            break
        color = means[index][None, :]
        if palette and np.abs(np.asarray(palette) - color).max(axis=-1).min() <= PALETTE_SPACING:
            continue
        # Blends line edges, so they are few next to the fills they blend; a populous colour between
        # two others (three greys) is a fill of its own.
        common = palette[:MAX_BLEND_COLORS]
        ends = [
            (p, q) for i, p in enumerate(common) for j, q in enumerate(common[i + 1 :], i + 1)
            if counts[index] < BLEND_MAX_SHARE * min(palette_counts[i], palette_counts[j])
        ]
        ends += [(under[index], p) for p, n in zip(common, palette_counts) if counts[index] < BLEND_MAX_SHARE * n]
        if any(_on_segment(color, start, end)[1][0] <= SNAP_DISTANCE for start, end in ends):
            continue
        palette.append(means[index])
        palette_counts.append(int(counts[index]))
    return np.asarray(palette, np.float32).reshape(-1, 3)


def _on_segment(colors: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How far along start->end each colour lies (0..1), and its weighted distance from that line.

    A segment of length zero (start == end) measures plain distance to that colour.
    """
    span = np.broadcast_to(end - start, colors.shape)
    length2 = np.einsum("nc,nc->n", span, span)
    t = np.clip(np.einsum("nc,nc->n", colors - start, span) / np.maximum(length2, 1.0), 0.0, 1.0)
    off = np.abs(colors - (start + t[:, None] * span)).max(axis=-1)
    weight = np.where(length2 > 0, BLEND_WEIGHT, 1.0)  # off-line distance counts more than plain distance
    return np.where(length2 > 0, t, 1.0), off * weight


def _coverage(old: np.ndarray, new: np.ndarray, shape_color: np.ndarray) -> np.ndarray:
    """Fraction of the way each pixel moved from `old` towards `shape_color` (projected, clipped to 0..1)."""
    toward = shape_color - old
    moved = new - old
    length2 = np.einsum("hwc,hwc->hw", toward, toward)
    fraction = np.einsum("hwc,hwc->hw", moved, toward) / np.maximum(length2, 1.0)
    # Where the shape has the old colour there is no edge to place: nothing of this step is visible.
    fraction[length2 < 64.0] = 0.0
    return np.clip(fraction, 0.0, 1.0)


def core(mask: np.ndarray) -> np.ndarray:
    """The mask without its one-pixel rim, where colours are blends; thin strokes are kept whole."""
    eroded = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    has_core = np.zeros(count, bool)
    has_core[labels[eroded]] = True
    return eroded | (mask & ~has_core[labels])
