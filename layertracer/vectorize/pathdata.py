"""Path data as text: absolute M/L/C/Z commands, their numbers read and written at vtracer's precision.

vtracer writes two decimals; everything that moves or joins its outlines writes them back the same way.
"""

from __future__ import annotations

import re

import numpy as np

_PAIRS_ONLY_RE = re.compile(r"[MLCZ0-9eE.,\s+-]*")  # absolute commands whose numbers are all (x, y) pairs
_COORDINATE = "{:.8g}"  # rounded to 2 decimals first: up to 999999.99 exactly, "12" not "12.00", never "-0"
_NUMBER_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_NUMBER_SPLIT_RE = re.compile(f"({_NUMBER_RE.pattern})")  # split keeps the numbers: text and numbers in one pass
_COMMAND_RE = re.compile(r"([MLCZ])([^MLCZ]*)")


def pairs_only(d: str) -> bool:
    """Whether path data `d` is absolute M/L/C/Z commands only, so its numbers are all (x, y) pairs."""
    return _PAIRS_ONLY_RE.fullmatch(d) is not None


def number_slots(d: str) -> tuple[str, list[str]]:
    """Path data `d` as a template for `fill_slots` ("{}" where each number was) and its numbers, in order."""
    parts = _NUMBER_SPLIT_RE.split(d)
    return "{}".join(parts[0::2]), parts[1::2]


def fill_slots(slots: str, numbers: np.ndarray) -> str:
    """A `number_slots` template with its numbers, in order, written as `format_number` does."""
    return slots.format(*map(_COORDINATE.format, (np.round(numbers, 2) + 0.0).tolist()))


def format_number(value: float) -> str:
    """A coordinate with at most two decimals (vtracer's own precision here), no trailing zeros."""
    return _COORDINATE.format(round(value, 2) + 0.0)


def segments_of(slots: str, numbers: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """Path data as `number_slots` splits it (each command's numbers are its "{}"s) as its (x, y) pairs and its
    segments, rows of indices into them: (start, control 1, control 2, end), a line's controls -1. None where a
    command has an odd count of numbers."""
    segments: list[tuple[int, int, int, int]] = []
    base = 0  # pairs before this command
    for letter, body in _COMMAND_RE.findall(slots):
        count = body.count("{}")
        if count % 2:
            return None
        n = count // 2
        if letter == "L" and base > 0:
            segments += [(base + k - 1, -1, -1, base + k) for k in range(n)]
        elif letter == "C" and base > 0:
            segments += [(base + k - 1, base + k, base + k + 1, base + k + 2) for k in range(0, n - 2, 3)]
        base += n
    points = np.asarray(numbers, np.float64).reshape(-1, 2)
    return points, np.asarray(segments, np.intp).reshape(-1, 4)
