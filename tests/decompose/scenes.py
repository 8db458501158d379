"""Synthetic flat images with a known stacking, drawn at 4x and downsampled so edges are anti-aliased."""

from __future__ import annotations

import cv2
import numpy as np

SIZE = 128
SUPER = 4
BACKGROUND, ORANGE, BLUE, WHITE = (40, 60, 90), (240, 150, 30), (60, 120, 230), (255, 255, 255)


def _draw(shapes: list[tuple[str, tuple, tuple]], background: tuple, channels: int = 3) -> np.ndarray:
    """Paint ('rect'|'disc'|'poly', colour, geometry in 1x px) in order at SUPER x, then area-downsample."""
    big = np.zeros((SIZE * SUPER, SIZE * SUPER, channels), np.uint8)
    big[:] = background[:channels]
    for kind, colour, geometry in shapes:
        colour = tuple(int(c) for c in colour[:channels])
        g = [int(v * SUPER) for v in geometry]
        if kind == "rect":
            cv2.rectangle(big, (g[0], g[1]), (g[2] - 1, g[3] - 1), colour, thickness=-1)
        elif kind == "poly":
            cv2.fillConvexPoly(big, np.array(g, np.int32).reshape(-1, 2), colour)
        else:
            cv2.circle(big, (g[0], g[1]), g[2], colour, thickness=-1)
    return cv2.resize(big, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


SQUARE = (20, 20, 84, 84)  # x0, y0, x1, y1
DISC = (84, 70, 26)  # cx, cy, r: over the square's lower-right edge, partly on the background


def disc_on_square_on_background(background: tuple = BACKGROUND) -> np.ndarray:
    return _draw([("rect", ORANGE, SQUARE), ("disc", BLUE, DISC)], background)


def ring_on_white() -> np.ndarray:
    """An orange ring whose hole shows the white canvas (nothing fills it)."""
    return _draw([("disc", ORANGE, (64, 64, 44)), ("disc", WHITE, (64, 64, 24))], WHITE)


def square_with_hole_transparent() -> np.ndarray:
    """RGBA: an orange square with a see-through hole, on a transparent canvas."""
    return _draw([("rect", ORANGE + (255,), SQUARE), ("disc", (0, 0, 0, 0), (52, 52, 14))], (0, 0, 0, 0), 4)


def square_hole_filled_later() -> np.ndarray:
    """An orange square on white whose middle shows a blue disc: the disc sits in the square's 'hole'."""
    return _draw([("rect", ORANGE, SQUARE), ("disc", BLUE, (52, 52, 14))], WHITE)


def colour_at(image: np.ndarray, x: int, y: int) -> tuple[int, ...]:
    return tuple(int(v) for v in image[y, x])


def close(a, b, tolerance: int = 6) -> bool:
    return max(abs(int(x) - int(y)) for x, y in zip(a, b)) <= tolerance


TRAPEZOID = (30, 24, 98, 24, 106, 100, 22, 100)  # x, y of each corner: wider at the bottom, so no rectangle
HANDS = [(27, 95, 14), (101, 95, 14)]  # discs over the two bottom corners


def trapezoid_held_at_its_corners() -> np.ndarray:
    """An orange trapezoid on white whose bottom corners two blue discs cover (hands holding a tablet)."""
    return _draw([("poly", ORANGE, TRAPEZOID)] + [("disc", BLUE, hand) for hand in HANDS], WHITE)


EYES = [(48, 54, 4), (80, 54, 4)]  # two small blue discs on an orange face


def face_with_two_eyes() -> np.ndarray:
    """An orange face on white with two small blue eyes: one detail drawn twice, as a designer draws it."""
    return _draw([("disc", ORANGE, (64, 64, 44))] + [("disc", BLUE, eye) for eye in EYES], WHITE)


TILE, TILE_RADIUS = (16, 16, 112, 112), 16  # x0, y0, x1, y1 and corner radius of a rounded square


def app_tile_on_dark() -> np.ndarray:
    """An app icon as a dark UI shows it: a blue rounded square on the dark canvas, an orange disc inside."""
    x0, y0, x1, y1 = TILE
    r = TILE_RADIUS
    corners = [("disc", BLUE, (x, y, r)) for x in (x0 + r, x1 - r) for y in (y0 + r, y1 - r)]
    body = [("rect", BLUE, (x0 + r, y0, x1 - r, y1)), ("rect", BLUE, (x0, y0 + r, x1, y1 - r))]
    return _draw([*corners, *body, ("disc", ORANGE, (64, 64, 24))], BACKGROUND)


BIG_DISCS = [(34, 64, 26), (94, 64, 26)]


def two_big_discs() -> np.ndarray:
    """Two big blue discs side by side on white: same colour, but each a shape worth a step of its own."""
    return _draw([("disc", BLUE, disc) for disc in BIG_DISCS], WHITE)
