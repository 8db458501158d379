"""Sub-pixel edges without tracing at a multiple of the size: traced nodes moved onto the coverage iso-line.

Traced at 1x, an outline follows the pixel grid: each pixel is in or out, so an edge sits up to half a pixel
(more across a diagonal) from where its anti-aliasing puts it. Tracing at 2x halves that, at four times
vtracer's cost. Instead, every node of the 1x outline is moved along the coverage gradient to where the
coverage (how much of each pixel the fill covers, see `coverage.FillCover`) is one half on the bilinear
coverage surface: the same surface `cv2.resize` samples when a raster is traced upscaled, so the outline lands
where a trace at any multiple would converge. Each fill of a step has its own surface, so an edge against the
step's surroundings and one against another fill of the step are placed alike. Nodes where the surface is flat
(inside or outside the fill, or where it reaches under a fill drawn later) have no gradient and stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import cv2
import numpy as np

from layertracer.vectorize.coverage import Coverage
from layertracer.vectorize.pathdata import fill_slots, number_slots, pairs_only, segments_of
from layertracer.vectorize.trace import Path

# A pixel outline lies within half a pixel diagonal (0.71 px) of the iso-line, but vtracer's curve fitting moves
# it further: the long sides of a rounded rectangle come out 0.2-0.5 px outside the pixel edge, and nodes on curves
# more. Searched 3 px either way on the dev icons at 1x, 14% of nodes had their crossing beyond 0.75 px, 1.8%
# beyond 1.25 and 0.01% beyond 2. A node is moved at most this far; one whose nearest crossing is further (a
# feature the tracer cut off) is left where the tracer put it rather than pulled across.
MAX_MOVE_PX = 2.0
# How far beyond a fill's pixels the search for its outline reads: the outline may lie a pixel under later fills
# (trace.stacked_regions), then MAX_MOVE_PX, then the bilinear neighbours of the samples and their gradient.
FIELD_MARGIN_PX = int(np.ceil(MAX_MOVE_PX)) + 3
# Points along the gradient, 0.2 px apart; the crossing is interpolated between the two that bracket it (0.05 px
# apart changed no benchmark file's error by 5%).
SEARCH_SAMPLES = 21
# Below this coverage gradient (per pixel) the surface is flat: there is no edge to find within MAX_MOVE_PX.
MIN_GRADIENT = 0.05


def snap_paths(groups: Sequence[tuple[list[Path], Coverage]], upscale: int, corner_deg: float = 60.0) -> list[Path]:
    """Each group's paths (canvas coordinates in upscaled units) with their outlines on the 0.5 iso-line of the
    group's coverage, all groups in order.

    Each segment is measured at its ends and at a third and two thirds of the way; a cubic's control points
    are then solved for so that the moved curve passes through all four moved points. A node where the
    edges on its two sides meet at more than `corner_deg` (vtracer's corner threshold) is a corner: the
    iso-line rounds corners, so a corner is moved to where its two sides' moved edges meet instead.
    Paths with commands other than absolute M/L/C/Z are left as they are.
    """
    paths = [path for group, _ in groups for path in group]
    field, tops = _stacked([coverage.values for _, coverage in groups])
    origins = [(coverage.x + 0.5, coverage.y + 0.5 - top) for (group, coverage), top in zip(groups, tops)
               for _ in group]
    slots = [number_slots(path.d) if pairs_only(path.d) else None for path in paths]
    outlines = [None if pieces is None else _Outline.parse(*pieces) for pieces in slots]
    snapped = [k for k, outline in enumerate(outlines) if outline is not None and len(outline.segments)]
    if not snapped:
        return paths
    # All outlines at once, in the stacked field's pixels (pixel centres at integer coordinates, as OpenCV
    # samples them): one pass of array work per step, not per path or per fill.
    offsets = np.cumsum([0] + [len(outlines[k].points) for k in snapped])
    together = _Outline(
        np.concatenate([(outlines[k].points + [paths[k].x, paths[k].y]) / upscale - origins[k] for k in snapped]),
        np.concatenate([outlines[k].segments + np.where(outlines[k].segments >= 0, offset, 0)
                        for k, offset in zip(snapped, offsets)]),
    )
    moves = together.moves(_Field(field).measure, np.cos(np.radians(corner_deg))) * upscale
    out = list(paths)
    for k, lo, hi in zip(snapped, offsets, offsets[1:]):
        out[k] = replace(paths[k], d=fill_slots(slots[k][0], (outlines[k].points + moves[lo:hi]).ravel()))
    return out


def _stacked(fields: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The fields one below the other in one image, a NaN row apart so that no search reads across, and the
    row each one starts at."""
    if len(fields) == 1:
        return fields[0], np.zeros(1, np.intp)
    tops = np.cumsum([0] + [len(values) + 1 for values in fields])
    image = np.full((tops[-1] - 1, max(values.shape[1] for values in fields)), np.nan, np.float32)
    for values, top in zip(fields, tops):
        image[top : top + values.shape[0], : values.shape[1]] = values
    return image, tops[:-1]


_ONE_THIRD = np.array([8, 12, 6, 1]) / 27  # cubic Bernstein weights at t = 1/3 (reversed: t = 2/3)


class _Outline:
    """A path's (x, y) pairs and its segments as indices into them; `segments` rows: (start, control 1,
    control 2, end), a line's controls -1. None from `parse` where the numbers are not all pairs."""

    def __init__(self, points: np.ndarray, segments: np.ndarray) -> None:
        self.points, self.segments = points, segments

    @classmethod
    def parse(cls, slots: str, numbers: list[str]) -> _Outline | None:
        """From path data as `number_slots` splits it."""
        parsed = segments_of(slots, numbers)
        return None if parsed is None else cls(*parsed)

    def moves(self, measure, corner_cos: float) -> np.ndarray:
        """Per pair, how far it moves; `measure(points, inward)` gives (offset, unit normal, found) per point."""
        p, seg = self.points, self.segments
        start, end = p[seg[:, 0]], p[seg[:, 3]]
        curve = seg[:, 1] >= 0
        c1 = np.where(curve[:, None], p[seg[:, 1]], (2 * start + end) / 3)
        c2 = np.where(curve[:, None], p[seg[:, 2]], (start + 2 * end) / 3)
        w = _ONE_THIRD
        third = w[0] * start + w[1] * c1 + w[2] * c2 + w[3] * end
        two_thirds = w[3] * start + w[2] * c1 + w[1] * c2 + w[0] * end
        n_seg = len(seg)
        offset, normal, found = measure(np.concatenate([p, third, two_thirds]), self._inward(start, c1, c2, end))
        move = np.where(found[:, None], offset[:, None] * normal, 0.0)
        anchor_move = move[: len(p)].copy()

        # Corners: where the edge before a node (measured at two thirds of the segment ending there) and the
        # edge after it (a third of the segment leaving it) meet at an angle, the node goes where both
        # moved edges meet: n_in . m = s_in and n_out . m = s_out.
        i_in = len(p) + n_seg + np.arange(n_seg)  # two thirds of each segment, before its end node
        nodes = seg[:, 3]
        after = np.full(len(p), -1, np.intp)
        after[seg[:, 0]] = len(p) + np.arange(n_seg)  # a third of the segment leaving each node
        closing = _closing_nodes(p, seg)
        i_out = after[np.where(closing >= 0, closing, nodes)]
        ok = (i_out >= 0) & found[i_in] & found[np.maximum(i_out, 0)]
        n_in, n_out = normal[i_in], normal[np.maximum(i_out, 0)]
        det = n_in[:, 0] * n_out[:, 1] - n_in[:, 1] * n_out[:, 0]  # the sine of the angle between the edges
        # Edges that turn back on themselves (a hairpin: near-opposite normals) meet nowhere well defined.
        corner = ok & (np.einsum("nc,nc->n", n_in, n_out) < corner_cos) & (np.abs(det) >= np.sqrt(1 - corner_cos**2))
        s_in, s_out = offset[i_in], offset[np.maximum(i_out, 0)]
        safe = np.where(corner, det, 1.0)
        solved = np.stack([(s_in * n_out[:, 1] - s_out * n_in[:, 1]) / safe,
                           (n_in[:, 0] * s_out - n_out[:, 0] * s_in) / safe], axis=-1)
        for k in np.flatnonzero(corner):
            anchor_move[nodes[k]] = solved[k]
            if closing[k] >= 0:
                anchor_move[closing[k]] = solved[k]

        # Controls: the moved cubic passes through its moved ends and its moved points at 1/3 and 2/3 (where
        # nothing was found there, the ends' moves interpolated).
        m0, m3 = anchor_move[seg[:, 0]], anchor_move[seg[:, 3]]
        at_third = np.where(found[len(p) : len(p) + n_seg, None], move[len(p) : len(p) + n_seg], (2 * m0 + m3) / 3)
        at_two = np.where(found[len(p) + n_seg :, None], move[len(p) + n_seg :], (m0 + 2 * m3) / 3)
        r1 = at_third - w[0] * m0 - w[3] * m3
        r2 = at_two - w[3] * m0 - w[0] * m3
        out = anchor_move
        out[seg[curve, 1]] = (3 * r1 - 1.5 * r2)[curve]
        out[seg[curve, 2]] = (3 * r2 - 1.5 * r1)[curve]
        return out

    def _inward(self, start: np.ndarray, c1: np.ndarray, c2: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Towards the fill, at each point `moves` measures (the nodes, then each segment at a third and at two
        thirds of the way): vtracer winds outer outlines clockwise on screen and holes the other way, so the fill
        lies to the right of the direction of travel, (-ty, tx) with y down. Not normalised; zero where the
        outline has no direction (a degenerate segment)."""
        at_nodes = np.zeros_like(self.points)  # the segments leaving and reaching each node, summed
        np.add.at(at_nodes, self.segments[:, 0], c1 - start)
        np.add.at(at_nodes, self.segments[:, 3], end - c2)
        legs = (c1 - start, c2 - c1, end - c2)  # a cubic's derivative at 1/3 and 2/3 weighs them 4:4:1, 1:4:4
        tangent = np.concatenate([at_nodes, 4 * legs[0] + 4 * legs[1] + legs[2], legs[0] + 4 * legs[1] + 4 * legs[2]])
        return np.stack([-tangent[:, 1], tangent[:, 0]], axis=-1)


def _closing_nodes(points: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Per segment, the start node of its subpath if the segment ends there (a closed outline), else -1."""
    new_subpath = np.ones(len(segments), bool)
    new_subpath[1:] = segments[1:, 0] != segments[:-1, 3]
    first = segments[np.flatnonzero(new_subpath)[np.cumsum(new_subpath) - 1], 0]
    closes = np.abs(points[segments[:, 3]] - points[first]).max(axis=1) < 1e-6
    return np.where(closes, first, -1)


class _Field:
    """Bilinear coverage and its gradient, sampled at fractional pixel positions (x, y)."""

    def __init__(self, coverage: np.ndarray) -> None:
        padded = cv2.copyMakeBorder(coverage.astype(np.float32), 1, 1, 1, 1, cv2.BORDER_REPLICATE)
        # NaN marks pixels whose coverage places no edge (see coverage.py): a node whose surface or gradient
        # reads one of them stays where it is.
        known = np.isfinite(padded).view(np.uint8)
        self.known = cv2.erode(known, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE).astype(np.float32)
        self.value = np.nan_to_num(padded, copy=False)
        # Central differences, one-sided (here 0, the border repeating) at the border: numpy.gradient's, at a
        # fraction of its cost.
        self.gx, self.gy = (cv2.Sobel(self.value, -1, dx, 1 - dx, ksize=1, scale=0.5, borderType=cv2.BORDER_REPLICATE)
                            for dx in (1, 0))

    def _corners(self, at: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per point (x, y): the flat index of the pixel centre above and left of it and the point's offsets
        from there, which `_sample` weighs any image of the padded coverage's size with."""
        height, width = self.value.shape
        x = np.clip(at[:, 0] + 1, 0, width - 1.001)
        y = np.clip(at[:, 1] + 1, 0, height - 1.001)
        x0, y0 = np.floor(x).astype(np.intp), np.floor(y).astype(np.intp)
        return y0 * width + x0, x - x0, y - y0

    @staticmethod
    def _sample(image: np.ndarray, corners: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        i, fx, fy = corners
        flat, width = image.ravel(), image.shape[1]
        top = flat[i] * (1 - fx) + flat[i + 1] * fx
        bottom = flat[i + width] * (1 - fx) + flat[i + width + 1] * fx
        return top * (1 - fy) + bottom * fy

    def measure(self, at: np.ndarray, inward: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per point (x, y): the signed distance to coverage 0.5 along the gradient, at most MAX_MOVE_PX, the
        gradient's unit direction, and whether a crossing was found (not where the surface is flat).

        The surface is searched along the gradient's direction (a Newton step on a surface that is linear
        between pixel centres and flat beyond them overshoots), and of the crossings where the coverage rises
        towards the point's fill (`inward`: the direction it lies in, zero where unknown) the nearest is taken.
        Another is some other edge: the far side of a stroke a pixel wide, seen from the hole it encloses, whose
        outline (reaching under the paper drawn after it) was pulled across the stroke, and the stroke vanished.
        """
        corners = self._corners(at)
        g = np.stack([self._sample(self.gx, corners), self._sample(self.gy, corners)], axis=-1)
        norm = np.hypot(g[:, 0], g[:, 1])
        steep = (norm >= MIN_GRADIENT) & (self._sample(self.known, corners) >= 1.0)
        direction = g / np.maximum(norm, 1e-12)[:, None]
        t = np.linspace(-MAX_MOVE_PX, MAX_MOVE_PX, SEARCH_SAMPLES)
        along = at[:, None, :] + t[None, :, None] * direction[:, None, :]
        corners = self._corners(along.reshape(-1, 2))
        c = self._sample(self.value, corners).reshape(len(at), len(t)) - 0.5
        known = self._sample(self.known, corners).reshape(c.shape) >= 1.0
        crosses = (c[:, :-1] * c[:, 1:] <= 0) & (c[:, :-1] != c[:, 1:]) & known[:, :-1] & known[:, 1:]
        # Rising into the fill: along the gradient if it points there, else against it.
        towards = np.sign(np.einsum("nc,nc->n", direction, inward))[:, None]
        crosses &= (towards == 0) | (towards * (c[:, 1:] - c[:, :-1]) > 0)
        nearest = np.argmin(np.where(crosses, np.abs(t[:-1] + t[1:]), np.inf), axis=1)
        rows = np.arange(len(at))
        c0, c1 = c[rows, nearest], c[rows, nearest + 1]
        offset = t[nearest] + (t[1] - t[0]) * c0 / np.where(c0 != c1, c0 - c1, 1.0)
        return offset, direction, steep & crosses[rows, nearest]
