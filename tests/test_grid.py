import numpy as np
import pytest

from layertracer.errors import GridError
from layertracer.grid import GridSpec, compose_grid, split_grid


def numbered_frames(n: int, cell: int = 32) -> list[np.ndarray]:
    """Frame k is filled with value k*20 so its position in a grid is visible."""
    return [np.full((cell, cell, 3), k * 20, dtype=np.uint8) for k in range(n)]


@pytest.mark.parametrize("frames", [4, 9])
@pytest.mark.parametrize("order", ["serpentine", "rowmajor"])
def test_split_compose_round_trip(frames, order):
    spec = GridSpec(frames=frames, order=order)
    original = numbered_frames(frames)
    grid = compose_grid(original, spec)
    assert grid.shape == (32 * spec.side, 32 * spec.side, 3)
    back = split_grid(grid, spec)
    assert [int(f[0, 0, 0]) for f in back] == [k * 20 for k in range(frames)]


def test_serpentine_positions_explicit():
    assert GridSpec(4, "serpentine").positions() == [(0, 0), (0, 1), (1, 1), (1, 0)]
    assert GridSpec(9, "serpentine").positions() == [
        (0, 0), (0, 1), (0, 2), (1, 2), (1, 1), (1, 0), (2, 0), (2, 1), (2, 2)
    ]
    assert GridSpec(9, "rowmajor").positions()[3] == (1, 0)


def test_serpentine_pixels_land_in_the_right_cell():
    grid = compose_grid(numbered_frames(9), GridSpec(9))
    # Frame 3 (value 60) sits at row 1, col 2 in serpentine order.
    assert grid[32 + 5, 64 + 5, 0] == 60
    assert grid[32 + 5, 0 + 5, 0] == 100  # frame 5 at row 1, col 0


def test_paper_canvas_sizes():
    assert GridSpec(4).grid_px == 1024 and GridSpec(4).cell_px == 512
    assert GridSpec(9).grid_px == 1056 and GridSpec(9).cell_px == 352


def test_near_multiple_is_tolerated():
    grid = np.zeros((1024, 1024, 3), np.uint8)  # 1024 / 3 leaves 1 px
    frames = split_grid(grid, GridSpec(9))
    assert len(frames) == 9 and all(f.shape == (341, 341, 3) for f in frames)


@pytest.mark.parametrize(
    "shape,frames,match",
    [
        ((95, 95, 3), 9, "not a multiple"),
        ((64, 128, 3), 4, "square cells"),
        ((20, 20, 3), 9, "too small"),
        ((64, 64), 4, "RGB"),
    ],
)
def test_unsplittable_grids_are_clear_errors(shape, frames, match):
    with pytest.raises(GridError, match=match):
        split_grid(np.zeros(shape, np.uint8), GridSpec(frames))


def test_bad_spec():
    with pytest.raises(GridError):
        GridSpec(frames=5)
    with pytest.raises(GridError):
        GridSpec(frames=4, order="spiral")
