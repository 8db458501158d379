"""Clean colours for a step's pixels: its fills, told apart from noise and anti-aliased blends.

Flat icons use a few colours; JPEG, diffusion noise and anti-aliasing scatter pixels around them, and
every scattered shade would become a speck path. The work is done per distinct (colour, colour beneath)
pair, which flat artwork has a few thousand of, not per pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PALETTE_SPACING = 20  # two fills closer than this (max channel difference) are one colour
SNAP_DISTANCE = 40  # pixels this close to a fill are that fill, blurred or noisy
MIN_PALETTE_SHARE = 0.002  # a fill holds at least this share of the step's pixels
MAX_BLEND_COLORS = 8  # fills per step that blends are looked for between (pairs grow fast)
SAME_COLOR = 16  # a step's pixel this close to what lay beneath adds nothing visible
EXACT_SAME_COLOR = 4  # the same for exact frames, which have no noise: light grey on white is a change
BLEND_MAX_SHARE = 0.25  # an edge blend has fewer pixels than this share of the fills it blends
BLEND_WEIGHT = 3.0  # a pixel 13 levels off the line between two fills counts as 40 from a fill
BINS = 1 << 15  # 5 bits per channel


@dataclass(frozen=True)
class CleanColors:
    """A step's pixels as clean colours: `table` holds the distinct uint8 RGB colours, the rest is per pixel.

    `row`: the pixel's colour in `table`; `drawn`: the step drew it at all; `settled`: the colour is sure
    (else the pixel takes its nearest settled neighbour's). A pixel on the line between two fills of the step
    (where they meet, anti-aliased) is covered by its own colour for `share` (0.5..1) and by the fill at
    `partner_row` for the rest; elsewhere `share` is 1 and `partner_row` is `row`.
    """

    table: np.ndarray
    row: np.ndarray
    drawn: np.ndarray
    settled: np.ndarray
    partner_row: np.ndarray
    share: np.ndarray


def clean_colors(
    colors: np.ndarray, beneath: np.ndarray, base: bool = False, flat: np.ndarray | None = None
) -> CleanColors:
    """Each changed pixel's clean colour, whether the step drew it at all, and whether the colour is settled.

    `colors` and `beneath` are uint8 RGB rows, one per pixel.

    A pixel near a fill of the step, or on the line between two of them (a boundary between two new
    fills), takes the nearer fill. A pixel on the line between a fill and what lay beneath it is an edge
    blend: it is drawn only if it is mostly the new colour. Pixels far from all of these keep their colour
    if it is common (a gradient); rare ones are unsettled, and take the colour of the nearest settled pixel.
    `base` marks the first step, drawn on nothing (see `coverage.layer_raster`).

    `flat` is given for exact frames (see `masks.MaskOptions.exact`): which pixels lie inside a flat fill.
    A colour with enough such pixels is a fill of its own even where it lies between a fill and what lay
    beneath (translucent steam over white is a blend by colour, not by place), flat pixels are never taken
    for edge blends, and a pixel's own colour, not the fill it snaps to, says whether it changed visibly
    (light foam on white is drawn).
    """
    first, inverse, weights = _distinct_pairs(colors, beneath)
    colors, beneath = colors[first].astype(np.float32), beneath[first].astype(np.float32)
    bins = _bins(colors)
    counts = np.bincount(bins, weights=weights, minlength=BINS)
    flat_pairs = flat_bins = None
    if flat is not None:
        flat_pairs = np.bincount(inverse.ravel(), weights=flat, minlength=len(colors))
        flat_bins = np.bincount(bins, weights=flat_pairs, minlength=BINS)
        flat_pairs = flat_pairs * 2 > weights  # mostly inside flat fills
    palette = dominant_colors(colors, beneath, weights, bins, counts, flat_bins)
    out, snapped, keeps_beneath, partner, share = _snap(colors, beneath, palette, flat_pairs)
    blends_into_beneath = snapped & keeps_beneath
    if base:
        # The first step draws on nothing: if the background's colour is one of its fills (the white of
        # an eye), that area is drawn too; else a pixel that blends into the background is not.
        background_is_fill = bool(len(palette)) and np.abs(palette - beneath[0]).max(axis=-1).min() <= PALETTE_SPACING
        drawn = np.full(len(colors), background_is_fill) | ~blends_into_beneath
    else:
        seen, visible = (out, SAME_COLOR) if flat is None else (colors, EXACT_SAME_COLOR)
        drawn = ~blends_into_beneath & (np.abs(seen - beneath).max(axis=-1) > visible)
    settled = snapped | (counts[bins] >= _min_fill_count(int(weights.sum())))
    q = np.clip(np.concatenate([out, partner]) + 0.5, 0, 255).astype(np.int32)
    packed, rows = np.unique((q[:, 0] << 16) | (q[:, 1] << 8) | q[:, 2], return_inverse=True)
    table = np.stack([packed >> 16, (packed >> 8) & 255, packed & 255], axis=-1).astype(np.uint8)
    row, partner_row = rows[: len(out)], rows[len(out) :]
    return CleanColors(
        table, row[inverse], drawn[inverse], settled[inverse], partner_row[inverse], share[inverse]
    )


def _snap(
    colors: np.ndarray, beneath: np.ndarray, palette: np.ndarray, flat: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nearest fill, or nearer end of a blend line: (colour, snapped within SNAP_DISTANCE, end is beneath,
    the other fill of a blend between two fills, and the share of the nearer one).

    Rows flagged `flat` are inside flat fills, so never blends with what lies beneath.
    """
    target, gap = colors.copy(), np.full(len(colors), np.inf, np.float32)
    keeps_beneath = np.zeros(len(colors), bool)
    partner, share = colors.copy(), np.ones(len(colors), np.float32)
    common = palette[:MAX_BLEND_COLORS]
    ends = [(p, p) for p in palette] + [(p, q) for i, p in enumerate(common) for q in common[i + 1 :]]
    for start, end in ends + [(beneath, p) for p in common]:
        towards, off = _on_segment(colors, start, end)
        better = off < gap
        if flat is not None and start.ndim == 2:  # a line from what lay beneath
            better &= ~flat
        gap[better] = off[better]
        nearer_end = towards[better] >= 0.5
        target[better] = np.where(nearer_end[:, None], end, start if start.ndim == 1 else start[better])
        keeps_beneath[better] = ~nearer_end & (start.ndim == 2)
        if start.ndim == 1 and start is not end:  # between two fills: the pixel is part one, part the other
            partner[better] = np.where(nearer_end[:, None], start, end)
            share[better] = np.where(nearer_end, towards[better], 1.0 - towards[better])
        else:
            partner[better], share[better] = target[better], 1.0
    snapped = gap <= SNAP_DISTANCE
    out = np.where(snapped[:, None], target, colors)
    return out, snapped, keeps_beneath, np.where(snapped[:, None], partner, out), np.where(snapped, share, 1.0)


def dominant_colors(
    colors: np.ndarray, beneath: np.ndarray, weights: np.ndarray, bins: np.ndarray, counts: np.ndarray,
    flat_counts: np.ndarray | None = None,
) -> np.ndarray:
    """The step's fills, most common first: mean colours of the most populated 5-bit bins.

    Rows are distinct (colour, colour beneath) pairs, `weights` their pixel counts, `bins` their 5-bit
    bins and `counts` the pixels per bin. A bin is not a fill if it is near a fill already taken, or a
    blend of a fill with another fill or with what lies beneath its pixels: a long anti-aliased edge fills
    a bin too. `flat_counts` (exact frames) counts each bin's pixels inside flat fills: a bin with enough
    of them is a fill whatever its colour, unless it is the same colour as one already taken.
    """
    if len(colors) == 0:
        return np.zeros((0, 3), np.float32)
    min_count = _min_fill_count(int(weights.sum()))
    candidates = np.flatnonzero(counts >= min_count)
    candidates = candidates[np.argsort(-counts[candidates], kind="stable")]
    means, under = (_bin_means(values, weights, bins, candidates) for values in (colors, beneath))
    palette: list[np.ndarray] = []
    palette_counts: list[int] = []
    for bin_, color, below, count in zip(candidates, means, under, counts[candidates]):
        nearest = np.abs(np.asarray(palette) - color).max(axis=-1).min() if palette else np.inf
        if flat_counts is not None and flat_counts[bin_] >= min_count:  # a flat fill of its own (exact frames)
            if nearest > EXACT_SAME_COLOR:
                palette.append(color)
                palette_counts.append(int(count))
            continue
        if nearest <= PALETTE_SPACING:
            continue
        # Blends line edges, so they are few next to the fills they blend; a populous colour between
        # two others (three greys) is a fill of its own.
        common = palette[:MAX_BLEND_COLORS]
        ends = [
            (p, q) for i, p in enumerate(common) for j, q in enumerate(common[i + 1 :], i + 1)
            if count < BLEND_MAX_SHARE * min(palette_counts[i], palette_counts[j])
        ]
        ends += [(below, p) for p, n in zip(common, palette_counts) if count < BLEND_MAX_SHARE * n]
        if any(_on_segment(color[None, :], start, end)[1][0] <= SNAP_DISTANCE for start, end in ends):
            continue
        palette.append(color)
        palette_counts.append(int(count))
    return np.asarray(palette, np.float32).reshape(-1, 3)


def _bins(colors: np.ndarray) -> np.ndarray:
    q = colors.astype(np.int32) >> 3
    return (q[:, 0] << 10) | (q[:, 1] << 5) | q[:, 2]


def _bin_means(values: np.ndarray, weights: np.ndarray, bins: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Weighted mean of `values` over each wanted bin."""
    slot = np.full(BINS, len(wanted), np.intp)  # rows outside the wanted bins add to one extra slot
    slot[wanted] = np.arange(len(wanted))
    slots = slot[bins]
    counts = np.bincount(slots, weights=weights, minlength=len(wanted) + 1)[:-1]
    sums = [np.bincount(slots, weights=weights * values[:, c], minlength=len(wanted) + 1)[:-1] for c in range(3)]
    return (np.stack(sums, axis=-1) / np.maximum(counts, 1)[:, None]).astype(np.float32)


def _distinct_pairs(colors: np.ndarray, beneath: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (colour, colour beneath) pairs of uint8 RGB rows, as `np.unique` gives them: each pair's
    first row, each row's pair and each pair's row count.

    Rows come in raster order, and flat artwork repeats a pair all along a row of pixels, so only the runs
    of equal rows are sorted: about 80 times fewer than the rows on the benchmark icons.
    """
    n = len(colors)
    if n == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0, np.int64)
    columns = [rows.reshape(n, 1, 3) for rows in (colors, beneath)] + [np.zeros((n, 1, 2), np.uint8)]
    packed = cv2.merge(columns).view(np.uint64).ravel()  # the 8 bytes of a pair as one number
    starts = np.flatnonzero(np.concatenate([[True], packed[1:] != packed[:-1]]))
    lengths = np.diff(np.append(starts, n))
    _, first_run, run_pair = np.unique(packed[starts], return_index=True, return_inverse=True)
    weights = np.bincount(run_pair.ravel(), weights=lengths).astype(np.int64)
    return starts[first_run], np.repeat(run_pair.ravel(), lengths), weights


def _min_fill_count(n_pixels: int) -> int:
    return max(8, int(MIN_PALETTE_SHARE * n_pixels))


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
