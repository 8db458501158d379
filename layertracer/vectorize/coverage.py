"""Sub-pixel layer rasters: what a step drew, with its edges placed where its anti-aliasing says.

An edge pixel of a new shape is a blend of the shape's colour and what lay beneath. Tracing such pixels
as they are either grows the shape by a pixel (they join its colour cluster) or leaves a sliver of blend
colours. Instead we estimate each edge pixel's coverage (how far its colour moved from the old colour
towards the shape's), upsample the coverage smoothly and cut it at one half: the traced outline then sits
at the edge's true sub-pixel position, and the shape is one flat colour, which vtracer turns into one path.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import cv2
import numpy as np

from layertracer.images import flatten_on_white, matching_neighbours
from layertracer.labels import label_boxes
from layertracer.vectorize.gradients import Gradient
from layertracer.vectorize.palette import (
    EXACT_SAME_COLOR,
    CleanColors,
    PairRuns,
    channel_max,
    clean_colors,
    stroke_inks,
)
from layertracer.vectorize.ramps import fill_colors, ramp_fills

EDGE_BAND_PX = 2.5  # how far from the step's solid pixels its anti-aliased rim reaches (into unchanged pixels too)
PAD_PX = 3
STROKE_TILE_PX = 4  # a stroke's ink is kept square by square of this side (see `stroke_coverage`)
# A stroke up to 2 px wide changes a band up to 4 px wide (a pixel of blend either side): its ink lies on average
# within 2 px of the band's outside.
STROKE_REACH_PX = 2.0


@dataclass(frozen=True)
class Coverage:
    """How much of each pixel of a box of the frame something covers (0..1; NaN where that places no edge), the
    box's pixel (0, 0) at frame pixel (x, y)."""

    values: np.ndarray
    x: int
    y: int


@dataclass(frozen=True)
class FillCover:
    """How much of each frame pixel of a step's crop each of its fills covers: the fields its traced outlines
    are moved onto (edges.py).

    `coverage` is how much the step covers (NaN where that places no edge, see `_new_edges`); of that, fill
    `index` (0 = none, else a colour row + 1, below `n_labels`) has `share` and fill `partner` the rest, where
    two fills of the step meet.
    """

    index: np.ndarray
    partner: np.ndarray
    share: np.ndarray
    coverage: np.ndarray
    n_labels: int
    x: int  # the crop's pixel (0, 0) in frame pixels
    y: int

    def of(self, row: int, later: list[int], margin: int) -> Coverage:
        """How much of each pixel colour row `row` covers, around its pixels (`margin` beyond them), its outline's
        field: where it meets a fill drawn before it, the pixels' shares place the boundary between the two.

        Fills drawn `later` count as this one: it reaches under them (see `trace.stacked_regions`), and its
        outline must stay there rather than move onto their boundary and leave a seam; theirs place it.
        """
        y, x, y1, x1 = self._boxes[row + 1]
        height, width = self.index.shape
        x0, y0 = max(0, x - margin), max(0, y - margin)
        box = (slice(y0, min(height, y1 + margin)), slice(x0, min(width, x1 + margin)))
        counted = np.zeros(self.n_labels, np.float32)
        counted[np.add([row, *later], 1)] = 1.0
        share = self.share[box]
        own = counted[self.index[box]] * share + counted[self.partner[box]] * (1.0 - share)
        return Coverage(self.coverage[box] * own, self.x + x0, self.y + y0)

    @functools.cached_property
    def _boxes(self) -> np.ndarray:
        """Per label, the box (y0, x0, y1, x1) of the pixels it covers some of: its own and its partners'."""
        own, partner = label_boxes(self.index, self.n_labels), label_boxes(self.partner, self.n_labels)
        return np.concatenate([np.minimum(own[:, :2], partner[:, :2]), np.maximum(own[:, 2:], partner[:, 2:])], 1)


