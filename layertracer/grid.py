"""Frame grids: the creation process drawn as 4 (2x2) or 9 (3x3) cumulative frames in one image.

Serpentine order (the LayerTracer data's): row 0 left to right, row 1 right to left, row 2 left to right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from layertracer.errors import GridError

Order = Literal["serpentine", "rowmajor"]
ORDERS: tuple[str, ...] = ("serpentine", "rowmajor")
FRAME_COUNTS: tuple[int, ...] = (4, 9)

# The paper's canvases: a 2x2 grid at 1024 px, a 3x3 grid at 1056 px (1024 is not divisible by 3 x 16).
DEFAULT_CELL_PX = {4: 512, 9: 352}

# A generated grid may be a few pixels off an exact multiple (e.g. 1024 px for 3x3); beyond this it is refused.
MAX_REMAINDER_FRACTION = 0.02


@dataclass(frozen=True)
class GridSpec:
    """How frames are laid out in a grid image."""

    frames: int = 9
    order: Order = "serpentine"

    def __post_init__(self) -> None:
        if self.frames not in FRAME_COUNTS:
            raise GridError(f"frames must be 4 or 9, got {self.frames}")
        if self.order not in ORDERS:
            raise GridError(f"order must be one of {', '.join(ORDERS)}, got {self.order!r}")

    @property
    def side(self) -> int:
        """Cells per row and column (2 or 3)."""
        return 2 if self.frames == 4 else 3

    @property
    def cell_px(self) -> int:
        """The default cell size in pixels (512 for 2x2, 352 for 3x3)."""
        return DEFAULT_CELL_PX[self.frames]

    @property
    def grid_px(self) -> int:
        return self.cell_px * self.side

    def positions(self) -> list[tuple[int, int]]:
        """(row, col) of each frame, in creation order."""
        out = []
        for row in range(self.side):
            cols = range(self.side)
            if self.order == "serpentine" and row % 2 == 1:
                cols = reversed(cols)
            out.extend((row, col) for col in cols)
        return out


def cell_bounds(length: int, side: int) -> list[tuple[int, int]]:
    """Start/stop of each cell along one axis; cells are floor(length/side) long, spread over any remainder."""
    cell = length // side
    starts = [round(i * length / side) for i in range(side)]
    return [(s, s + cell) for s in starts]


def split_grid(grid: np.ndarray, spec: GridSpec) -> list[np.ndarray]:
    """Cut a grid image (HxWxC) into its frames, in creation order.

    A size that is not an exact multiple is tolerated up to 2% (cells are taken at their nearest
    boundaries); anything else, or non-square cells, is a GridError.
    """
    if grid.ndim != 3 or grid.shape[2] not in (3, 4):
        raise GridError(f"expected an RGB or RGBA image, got array of shape {grid.shape}")
    height, width = grid.shape[:2]
    side = spec.side
    for name, length in (("height", height), ("width", width)):
        remainder = length % side
        if length // side < 16:
            raise GridError(f"grid {name} {length} px is too small for {side}x{side} cells")
        if remainder and remainder > MAX_REMAINDER_FRACTION * length:
            raise GridError(f"grid {name} {length} px is not a multiple of {side} cells")
    cell_h, cell_w = height // side, width // side
    if abs(cell_h - cell_w) > MAX_REMAINDER_FRACTION * max(cell_h, cell_w):
        raise GridError(
            f"grid of {width}x{height} px does not hold {side}x{side} square cells "
            f"(is it a {spec.frames}-frame grid?)"
        )
    rows, cols = cell_bounds(height, side), cell_bounds(width, side)
    return [
        np.ascontiguousarray(grid[rows[r][0] : rows[r][1], cols[c][0] : cols[c][1]])
        for r, c in spec.positions()
    ]


def square_frame(frame: np.ndarray) -> np.ndarray:
    """A frame centred on a square canvas of its longer side: white for RGB, transparent for RGBA.

    Grid cells are square (a model draws them so, and `split_grid` checks it), so a non-square icon's frames
    are padded before they are laid out as a grid; the SVG itself keeps the icon's own size.
    """
    height, width = frame.shape[:2]
    side = max(height, width)
    if height == width:
        return frame
    fill = 255 if frame.shape[2] == 3 else 0
    square = np.full((side, side, frame.shape[2]), fill, frame.dtype)
    top, left = (side - height) // 2, (side - width) // 2
    square[top : top + height, left : left + width] = frame
    return square


def square_box(width: int, height: int, side_px: int) -> tuple[float, float, float, float]:
    """Where a width x height image lies (x, y, width, height) in its `square_frame` resized to side_px: the part
    of a cell that shows it, which its SVG shows at its own size."""
    side = max(width, height)
    scale = side_px / side
    return ((side - width) // 2 * scale, (side - height) // 2 * scale, width * scale, height * scale)


def compose_grid(frames: Sequence[np.ndarray], spec: GridSpec) -> np.ndarray:
    """Lay frames (creation order, equal sizes) out as one grid image, no gutters."""
    if len(frames) != spec.frames:
        raise GridError(f"expected {spec.frames} frames, got {len(frames)}")
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise GridError(f"frames differ in size: {sorted(shapes)}")
    cell_h, cell_w, channels = frames[0].shape
    grid = np.zeros((cell_h * spec.side, cell_w * spec.side, channels), dtype=frames[0].dtype)
    for frame, (r, c) in zip(frames, spec.positions()):
        grid[r * cell_h : (r + 1) * cell_h, c * cell_w : (c + 1) * cell_w] = frame
    return grid
