"""Curves vtracer's fitter drew across a large shape are redrawn along its outline; every other curve is kept."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import vtracer
from hypothesis import given, settings
from hypothesis import strategies as st

import layertracer.vectorize.trace as trace
from layertracer.metrics import render_svg
from layertracer.vectorize.edges import MAX_MOVE_PX
from layertracer.vectorize.layered import TraceOptions, vectorize_frames
from layertracer.vectorize.pathdata import pairs_only
from layertracer.vectorize.strays import BAND_PX, redraw_strays
from layertracer.vectorize.trace import Path, VtracerSettings, _pbm, parse_vtracer_svg


def ellipse(width: int, height: int, a: float, b: float) -> np.ndarray:
    """A boolean ellipse of semi-axes a, b in a bitmap with a blank margin, as trace_fills frames its regions."""
    ys, xs = np.mgrid[0:height, 0:width] + 0.5
    return ((xs - width / 2) / a) ** 2 + ((ys - height / 2) / b) ** 2 <= 1


def traced(ink: np.ndarray) -> list[Path]:
    s = VtracerSettings()
    svg = vtracer.convert_raw_image_to_svg(
        _pbm(ink.view(np.uint8)), img_format="pbm", colormode="binary", mode="spline",
        filter_speckle=s.filter_speckle, corner_threshold=s.corner_threshold, length_threshold=s.length_threshold,
        max_iterations=s.max_iterations, splice_threshold=s.splice_threshold, path_precision=s.path_precision,
    )
    return parse_vtracer_svg(svg)


def farthest_miss(paths: list[Path], ink: np.ndarray) -> float:
    """How far (px) the render of `paths` strays from `ink` at worst."""
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{ink.shape[1]}" height="{ink.shape[0]}">'
           + "".join(f'<path d="{p.d}" transform="translate({p.x},{p.y})"/>' for p in paths) + "</svg>")
    drawn = render_svg(svg, ink.shape[1], ink.shape[0])[..., :3].mean(axis=-1) < 128
    miss = (drawn != ink).view(np.uint8)
    return float(cv2.distanceTransform(miss, cv2.DIST_L2, cv2.DIST_MASK_PRECISE).max())


def test_a_chord_across_a_large_ellipse_is_redrawn_along_its_edge() -> None:
    """vtracer keeps one cubic per span and its fitter allows 10 px: on a 1000 x 600 px ellipse a span bulges ~8 px
    off the shape (a miss 4 px from its nearest right pixel), beyond what snapping can move (2 px)."""
    ink = ellipse(1200, 800, 500, 300)
    vtracers = traced(ink)
    assert farthest_miss(vtracers, ink) > 3.5
    ours = redraw_strays(vtracers, ink)
    assert farthest_miss(ours, ink) <= 1.5
    assert "L" not in ours[0].d and ours[0].d.count(" Z") == vtracers[0].d.count(" Z")


@pytest.mark.parametrize("shape", ["disc", "ring"])
def test_outlines_that_stay_on_their_edge_are_kept_as_vtracer_wrote_them(shape: str) -> None:
    ink = ellipse(300, 300, 120, 120)
    if shape == "ring":
        ink &= ~ellipse(300, 300, 60, 60)
    vtracers = traced(ink)
    assert redraw_strays(vtracers, ink) == vtracers


def test_a_large_icon_traced_at_1x_keeps_its_outline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the vectorizer: the ellipse as a frame, traced at 1x and snapped. Without the redraw, snapping
    leaves the chord where vtracer put it."""
    frame = np.full((800, 1200, 3), 255, np.uint8)
    frame[ellipse(1200, 800, 500, 300)] = (40, 120, 200)
    options = TraceOptions().with_upscale(1).for_exact_frames()
    ours = vectorize_frames([frame], options)
    monkeypatch.setattr(trace, "redraw_strays", lambda paths, ink: paths)
    before = vectorize_frames([frame], options)
    error = [np.abs(render_svg(out.svg, 1200, 800)[..., :3].astype(int) - frame).max(axis=-1) for out in (ours, before)]
    assert np.count_nonzero(error[0] > 128) < np.count_nonzero(error[1] > 128) / 10
    assert ours.n_paths == before.n_paths == 1


