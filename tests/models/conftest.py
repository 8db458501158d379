"""Fixtures for the Flux model tests: tiny LoRAs beside the session's tiny pipeline, and a reference icon."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from layertracer.testing.tiny_flux import build_tiny_lora


@pytest.fixture(scope="session")
def tiny_loras(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """{'diffusers': path, 'kohya': path}: random LoRAs for the tiny transformer in both key formats."""
    folder: Path = tmp_path_factory.mktemp("tiny-lora")
    return {fmt: build_tiny_lora(folder / f"{fmt}.safetensors", fmt) for fmt in ("diffusers", "kohya")}


@pytest.fixture(scope="session")
def red_disc() -> np.ndarray:
    """A 100x80 (not square) RGB icon: a red disc on white."""
    yy, xx = np.mgrid[0:100, 0:80]
    image = np.full((100, 80, 3), 255, np.uint8)
    image[(yy - 50) ** 2 + (xx - 40) ** 2 < 30**2] = (200, 30, 30)
    return image
