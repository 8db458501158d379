"""Curves vtracer's fitter drew across a shape, redrawn along the shape's own outline.

visioncortex fits each span of an outline between two splice points (a turn of `splice_threshold`, or an
inflection) with one cubic, asking its fitter for a 10 px tolerance and keeping only the first curve when the
fitter needs more. A long gentle span then comes out as a chord or a bulge several pixels off the shape: the
shoulder of a cape on a 512 px icon, ~8 px across a 1000 x 600 px ellipse. Snapping (edges.py) moves a node at
most 2 px, so it cannot bring such a curve back. Each cubic is therefore checked at a few points against the traced
bitmap; one that leaves the band of pixels around the bitmap's edge is replaced by cubics fitted to the edge itself
between its two ends, which snapping then places on the anti-aliased edge like any other outline. Curves that stay
in the band, nearly all of them, are left exactly as vtracer wrote them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import cv2
import numpy as np

from layertracer.vectorize.pathdata import format_number, number_slots, pairs_only, segments_of

if TYPE_CHECKING:
    from layertracer.vectorize.trace import Path

# A curve point strays where every pixel within this many (in x and in y) of its own is on one side of the edge: the
# edge, between pixels, then lies at least this far from the point wherever in its pixel the point is, and snapping
# moves a node no further than that (edges.MAX_MOVE_PX, 2 px; a test keeps the two equal).
BAND_PX = 2
# The cubics that redraw a stray curve stay this close to its edge pixels' centres, which zigzag half a pixel about
# the true edge on a slant (snapping then moves them onto the anti-aliased edge).
FIT_PX = 1.0


def _bernstein(t: np.ndarray) -> np.ndarray:
    """The cubic Bernstein weights at parameters `t` (n x 4)."""
    return np.stack([(1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3], axis=-1)


_CHECKED = _bernstein(np.array([0.2, 0.35, 0.5, 0.65, 0.8]))  # where along each cubic it is checked
_TRACED = _bernstein(np.linspace(0.0, 1.0, 33))  # a stray cubic, densely, to compare the edge's two ways with


def redraw_strays(paths: list[Path], ink: np.ndarray) -> list[Path]:
    """vtracer's `paths` for the boolean bitmap `ink` (in its pixels, pixel (x, y) spanning x..x+1), each cubic that
    leaves the band around the bitmap's edge replaced by cubics fitted to the edge between its ends."""
    edge = None
    out = []
    for path in paths:
        parsed = segments_of(*number_slots(path.d)) if pairs_only(path.d) else None
        if parsed is None or not len(parsed[1]):
            out.append(path)
            continue
        points, segments = parsed[0] + [path.x, path.y], parsed[1]
        stray = _strays(points, segments, ink)
        if not stray.any():
            out.append(path)
            continue
        if edge is None:  # the bitmap's outline, traced once, and only for a bitmap with a stray curve
            edge = _Edge(ink.view(np.uint8))
        d = _redrawn(points, segments, stray, edge, path.d.count("Z"))
        out.append(path if d is None else replace(path, d=d, x=0.0, y=0.0))
    return out


def _curves(points: np.ndarray, segments: np.ndarray, weights: np.ndarray = _CHECKED) -> np.ndarray:
    """Each segment's points at the parameters of `weights` (k x t x 2); a line's controls are its ends, which
    changes nothing here."""
    controls = np.where(segments[:, 1:3, None] >= 0, points[segments[:, 1:3]], points[segments[:, [0, 3]]])
    nodes = np.stack([points[segments[:, 0]], controls[:, 0], controls[:, 1], points[segments[:, 3]]], axis=1)
    return np.einsum("tj,kjc->ktc", weights, nodes)


