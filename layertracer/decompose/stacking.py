"""Which region lies on top of which, and what a region looks like whole (amodal completion).

The cue is the convex hull: a shape that is partly covered keeps its outline around the cover, so its hull
reaches into the shape on top of it, while the covering shape's hull does not reach back. A shape whose outline
runs along one neighbour only sits in that neighbour's hole, on top of it. Where the cues say nothing, larger
shapes come first, so backgrounds and big bodies precede details. Completion then draws each shape whole:
a rectangle, circle or hull around what is visible, filled only where later shapes will cover it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from layertracer.labels import boundary_keys

_MIN_EVIDENCE = 0.05  # hull-overlap difference below which two neighbours are considered unordered
_OUTLINE_SLACK = 0.5  # spilled pixels per pixel of outline tolerated when fitting a rectangle or circle (edges)
_ENCLOSED = 0.9  # share of a region's outline along one neighbour that makes it lie in that neighbour's hole


@dataclass(frozen=True)
class RegionHull:
    """A region's convex hull, stored as a filled mask over its bounding box, and its vertices."""

    y0: int
    x0: int
    mask: np.ndarray  # bool, hull filled, bounding-box sized
    points: np.ndarray  # (k, 1, 2) int32 hull vertices, x/y in image coordinates


@dataclass(frozen=True)
class ShapeMask:
    """A bool mask over a box of the image: a region drawn whole."""

    y0: int
    x0: int
    mask: np.ndarray


