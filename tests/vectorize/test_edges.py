"""Sub-pixel edges at 1x: traced outlines moved onto the coverage's 0.5 iso-line (vectorize/edges.py)."""

import cv2
import numpy as np

from layertracer.metrics import layer_renders, mse, render_svg
from layertracer.vectorize import TraceOptions, vectorize_frames
from layertracer.vectorize.coverage import Coverage
from layertracer.vectorize.edges import snap_paths
from layertracer.vectorize.trace import Path
from tests.vectorize.shapes import SIZE, square_disc_recolour

EXACT_1X = TraceOptions().with_upscale(1).for_exact_frames()


def supersampled(draw, size: int = SIZE, factor: int = 8) -> np.ndarray:
    """An RGB frame drawn at `factor` times the size and area-averaged down: true anti-aliased coverage."""
    big = np.full((size * factor, size * factor, 3), 255, np.uint8)
    draw(big, factor)
    return cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)


def logo() -> np.ndarray:
    """A dark disc and a thin ring off the pixel grid, as a single-colour logo renders."""
    def draw(img: np.ndarray, f: int) -> None:
        cv2.circle(img, (int(101.3 * f), int(117.6 * f)), int(61.2 * f), (30, 30, 30), -1)
        cv2.circle(img, (int(182.7 * f), int(76.2 * f)), int(40.4 * f), (30, 30, 30), int(3.3 * f))
        cv2.fillConvexPoly(img, (np.array([[150.4, 160.2], [230.6, 171.9], [190.3, 236.8]]) * f).astype(np.int32),
                           (30, 30, 30))
    return supersampled(draw)


def traced_mse(frame: np.ndarray, options: TraceOptions) -> tuple[float, int]:
    result = vectorize_frames([frame], options)
    return mse(render_svg(result.svg, SIZE, SIZE), frame), result.n_paths


def test_snapped_edges_are_much_closer_than_the_pixel_grid_at_the_same_path_count():
    frame = logo()
    plain, plain_paths = traced_mse(frame, TraceOptions(snap_edges=False).with_upscale(1).for_exact_frames())
    snapped, snapped_paths = traced_mse(frame, EXACT_1X)
    assert snapped_paths == plain_paths  # nodes move, none are added
    assert snapped < 0.4 * plain


def test_snapped_1x_is_as_close_as_tracing_at_2x():
    frame = logo()
    snapped, _ = traced_mse(frame, EXACT_1X)
    twice, _ = traced_mse(frame, TraceOptions(snap_edges=False).with_upscale(2).for_exact_frames())
    assert snapped < twice


def test_a_straight_edge_lands_on_its_sub_pixel_position_and_corners_stay_square():
    """Pixel column 4 is 20% covered: the left edge moves out to it, and the corners move with both sides."""
    coverage = np.zeros((20, 20), np.float32)
    coverage[5:15, 5:15] = 1.0
    coverage[5:15, 4] = 0.2  # the left column partly covered
    square = Path("M5 5 C8 5 12 5 15 5 C15 8 15 12 15 15 C12 15 8 15 5 15 C5 12 5 8 5 5 Z", "#000000", 0.0, 0.0)
    (moved,) = snap_paths([([square], Coverage(coverage, 0, 0))], 1)
    numbers = [float(v) for v in moved.d.replace("M", " ").replace("C", " ").replace("Z", " ").split()]
    xs, ys = numbers[0::2], numbers[1::2]
    # The iso-line of the bilinear surface between centres 4.5 (0.2) and 5.5 (1.0) crosses 0.5 at 4.875.
    assert xs[0] == xs[-1] and abs(xs[0] - 4.875) <= 0.01
    assert ys[0] == 5 and ys[-1] == 5  # the top edge had nothing to move: the corner keeps its y
    assert [x for x in xs if x > 13] == [15] * 4  # the right side (ends and controls) is already on its iso-line
    assert [y for y in ys if y > 13] == [15] * 4