def _strays(points: np.ndarray, segments: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """Per segment, whether it is a cubic with a checked point whose whole (2 BAND_PX + 1)^2 neighbourhood (cut at
    the bitmap's border) is on one side of the edge: its ink is none or all of it, by box sums of an integral image."""
    height, width = ink.shape
    at = _curves(points, segments).reshape(-1, 2).astype(np.intp)
    x0, x1 = np.clip(at[:, 0] - BAND_PX, 0, width), np.clip(at[:, 0] + BAND_PX + 1, 0, width)
    y0, y1 = np.clip(at[:, 1] - BAND_PX, 0, height), np.clip(at[:, 1] + BAND_PX + 1, 0, height)
    sums = cv2.integral(ink.view(np.uint8))
    inked = sums[y1, x1] - sums[y0, x1] - sums[y1, x0] + sums[y0, x0]
    uniform = ((inked == 0) | (inked == (x1 - x0) * (y1 - y0))).reshape(len(segments), len(_CHECKED))
    return uniform.any(axis=1) & (segments[:, 1] >= 0)


class _Edge:
    """The bitmap's edge pixels as closed chains (OpenCV's contours, outer and holes), at their pixel centres."""

    def __init__(self, mask: np.ndarray) -> None:
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        self.chains = [c.reshape(-1, 2).astype(np.float64) + 0.5 for c in contours]
        self.points = np.concatenate(self.chains)
        self.chain_of = np.repeat(np.arange(len(self.chains)), [len(c) for c in self.chains])
        self.first = np.cumsum([0] + [len(c) for c in self.chains])

    def nearest(self, point: np.ndarray) -> tuple[int, int]:
        """(chain, index in it) of the edge point nearest `point`."""
        k = int(np.argmin(((self.points - point) ** 2).sum(axis=1)))
        chain = int(self.chain_of[k])
        return chain, k - int(self.first[chain])

    def between(self, start: np.ndarray, end: np.ndarray, curve: np.ndarray) -> np.ndarray | None:
        """The edge pixels' centres from the one nearest `start` to the one nearest `end`, the way round nearer the
        stray `curve` (points along it, densely): by the Hausdorff distance, since near its ends both ways pass
        close to any curve, and only the wrong way reaches far from it. None where the ends lie on different chains
        or the nearer way is more than twice as long as the curve and a band on either side (no chord or bulge of
        the edge it should be)."""
        (chain, i), (other, j) = self.nearest(start), self.nearest(end)
        if chain != other or i == j:
            return None
        points = self.chains[chain]
        n = len(points)
        forward = points[np.arange(i, i + (j - i) % n + 1) % n]
        backward = points[np.arange(i, i - (i - j) % n - 1, -1) % n]
        arc = min((forward, backward), key=lambda way: _hausdorff(curve, way))
        if _length(arc) > 2 * _length(curve) + 4 * BAND_PX:
            return None
        return arc


def _hausdorff(a: np.ndarray, b: np.ndarray) -> float:
    """The symmetric Hausdorff distance between two point sets (squared)."""
    squared = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1)
    return float(max(squared.min(axis=1).max(), squared.min(axis=0).max()))


def _length(points: np.ndarray) -> float:
    return float(np.hypot(*np.diff(points, axis=0).T).sum())


def _fit_cubics(points: np.ndarray, start: np.ndarray, end: np.ndarray) -> list[np.ndarray]:
    """Cubics (each its two controls and its end, 3 x 2) from `start` to `end` through the chain `points` within
    FIT_PX: least squares for the controls at chord-length parameters, the chain halved where one is not enough."""
    steps = np.hypot(*np.diff(points, axis=0).T)
    weights = _bernstein(np.concatenate([[0.0], np.cumsum(steps)]) / max(float(steps.sum()), 1e-9))
    rest = points - np.outer(weights[:, 0], start) - np.outer(weights[:, 3], end)
    controls = np.linalg.lstsq(weights[:, 1:3], rest, rcond=None)[0]
    fitted = weights @ np.stack([start, controls[0], controls[1], end])
    if len(points) < 8 or np.hypot(*(fitted - points).T).max() <= FIT_PX:
        return [np.stack([controls[0], controls[1], end])]
    middle = len(points) // 2
    return _fit_cubics(points[: middle + 1], start, points[middle]) + _fit_cubics(points[middle:], points[middle], end)


def _redrawn(points: np.ndarray, segments: np.ndarray, stray: np.ndarray, edge: _Edge, closes: int) -> str | None:
    """Path data (absolute, in the bitmap's pixels) of closed subpaths, the stray cubics replaced by cubics fitted to
    the edge; None unless every subpath is closed (vtracer's always are), which this writes back."""
    new = np.ones(len(segments), bool)
    new[1:] = segments[1:, 0] != segments[:-1, 3]
    if int(new.sum()) != closes:
        return None
    curves = _curves(points, segments, _TRACED)
    words = []
    for k, (start, c1, c2, end) in enumerate(segments):
        if new[k]:
            words += ["Z"] * bool(k) + [f"M{_pair(points[start])}"]
        arc = edge.between(points[start], points[end], curves[k]) if stray[k] else None
        if arc is not None:
            words += ["C" + " ".join(map(_pair, cubic)) for cubic in _fit_cubics(arc, points[start], points[end])]
        elif c1 >= 0:
            words.append(f"C{_pair(points[c1])} {_pair(points[c2])} {_pair(points[end])}")
        else:
            words.append(f"L{_pair(points[end])}")
    return " ".join(words + ["Z"])


def _pair(point: np.ndarray) -> str:
    return f"{format_number(float(point[0]))} {format_number(float(point[1]))}"
