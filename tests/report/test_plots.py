"""The benchmark plots: real PNGs with the methods drawn in distinct colours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.plots import plot_quality_vs_paths, plot_time_per_icon
from layertracer.images import decode_image


def _coloured_pixels(path: Path) -> int:
    image = decode_image(path.read_bytes())[..., :3].astype(int)
    return int(np.sum(image.max(axis=-1) - image.min(axis=-1) > 60))


def test_quality_vs_paths_plot(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    results = {
        "vtracer": {"paths": rng.integers(5, 15, 30).tolist(), "mse": rng.uniform(3e-4, 8e-4, 30).tolist()},
        "layertracer": {"paths": rng.integers(8, 20, 30).tolist(), "mse": rng.uniform(1e-4, 4e-4, 30).tolist()},
    }
    out = plot_quality_vs_paths(results, tmp_path / "plots" / "quality.png")
    assert out.is_file() and _coloured_pixels(out) > 500
    with pytest.raises(ValueError, match="vtracer: 2 path counts but 1 mse values"):
        plot_quality_vs_paths({"vtracer": {"paths": [1, 2], "mse": [0.1]}}, tmp_path / "bad.png")


def test_time_per_icon_plot(tmp_path: Path) -> None:
    out = plot_time_per_icon({"vtracer": [0.03, 0.04, 0.05], "layertracer": [0.1, 0.12, 0.2]}, tmp_path / "time.png")
    image = decode_image(out.read_bytes())
    assert image.shape[0] > 100 and image.std() > 10
