"""From ordered regions to cumulative creation frames.

Frame t shows every region of steps 0..t, each drawn whole (its amodal completion) in its flat colour, over the
empty canvas. A pixel shows the input's own value once every region within a few pixels of it has been drawn:
anti-aliased edges then appear exactly when both of their sides exist, and the last frame equals the input.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class ShapeMask:
    """A completed region as a bool mask over a box of the analysis image."""

    y0: int
    x0: int
    mask: np.ndarray


def assign_steps(order: list[int], areas: np.ndarray, frames: int) -> np.ndarray:
    """Step (0..frames-1) of each region id, canvas -1: consecutive runs of the stacking order, equal in count."""
    steps = np.full(len(areas), -1, np.int64)
    n = len(order)
    for position, rid in enumerate(order):
        steps[rid] = position if n <= frames else position * frames // n
    return steps


def _scale_box(shape: ShapeMask, sy: float, sx: float) -> tuple[int, int, int, int]:
    h, w = shape.mask.shape
    return (round(shape.y0 * sy), round(shape.x0 * sx), round((shape.y0 + h) * sy), round((shape.x0 + w) * sx))


def paint_frames(
    image: np.ndarray,
    region_map: np.ndarray,
    colours: np.ndarray,
    order: list[int],
    steps: np.ndarray,
    shapes: dict[int, ShapeMask],
    frames: int,
    canvas: tuple[int, ...],
) -> list[np.ndarray]:
    """Cumulative frames at the size of `image` (whose channel count they keep) from analysis-size regions."""
    height, width, channels = image.shape
    sy, sx = height / region_map.shape[0], width / region_map.shape[1]
    step_map = (steps[region_map] + 1).astype(np.uint8)  # canvas 0, step t -> t + 1
    if step_map.shape != (height, width):
        step_map = cv2.resize(step_map, (width, height), interpolation=cv2.INTER_NEAREST)
    radius = max(1, int(np.ceil(max(sy, sx))))
    ready_step = cv2.dilate(step_map, np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)).astype(np.int64) - 1

    flat = np.empty((height, width, channels), np.uint8)
    flat[:] = np.asarray(canvas[:channels], np.uint8)
    out = []
    for t in range(frames):
        for rid in order:
            if steps[rid] != t:
                continue
            shape = shapes[rid]
            y0, x0, y1, x1 = _scale_box(shape, sy, sx)
            mask = shape.mask
            if mask.shape != (y1 - y0, x1 - x0):
                mask = cv2.resize(mask.astype(np.uint8), (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST) > 0
            flat[y0:y1, x0:x1][mask] = colours[rid][:channels]
        out.append(np.where((ready_step <= t)[..., None], image, flat))
    return out
