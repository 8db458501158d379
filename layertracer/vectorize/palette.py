"""Clean colours for a step's pixels: its fills, told apart from noise and anti-aliased blends.

Flat icons use a few colours; JPEG, diffusion noise and anti-aliasing scatter pixels around them, and
every scattered shade would become a speck path. The work is done per distinct (colour, colour beneath)
pair, which flat artwork has a few thousand of, not per pixel.
"""

from __future__ import annotations

import functools
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
BAND_INTERIOR_SHARE = 0.2  # a fill with fewer of its pixels inside (equal to all 4 neighbours) is under 2.5 px wide
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
    ink_rows: np.ndarray  # rows of `table` that are the inks of strokes about a pixel wide (see `_with_stroke_inks`)
    draws_paper: bool = False  # a first step whose fills include what it is drawn on (the white of an eye)


@dataclass(frozen=True)
class PairRuns:
    """Rows of (colour, colour beneath) pairs as runs of equal rows, and the distinct pairs the runs hold.

    Rows come in raster order, and flat artwork repeats a pair all along a row of pixels, so the work is
    done per run and per distinct pair: about 80 times fewer runs than rows on the benchmark icons.
    """

    first: np.ndarray  # each distinct pair's first row (pairs in `np.unique` order)
    starts: np.ndarray  # each run's first row
    lengths: np.ndarray
    pair: np.ndarray  # each run's distinct pair

    @classmethod
    def of(cls, colors: np.ndarray, beneath: np.ndarray) -> PairRuns:
        """The runs of uint8 RGB rows `colors` over `beneath`."""
        n = len(colors)
        if n == 0:
            empty = np.zeros(0, np.intp)
            return cls(empty, empty, empty, empty)
        columns = [rows.reshape(n, 1, 3) for rows in (colors, beneath)] + [np.zeros((n, 1, 2), np.uint8)]
        packed = cv2.merge(columns).view(np.uint64).ravel()  # the 8 bytes of a pair as one number
        starts = np.flatnonzero(np.concatenate([[True], packed[1:] != packed[:-1]]))
        _, first_run, pair = np.unique(packed[starts], return_index=True, return_inverse=True)
        return cls(starts[first_run], starts, np.diff(np.append(starts, n)), pair.ravel())

    def count(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Rows per distinct pair; with a boolean per row, the rows that are set."""
        per_run = self.lengths if rows is None else np.add.reduceat(rows.view(np.uint8), self.starts, dtype=np.int64)
        return np.bincount(self.pair, weights=per_run, minlength=len(self.first)).astype(np.int64)

    def per_row(self, values: np.ndarray) -> np.ndarray:
        """A value per distinct pair, spread to the rows."""
        return np.repeat(values[self.pair], self.lengths)


def clean_colors(
    colors: np.ndarray, beneath: np.ndarray, base: bool = False, neighbours: np.ndarray | None = None,
    exact: bool = False, strokes: bool = True,
) -> CleanColors:
    """Each changed pixel's clean colour, whether the step drew it at all, and whether the colour is settled.

    `colors` and `beneath` are uint8 RGB rows, one per pixel.

    A pixel near a fill of the step, or on the line between two of them (a boundary between two new
    fills), takes the nearer fill. A pixel on the line between a fill and what lay beneath it is an edge
    blend: it is drawn only if it is mostly the new colour. Pixels far from all of these keep their colour
    if it is common (a gradient); rare ones are unsettled, and take the colour of the nearest settled pixel.
    `base` marks the first step, drawn on nothing (see `coverage.layer_raster`).

    `neighbours`, if given, says how many of its 4 neighbours each pixel equals (`images.matching_neighbours`):
    3 or more, it lies inside a flat fill. A colour with enough such pixels is a fill of its own even where it
    lies between a fill and what lay beneath (translucent steam over white is a blend by colour, not by place),
    and flat pixels are never taken for edge blends. Noisy frames have few flat pixels, so there it changes
    little. `exact` marks exact frames (see `masks.MaskOptions.exact`), which have no noise at all: a flat colour
    is a fill of its own unless it is the same colour as one already taken, and a pixel's own colour, not the fill
    it snaps to, says whether it changed visibly (light foam on white is drawn).
    """
    runs = PairRuns.of(colors, beneath)
    colors, beneath = colors[runs.first].astype(np.float32), beneath[runs.first].astype(np.float32)
    weights = runs.count()
    bins = _bins(colors)
    counts = np.bincount(bins, weights=weights, minlength=BINS)
    flat_pairs = flat_bins = interior_bins = None
    if neighbours is not None:
        flat_pairs = runs.count(neighbours >= 3)
        flat_bins = np.bincount(bins, weights=flat_pairs, minlength=BINS)
        flat_pairs = flat_pairs * 2 > weights  # mostly inside flat fills
        interior_bins = np.bincount(bins, weights=runs.count(neighbours == 4), minlength=BINS)
    flat_spacing = EXACT_SAME_COLOR if exact else PALETTE_SPACING
    palette = dominant_colors(colors, beneath, weights, bins, counts, flat_bins, flat_spacing)
    if exact and strokes:
        bands = np.zeros(len(palette), bool)
        if interior_bins is not None:  # a band w px wide has (w - 2) / w of its pixels inside
            own = _bins(palette)
            bands = interior_bins[own] <= BAND_INTERIOR_SHARE * counts[own]
        palette, flat_pairs, inks = _with_stroke_inks(palette, colors, beneath, weights, flat_pairs, bands)
    else:
        inks = np.zeros((0, 3), np.float32)
    # The first step draws on nothing: if the background's colour is one of its fills (the white of an eye),
    # that area is drawn too, and a line from the background is the line from that fill, which also tells
    # how much of each side an edge pixel holds; else a pixel that blends into the background is not drawn.
    background = np.zeros(len(palette), bool)
    if base and len(palette):
        background = np.abs(palette - beneath[0]).max(axis=-1) <= PALETTE_SPACING
    from_beneath = not background[:MAX_BLEND_COLORS].any()
    out, snapped, keeps_beneath, partner, share = _snap(colors, beneath, palette, flat_pairs, from_beneath)
    if background.any() and len(inks):
        _paper_beneath_strokes(out, partner, share, _colour_keys(palette[background]), _colour_keys(inks))
    blends_into_beneath = snapped & keeps_beneath
    if base:
        drawn = np.full(len(colors), background.any()) | ~blends_into_beneath
    else:
        seen, visible = (colors, EXACT_SAME_COLOR) if exact else (out, SAME_COLOR)
        drawn = ~blends_into_beneath & (channel_max(np.abs(seen - beneath)) > visible)
    settled = snapped | (counts[bins] >= _min_fill_count(int(weights.sum())))
    packed, rows = np.unique(_colour_keys(np.concatenate([out, partner])), return_inverse=True)
    table = np.stack([packed >> 16, (packed >> 8) & 255, packed & 255], axis=-1).astype(np.uint8)
    row, partner_row = rows[: len(out)], rows[len(out) :]
    ink_rows = np.flatnonzero(np.isin(packed, _colour_keys(inks)))
    return CleanColors(
        table, *(runs.per_row(values) for values in (row, drawn, settled, partner_row, share)), ink_rows,
        bool(background.any()),
    )


def _paper_beneath_strokes(
    out: np.ndarray, partner: np.ndarray, share: np.ndarray, paper: np.ndarray, inks: np.ndarray
) -> None:
    """Blends of the paper a first step draws (the white a loop encloses) and a stroke's ink made the ink partly
    covering that paper (in place): to a stroke, the paper is what lies beneath, and its pixels' coverage is read
    off their colour (`coverage.stroke_coverage`). Taken for two fills meeting, a stroke about a pixel wide along
    a slant or a curve, which covers no pixel fully, was part paper in every pixel it straddles, with no pure
    pixel of its ink beside them to place the boundary against, and its ink was lost there."""
    own, other = _colour_keys(out), _colour_keys(partner)
    inked = np.isin(own, inks)
    across = (share < 1) & ((np.isin(own, paper) & np.isin(other, inks)) | (inked & np.isin(other, paper)))
    ink = np.where(inked[:, None], out, partner)
    out[across] = partner[across] = ink[across]
    share[across] = 1.0


@functools.cache
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each pair (i < j) of n fills, as `np.triu_indices(n, 1)` lists them; n is at most MAX_BLEND_COLORS, and
    building them costs more than the rest of a small step's line search."""
    return np.triu_indices(n, 1)


def _snap(
    colors: np.ndarray, beneath: np.ndarray, palette: np.ndarray, flat: np.ndarray | None = None,
    from_beneath: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nearest fill, or nearer end of a blend line: (colour, snapped within SNAP_DISTANCE, end is beneath,
    the other fill of a blend between two fills, and the share of the nearer one).

    Rows flagged `flat` are inside flat fills, so never blends: not with what lies beneath, and not between
    two fills either (greys lie on one line in colour, and a mid grey is not a blend of a light and a dark
    one). Without `from_beneath`, lines from what lay beneath are not looked at.
    """
    if len(palette) == 0 or len(colors) == 0:
        no = np.zeros(len(colors), bool)
        return colors.copy(), no, no, colors.copy(), np.ones(len(colors), np.float32)
    # Every line a colour may lie on, preferred in this order on a tie: each fill alone (a line of length
    # zero), each pair of common fills, then from what lay beneath to each common fill. All at once: steps
    # have a few dozen distinct colours, so one pass per line would be all call overhead.
    n_fills, n_common = len(palette), min(len(palette), MAX_BLEND_COLORS)
    n_beneath = n_common if from_beneath else 0
    first, second = _pairs(n_common)
    fill_starts = palette[np.concatenate([np.arange(n_fills), first])]
    fill_ends = palette[np.concatenate([np.arange(n_fills), second])]
    n_fill_lines = len(fill_starts)
    out = [np.empty((len(colors), 3), np.float32) for _ in range(2)]
    snapped, keeps_beneath = np.empty(len(colors), bool), np.empty(len(colors), bool)
    share = np.empty(len(colors), np.float32)
    for rows in _chunks(len(colors)):
        color, below = colors[rows], beneath[rows]
        starts = np.concatenate([np.broadcast_to(fill_starts[:, None], (n_fill_lines, *color.shape)),
                                 np.broadcast_to(below, (n_beneath, *color.shape))])
        ends = np.broadcast_to(np.concatenate([fill_ends, palette[:n_beneath]])[:, None], starts.shape)
        towards, off = _on_segment(color, starts, ends)
        if flat is not None:
            off[n_fills:, flat[rows]] = np.inf
        line = np.argmin(off, axis=0)
        pick = (line, np.arange(len(color)))
        t, start, end = towards[pick], starts[pick], ends[pick]
        nearer_end = t >= 0.5
        target = np.where(nearer_end[:, None], end, start)
        between_fills = (line >= n_fills) & (line < n_fill_lines)  # the pixel is part one fill, part the other
        snapped[rows] = close = off[pick] <= SNAP_DISTANCE
        keeps_beneath[rows] = (line >= n_fill_lines) & ~nearer_end
        out[0][rows] = np.where(close[:, None], target, color)
        partner = np.where(between_fills[:, None], np.where(nearer_end[:, None], start, end), target)
        out[1][rows] = np.where(close[:, None], partner, out[0][rows])
        share[rows] = np.where(close & between_fills, np.where(nearer_end, t, 1.0 - t), 1.0)
    return out[0], snapped, keeps_beneath, out[1], share


def _chunks(n: int, size: int = 4096) -> list[slice]:
    """Row ranges that keep the lines x rows arrays of `_snap` small on noisy steps."""
    return [slice(lo, min(n, lo + size)) for lo in range(0, n, size)]


def dominant_colors(
    colors: np.ndarray, beneath: np.ndarray, weights: np.ndarray, bins: np.ndarray, counts: np.ndarray,
    flat_counts: np.ndarray | None = None, flat_spacing: float = PALETTE_SPACING,
) -> np.ndarray:
    """The step's fills, most common first: mean colours of the most populated 5-bit bins.

    Rows are distinct (colour, colour beneath) pairs, `weights` their pixel counts, `bins` their 5-bit
    bins and `counts` the pixels per bin. A bin is not a fill if it is near a fill already taken, or a
    blend of a fill with another fill or with what lies beneath its pixels: a long anti-aliased edge fills
    a bin too. `flat_counts` counts each bin's pixels inside flat fills: a bin with enough of them is a fill
    whatever its colour, unless it is within `flat_spacing` of one already taken.
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
        if flat_counts is not None and flat_counts[bin_] >= min_count:  # a flat fill of its own
            if nearest > flat_spacing:
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


def stroke_inks(colors: np.ndarray, beneath: np.ndarray, weights: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Fills that no pixel shows unmixed: the inks of strokes about a pixel wide.

    Anti-aliased, such a stroke covers no pixel fully, so its colour is nowhere common (each shade of its blend
    with what lay beneath is a few pixels) and `dominant_colors` finds no fill: its pixels would take the colour
    of the nearest settled pixel, and the stroke would vanish. Its pixels lie on one line, from what lay beneath
    each to the ink, at every coverage; the ink is at least as far along as the farthest of them, which is taken
    for it. Only pixels that no fill and no line between fills or from beneath to a fill explains are looked at,
    farthest first; a line that explains fewer than a fill's pixels is no stroke. Rows as in `dominant_colors`.
    """
    min_count = _min_fill_count(int(weights.sum()))
    unexplained = channel_max(np.abs(colors - beneath)) > EXACT_SAME_COLOR
    for fill in palette:  # near a fill: `_snap` would snap it there, and most rows are (a fraction of its cost)
        unexplained &= channel_max(np.abs(colors - fill)) > SNAP_DISTANCE
    if weights[unexplained].sum() < min_count:
        return np.zeros((0, 3), np.float32)
    rest = np.flatnonzero(unexplained)
    unexplained[rest[_snap(colors[rest], beneath[rest], palette)[1]]] = False
    reach = np.linalg.norm(colors - beneath, axis=-1)
    inks = []
    for _ in range(MAX_BLEND_COLORS):
        if weights[unexplained].sum() < min_count:
            break
        ink = colors[np.flatnonzero(unexplained)[np.argmax(reach[unexplained])]]
        on_line = unexplained & (_on_segment(colors, beneath, ink)[1] <= SNAP_DISTANCE)
        if weights[on_line].sum() >= min_count:
            inks.append(ink)
        unexplained &= ~on_line
    return np.asarray(inks, np.float32).reshape(-1, 3)


def _with_stroke_inks(
    palette: np.ndarray, colors: np.ndarray, beneath: np.ndarray, weights: np.ndarray, flat: np.ndarray | None,
    bands: np.ndarray,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """The palette with the step's `stroke_inks` and less the fills that are only an ink half seen, `flat` (per
    row) without those fills' rows, and the inks. `bands` flags the fills whose pixels form bands at most ~2 px
    wide (almost none of them equal all 4 neighbours).

    A stroke 1-2 px wide straddles two pixels along much of its length, and their common colour lies on the line
    from what lay beneath to the ink. Those pixels match their neighbours along the stroke and across it, so they
    pass for a flat fill's: they are blends, and no longer flagged flat. Where such a stroke covers some pixels
    fully (along a row or a column) its ink is a fill too, a band a pixel wide; its shades are then told from a
    fill of an in-between colour (translucent, or the white of an eye) by being bands as well, and by lying on the
    line to the ink as exactly as exact frames blend (within EXACT_SAME_COLOR): thin fills of small icons are bands
    too."""
    inks = stroke_inks(colors, beneath, weights, palette)
    if not len(inks) and np.count_nonzero(bands) < 2:
        return palette, flat, inks
    halves, shown = np.zeros(len(palette), bool), np.zeros(len(palette), bool)
    for k, fill in enumerate(palette):
        near = channel_max(np.abs(colors - fill)) <= PALETTE_SPACING  # a fill is a mean of such rows: some
        under = np.average(beneath[near], axis=0, weights=weights[near])
        halves[k] = any(_half_seen(fill, under, ink) for ink in inks)
        if bands[k] and channel_max(np.abs(fill - under)) > PALETTE_SPACING:
            for j in np.flatnonzero(bands):
                if j != k and _half_seen(fill, under, palette[j], EXACT_SAME_COLOR * BLEND_WEIGHT):
                    halves[k] = shown[j] = True
        if halves[k] and flat is not None:
            flat = flat & ~near
    return np.concatenate([palette[~halves], inks]), flat, np.concatenate([inks, palette[shown & ~halves]])


def _half_seen(fill: np.ndarray, under: np.ndarray, ink: np.ndarray, tolerance: float = SNAP_DISTANCE) -> bool:
    """Whether `fill` lies on the line from `under` to `ink` (within `tolerance`, as `_on_segment` weighs it), short
    of the ink: the ink partly covering `under`."""
    t, off = _on_segment(fill[None], under, ink)
    return bool(off[0] <= tolerance and t[0] < 1.0)


def _colour_keys(colors: np.ndarray) -> np.ndarray:
    """Float RGB rows rounded to uint8 colours, each as one integer (0xRRGGBB): the rows of `CleanColors.table`."""
    q = np.clip(colors + 0.5, 0, 255).astype(np.int32)
    return (q[:, 0] << 16) | (q[:, 1] << 8) | q[:, 2]


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


def channel_max(values: np.ndarray) -> np.ndarray:
    """The largest of the last axis's three values (an RGB difference's largest channel): numpy's `max(axis=-1)`
    over an axis of three is ~20x slower than two elementwise maxima, and `_snap` takes it over lines x rows."""
    return np.maximum(np.maximum(values[..., 0], values[..., 1]), values[..., 2])


def _min_fill_count(n_pixels: int) -> int:
    return max(8, int(MIN_PALETTE_SHARE * n_pixels))


def _on_segment(colors: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How far along start->end each colour lies (0..1), and its weighted distance from that line.

    A segment of length zero (start == end) measures plain distance to that colour.
    """
    span = end - start
    length2 = np.einsum("...c,...c->...", span, span)
    t = np.clip(np.einsum("...c,...c->...", colors - start, span) / np.maximum(length2, 1.0), 0.0, 1.0)
    off = channel_max(np.abs(colors - (start + t[..., None] * span)))
    weight = np.where(length2 > 0, BLEND_WEIGHT, 1.0)  # off-line distance counts more than plain distance
    return np.where(length2 > 0, t, 1.0), off * weight