def test_an_outline_moves_only_to_where_the_coverage_rises_into_its_fill():
    """A ring a pixel wide (70% covered) around paper drawn after it, which the ring's coverage counts as its own
    (the ring reaches under it): the hole's outline, under the paper, lay within reach of the ring's outer edge
    and was pulled onto it, and the ring vanished. vtracer winds holes the other way round, so the fill lies on
    the other side of them: the coverage there rises away from the ring's fill, and the hole stays."""
    coverage = np.zeros((20, 20), np.float32)
    coverage[4:16, 4:16] = 0.7
    coverage[5:15, 5:15] = 1.0
    outer = "M4 4 C8 4 12 4 16 4 C16 8 16 12 16 16 C12 16 8 16 4 16 C4 12 4 8 4 4 Z"  # clockwise on screen
    hole = "M5 5 C5 8 5 12 5 15 C8 15 12 15 15 15 C15 12 15 8 15 5 C12 5 8 5 5 5 Z"  # the other way round
    (moved,) = snap_paths([([Path(f"{outer} {hole}", "#000000", 0.0, 0.0)], Coverage(coverage, 0, 0))], 1)
    numbers = [float(v) for v in moved.d.replace("M", " ").replace("C", " ").replace("Z", " ").split()]
    xs = numbers[0::2]
    assert abs(xs[0] - (3.5 + 0.5 / 0.7)) <= 0.01  # the outer edge: where the ring's coverage crosses a half
    assert xs[len(xs) // 2] == 5  # the hole's first node, on its left side: under the paper, where it was


def test_a_recoloured_shape_keeps_its_old_outline():
    """A recolour's rim blends two edges, no sub-pixel position: the new outline must not pull away from the
    old one (the old colour would show as a hairline)."""
    frames = square_disc_recolour()
    for upscale in (1, 2):
        plain = vectorize_frames(frames, TraceOptions(upscale=upscale, snap_edges=False))
        snapped = vectorize_frames(frames, TraceOptions(upscale=upscale))
        for before, after, frame in zip(layer_renders(plain.svg, SIZE, SIZE), layer_renders(snapped.svg, SIZE, SIZE),
                                        frames):
            assert mse(after, frame) <= mse(before, frame) * 1.05


def test_path_data_that_is_not_pairs_is_left_alone():
    coverage = np.full((8, 8), 0.5, np.float32)
    odd = Path("M1 1 L3 Z", "#000000", 0.0, 0.0)
    relative = Path("m1 1 l2 0 z", "#000000", 0.0, 0.0)
    assert snap_paths([([odd, relative], Coverage(coverage, 0, 0))], 1) == [odd, relative]


def test_the_sides_of_a_rounded_rectangle_land_on_their_half_covered_pixels():
    """vtracer's curve fitting puts the long sides of a rounded rectangle 0.2-0.5 px outside the pixel outline;
    with a side through pixel centres (half-covered columns) the crossing is then 0.75 px away or more, and the
    node is still moved onto it."""
    def draw(img: np.ndarray, f: int) -> None:
        x0, y0, x1, y1, r = 103.5 * f, 56 * f, 408.5 * f, 456 * f, 30 * f
        cv2.rectangle(img, (int(x0 + r), int(y0)), (int(x1 - r) - 1, int(y1) - 1), (55, 71, 79), -1)
        cv2.rectangle(img, (int(x0), int(y0 + r)), (int(x1) - 1, int(y1 - r) - 1), (55, 71, 79), -1)
        for cx, cy in ((x0 + r, y0 + r), (x1 - r, y0 + r), (x0 + r, y1 - r), (x1 - r, y1 - r)):
            cv2.circle(img, (int(cx), int(cy)), int(r), (55, 71, 79), -1)

    frame = supersampled(draw, size=512, factor=4)
    assert abs(int(frame[250, 103, 0]) - 155) <= 2  # the side's column is half covered
    rendered = render_svg(vectorize_frames([frame], EXACT_1X).svg, 512, 512)
    for x in (102, 103, 104, 407, 408, 409):
        assert abs(int(rendered[250, x, 0]) - int(frame[250, x, 0])) <= 12, x


def test_two_fills_of_one_step_meet_on_their_sub_pixel_boundary():
    """Where two fills of one step meet, the step's coverage is flat; each fill's own share of the blended
    pixels places the boundary. On the pixel grid (as before) the pixels along a slanted boundary were off by
    ~1000 squared levels at 1x and ~270 at 2x."""
    def draw(img: np.ndarray, f: int) -> None:
        cv2.rectangle(img, (40 * f, 50 * f), (216 * f, 206 * f), (200, 60, 40), -1)
        cv2.fillPoly(img, [(np.array([[40, 50], [150.3, 50], [110.6, 206], [40, 206]]) * f).astype(np.int32)],
                     (40, 90, 200))

    frame = supersampled(draw)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] + 0.5
    along = np.abs((xx - 150.3) * 156 + (yy - 50) * 39.7) / np.hypot(156, 39.7)
    boundary = (along < 2) & (yy > 56) & (yy < 200)  # within 2 px of the line, away from the outer edges
    for upscale in (1, 2):
        result = vectorize_frames([frame], TraceOptions().with_upscale(upscale).for_exact_frames())
        rendered = render_svg(result.svg, SIZE, SIZE).astype(np.float64)
        assert result.n_paths == 2
        assert ((rendered - frame) ** 2)[boundary].mean() < 50, upscale
