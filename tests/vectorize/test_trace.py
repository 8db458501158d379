"""Reading vtracer's output: every path taken over exactly, anything unexpected refused (never skipped)."""

import numpy as np
import pytest

from layertracer.metrics import render_svg
from layertracer.vectorize import TraceOptions, vectorize_frames
from layertracer.vectorize.coverage import LayerRaster
from layertracer.vectorize.trace import Path, VtracerSettings, parse_vtracer_svg, stacked_regions, trace_fills

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<svg version="1.1" xmlns="http://www.w3.org/2000/svg" width="9" height="9">\n'
)


def test_a_real_trace_comes_back_as_its_shapes():
    index = np.zeros((40, 60), np.uint8)  # one colour (index 1): a square, and a rectangle with a hole
    index[5:15, 5:15] = 1
    index[20:35, 30:55] = 1
    index[25:30, 40:45] = 0
    raster = LayerRaster(index=index, colors=np.array([[0x12, 0xAB, 0x34]], np.uint8), x=100, y=200)
    ((row, paths),) = trace_fills(raster, 1, VtracerSettings())
    assert row == 0 and len(paths) == 1  # both pieces as one compound path of the colour
    (path,) = paths
    assert path.fill == "#12ab34"
    assert path.d.count("M") == 3  # square, rectangle, hole
    assert (path.x, path.y) == (105, 205)  # the first piece's corner, moved by the raster's position


def test_paths_are_read_with_their_translation():
    svg = HEADER + '<path d="M0 0 L4 0 L4 4 Z " fill="#FFaa00" transform="translate(3,5.5)"/>\n' \
        '<path d="" fill="#000000" transform="translate(0,0)"/>\n</svg>\n'
    assert parse_vtracer_svg(svg) == [Path("M0 0 L4 0 L4 4 Z", "#ffaa00", 3.0, 5.5)]


@pytest.mark.parametrize("element", [
    "<path d='M0 0 L4 4 Z' fill='#000000'/>",  # quoting the reader does not know
    '<path d="M0 0 L4 4 Z" fill="url(#evil)"/>',
    '<path d="M0 0 L4 4 Z" fill="#000000" transform="matrix(1,0,0,1,0,0)"/>',
    '<path d="M0 0 L4 4 Z&lt;" fill="#000000"/>',
])
def test_anything_unexpected_is_refused(element):
    with pytest.raises(ValueError, match="unexpected vtracer"):
        parse_vtracer_svg(HEADER + element + "\n</svg>\n")


def test_a_hole_that_only_a_speck_fills_is_closed_and_a_real_hole_kept():
    """A 3 x 3 speck of a later colour inside a fill: vtracer drops it (under 4 x 4), so the fill must not keep a
    hole for it, or the layers beneath show through; a hole of the step's own outside stays a hole."""
    index = np.zeros((40, 40), np.uint8)
    index[5:35, 5:35] = 1
    index[18:21, 18:21] = 2  # the speck
    index[9:11, 9:11] = 0  # a real hole: nothing of this step there
    regions = dict(stacked_regions(index, 2, speck_px=16))
    assert regions[0][18:21, 18:21].all()  # the speck's pixels, centre included, are under the first fill
    assert not regions[0][9:11, 9:11].any()
    # A speck of the colour drawn first inside the one drawn after it is a detail: it reaches under its
    # surroundings (its traced region is 5 x 5) and shows through their hole, which stays.
    detail = np.ones((60, 60), np.uint8)  # colour 1 everywhere: the most pixels, drawn first
    detail[20:50, 20:50] = 2
    detail[33:36, 33:36] = 1
    detail[5:8, 5:8] = 3  # a third colour, so that colour 2 is not the last drawn
    regions = dict(stacked_regions(detail, 3, speck_px=16))
    assert not regions[1][33:36, 33:36].any()  # the hole of the first colour's detail stays open
    # In the colour drawn last the rule is the same: a 1 px speck of the first colour is traced on 3 x 3 pixels,
    # which vtracer drops, so its hole is filled; the 3 x 3 detail's hole stays.
    detail[5:8, 5:8] = 1
    detail[25, 25] = 1
    regions = dict(stacked_regions(detail, 2, speck_px=16))
    assert regions[1][25, 25] and not regions[1][33:36, 33:36].any()
    frame = np.full((40, 40, 3), 255, np.uint8)
    frame[index == 1], frame[index == 2] = (30, 90, 200), (220, 40, 40)
    # Traced at 2x, as generated grids are: the speck is 6 x 6 there, under vtracer's 8 x 8, and its hole was a
    # white 3 x 3 square in the blue.
    rendered = render_svg(vectorize_frames([frame], TraceOptions().with_upscale(2).for_exact_frames()).svg, 40, 40)
    assert np.abs(rendered[18:21, 18:21].astype(int) - (30, 90, 200)).max() <= 12  # the fill, not the white beneath
    assert (rendered[9:11, 9:11] > 200).all()


@pytest.mark.parametrize("field, value", [("max_iterations", 0), ("filter_speckle", -1), ("path_precision", -2)])
def test_settings_vtracer_cannot_take_are_refused_up_front(field: str, value: int) -> None:
    """vtracer panics on 0 iterations, a BaseException that no batch job's `except Exception` would catch."""
    with pytest.raises(ValueError, match=field):
        VtracerSettings(**{field: value})
