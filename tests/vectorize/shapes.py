"""Synthetic creation frames with known shapes, drawn anti-aliased like real icon renders."""

from __future__ import annotations

import cv2
import numpy as np

SIZE = 256
BLUE, RED, GREEN, WHITE = (40, 90, 200), (220, 50, 40), (40, 170, 80), (255, 255, 255)


def canvas(color=WHITE, size: int = SIZE) -> np.ndarray:
    return np.full((size, size, 3), color, np.uint8)


def square(img: np.ndarray, color, lo: int = 40, hi: int = 200) -> np.ndarray:
    out = img.copy()
    cv2.rectangle(out, (lo, lo), (hi, hi), color, thickness=-1, lineType=cv2.LINE_AA)
    return out


def disc(img: np.ndarray, color, center=(120, 120), radius: int = 45) -> np.ndarray:
    out = img.copy()
    cv2.circle(out, center, radius, color, thickness=-1, lineType=cv2.LINE_AA)
    return out


def square_disc_recolour() -> list[np.ndarray]:
    """Frame 1: a blue square. Frame 2: a red disc on it. Frame 3: the square recoloured green."""
    f1 = square(canvas(), BLUE)
    f2 = disc(f1, RED)
    f3 = disc(square(canvas(), GREEN), RED)
    return [f1, f2, f3]


def near(image: np.ndarray, y: int, x: int, color, tolerance: int = 12) -> bool:
    return bool(np.abs(image[y, x, :3].astype(int) - np.asarray(color)).max() <= tolerance)