# A region of a pixel-art icon's first step traced at 3x (338 x 386 px, one hole): its outline as OpenCV gives it.
# Several short stray spans follow each other along its left side, and each one's ends lie two edge pixels apart.
BLOCKY_OUTER = (
    "239,1 236,4 233,4 230,7 224,7 221,10 218,10 215,13 209,13 206,16 203,16 200,19 194,19 193,20 193,47 191,49 "
    "146,49 145,50 145,95 143,97 2,97 1,98 1,239 97,335 97,336 148,336 147,335 149,333 155,333 158,330 164,330 "
    "167,327 173,327 176,324 182,324 185,321 191,321 194,318 200,318 203,315 209,315 212,312 218,312 221,309 227,309 "
    "230,306 236,306 239,303 245,303 248,300 254,300 257,297 263,297 266,294 272,294 275,291 281,291 284,288 287,288 "
    "336,239 336,236 339,233 339,227 342,224 342,218 345,215 345,209 348,206 348,200 351,197 351,191 354,188 354,182 "
    "357,179 357,173 360,170 360,164 363,161 363,155 366,152 366,146 369,143 369,137 372,134 372,128 375,125 375,119 "
    "378,116 378,110 381,107 381,101 384,98 384,93 338,93 337,92 337,53 338,52 382,52 382,48 380,46 377,46 374,43 "
    "371,43 368,40 365,40 362,37 359,37 356,34 353,34 350,31 347,31 344,28 341,28 338,25 335,25 332,22 329,22 326,19 "
    "323,19 320,16 317,16 314,13 311,13 308,10 305,10 302,7 299,7 296,4 293,4 290,1 285,1 285,47 284,48 245,48 "
    "244,47 244,1"
)
BLOCKY_HOLE = "196,53 197,52 239,52 240,53 240,95 239,96 197,96 196,95"


def test_short_stray_spans_take_the_short_way_round_the_edge() -> None:
    """Between two edge pixels two apart, both ways round the edge pass near any curve there; picking by how near
    the curve comes to the edge took the long way (the whole outline again) and emptied the region in the render.
    By the Hausdorff distance, the way that also stays near the curve wins."""
    contours = [np.array([[int(v) for v in pair.split(",")] for pair in ring.split()], np.int32).reshape(-1, 1, 2)
                for ring in (BLOCKY_OUTER, BLOCKY_HOLE)]
    ink = np.zeros((338, 386), np.uint8)
    cv2.drawContours(ink, contours, -1, 1, cv2.FILLED, hierarchy=np.array([[[-1, -1, 1, -1], [-1, -1, -1, 0]]]))
    ink = ink.view(bool)
    vtracers = traced(ink)
    ours = redraw_strays(vtracers, ink)
    assert ours != vtracers and farthest_miss(vtracers, ink) > 3
    assert farthest_miss(ours, ink) <= 2.5


@st.composite
def blobs(draw: st.DrawFn) -> np.ndarray:
    """A bitmap of 1-4 overlapping ellipses, rectangles and polygons, some large enough for vtracer's spans to
    stray, some blocky (pixel art scaled up, a decomposer's frame traced at 3x: staircase edges)."""
    size = draw(st.integers(120, 700))
    ink = np.zeros((size, size), np.uint8)
    for _ in range(draw(st.integers(1, 4))):
        cx, cy = (draw(st.integers(0, size)) for _ in range(2))
        a, b = (draw(st.integers(3, size // 2)) for _ in range(2))
        kind = draw(st.sampled_from(["ellipse", "rectangle", "polygon"]))
        if kind == "ellipse":
            cv2.ellipse(ink, (cx, cy), (a, b), draw(st.integers(0, 179)), 0, 360, 1, cv2.FILLED)
        elif kind == "rectangle":
            cv2.rectangle(ink, (cx - a, cy - b), (cx + a, cy + b), 1, cv2.FILLED)
        else:
            corners = draw(st.lists(st.tuples(st.integers(0, size), st.integers(0, size)), min_size=3, max_size=8))
            cv2.fillPoly(ink, [np.array(corners, np.int32)], 1)
    block = draw(st.sampled_from([1, 1, 3, 8, 16]))
    if block > 1:
        coarse = ink[::block, ::block]
        ink = np.repeat(np.repeat(coarse, block, axis=0), block, axis=1)[:size, :size].copy()
    ink[[0, -1]] = 0
    ink[:, [0, -1]] = 0  # the blank margin trace_fills gives every bitmap
    return ink.view(bool)


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(blobs())
def test_redrawing_never_strays_further_and_keeps_closed_absolute_outlines(ink: np.ndarray) -> None:
    vtracers = traced(ink)
    ours = redraw_strays(vtracers, ink)
    assert len(ours) == len(vtracers)
    for path in ours:
        assert pairs_only(path.d) and path.d.rstrip().endswith("Z")
    assert farthest_miss(ours, ink) <= max(farthest_miss(vtracers, ink), 2.0)


def test_a_curve_strays_exactly_where_snapping_cannot_reach() -> None:
    assert BAND_PX == MAX_MOVE_PX
