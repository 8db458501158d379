"""Compression halos: thin bands of a blended colour along the edges of a lossy image.

A JPEG keeps colour (chroma) at a coarser resolution than brightness and rounds its block frequencies, so next to a
colour edge each side takes on a tint of the other in a band a few pixels wide: white beside orange turns cream,
orange beside white turns pale. The bands are flat enough to look like fills of their own; drawn as regions they
put a cream rim around every white shape (on JPEG quality-80 icons most of the error against the clean render sat
in such rims). A band is recognised by what it is: no wider than the codec's reach on either side of an edge, and
of a colour that lies, within the palette's own colour tolerance, on the blend between two regions it touches (or
at one of them). It then joins its neighbours, as an anti-aliasing seam does. Lossless images have no reach and
are left as they are.
"""

from __future__ import annotations

import cv2
import numpy as np

from layertracer.labels import boundary_keys

_CHOICES = 3  # a blend pixel tries its three nearest fills in turn, then the nearest region whatever its colour


def absorb_halos(
    region_map: np.ndarray, fills: np.ndarray, feat: np.ndarray, core: np.ndarray, reach: float, colour_tol: float
) -> np.ndarray:
    """`region_map` with the halo regions' pixels given to the fill of the nearest colour (a cream pixel to the
    white, a pale orange one to the orange), and within it to a touching region of that fill; -1 where none is
    reached (the caller grows its neighbours into those)."""
    halo, colours = halo_regions(region_map, fills, feat, core, reach, colour_tol)
    return give_by_colour(region_map, halo[region_map], fills, feat, colours)


def give_by_colour(
    region_map: np.ndarray, unknown: np.ndarray, fills: np.ndarray, feat: np.ndarray, colours: np.ndarray
) -> np.ndarray:
    """The `unknown` pixels joined to the nearest region of their nearest fill colour; -1 where none touches them.

    A blend piece grown over by whichever neighbour reaches it first would split the band down its middle and move
    the edge by half its width; by colour, each pixel goes to the side it looks like.
    """
    if not unknown.any():
        return region_map
    known = np.bincount(region_map[~unknown], minlength=len(fills)) > 0
    canvas = bool(known[0])  # the canvas joins by colour like any fill (its fill is -1)
    known[0] = False
    palette = [int(f) for f in np.unique(fills[known])] + ([-1] if canvas else [])
    fill_colours = np.array([colours[known & (fills == f)].mean(axis=0) for f in palette[: len(palette) - canvas]]
                            + ([colours[0]] if canvas else []))
    pixel = feat[unknown].astype(np.float64)
    ranked = np.argsort(((pixel[:, None, :] - fill_colours[None]) ** 2).sum(axis=-1), axis=1, kind="stable")
    # Padded flat arrays: the 8 neighbours of a pixel are fixed offsets, and the border is never a region.
    h, w = region_map.shape
    out = np.full((h + 2, w + 2), -1, np.int64)
    out[1:-1, 1:-1] = np.where(unknown, -1, region_map)
    fill_of = np.full((h + 2, w + 2), -3, np.int64)
    fill_of[1:-1, 1:-1] = np.where(unknown, -3, fills[region_map])
    ys, xs = np.nonzero(unknown)
    todo = (ys + 1) * (w + 2) + xs + 1
    for choice in range(min(_CHOICES, len(palette))):  # the nearest fill that touches the pixel's piece
        pending = out.ravel()[todo] < 0
        _grow_fill(out.ravel(), fill_of.ravel(), todo[pending], np.asarray(palette)[ranked[pending, choice]], w + 2)
    return out[1:-1, 1:-1].astype(np.int32)


