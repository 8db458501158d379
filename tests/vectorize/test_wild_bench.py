"""The real-input benchmark's own parts: the degraded grids it makes, a file measured end to end, its plot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.common import load_icons
from benchmarks.plots import plot_class_ratios
from benchmarks.wild_quality import Sample, degrade_grid, measure, samples, summary
from layertracer.grid import GridSpec, split_grid
from layertracer.images import decode_image, encode_png, pixel_block


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


def test_the_unseen_wild_set_is_laid_out_like_the_bench_and_skips_the_bench_names(tmp_path):
    """benchmarks.unseen_wild on a miniature Iconify folder: every class at the bench's size and mode, the JPEGs
    with their clean renders, no name the bench uses, and the same files for the same seed."""
    from benchmarks.unseen_wild import FLAT_SETS, make

    disc = '<circle cx="8" cy="8" r="6" fill="#3060c0"/><rect x="4" y="4" width="4" height="4" fill="#e04030"/>'
    ramp = ('<defs><linearGradient id="g"><stop offset="0" stop-color="#fa0"/><stop offset="1" stop-color="#f30"/>'
            '</linearGradient></defs><circle cx="8" cy="8" r="7" fill="url(#g)"/>')
    stroke = '<path d="M3 3h10v10" stroke="currentColor" stroke-width="2" fill="none"/>'
    bodies = {"fluent-emoji": ramp, "tabler": stroke, "simple-icons": '<path d="M2 2h12v12H2z"/>'}
    iconify = tmp_path / "iconify"
    for source in (*bodies, *FLAT_SETS):
        names = [f"{source}-{k}" for k in range(4)] + ["taken"]
        package = {"width": 16, "height": 16, "icons": {n: {"body": bodies.get(source, disc)} for n in names}}
        (iconify / source).mkdir(parents=True)
        (iconify / source / "icons.json").write_text(json.dumps(package))
    bench = tmp_path / "bench"
    (bench / "icons" / "dev").mkdir(parents=True)
    (bench / "icons" / "dev" / "noto__taken.svg").write_text("<svg/>")
    written = make(iconify, tmp_path / "out", 2, 3, bench)
    assert written == {cls: 2 for cls in (
        "gradient", "line", "logo", "small", "_reference/jpeg", "jpeg", "transparent", "pixel", "_reference/noisy",
        "noisy", "hairline", "thin", "dark", "tile", "shadow", "_reference/webp", "webp", "grey", "big", "sticker")}
    root = tmp_path / "out" / "wild" / "dev"
    sizes = {"gradient": 512, "line": 256, "logo": 512, "small": 64, "jpeg": 512, "transparent": 512, "pixel": 512,
             "noisy": 512, "hairline": 256, "thin": 32, "dark": 512, "tile": 512, "shadow": 512, "webp": 512,
             "grey": 512, "big": 1024, "sticker": 512}
    modes = {"transparent": "RGBA", "grey": "L", "sticker": "RGBA"}
    for cls, px in sizes.items():
        for path in (root / cls).iterdir():
            assert "taken" not in path.name
            image = Image.open(path)
            assert image.size == (px, px) and image.mode == modes.get(cls, "RGB")
            if cls in ("jpeg", "webp"):  # lossy, with the clean render to judge against
                assert path.suffix == {"jpeg": ".jpg", "webp": ".webp"}[cls]
                assert (root / "_reference" / cls / f"{path.stem}.png").is_file()
    corners = {cls: {tuple(np.asarray(Image.open(path))[2, 2]) for path in (root / cls).iterdir()}
               for cls in ("dark", "tile", "shadow")}
    assert corners == {"dark": {(31, 41, 55)}, "tile": {(255, 255, 255)}, "shadow": {(255, 255, 255)}}
    for path in (root / "shadow").iterdir():  # a soft grey shadow: shades of grey that no icon colour has
        pixels = np.asarray(Image.open(path)).reshape(-1, 3).astype(int)
        greys = pixels[(np.ptp(pixels, axis=1) == 0) & (pixels[:, 0] > 150) & (pixels[:, 0] < 250)]
        assert len(np.unique(greys[:, 0])) > 20
    assert all(pixel_block(decode_image(path.read_bytes())) == 16 for path in (root / "pixel").iterdir())
    for path in (root / "noisy").iterdir():  # the clean render plus grain of the degraded grids' sigma
        clean = decode_image((root / "_reference" / "noisy" / path.name).read_bytes()).astype(float)
        grain = (decode_image(path.read_bytes()) - clean)[(clean > 20) & (clean < 235)]  # unclipped
        assert path.suffix == ".png" and 2.7 < grain.std() < 3.3
    line = np.asarray(Image.open(next((root / "line").iterdir())))
    pixels = line.reshape(-1, 3)
    assert (pixels < 200).all(axis=1).any() and not (pixels == 0).all(axis=1).any()  # an ink, not currentColor's black
    again = make(iconify, tmp_path / "again", 2, 3, bench)
    assert again == written and sorted(p.name for p in (tmp_path / "again" / "wild" / "dev" / "jpeg").iterdir()) == \
        sorted(p.name for p in (root / "jpeg").iterdir())
