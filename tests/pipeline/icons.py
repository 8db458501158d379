"""Inputs for the pipeline tests, built in code: small icons drawn step by step, as grids and as flat images."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from layertracer.grid import GridSpec, compose_grid
from layertracer.images import encode_png

CELL_PX = 96
COLOURS = [(40, 90, 200), (220, 50, 40), (40, 170, 80), (250, 190, 30), (120, 40, 160), (20, 20, 20)]


def icon_frames(variant: int, frames: int, size: int = CELL_PX) -> list[np.ndarray]:
    """Cumulative frames: a background square, then one shape per step (a disc or a bar), on white."""
    frame = np.full((size, size, 3), 255, np.uint8)
    out = []
    for step in range(frames):
        frame = frame.copy()
        colour = COLOURS[(variant + step) % len(COLOURS)]
        if step == 0:
            cv2.rectangle(frame, (8, 8), (size - 9, size - 9), colour, -1)
        elif step % 2:
            cv2.circle(frame, (20 + (step * 13 + variant * 7) % (size - 40), size // 2), 10, colour, -1)
        else:
            top = 14 + step * 6 % (size - 30)
            cv2.rectangle(frame, (14, top), (size - 15, top + 6), colour, -1)
        out.append(frame)
    return out


@dataclass(frozen=True)
class Inputs:
    """Files of the pipeline tests: grids (4 and 9 frames), flat images, a JPEG grid and a corrupt file."""

    root: Path

    def grid(self, variant: int, frames: int) -> Path:
        return self.root / f"grid{frames}_{variant}.png"

    def image(self, variant: int) -> Path:
        return self.root / f"image_{variant}.png"


def build_inputs(root: Path) -> Inputs:
    """Grids of variants 0-3 (4 and 9 frames), their last frames as flat images, a JPEG grid, a corrupt PNG."""
    data = Inputs(root)
    for variant in range(4):
        for frames in (4, 9):
            grid = compose_grid(icon_frames(variant, frames), GridSpec(frames=frames))
            data.grid(variant, frames).write_bytes(encode_png(grid))
        data.image(variant).write_bytes(encode_png(icon_frames(variant, 4)[-1]))
    jpeg = compose_grid(icon_frames(0, 4), GridSpec(frames=4))
    cv2.imwrite(str(root / "grid4_jpeg.jpg"), cv2.cvtColor(jpeg, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    (root / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    return data


def write_jsonl(path: Path, rows: list[dict | str]) -> Path:
    """A JSONL manifest; str rows are written as they are (to test unparseable lines)."""
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path
