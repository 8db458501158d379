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
from layertracer.vectorize.layered import TraceOptions, vectorize_frames
from layertracer.vectorize.pathdata import pairs_only
from layertracer.vectorize.strays import redraw_strays
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


@st.composite
def blobs(draw: st.DrawFn) -> np.ndarray:
    """A bitmap of 1-4 overlapping ellipses and rectangles, some large enough for vtracer's spans to stray."""
    size = draw(st.integers(120, 700))
    ink = np.zeros((size, size), np.uint8)
    for _ in range(draw(st.integers(1, 4))):
        cx, cy = (draw(st.integers(0, size)) for _ in range(2))
        a, b = (draw(st.integers(3, size // 2)) for _ in range(2))
        if draw(st.booleans()):
            cv2.ellipse(ink, (cx, cy), (a, b), draw(st.integers(0, 179)), 0, 360, 1, cv2.FILLED)
        else:
            cv2.rectangle(ink, (cx - a, cy - b), (cx + a, cy + b), 1, cv2.FILLED)
    ink[[0, -1]] = 0
    ink[:, [0, -1]] = 0  # the blank margin trace_fills gives every bitmap
    return ink.view(bool)


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(blobs())
def test_redrawing_never_strays_further_and_keeps_closed_absolute_outlines(ink: np.ndarray) -> None:
    vtracers = traced(ink)
    ours = redraw_strays(vtracers, ink)
    assert len(ours) == len(vtracers)
    for path in ours:
        assert pairs_only(path.d) and path.d.rstrip().endswith("Z")
    assert farthest_miss(ours, ink) <= max(farthest_miss(vtracers, ink), 2.0)
