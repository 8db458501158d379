"""Group an icon's units (painter's order) into 4 or 9 creation steps.

Steps are consecutive runs of units, so the base is drawn first and a shape's details come after the shape,
as in the painter's order the designer left. Cut points balance each step's share of the work, a blend of
its visual change (pixels it alters) and its element count: a background does not get one step per detail
path, and ten tiny highlights do not each get a step of their own while a big body shape shares one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def unit_weights(visual_change: Sequence[float], count_weight: float) -> np.ndarray:
    """Each unit's share of the work: (1 - count_weight) * its visual share + count_weight / n."""
    change = np.clip(np.asarray(visual_change, dtype=np.float64), 0, None)
    n = len(change)
    if n == 0:
        return change
    total = change.sum()
    visual = change / total if total > 0 else np.full(n, 1.0 / n)
    return (1 - count_weight) * visual + count_weight / n


def balanced_cuts(weights: Sequence[float], steps: int) -> list[int]:
    """End index of each step, for `steps` consecutive non-empty runs minimising the sum of squared step weights.

    Fewer units than steps: one unit per step, and the last state repeats (the LayerTracer data does the same).
    The dynamic programme is O(steps * n^2) in numpy, fine for the few hundred units an icon has.
    """
    w = np.asarray(weights, dtype=np.float64)
    n = len(w)
    if n == 0:
        return [0] * steps
    if n <= steps:
        return [min(k + 1, n) for k in range(steps)]
    prefix = np.concatenate([[0.0], np.cumsum(w)])
    # cost[k, i]: best cost of splitting units [0, i) into k + 1 runs; choice[k, i]: where the last run starts.
    cost = np.full((steps, n + 1), np.inf)
    choice = np.zeros((steps, n + 1), dtype=np.int64)
    cost[0, 1:] = prefix[1:] ** 2
    for k in range(1, steps):
        for i in range(k + 1, n + 1):
            starts = np.arange(k, i)
            candidates = cost[k - 1, starts] + (prefix[i] - prefix[starts]) ** 2
            best = int(np.argmin(candidates))
            cost[k, i] = candidates[best]
            choice[k, i] = starts[best]
    cuts = [n]
    for k in range(steps - 1, 0, -1):
        cuts.append(int(choice[k, cuts[-1]]))
    return cuts[::-1]


def step_ranges(cuts: Sequence[int]) -> list[tuple[int, int]]:
    """[start, end) of the units each step adds (empty when a step repeats the last state)."""
    ranges, start = [], 0
    for end in cuts:
        ranges.append((start, max(start, end)))
        start = max(start, end)
    return ranges
