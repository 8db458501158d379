"""Hostile inputs in a real batch job: every row gets exactly one index row that says what became of it, the job
goes on, and awkward-but-valid images come out with the right pixels.

What tests/pipeline and tests/test_images.py already check is not repeated here: they cover the common bad rows
(`../x`, `a/b`, empty id, unknown kind, missing fields, duplicates) and the decoder's conversions one by one; this
adds the rest of issue 8's list, all in one job, and proves the outputs.
"""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from layertracer.commands.run import register, run_options
from layertracer.errors import ImageError
from layertracer.images import DEFAULT_MAX_PIXELS, ImageLimits, decode_image
from layertracer.metrics import mse, render_svg
from layertracer.pipeline.index import read_index, read_parts
from tests.pipeline.icons import icon_frames
from tests.reliability.hostile import bomb_png


def by_manifest(run) -> dict[str, dict[int, dict]]:
    rows: dict[str, dict[int, dict]] = {}
    for row in read_index(run.out).to_pylist():
        rows.setdefault(row["manifest"], {})[row["row"]] = row
    return rows


def test_every_row_is_accounted_for_once(hostile_run):
    table = read_parts(hostile_run.out)
    keys = list(zip(table["manifest"].to_pylist(), table["row"].to_pylist()))
    assert len(keys) == len(set(keys)), "a row was written twice"
    rows = by_manifest(hostile_run)
    assert set(rows) == {hostile_run.manifest, *hostile_run.other_manifests}
    main = rows[hostile_run.manifest]
    assert sorted(main) == list(range(len(main)))  # no gaps: every manifest row has its index row
    assert hostile_run.summary.ok + hostile_run.summary.error == table.num_rows
    failed = [r for rs in rows.values() for r in rs.values() if r["status"] != "ok"]
    assert all(r["error"] and "\n" not in r["error"] for r in failed)


def test_bad_manifest_rows_say_why(hostile_run):
    main = by_manifest(hostile_run)[hostile_run.manifest]
    for number, message in hostile_run.row_errors.items():
        row = main[number]
        assert row["status"] == "error" and message in row["error"], (number, row["id"], row["error"])
        assert row["svg_uri"] is None


def test_files_that_are_no_manifest_become_error_rows(hostile_run):
    rows = by_manifest(hostile_run)
    for manifest, message in hostile_run.other_manifests.items():
        errors = [r["error"] for r in rows[manifest].values()]
        assert errors and all(r["status"] == "error" for r in rows[manifest].values())
        assert any(message in e for e in errors), (manifest, errors[:3])


@pytest.mark.parametrize("name", [
    "zero-bytes", "truncated-png", "truncated-jpeg", "text-named-png", "one-pixel", "bomb-png", "bomb-jpeg",
    "bomb-gif",
])
def test_unreadable_images_are_error_rows(hostile_run, name):
    row = next(r for r in read_index(hostile_run.out).to_pylist() if r["id"] == f"img-{name}")
    assert row["status"] == "error" and hostile_run.images[row["id"]].error in row["error"], row["error"]


@pytest.mark.parametrize("name", ["animated-gif", "animated-png", "cmyk-jpeg", "grey-16bit", "palette-transparent",
                                  "exif-rotated"])
def test_awkward_images_keep_their_pixels(hostile_run, name):
    """The image row's frame grid ends with the picture as viewers show it (first frame, upright, in RGB)."""
    image = hostile_run.images[f"img-{name}"]
    row = next(r for r in read_index(hostile_run.out).to_pylist() if r["id"] == f"img-{name}")
    assert row["status"] == "ok", row["error"]
    grid = decode_image(open(row["grid_uri"], "rb").read())
    side = grid.shape[0] // 2
    assert grid.shape[:2] == (2 * side, 2 * side)  # square cells, the picture centred on them
    cell = grid[side:, :side]  # 2x2 serpentine: the 4th frame is bottom-left
    expected = image.expected
    height, width = expected.shape[:2]
    top, left = (side - height) // 2, (side - width) // 2
    last = cell[top : top + height, left : left + width]
    if last.shape[-1] == 4 and expected.shape[-1] == 3:
        assert last[..., 3].min() == 255
        last = last[..., :3]
    assert last.shape == expected.shape
    assert np.abs(last.astype(float) - expected).mean() <= image.tolerance + 1e-9
    if name == "exif-rotated":  # the marker is top-left: turned the right way, not merely to the right shape
        assert last[2:14, 2:14, 0].min() > 200 and last[2:14, 2:14, 1:].max() < 60
    if name == "palette-transparent":
        assert (last[..., 3] == 0).sum() == (expected[..., 3] == 0).sum() > 0


def test_good_grids_next_to_hostile_rows_succeed(hostile_run):
    rows = {r["id"]: r for r in sorted(read_index(hostile_run.out).to_pylist(), key=lambda r: -r["row"])}  # first wins
    for row_id, variant in hostile_run.good_grids.items():
        row = rows[row_id]
        assert row["status"] == "ok" and row["n_layers"] == 4, row
        svg = open(row["svg_uri"], "rb").read()
        assert mse(render_svg(svg, 96, 96), icon_frames(variant, 4)[-1]) < 5e-3


def test_pixel_limit_is_configurable_and_checked_before_decoding():
    """`layertracer run --max-pixels` reaches the job's decoder; above Pillow's warning threshold too."""
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["run", "m.jsonl", "--out", "o", "--max-pixels", "150000000"])
    limits = run_options(args, {}).inputs.limits
    assert limits.max_pixels == 150_000_000
    header = bomb_png(9_500, grey=True)  # 90 Mpx: over the default and over Pillow's warning threshold (89 Mpx)
    with pytest.raises(ImageError, match=f"9500x9500 pixels exceeds the limit of {DEFAULT_MAX_PIXELS}"):
        decode_image(header)
    with pytest.raises(ImageError, match="corrupt or truncated"):  # allowed, so decoding starts (and finds no data)
        decode_image(header, limits)
    with pytest.raises(ImageError, match="refused before decoding"):
        decode_image(bomb_png(), ImageLimits(max_pixels=10**12))  # Pillow's own hard limit still holds
