"""The real-input benchmark's own parts: the degraded grids it makes, a file measured end to end, its plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.common import load_icons
from benchmarks.plots import plot_class_ratios
from benchmarks.wild_quality import Sample, degrade_grid, measure, samples, summary
from layertracer.grid import GridSpec, split_grid
from layertracer.images import decode_image, encode_png


def test_degraded_grids_are_seeded_and_keep_the_last_cell_in_place(bench_dir):
    icon = load_icons(bench_dir, 4, limit=1)[0]
    spec = GridSpec(frames=4)
    grid = degrade_grid(icon.frames, spec, np.random.default_rng(1))
    assert grid == degrade_grid(icon.frames, spec, np.random.default_rng(1))
    assert grid[:2] == b"\xff\xd8"  # JPEG
    cells = split_grid(decode_image(grid), spec)
    error = np.abs(cells[-1].astype(float) - icon.final[..., :3])
    assert 1.0 < error.mean() < 6.0  # noise, tone and compression, but no drift: not an edge moved
    assert np.median(error) < 6.0


def test_a_file_is_measured_against_plain_vtracer_and_a_crash_is_a_row(bench_dir, tmp_path):
    picked = [next(samples(bench_dir, [cls], 1, tmp_path)) for cls in ("small", "degraded4")]
    rows = [measure(sample, tmp_path, repeat=1) for sample in picked]
    for row in rows:
        assert "error" not in row and row["ours_paths"] > 0 and row["plain_paths"] > 0
        assert 0 < row["ours_mse"] < 0.01 and 0 < row["plain_mse"] < 0.01 and row["ours_s"] > 0
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    image = picked[0].target
    crash = measure(Sample("small", "broken", ("vectorize",), broken, encode_png(image), "png", image), tmp_path, 1)
    assert crash["error"].startswith("ImageError: ") and "not a readable image" in crash["error"]
    figures = summary([*rows[:1], crash])
    assert figures["n"] == 2 and figures["crashes"] == 1 and figures["mse_ratio"] > 0


def test_class_ratio_plot(tmp_path: Path) -> None:
    summaries = {"jpeg": {"mse_ratio": 1.3, "paths_ratio": 0.16, "time_ratio": 4.9},
                 "clean4": {"mse_ratio": 0.3, "paths_ratio": 0.64, "time_ratio": 3.4}}
    out = plot_class_ratios(summaries, tmp_path / "ratios.png")
    image = decode_image(out.read_bytes())
    assert image.shape[1] > 400 and image.std() > 10
