"""Label maps (an integer id per pixel): where each id lies and which ids touch.

Flat artwork's label maps are long runs of one id, so each id's rows and columns are read off the runs' first
pixels rather than off every pixel: a tenth of the work on the benchmark icons.
"""

from __future__ import annotations

import numpy as np


def label_boxes(labels: np.ndarray, n: int) -> np.ndarray:
    """(n, 4) y0, x0, y1, x1 (exclusive) of each id 0..n-1 of a 2-D map of ids below n; an id without pixels
    gets (h, w, 0, 0).

    An id reaches a row where one of its runs along the row starts, and a column where one of its runs down
    the column starts.
    """
    h, w = labels.shape
    flat = np.ascontiguousarray(labels).ravel()
    across = np.concatenate([np.arange(0, h * w, w), np.flatnonzero(flat[1:] != flat[:-1]) + 1])
    down = np.concatenate([np.arange(w), np.flatnonzero(flat[w:] != flat[:-w]) + w])
    rows = np.zeros((n, h), bool)
    cols = np.zeros((n, w), bool)
    rows[flat[across], across // w] = True
    cols[flat[down], down % w] = True
    boxes = np.stack(
        [rows.argmax(axis=1), cols.argmax(axis=1), h - rows[:, ::-1].argmax(axis=1), w - cols[:, ::-1].argmax(axis=1)],
        axis=1,
    ).astype(np.int64)
    boxes[~rows.any(axis=1)] = (h, w, 0, 0)
    return boxes


def boundary_keys(region_map: np.ndarray, n: int) -> np.ndarray:
    """One key a * n + b per pixel edge between two regions a and b (left/top side first)."""
    pairs = []
    for a, b in ((region_map[:, :-1], region_map[:, 1:]), (region_map[:-1, :], region_map[1:, :])):
        differ = a != b
        pairs.append(a[differ].astype(np.int64) * n + b[differ])
    return np.concatenate(pairs)
