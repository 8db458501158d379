"""Colour ramps in a step's indexed raster: the bands a gradient was cut into, found and joined into one fill.

Regions are given by a label map (here the step's colour rows); the pixels' true colours say which adjacent
regions one smooth colour field describes as well as their flat fills did (see gradients.py), and which
gradient fills each such ramp.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layertracer.images import colour_words
from layertracer.labels import boundary_keys
from layertracer.vectorize.gradients import (
    QUANTIZATION_VAR,
    Gradient,
    Moments,
    fit_gradient,
    merge_smooth,
    noise_variance,
    region_moments,
)

MAX_SAMPLES = 40_000  # pixels a ramp search measures at most (an even grid of them on larger rasters)
COLOUR_TOL = 12.0  # colours this close (RGB distance) are one fill: the decomposer's palette default


@dataclass(frozen=True)
class Ramps:
    """Regions joined into ramps: `group[k]` is the region that region k now belongs to (itself if none), and
    `gradients` the fill of each group that has one, in pixel coordinates (pixel (x, y) spans x..x+1)."""

    group: np.ndarray
    gradients: dict[int, Gradient]


def find_ramps(
    labels: np.ndarray, rgb: np.ndarray, inside: np.ndarray, fills: np.ndarray | None = None,
    colour_tol: float = COLOUR_TOL,
) -> Ramps:
    """Which regions of `labels` (0 = none, 1..n) are one colour ramp, from the true colours `rgb` of the
    `inside` pixels, and each ramp's gradient. A region alone gets a gradient only where BIC prefers it.
    `fills` (uint8 RGB per label), the colour each region was given, lets flat artwork pass at a tenth of the cost.

    A ramp may miss its bands' pixels by what the palette lets a flat fill's pixels stray (`colour_tol`): colours
    spread evenly within that distance of a fill are off by 3/5 of its square on average, and a gradient that errs
    no more is as faithful as the fill was promised to be. Shading a gradient cannot follow (an inner shadow along a
    rounded edge) is then drawn with the nearest gradient instead of as a band per palette colour. Only ramps whose
    every region varies smoothly get that allowance: a flat fill's noise must not join two shades, and a flat shape
    beside a ramp (a wheel arch on a shaded car body) must not be paid for by the ramp's allowance.
    """
    n = int(labels.max()) + 1
    group = np.arange(n)
    if n < 2:
        return Ramps(group, {})
    inside = inside & (labels > 0)
    # Moments and noise from an even grid of the pixels: sums of squares need no more to be sure.
    stride = max(1, int(np.ceil(np.sqrt(np.count_nonzero(inside) / MAX_SAMPLES))))
    grid = (slice(None, None, stride), slice(None, None, stride))
    if fills is not None and _near_fills(labels[grid], rgb[grid], inside[grid], fills):
        return Ramps(group, {})
    ys, xs = (axis * stride for axis in np.nonzero(inside[grid]))  # the grid's pixels, row-major
    at = ys * labels.shape[1] + xs
    ids, colors = labels.ravel()[at], np.take(rgb.reshape(-1, 3), at, axis=0)
    moments = region_moments(ids, xs, ys, colors, n, float(max(labels.shape)))
    if moments is None:
        return Ramps(group, {})
    noise = noise_variance(rgb[::stride], inside[::stride])
    pairs = _adjacent_pairs(labels, n)
    smooth = [m.n > 0 and _worth_fitting(m, noise) for m in moments]
    moments = [m.loosened(0.6 * colour_tol**2) if varies else m for m, varies in zip(moments, smooth)]
    measured = np.array([m.n > 0 for m in moments])
    measured[0] = False
    # The merges as a tree: node k < n is region k, node n + i the union of merge i's two nodes.
    children: list[tuple[int, int]] = []
    node = list(range(n))
    joined = set()
    for a, b in merge_smooth(moments, pairs[measured[pairs].all(axis=1)]):
        children.append((node[a], node[b]))
        node[a] = n + len(children) - 1
        joined.add(b)
    order = np.argsort(ids, kind="stable")
    ys, xs, colors = ys[order], xs[order], colors[order]
    bounds = np.searchsorted(ids[order], np.arange(n + 1))

    def regions(k: int) -> list[int]:
        return [k] if k < n else regions(children[k - n][0]) + regions(children[k - n][1])

    gradients = {}
    todo = [node[k] for k in range(1, n) if measured[k] and k not in joined]
    while todo:  # top down: a ramp that no SVG gradient holds as well as its bands did is tried in its halves
        k = todo.pop()
        members = regions(k)
        at = np.concatenate([np.arange(bounds[m], bounds[m + 1]) for m in members])
        limit = sum((moments[m] for m in members[1:]), moments[members[0]]).limit
        if k < n and not smooth[k]:
            continue
        gradient, rss = fit_gradient(np.stack([xs[at], ys[at]], axis=-1) + 0.5, colors[at], noise)
        if gradient is not None and (k < n or rss <= limit):
            group[members] = members[0]
            gradients[members[0]] = gradient
        elif k >= n:
            todo += children[k - n]
    # Regions with no trusted pixel (blends, strays) join a ramp they touch: shades of its own.
    for a, b in pairs:
        for speck, other in ((a, b), (b, a)):
            if not measured[speck] and group[speck] == speck and group[other] in gradients:
                group[speck] = group[other]
    return Ramps(group, gradients)


def _near_fills(labels: np.ndarray, rgb: np.ndarray, inside: np.ndarray, fills: np.ndarray) -> bool:
    """Whether every region's `inside` pixels lie so close to its fill that none varies as `region_moments` asks a
    ramp's pixels to (3 squared levels per pixel about their mean): they are no farther from their mean than from
    the fill, and 2 per pixel from the fill leaves a margin for float sums. A flat icon's pixels are their fills,
    which one comparison of 32-bit words per pixel tells, where the moments take ~40 passes over the pixels.

    A region's rim (pixels next to another region) is left out where it has pixels off it: there a flat icon blends
    two fills, anti-aliased, while a ramp varies across every band wide enough to have pixels off its rim."""
    table = np.full((len(fills), 4), 255, np.uint8)
    table[:, :3] = fills
    expected = np.take(table.view(np.uint32).ravel(), labels)
    actual = colour_words(rgb)
    off = (expected != actual) & inside
    if not off.any():
        return True
    rim = np.zeros(labels.shape, bool)
    across, down = labels[:, 1:] != labels[:, :-1], labels[1:] != labels[:-1]
    rim[:, 1:] |= across
    rim[:, :-1] |= across
    rim[1:] |= down
    rim[:-1] |= down
    has_core = np.bincount(labels[inside & ~rim], minlength=len(fills)) > 0
    counted = inside & ~(rim & has_core[labels])
    ys, xs = np.nonzero(off & counted)
    ids = labels[ys, xs]
    miss = rgb[ys, xs].astype(np.int64) - fills[ids]
    excess = np.bincount(ids, weights=(miss * miss).sum(axis=-1), minlength=len(fills))
    return bool(np.all(excess <= 2 * np.bincount(labels[counted], minlength=len(fills))))


def _worth_fitting(moments: Moments, noise: float) -> bool:
    """Whether a region alone may be a gradient: a smooth field explains more of its colour than it leaves, by
    more than a level per pixel and BIC's smallest penalty (what `fit_gradient` asks of a gradient, asked of the
    quadratic field first). Cheap to know, and flat fills are never fitted at all."""
    budget, n_pixels = moments.budget, moments.n
    explained = budget - moments.smooth_rss()
    return (
        explained >= budget - explained and explained > 3 * n_pixels
        and budget / max(noise, QUANTIZATION_VAR) > 6 * np.log(3 * n_pixels)
    )


def _adjacent_pairs(labels: np.ndarray, n: int) -> np.ndarray:
    """Distinct pairs (a < b) of regions (both > 0, below n) that touch along a pixel edge, in order."""
    keys = boundary_keys(labels, n)
    a, b = keys // n, keys % n
    touch = (a > 0) & (b > 0)
    keys = np.unique(np.minimum(a[touch], b[touch]) * n + np.maximum(a[touch], b[touch]))  # ordered as pairs are
    return np.stack([keys // n, keys % n], -1)


@dataclass(frozen=True)
class RampFills:
    """An indexed raster with its ramps joined: `index` (0 = empty), `colors` (uint8 RGB rows for index - 1),
    `gradients` the fill of each row that is a gradient."""

    index: np.ndarray
    colors: np.ndarray
    gradients: dict[int, Gradient]


def ramp_fills(index: np.ndarray, colors: np.ndarray, rgb: np.ndarray, trusted: np.ndarray) -> RampFills:
    """The ramps of an indexed raster as one row each, from the true colours `rgb` of its `trusted` pixels
    (those whose colour was settled).

    Regions here are the colour rows themselves: each is traced as one compound path, so joining k rows into
    one ramp leaves k - 1 paths fewer. Unchanged (the same arrays) where there are no ramps, so flat artwork
    traces as before.
    """
    ramps = find_ramps(index.astype(np.int64), rgb, trusted & (index > 0), np.concatenate([[(0, 0, 0)], colors]))
    if not ramps.gradients:
        return RampFills(index, colors, {})
    roots = list(ramps.gradients)
    new_rows = np.zeros(len(ramps.group), np.int64)
    new_rows[roots] = len(colors) + 1 + np.arange(len(roots))
    target = new_rows[ramps.group][index]
    dtype = np.uint8 if len(colors) + len(roots) < 255 else np.uint16
    out = np.where(target > 0, target, index).astype(dtype)
    table = np.concatenate([colors, np.array([ramps.gradients[r].mean_color for r in roots], np.uint8)])
    return RampFills(out, table, {len(colors) + k: ramps.gradients[r] for k, r in enumerate(roots)})


def fill_colors(fills: RampFills, at: np.ndarray) -> np.ndarray:
    """The colour each fill gives the pixels at flat indices `at` (float RGB): its gradient's value there."""
    rows = fills.index.ravel()[at].astype(np.int64) - 1
    out = fills.colors[np.maximum(rows, 0)].astype(np.float32)
    width = fills.index.shape[1]
    for row, gradient in fills.gradients.items():
        mine = np.flatnonzero(rows == row)
        if len(mine):
            xy = np.stack([at[mine] % width, at[mine] // width], axis=-1) + 0.5
            out[mine] = gradient.colors_at(xy)
    return out