@dataclass(frozen=True)
class LayerRaster:
    """An upscaled indexed-colour crop to trace and its top-left corner in frame pixels.

    `index` 0 is not this step's; index k has colour `colors[k - 1]` (uint8 RGB), or, if row k - 1 is in
    `gradients`, that gradient (`colors` then holds its mean).
    """

    index: np.ndarray
    colors: np.ndarray
    x: int
    y: int
    gradients: dict[int, Gradient] = field(default_factory=dict)  # colour row -> its gradient, in frame pixels
    cover: FillCover | None = None  # how much of each frame pixel of the crop each fill covers (see edges.py)
    # colour row -> its opacity, for translucent fills of RGBA frames; `colors` (and gradients) then hold what
    # the fill looks like over white, as every colour here is measured
    opacities: dict[int, float] = field(default_factory=dict)
    strokes: tuple[int, ...] = ()  # colour rows that are the inks of strokes about a pixel wide (palette.stroke_inks)


@dataclass(frozen=True)
class StepCrop:
    """One step cut to its changed box and the rim its edges need: all that tracing the step reads.

    Small and self-contained, so a step can be traced in a helper process (see workers.py). `base` marks
    the first step, drawn on nothing: its pixels are drawn even where they have the background's colour
    (the white of an eye), and `under` (the bare background) only places its edges. `exact` marks frames
    rendered from one drawing (see `masks.MaskOptions.exact`), whose every visible change is real.
    """

    under: np.ndarray
    over: np.ndarray
    changed: np.ndarray
    x: int
    y: int
    base: bool = False
    exact: bool = False


def crop_step(
    under: np.ndarray, over: np.ndarray, changed: np.ndarray, base: bool = False, exact: bool = False
) -> StepCrop | None:
    """The step that turned `under` into `over`, given the pixels it visibly changed; None if it changed nothing."""
    x, y, w, h = cv2.boundingRect(changed.view(np.uint8))
    if w == 0:
        return None
    height, width = changed.shape
    y0, y1 = max(0, y - PAD_PX), min(height, y + h + PAD_PX)
    x0, x1 = max(0, x - PAD_PX), min(width, x + w + PAD_PX)
    box = (slice(y0, y1), slice(x0, x1))
    return StepCrop(under[box], over[box], changed[box], int(x0), int(y0), base, exact)


