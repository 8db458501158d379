"""From ordered regions to cumulative creation frames.

Frame t shows every region of steps 0..t, each drawn whole (its amodal completion) in its flat colour, over the
empty canvas. A pixel shows the input's own value once every region within a few pixels of it has been drawn:
anti-aliased edges then appear exactly when both of their sides exist, and the last frame equals the input.
"""

from __future__ import annotations

import cv2
import numpy as np

from layertracer.decompose.stacking import ShapeMask


def assign_steps(elements: list[list[int]], areas: np.ndarray, frames: int) -> np.ndarray:
    """Step (0..frames-1) of each region id, canvas -1: consecutive runs of the stacking order (`elements`
    bottom to top, as `stacking.stacking_order` gives them).

    Each region gets a share of the sequence proportional to the square root of its area, so a big body can
    fill a step alone while many small details share one (on the dev icons this follows the designers' own
    steps better than equal counts or equal areas). A region worth a step of its own is a unit; the regions of
    one element worth less (two eyes, a row of rivets) are one unit together, as a designer draws them with one
    path. When the units fit, each takes one step and the last steps repeat the finished icon, as a designer's
    file with fewer shapes than frames does; otherwise the regions are cut into `frames` runs by their shares.
    """
    order = [rid for element in elements for rid in element]
    steps = np.full(len(areas), -1, np.int64)
    weight = np.sqrt(areas.astype(np.float64))
    step_weight = weight[order].sum() / frames
    units = []
    for element in elements:
        units += [[rid] for rid in element if weight[rid] >= step_weight]
        details = [rid for rid in element if weight[rid] < step_weight]
        if details:
            units.append(details)
    if len(units) <= frames:
        rank = np.empty(len(areas), np.int64)
        rank[order] = np.arange(len(order))
        units.sort(key=lambda unit: rank[unit[0]])  # drawing order: each unit where its first region was
        for step, unit in enumerate(units):
            steps[unit] = step
        return steps
    share = weight[order]
    middle = (np.cumsum(share) - share / 2) / share.sum()
    wanted = np.minimum((middle * frames).astype(np.int64), frames - 1)
    step, n = 0, len(order)
    for position, rid in enumerate(order):
        # no step left empty: advance by at most one, and early enough for the regions that remain
        if position:
            step = min(max(int(wanted[position]), step), step + 1)
        step = max(step, frames - (n - position))
        steps[rid] = step
    return steps


def paint_frames(
    image: np.ndarray,
    region_map: np.ndarray,
    colours: np.ndarray,
    order: list[int],
    steps: np.ndarray,
    shapes: dict[int, ShapeMask],
    frames: int,
) -> list[np.ndarray]:
    """Cumulative frames of `image` (same size and channels); `colours[0]` is the empty canvas."""
    channels = image.shape[2]
    step_map = (steps[region_map] + 1).astype(np.uint8)  # canvas 0, step t -> t + 1
    ready_step = cv2.dilate(step_map, np.ones((3, 3), np.uint8))  # t + 1 once the pixel's neighbourhood is drawn
    # One 32-bit RGBA word per region: a shape is painted with one value, not 3 or 4 bytes.
    rgba = np.zeros((len(colours), 4), np.uint8)
    rgba[:, :channels] = colours[:, :channels]
    words = rgba.view(np.uint32).ravel()
    shown = np.full(region_map.shape, words[0])  # the colour of the completed region on top at each pixel
    out = []
    for t in range(frames):
        for rid in order:
            if steps[rid] == t and rid in shapes:
                shape = shapes[rid]
                h, w = shape.mask.shape
                np.copyto(shown[shape.y0 : shape.y0 + h, shape.x0 : shape.x0 + w], words[rid], where=shape.mask)
        frame = shown.view(np.uint8).reshape(*shown.shape, 4)
        frame = cv2.cvtColor(frame, cv2.COLOR_RGBA2RGB) if channels == 3 else frame.copy()  # `shown` goes on
        out.append(cv2.copyTo(image, (ready_step <= t + 1).view(np.uint8), frame))
    return out