def _grow_fill(out: np.ndarray, fill_of: np.ndarray, todo: np.ndarray, want: np.ndarray, stride: int) -> None:
    """Pixels `todo` (flat indices, unassigned) take, one pixel per round, the region of a neighbour whose fill is
    the one they `want`; in place.

    A pixel that found no such neighbour can find one only next to a pixel taken since: after the first round,
    only the pixels near the last round's takers are tried (within a round a pixel may take from one taken at an
    earlier offset, so a chain reaches as many pixels as there are offsets). Pixels that want a fill that never
    reaches them (most of a JPEG's band, rounds on end) are then not tried again."""
    offsets = [dy * stride + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
    rows, columns = np.divmod(todo, stride)
    tried = np.arange(len(todo))
    while len(tried):
        pixels, wanted = todo[tried], want[tried]
        took = np.zeros(len(tried), bool)
        for offset in offsets:
            neighbour = pixels + offset
            take = ~took & (fill_of[neighbour] == wanted) & (out[neighbour] >= 0)
            out[pixels[take]] = out[neighbour[take]]
            fill_of[pixels[take]] = wanted[take]
            took |= take
        if not took.any():
            return
        left = np.ones(len(todo), bool)
        left[tried[took]] = False
        todo, want, rows, columns = todo[left], want[left], rows[left], columns[left]
        tried = _near(rows, columns, *np.divmod(pixels[took], stride), len(offsets))


def _near(ys: np.ndarray, xs: np.ndarray, cy: np.ndarray, cx: np.ndarray, reach: int) -> np.ndarray:
    """The indices of the pixels (`ys`, `xs`) that lie within `reach` rows and columns of a centre (`cy`, `cx`).
    Measured in the centres' box, which late rounds keep small."""
    y0, x0 = cy.min() - reach, cx.min() - reach
    hit = np.zeros((cy.max() + reach + 1 - y0, cx.max() + reach + 1 - x0), np.uint8)
    hit[cy - y0, cx - x0] = 1
    hit = cv2.dilate(hit, np.ones((2 * reach + 1,) * 2, np.uint8))
    at = np.flatnonzero((ys >= y0) & (ys < y0 + hit.shape[0]) & (xs >= x0) & (xs < x0 + hit.shape[1]))
    return at[hit[ys[at] - y0, xs[at] - x0] > 0]


def halo_regions(
    region_map: np.ndarray, fills: np.ndarray, feat: np.ndarray, core: np.ndarray, reach: float, colour_tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """(n,) flags of the regions (ids of `region_map`, canvas 0 never) that are compression halos, and (n, 4) the
    regions' colours.

    feat: premultiplied RGBA; core: the flat pixels the region colours are measured on; reach: the codec's smear
    in pixels (a region with no pixel farther than this from another region is thin enough).
    """
    n = len(fills)
    halo = np.zeros(n, bool)
    areas = np.bincount(region_map.ravel(), minlength=n)
    thin = ~_has_inside(region_map, n, reach) & (areas > 0)
    thin[0] = False
    if not areas[0]:
        thin[int(np.argmax(areas))] = False  # no canvas: something must stay for the bands to join
    colours = region_colours(region_map, feat, core, n)
    if not thin.any():
        return halo, colours
    pairs = _touching(region_map, n)
    for rid in np.flatnonzero(thin):
        halo[rid] = _blend_distance(colours[rid], colours[pairs[pairs[:, 0] == rid, 1]]) <= colour_tol
    return halo, colours


def _touching(region_map: np.ndarray, n: int) -> np.ndarray:
    """(k, 2) the pairs of regions that share a pixel edge, both ways round (pairs, not `stacking.adjacency`'s
    n x n matrix: before regions are renumbered, n counts every speck of a noisy image)."""
    pairs = np.unique(boundary_keys(region_map, n))
    pairs = np.stack([pairs // n, pairs % n], axis=1)
    return np.concatenate([pairs, pairs[:, ::-1]])


def _has_inside(region_map: np.ndarray, n: int, reach: float) -> np.ndarray:
    """(n,) whether a region has a pixel farther than `reach` from every pixel of another region."""
    rm = region_map
    edge = np.zeros(rm.shape, bool)
    edge[:-1] |= rm[:-1] != rm[1:]
    edge[1:] |= rm[1:] != rm[:-1]
    edge[:, :-1] |= rm[:, :-1] != rm[:, 1:]
    edge[:, 1:] |= rm[:, 1:] != rm[:, :-1]
    # Distance to the region's own edge pixels, which count as 1 (a 1 px band reaches 1 px from its neighbour).
    dist = cv2.distanceTransform((~edge).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE) + 1.0
    inside = np.zeros(n, bool)
    inside[rm[dist > reach]] = True
    return inside


def region_colours(region_map: np.ndarray, feat: np.ndarray, core: np.ndarray, n: int) -> np.ndarray:
    """(n, 4) mean colour of each region's core pixels (all its pixels where it has none)."""
    channels = feat.shape[2]
    colours = np.zeros((n, channels), np.float64)
    counts = np.zeros(n, np.float64)
    for sample in (core, None):
        pick = (counts == 0)[region_map]
        if sample is not None:
            pick &= sample
        elif not pick.any():
            break  # every region had core pixels
        at = np.flatnonzero(pick)
        ids = region_map.ravel()[at]
        values = np.take(feat.reshape(-1, channels), at, axis=0).astype(np.float64)  # one gather, not four
        counts += np.bincount(ids, minlength=n)
        colours += np.stack([np.bincount(ids, weights=values[:, c], minlength=n) for c in range(channels)], 1)
    return colours / np.maximum(counts, 1)[:, None]


def _blend_distance(colour: np.ndarray, neighbours: np.ndarray) -> float:
    """Distance from `colour` to the nearest blend of two neighbour colours (or to one of them)."""
    if not len(neighbours):
        return np.inf
    a = neighbours[:, None, :]
    d = neighbours[None, :, :] - a
    length = (d * d).sum(axis=-1)
    t = np.clip(((colour - a) * d).sum(axis=-1) / np.maximum(length, 1e-9), 0.0, 1.0)
    return float(np.linalg.norm(colour - a - t[..., None] * d, axis=-1).min())