def layer_raster(step: StepCrop, upscale: int, strokes: bool = True) -> LayerRaster | None:
    """The step's pixels as clean colours with sub-pixel edges, `upscale` times the frame's size. `strokes`: look
    for the inks of strokes about a pixel wide (see `palette.stroke_inks`)."""
    # Contiguous: a crop is a view of its frame, which every gather of pixel rows (`_rows`) would copy whole.
    old = np.ascontiguousarray(flatten_on_white(step.under))
    new = np.ascontiguousarray(flatten_on_white(step.over))
    neighbours = matching_neighbours(new).ravel()

    def cleaned(solid: np.ndarray) -> tuple[np.ndarray, CleanColors]:
        # A changed pixel whose clean colour is the old colour is noise or a blend that belongs beneath. A flat
        # fill is told from an edge blend by where it lies, not only by its colour (translucent steam over white).
        inside = np.flatnonzero(solid)  # pixels are addressed by their flat index, row-major, throughout
        colours, beneath = _rows(new, inside), _rows(old, inside)
        return inside, clean_colors(colours, beneath, step.base, neighbours[inside], step.exact, strokes)

    solid = core(step.changed)
    inside, clean = cleaned(solid)
    unsettled = not (clean.drawn & clean.settled).any()
    if unsettled or (strokes and step.exact and _paper_strokes(step, solid, new, old, clean)):
        # No solid pixel settled: every stroke of the step is under ~2 px wide (a hairline drawing), or all it
        # changed is a thin blend; or strokes that thin run around the paper a first step draws, in its rim.
        # Its fills are read off all the pixels it changed instead.
        solid = step.changed.copy()
        inside, clean = cleaned(solid)
    colors, keep = clean.table, clean.drawn & clean.settled
    if not keep.any():
        return None
    anchored = inside[keep]
    solid.ravel()[inside[~clean.drawn]] = False
    anchor = np.zeros_like(solid)
    anchor.ravel()[anchored] = True

    # The colour of the nearest settled pixel: what an edge pixel would be if the shape covered it fully,
    # and what a stray shade inside the shape really is. Labels number the anchors in row-major order.
    distance, labels = cv2.distanceTransformWithLabels(
        (~anchor).view(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    index_type = np.uint8 if len(colors) < 255 else np.uint16
    index = np.take(np.concatenate([[0], clean.row[keep] + 1]).astype(index_type), labels)
    # A stroke ink's pixels are all partly covered (see `palette.stroke_inks`): their colours vary with coverage,
    # not along a ramp, and its solid pixels' coverage is read too.
    inked = np.isin(index, clean.ink_rows + 1) if len(clean.ink_rows) else np.zeros_like(anchor)
    fills = ramp_fills(index, colors, new, anchor & ~inked)  # the bands of a colour ramp as one gradient fill
    index, colors = fills.index, fills.colors

    coverage = solid.astype(np.float32)
    # Edge pixels: the rim around the solid pixels, and every changed pixel that is not solid. A stroke under
    # ~2 px wide, anti-aliased, has a solid pixel only where it happens to be 3 px wide; the rest of it lies
    # farther than the rim reaches, and its coverage, read off its colour, is what draws it at all.
    band = np.flatnonzero(((distance <= EDGE_BAND_PX) | step.changed) & (~solid | inked))
    coverage.ravel()[band] = _coverage(_rows(old, band), _rows(new, band), fill_colors(fills, band))
    opacities: dict[int, float] = {}
    if step.over.shape[-1] == 4:
        alpha = added_opacity(step.under[..., 3], step.over[..., 3])
        labels_at = index.ravel()[anchored]
        opacities = fill_opacities(labels_at, alpha.ravel()[anchored])
        # A translucent fill covers a pixel fully where the pixel is as opaque as the fill itself.
        own = np.ones(len(colors) + 1, np.float32)
        for row, opacity in opacities.items():
            own[row + 1] = opacity
        coverage = np.minimum(coverage, alpha / own[index])

    partner, share = index.copy(), np.ones(index.shape, np.float32)
    partner.ravel()[anchored], share.ravel()[anchored] = clean.partner_row[keep] + 1, clean.share[keep]
    ramp = np.isin(index, np.add(list(fills.gradients), 1))  # a gradient blends no two fills inside it
    partner[ramp], share[ramp] = index[ramp], 1.0
    _partners_from_neighbours(index, partner, share, new, colors)
    if len(clean.ink_rows):
        # Paper the step drew (the white inside a loop, drawn by the first step) is, to a stroke, what lies beneath.
        if not _thin(np.where(inked, coverage, 0.0), _visible(step, new, old)):
            return layer_raster(step, upscale, strokes=False)  # a soft highlight's blends, not a stroke's
        coverage = stroke_coverage(coverage, inked, upscale)
        strokes_drawn = tuple(int(row) - 1 for row in np.unique(index[inked]))  # every pixel has a label here
    else:
        strokes_drawn = ()
    placed = np.where(_new_edges(old, new), coverage, np.nan)
    cover = FillCover(index.copy(), partner, share, placed, len(colors) + 1, step.x, step.y)
    if upscale > 1:
        coverage = cv2.resize(coverage, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_LINEAR)
        index = upscale_fills(index, partner, share, upscale)
    index[coverage < 0.5] = 0
    if not index.any():  # nothing covers half a pixel (a step of translucent pixels only): nothing to trace
        return None
    if opacities:
        colors = alone_over_white(colors, opacities, labels_at, _rows(new, anchored), _rows(old, anchored))
    return LayerRaster(
        index=index, colors=colors, x=step.x, y=step.y, gradients=fills.gradients, cover=cover, opacities=opacities,
        strokes=strokes_drawn,
    )


def _paper_strokes(step: StepCrop, solid: np.ndarray, new: np.ndarray, old: np.ndarray, clean: CleanColors) -> bool:
    """Whether a first step that draws paper (the white a loop encloses) has strokes about a pixel wide: inks of
    them among its `solid` pixels, or along its rim an ink that none of its settled fills explains.

    The solid core leaves the step's one-pixel rim out, and a stroke that thin around that paper lies in the rim
    whole: its pixels took the colour of the nearest solid pixel, the paper's, and where its ink was nowhere in
    the core the stroke vanished (the outline of a 32 px folder, the bowl of a glass)."""
    if not clean.draws_paper:
        return False
    if len(clean.ink_rows):
        return True
    rim = np.flatnonzero(_visible(step, new, old) & ~solid)
    colours, beneath = _rows(new, rim), _rows(old, rim)
    runs = PairRuns.of(colours, beneath)
    fills = clean.table[np.unique(clean.row[clean.drawn & clean.settled])].astype(np.float32)
    colours, beneath = (rows[runs.first].astype(np.float32) for rows in (colours, beneath))
    return len(stroke_inks(colours, beneath, runs.count(), fills)) > 0


def _visible(step: StepCrop, new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """What the step visibly changed: the paper a first step draws (the white a loop encloses) is left out."""
    return step.changed & (channel_max(cv2.absdiff(new, old)) > EXACT_SAME_COLOR)


def _thin(ink: np.ndarray, changed: np.ndarray) -> bool:
    """Whether the `ink` (coverage per pixel) lies on average within STROKE_REACH_PX of the outside of what the
    step visibly `changed`, as strokes about a pixel wide do. A soft highlight blends into what lies beneath at every
    coverage, as a stroke's pixels do, but lies farther inside."""
    outside = cv2.copyMakeBorder(changed.view(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    depth = cv2.distanceTransform(outside, cv2.DIST_L2, 5)[1:-1, 1:-1]
    return float((ink * depth).sum()) <= STROKE_REACH_PX * float(ink.sum())


def stroke_coverage(coverage: np.ndarray, strokes: np.ndarray, upscale: int) -> np.ndarray:
    """`coverage` with the `strokes` pixels' scaled so that, upscaled bilinearly and cut at a half as every fill
    is, each STROKE_TILE_PX square keeps as much of a stroke as its pixels show.

    Cut at a half, a stroke narrower than its blends loses or gains ink with its profile: one a pixel wide that
    straddles two pixels is two halves, the bilinear surface between them a plateau at a half that rounding keeps
    or drops; one 1.6 px wide comes out 1.4. In each tile the stroke's upscaled coverage is cut instead at the
    level that keeps its ink (its pixels' coverage summed): scaled by a half over that level, the cut and the
    snapped outline (edges.py reads the same half) fall there.
    """
    height, width = coverage.shape
    tiles_x = -(-width // STROKE_TILE_PX)
    tile = (np.arange(height)[:, None] // STROKE_TILE_PX) * tiles_x + np.arange(width)[None, :] // STROKE_TILE_PX
    inked = strokes & (coverage > 0)
    n_tiles = tile.max() + 1
    areas = np.bincount(tile[inked], weights=coverage[inked], minlength=n_tiles) * upscale**2
    big = cv2.resize(coverage, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_LINEAR)
    big_inked = cv2.resize(inked.view(np.uint8), None, fx=upscale, fy=upscale, interpolation=cv2.INTER_NEAREST)
    big_tile = cv2.resize(tile.astype(np.int32), None, fx=upscale, fy=upscale, interpolation=cv2.INTER_NEAREST)
    at = big_inked.view(bool) & (big > 0)
    ids, values = big_tile[at], big[at]
    order = np.lexsort((-values, ids))
    ids, values = ids[order], values[order]
    starts = np.searchsorted(ids, np.arange(n_tiles))
    counts = np.bincount(ids, minlength=n_tiles)
    keep = np.minimum(np.round(areas).astype(np.intp), counts)
    level = np.full(n_tiles, 2.0, np.float32)  # a tile with less ink than one upscaled pixel keeps none
    some = keep > 0
    level[some] = np.maximum(values[(starts + keep - 1)[some]], 1.0 / 255.0)
    return np.where(strokes, coverage * (0.5 / level[tile]), coverage).astype(np.float32)


def added_opacity(under: np.ndarray, over: np.ndarray) -> np.ndarray:
    """HxW float32: the opacity of what a step drew over each pixel, from the pixel's uint8 alpha before (`under`)
    and after (`over`). Composited over alpha u, a fill of opacity f leaves u + f (1 - u): a translucent shadow
    drawn over another is as opaque as it adds, not as the two together (read as that, the overlap came out twice
    as dark). Over an opaque pixel nothing tells how opaque the fill is: it counts as opaque, its colour the mix.
    """
    u, o = under.astype(np.float32) / 255.0, over.astype(np.float32) / 255.0
    return np.where(u < 1.0, np.clip((o - u) / np.maximum(1.0 - u, 1e-6), 0.0, 1.0), 1.0).astype(np.float32)


def alone_over_white(
    colors: np.ndarray, opacities: dict[int, float], labels: np.ndarray, new: np.ndarray, old: np.ndarray
) -> np.ndarray:
    """`colors` with each translucent fill's as it would look over white alone, from its settled pixels (given
    with their labels, row + 1) over white before (`old`) and after (`new`) the step: what `trace` unflattens.

    At opacity f over a pixel that looked `old`, a fill that alone over white looks `c` gives
    new = c - (1 - f) (255 - old): over the transparent canvas (old white) that is its colour as seen, over
    another translucent fill it is lighter than seen (a shadow over a shadow is seen darker than it is)."""
    colors = colors.copy()
    for row, opacity in opacities.items():
        mine = labels == row + 1
        alone = new[mine].astype(np.float32) + (1.0 - opacity) * (255.0 - old[mine].astype(np.float32))
        colors[row] = np.clip(np.round(np.median(alone, axis=0)), 0, 255).astype(np.uint8)
    return colors


def fill_opacities(labels: np.ndarray, alpha: np.ndarray) -> dict[int, float]:
    """The opacity of each translucent fill (colour row -> 0..1) from the alpha (0..1) of its settled pixels,
    given with their labels (row + 1): the median, so that blends with what lies beneath do not count.
    Opaque fills (within a level of uint8 alpha) are left out."""
    order = np.argsort(labels, kind="stable")
    labels, alpha = labels[order], alpha[order]
    starts = np.flatnonzero(np.diff(labels, prepend=-1))
    out = {}
    for label, values in zip(labels[starts], np.split(alpha, starts[1:])):
        opacity = float(np.median(values))
        if opacity < 1.0 - 1.5 / 255.0:
            out[int(label) - 1] = max(opacity, 1.0 / 255.0)
    return out


def upscale_fills(index: np.ndarray, partner: np.ndarray, share: np.ndarray, upscale: int) -> np.ndarray:
    """The indexed raster `upscale` times larger, with the boundaries between its fills at sub-pixel precision.

    Blown up as it is, a boundary between two fills of one step keeps the pixel grid's staircase, `upscale`
    pixels per step, and vtracer traces those steps as a jagged edge. A pixel where two fills meet is covered
    by its own fill for `share` and by `partner` for the rest; each of its new pixels takes whichever of the
    two covers more of it, interpolated bilinearly from it and its neighbours as OpenCV resizes. Pixels that
    blend nothing keep their fill (at 2x their own weight is over one half anyway).
    """
    big = cv2.resize(index, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_NEAREST)
    ys, xs = np.nonzero(share < 1)
    if len(ys) == 0:
        return big
    height, width = index.shape
    fill, other = index[ys, xs], partner[ys, xs]

    def cover(y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """How much more of pixel (y, x) `fill` covers than `other` (-1..1)."""
        own, part, blend = index[y, x], partner[y, x], share[y, x]
        return (np.where(own == fill, blend, 0) + np.where(part == fill, 1 - blend, 0)
                - np.where(own == other, blend, 0) - np.where(part == other, 1 - blend, 0))

    for i in range(upscale):
        offset_y = (i + 0.5) / upscale - 0.5  # where OpenCV samples, in source pixels from the centre
        ny = np.clip(ys + int(np.sign(offset_y)), 0, height - 1)
        for j in range(upscale):
            offset_x = (j + 0.5) / upscale - 0.5
            nx = np.clip(xs + int(np.sign(offset_x)), 0, width - 1)
            wy, wx = abs(offset_y), abs(offset_x)
            lead = ((1 - wy) * (1 - wx) * (2 * share[ys, xs] - 1) + wy * (1 - wx) * cover(ny, xs)
                    + (1 - wy) * wx * cover(ys, nx) + wy * wx * cover(ny, nx))
            big[ys * upscale + i, xs * upscale + j] = np.where(lead >= 0, fill, other)
    return big


def _partners_from_neighbours(
    index: np.ndarray, partner: np.ndarray, share: np.ndarray, rgb: np.ndarray, colors: np.ndarray
) -> None:
    """Where a blend's partner fill is not next to it but another fill is, blend with that one (in place).

    By colour alone a blend is ambiguous when three fills lie on one line: white, a light and a dark teal,
    say, so a white/light-teal edge pixel also fits the white/dark-teal line. Taken for the wrong pair, the
    pixel counts as nearly all white and the edge keeps the pixel staircase. The fill across the edge is
    the one next to the pixel; its share is recomputed on the line to that fill.
    """
    ys, xs = np.nonzero(share < 1)
    if len(ys) == 0:
        return
    pure = np.pad(np.where(share >= 1, index, 0), 1)
    own, current = index[ys, xs], partner[ys, xs]
    present = np.zeros(len(ys), bool)
    across = np.zeros(len(ys), index.dtype)
    for dy, dx in ((0, 1), (1, 0), (0, -1), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1)):
        neighbour = pure[ys + 1 + dy, xs + 1 + dx]
        present |= neighbour == current
        across = np.where((across == 0) & (neighbour > 0) & (neighbour != own), neighbour, across)
    fix = np.flatnonzero(~present & (across > 0))
    if len(fix) == 0:
        return
    ys, xs, own, other = ys[fix], xs[fix], own[fix], across[fix]
    t = _coverage(colors[other - 1], rgb[ys, xs], colors[own - 1])  # the share of `own`
    nearer_own = t >= 0.5
    index[ys, xs] = np.where(nearer_own, own, other)
    partner[ys, xs] = np.where(nearer_own, other, own)
    share[ys, xs] = np.where(nearer_own, t, 1.0 - t)


def _new_edges(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Pixels where the step's picture changes more steeply than the old one: an edge the step drew.

    There coverage places the edge. Where the old picture changes as steeply (a recoloured shape's rim), a
    pixel's move towards the new colour mixes two edges' blends, and is no sub-pixel position (edges.py).
    """
    def steepness(image: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return np.abs(cv2.Sobel(gray, -1, 1, 0)) + np.abs(cv2.Sobel(gray, -1, 0, 1))

    return steepness(old) <= steepness(new) / 2


def _rows(image: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The pixels of an HxWxC image at flat indices `at`, as rows (much faster than boolean indexing)."""
    return np.take(image.reshape(-1, image.shape[-1]), at, axis=0)


def _coverage(old: np.ndarray, new: np.ndarray, shape_color: np.ndarray) -> np.ndarray:
    """Fraction of the way each pixel moved from `old` towards `shape_color` (projected, clipped to 0..1)."""
    old = old.astype(np.float32)
    toward = shape_color.astype(np.float32) - old
    moved = new.astype(np.float32) - old
    length2 = np.einsum("nc,nc->n", toward, toward)
    fraction = np.einsum("nc,nc->n", moved, toward) / np.maximum(length2, 1.0)
    # Where the shape has the old colour there is no edge to place: nothing of this step is visible.
    fraction[length2 < 64.0] = 0.0
    return np.clip(fraction, 0.0, 1.0)


def core(mask: np.ndarray) -> np.ndarray:
    """The mask without its one-pixel rim, where colours are blends; thin strokes are kept whole."""
    square = np.ones((3, 3), np.uint8)
    eroded = cv2.erode(mask.view(np.uint8), square)
    # Pixels no core pixel touches. A piece of the mask without a core is made of these alone, and as a core
    # pixel's neighbours are in its piece, a piece of these that no other mask pixel touches is such a piece.
    thin = mask & ~cv2.dilate(eroded, square).view(bool)
    x, y, w, h = cv2.boundingRect(thin.view(np.uint8))
    out = eroded.view(bool)
    if w == 0:
        return out
    box = (slice(max(0, y - 1), y + h + 1), slice(max(0, x - 1), x + w + 1))
    count, labels = cv2.connectedComponents(thin[box].view(np.uint8), connectivity=8)
    touched = cv2.dilate((mask[box] & ~thin[box]).view(np.uint8), square).view(bool)
    attached = np.zeros(count, bool)
    attached[labels[touched & thin[box]]] = True
    out[box] |= thin[box] & ~attached[labels]
    return out
