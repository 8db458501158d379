"""A step's raster: its solid core, and upscaling where two fills meet (the boundary moves to where their blend
puts it)."""

import re

import cv2
import numpy as np

from layertracer.metrics import mse, render_svg
from layertracer.vectorize import TraceOptions, vectorize_frames
from layertracer.vectorize.coverage import core, upscale_fills


def test_a_blend_moves_the_boundary_by_its_share():
    index = np.array([[1, 1, 2, 2]], np.uint8)
    partner = np.array([[1, 2, 2, 2]], np.uint8)
    share = np.array([[1, 0.6, 1, 1]], np.float32)  # pixel 1 is 60% fill 1, 40% fill 2
    # Blown up as it is, the boundary would sit at 4 (between pixels 1 and 2); the blend moves it to 3.
    assert upscale_fills(index, partner, share, 2).tolist() == [[1, 1, 1, 2, 2, 2, 2, 2]] * 2
    share[0, 1] = 0.9  # mostly fill 1: the boundary stays at the pixel's far side
    assert upscale_fills(index, partner, share, 2).tolist() == [[1, 1, 1, 1, 2, 2, 2, 2]] * 2


def test_three_times_and_many_colours():
    """Upscale 3 samples at thirds; a 16-bit index (over 254 colours) works the same way."""
    index = np.array([[300, 300, 301]], np.uint16)
    partner = np.array([[300, 301, 301]], np.uint16)
    share = np.array([[1, 0.5, 1]], np.float32)  # an even blend: the boundary sits in the pixel's middle
    assert upscale_fills(index, partner, share, 3)[0].tolist() == [300, 300, 300, 300, 300, 301, 301, 301, 301]


def test_without_blends_it_is_the_plain_blow_up():
    index = np.random.default_rng(0).integers(1, 4, (20, 30)).astype(np.uint8)
    plain = cv2.resize(index, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    assert np.array_equal(upscale_fills(index, index.copy(), np.ones(index.shape, np.float32), 2), plain)


def test_two_fills_meeting_on_a_slant_in_one_step_are_traced_smooth():
    """A blue square and a red wedge drawn together: at 2x the wedge's slanted edge is a few curves, not the
    pixel staircase blown up (hundreds of 2 px steps)."""
    size = 256
    big = np.full((size * 4, size * 4, 3), 255, np.uint8)
    cv2.fillConvexPoly(big, np.array([[40, 40], [216, 40], [216, 216], [40, 216]]) * 4, (40, 90, 200))
    cv2.fillConvexPoly(big, np.array([[40, 216], [216, 60], [216, 216]]) * 4, (220, 50, 40))
    frame = cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)  # anti-aliased, as rendered
    result = vectorize_frames([np.full_like(frame, 255), frame], TraceOptions())
    segments = [len(re.findall(r"[MLCZ]", d)) for d in re.findall(r' d="([^"]*)"', result.svg)]
    assert len(segments) == 2 and max(segments) < 150, segments
    assert mse(render_svg(result.svg, size, size), frame) < 3e-4


def test_core_drops_the_rim_of_shapes_but_keeps_hairlines_whole():
    mask = np.zeros((40, 40), bool)
    mask[5:15, 5:15] = True  # a square ...
    mask[10, 15:30] = True  # ... with a 1 px stroke leaving it
    mask[25, 2:20] = True  # a hairline on its own
    mask[30:32, 2:20] = True  # a 2 px bar: no pixel has all eight neighbours in the mask
    mask[35, 30] = True  # a single dot
    solid = core(mask)
    square = np.zeros_like(mask)
    square[6:14, 6:14] = True
    assert np.array_equal(solid[:20], square[:20])  # the square's rim and the attached stroke are rim
    assert np.array_equal(solid[20:], mask[20:])  # what has no inside at all is kept as it is
