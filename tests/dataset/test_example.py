"""Creation grids from the benchmark's real icons: the last frame is the icon, every step only adds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from layertracer.dataset.example import DatasetOptions, build_example
from layertracer.dataset.sanitize import parse_svg
from layertracer.dataset.svgdoc import cell_document, drawable_units
from layertracer.grid import GridSpec, split_grid
from layertracer.images import ImageLimits, decode_image
from layertracer.metrics import mse, render_svg

# One or two per icon set, from 3 to 32 top-level shapes, with groups, semi-transparency and wrapper <g>s.
ICONS = [
    "twemoji__robot", "twemoji__floppy-disk", "noto__person-biking", "noto__hot-beverage",
    "fluent-emoji-flat__clinking-beer-mugs", "fluent-emoji-flat__person-juggling",
    "flat-color-icons__camcorder", "flat-color-icons__reading-ebook",
]


def read_png(path) -> np.ndarray:
    return decode_image(path.read_bytes(), ImageLimits(), str(path))


@pytest.fixture(scope="module")
def built(bench_dir):
    """(icon, frames) -> (row, frames list) for the icons above, 4 and 9 frames."""
    out = {}
    for frames in (4, 9):
        options = DatasetOptions(frames=frames)
        for icon in ICONS:
            data = (bench_dir / "icons" / "dev" / f"{icon}.svg").read_bytes()
            row = build_example(data, f"{icon}.svg", options, icon)
            assert row["status"] == "ok", row["error"]
            grid = decode_image(row["grid_png"], ImageLimits(), icon)
            out[icon, frames] = (row, split_grid(grid, GridSpec(frames)))
    return out


@pytest.mark.parametrize("frames", [4, 9])
def test_last_frame_is_the_icon(built, bench_dir, frames) -> None:
    for icon in ICONS:
        row, cells = built[icon, frames]
        assert row["grid_px"] == GridSpec(frames).grid_px and len(cells) == frames
        final = read_png(bench_dir / "frames" / "dev" / f"f{frames}" / icon / "final.png")
        assert mse(cells[-1], final) < 5e-4, icon
        assert "sks" in row["caption"] and row["description"] in row["caption"]


@pytest.mark.parametrize("frames", [4, 9])
def test_each_step_only_adds_its_own_shapes(built, bench_dir, frames) -> None:
    """Pixels that change from frame k-1 to k lie under the shapes step k adds (rendered alone)."""
    options = DatasetOptions(frames=frames)
    for icon in ICONS:
        row, cells = built[icon, frames]
        svg = parse_svg((bench_dir / "icons" / "dev" / f"{icon}.svg").read_bytes())
        units = drawable_units(svg, frames)
        steps = json.loads(row["steps"])
        assert steps[0][0] == 0 and steps[-1][1] == len(units) == row["n_elements"]
        previous = np.full_like(cells[0], 255)
        for (start, end), cell in zip(steps, cells):
            changed = np.abs(cell.astype(int) - previous.astype(int)).max(axis=2) > 24
            if start == end:
                assert not changed.any(), f"{icon}: a repeated step changed pixels"
                continue
            hidden = frozenset(id(u) for i, u in enumerate(units) if not start <= i < end)
            document = cell_document(svg, hidden, options.cell, options.margin)
            alone = render_svg(document, options.cell, options.cell, background=None)
            covered = alone[..., 3] > 0
            for axis in (0, 1):  # one pixel of slack for anti-aliased edges
                covered = covered | np.roll(covered, 1, axis) | np.roll(covered, -1, axis)
            assert not (changed & ~covered).any(), f"{icon}: step {start}:{end} changed pixels it does not cover"
            previous = cell


def test_frames_equal_the_benchmark_where_the_steps_agree(built, bench_dir) -> None:
    """Where our balanced grouping picks the benchmark's element ranges, every frame matches its frame."""
    compared = 0
    for (icon, frames), (row, cells) in built.items():
        meta = json.loads((bench_dir / "frames" / "dev" / f"f{frames}" / icon / "meta.json").read_text())
        if json.loads(row["steps"]) != meta["added"]:
            continue
        for k, cell in enumerate(cells):
            truth = read_png(bench_dir / "frames" / "dev" / f"f{frames}" / icon / f"frame_{k:02d}.png")
            assert mse(cell, truth) < 5e-4, (icon, frames, k)
        compared += 1
    assert compared >= 3


def test_balanced_grouping_gives_big_shapes_their_own_steps(built) -> None:
    """person-juggling (26 shapes, 9 steps): no step adds more than half of the icon's visible change."""
    row, cells = built["fluent-emoji-flat__person-juggling", 9]
    previous = np.full_like(cells[0], 255)
    change = []
    for cell in cells:
        change.append((np.abs(cell.astype(int) - previous.astype(int)).max(axis=2) > 24).mean())
        previous = cell
    assert max(change) < 0.5 * sum(change)
    assert len({tuple(s) for s in json.loads(row["steps"])}) == 9  # nine distinct, non-empty steps