def convex_hulls(region_map: np.ndarray, boxes: np.ndarray) -> list[RegionHull | None]:
    """Filled convex hull of every region (None for the canvas)."""
    hulls: list[RegionHull | None] = [None]
    for rid in range(1, len(boxes)):
        y0, x0, y1, x1 = (int(v) for v in boxes[rid])
        crop = (region_map[y0:y1, x0:x1] == rid).astype(np.uint8)
        contours, _ = cv2.findContours(crop, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        hull = cv2.convexHull(np.concatenate(contours))
        filled = np.zeros_like(crop)
        cv2.fillConvexPoly(filled, hull, 1)
        hulls.append(RegionHull(y0, x0, (filled | crop).astype(bool), hull + np.int32([x0, y0])))
    return hulls


def adjacency(region_map: np.ndarray, n: int) -> np.ndarray:
    """(n, n) shared boundary length in pixel edges between regions (symmetric, canvas included)."""
    counts = np.bincount(boundary_keys(region_map, n), minlength=n * n).reshape(n, n)
    return counts + counts.T


def hull_overlaps(region_map: np.ndarray, hulls: list[RegionHull | None], n: int) -> np.ndarray:
    """(n, n) matrix: [a, b] = pixels of region b inside the hull of region a."""
    inside = np.zeros((n, n), np.int64)
    for rid, hull in enumerate(hulls):
        if hull is None:
            continue
        h, w = hull.mask.shape
        crop = region_map[hull.y0 : hull.y0 + h, hull.x0 : hull.x0 + w]
        inside[rid] = np.bincount(crop[hull.mask], minlength=n)
    return inside


def border_lengths(region_map: np.ndarray, n: int) -> np.ndarray:
    """(n,) pixel edges of each region along the image's border."""
    rim = np.concatenate([region_map[0], region_map[-1], region_map[:, 0], region_map[:, -1]])
    return np.bincount(rim, minlength=n)


def below_weights(areas: np.ndarray, touching: np.ndarray, inside: np.ndarray, border: np.ndarray) -> np.ndarray:
    """(n, n) evidence that region a lies below region b (0 where there is none); canvas excluded.

    A region whose outline runs (almost) entirely along one other region sits in that region's hole and is
    on top of it; this overrides the hull cue, which thin curved strokes (an arc drawn on a face) fool. The
    image's `border` is part of an outline: what a region meets beyond it is unknown, so a background that
    reaches the border is in no hole of the one shape it surrounds (an app tile on a dark canvas).
    """
    area = np.maximum(areas, 1).astype(np.float64)
    # inside[a, b] - inside[b, a], relative to the smaller region: a small shape tucked under a big one
    # (a neck under a head) shows as much as a big one under a small one.
    evidence = (inside - inside.T) / np.minimum(area[:, None], area[None, :])
    weights = np.where((touching > 0) & (evidence > _MIN_EVIDENCE), evidence, 0.0)
    outline = np.maximum(touching.sum(axis=0) + border, 1).astype(np.float64)
    enclosed = touching / outline[None, :] >= _ENCLOSED  # enclosed[a, b]: b lies in a hole of a
    weights[enclosed] = 1.0
    weights[enclosed.T] = 0.0
    weights[0, :] = weights[:, 0] = 0.0
    np.fill_diagonal(weights, 0.0)
    return weights


def stacking_order(areas: np.ndarray, below: np.ndarray, fills: np.ndarray) -> list[list[int]]:
    """Regions 1..n-1 bottom to top, as elements: repeatedly the largest free region (nothing unplaced below
    it), together with every other free region of the same fill (two eyes are one element, as in a
    designer's file).

    Cycles in the evidence (rare) are broken by taking the region with the least unplaced weight below it.
    """
    remaining = np.ones(len(areas), bool)
    remaining[0] = False
    pending = below.sum(axis=0)  # weight of not-yet-placed regions that must come first
    elements: list[list[int]] = []
    while remaining.any():
        rem = np.flatnonzero(remaining)
        waiting = pending[rem]
        near = rem[waiting <= waiting.min() + 1e-9]
        pick = int(near[np.argmax(areas[near])])
        element = [pick]
        if waiting.min() <= 1e-9:
            element += [int(r) for r in near if r != pick and fills[r] == fills[pick]]
        elements.append(element)
        remaining[element] = False
        pending -= below[element].sum(axis=0)
    return elements


def complete_shape(region_map: np.ndarray, rank: np.ndarray, members: list[int], points: np.ndarray) -> ShapeMask:
    """Regions of one fill drawn whole: themselves plus the part of a completed outline that later regions cover.

    The outline is the simplest that fits `points` (the members' hull vertices): the rotated bounding
    rectangle or the enclosing circle when only later regions hide what it adds (a square under a disc gets
    its corner back), else the convex hull (pieces of a plate cut by a fork join up again). Only pixels of
    regions ranked above the first member are filled, so the final picture is unchanged, and only parts that
    touch the members, so a concave shape does not grow islands inside unrelated shapes.
    """
    y0, x0, candidate = _outline(region_map, rank, members, points)
    h, w = candidate.shape
    crop = region_map[y0 : y0 + h, x0 : x0 + w]
    own = np.isin(crop, members)
    later = candidate & ~own & (rank[crop] > rank[members].min())
    if not later.any():
        return ShapeMask(y0, x0, own)
    count, comp = cv2.connectedComponents(later.astype(np.uint8), connectivity=4)
    grown = cv2.dilate(own.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    touching = np.unique(comp[grown & later])
    return ShapeMask(y0, x0, own | np.isin(comp, touching[touching > 0]))


def _outline(
    region_map: np.ndarray, rank: np.ndarray, members: list[int], points: np.ndarray
) -> tuple[int, int, np.ndarray]:
    """(y0, x0, filled mask) of the rectangle or circle around `points`, or of their hull with its hidden
    corners put back, if only later regions hide what it adds (up to a rim of edge pixels); else of their
    convex hull."""
    height, width = region_map.shape
    first = rank[members].min()
    (cx, cy), radius = cv2.minEnclosingCircle(points)
    own_low, own_high = points.reshape(-1, 2).min(axis=0), points.reshape(-1, 2).max(axis=0) + 1
    hull = cv2.convexHull(points).reshape(-1, 2)
    candidates = {  # in order of preference, each made only if the ones before it do not fit
        "rect": lambda: np.round(cv2.boxPoints(cv2.minAreaRect(points))).astype(np.int32),
        "circle": lambda: None,
        "corners": lambda: _hidden_corners(hull, region_map, rank, members),
        "hull": lambda: hull,
    }
    for kind, make in candidates.items():
        polygon = make()  # None: the circle, or for "corners" that no corner is hidden
        if kind == "corners" and polygon is None:
            continue
        if polygon is not None:
            low, high = polygon.min(axis=0), polygon.max(axis=0) + 1
        else:
            low, high = np.int32([cx - radius, cy - radius]), np.int32(np.ceil([cx + radius, cy + radius])) + 1
        # the window also holds every member pixel, whatever the outline's rounding
        x0, y0 = np.maximum(np.minimum(low, own_low), 0)
        x1, y1 = np.minimum(np.maximum(high, own_high), (width, height))
        filled = np.zeros((y1 - y0, x1 - x0), np.uint8)
        if polygon is not None:
            cv2.fillConvexPoly(filled, polygon - np.int32([x0, y0]), 1)
        else:
            cv2.circle(filled, (round(cx - x0), round(cy - y0)), round(radius), 1, thickness=-1)
        inside = filled.astype(bool)
        if kind == "hull":
            return int(y0), int(x0), inside
        crop = region_map[y0:y1, x0:x1]
        spill = inside & (rank[crop] < first)  # earlier regions or the canvas (rank -1); members rank >= first
        if spill.sum() <= _OUTLINE_SLACK * 2.0 * (inside.shape[0] + inside.shape[1]):
            return int(y0), int(x0), inside
    raise AssertionError("unreachable: the hull is always returned")


def _hidden_corners(
    hull: np.ndarray, region_map: np.ndarray, rank: np.ndarray, members: list[int]
) -> np.ndarray | None:
    """The hull with the corners that later regions hide put back, or None if it has none to put back.

    Where a later shape covers a corner (hands holding a tablet), the hull of what is visible cuts the corner
    off with a chamfer, and a curve traced around it bows out along the visible sides. Each run of hull edges
    that lies on later regions is replaced by the point where the visible edges on either side meet, if it
    lies close by: a polygon's hidden corner.
    """
    polygon = cv2.approxPolyDP(hull.reshape(-1, 1, 2), 1.5, True).reshape(-1, 2)
    n = len(polygon)
    if n < 4:
        return None
    height, width = region_map.shape
    later = rank > rank[members].min()
    later[members] = False
    ends = np.roll(polygon, -1, axis=0)  # edge i runs from polygon[i] to ends[i]
    # An edge is hidden if a quarter, half and three quarters of the way along it lie on later regions.
    at = np.round(polygon + np.array([0.25, 0.5, 0.75])[:, None, None] * (ends - polygon)).astype(np.intp)
    hidden = later[region_map[np.clip(at[..., 1], 0, height - 1), np.clip(at[..., 0], 0, width - 1)]].all(axis=0)
    if hidden.all() or not hidden.any():
        return None
    # Start just after a visible edge, so that the last edge is visible and no run wraps around the end.
    shift = int(np.flatnonzero(~hidden)[0]) + 1
    polygon, ends, hidden = (np.roll(a, -shift, axis=0) for a in (polygon, ends, hidden))
    out: list[np.ndarray] = []
    i = 0
    while i < n:
        if not hidden[i]:
            out.append(polygon[i])
            i += 1
            continue
        j = i
        while hidden[j]:  # edges i..j-1 are hidden; their vertices are polygon[i..j]
            j += 1
        corner = _meeting_point(polygon[i - 1], polygon[i], polygon[j], ends[j])
        chord = float(np.linalg.norm(polygon[j] - polygon[i])) + 1.0
        if corner is not None and np.linalg.norm(polygon[i : j + 1] - corner, axis=1).max() <= 2.0 * chord:
            out.append(np.round(corner).astype(np.int32))  # in place of the run's vertices, both ends
            i = j + 1
        else:
            out.extend(polygon[i:j])
            i = j
    return np.asarray(out, np.int32) if len(out) >= 3 else None


def _meeting_point(a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray) -> np.ndarray | None:
    """Where the line through a0, a1 meets the line through b0, b1 ahead of a1 and behind b0; None if it does not."""
    d, e = (a1 - a0).astype(np.float64), (b1 - b0).astype(np.float64)
    cross = d[0] * e[1] - d[1] * e[0]
    if abs(cross) < 1e-9:
        return None
    w = (b0 - a0).astype(np.float64)
    t = (w[0] * e[1] - w[1] * e[0]) / cross
    u = (w[0] * d[1] - w[1] * d[0]) / cross
    if t < 1.0 or u > 0.0:
        return None
    return a0 + t * d
