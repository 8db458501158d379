"""The Ray Data job end to end on the session's local Ray: local files, moto S3, and the GPU stage with the tiny
Flux (on the CPU, through a logical GPU). Every manifest row is checked in the index, the ok ones on disk too."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import s3fs

from layertracer.images import decode_image
from layertracer.metrics import count_layers, count_paths, mse, render_svg
from layertracer.models.loading import ModelConfig
from layertracer.pipeline.index import INDEX_SCHEMA, read_index, read_parts
from layertracer.pipeline.run import RunOptions, run_job
from layertracer.seeds import stable_seed
from tests.pipeline.icons import CELL_PX, icon_frames, write_jsonl
from tests.vectorize.random_icons import check_layered_svg

GOOD = {  # manifest row -> (kind, frames, variant drawn, largest MSE of its render against the icon)
    0: ("grid", 4, 0, 1e-3), 1: ("grid", 9, 1, 1e-3), 2: ("image", 4, 2, 1e-3),
    3: ("grid", 4, 0, 5e-3),  # JPEG artefacts are traced too
    4: ("grid", 4, 3, 1e-3),
}
BAD = {  # manifest row -> expected error text
    5: "grid row needs 'image'", 6: "unknown kind 'video'", 7: "not a readable image", 8: "no such file",
    9: "unsafe id '../x'", 10: "unsafe id 'a/b'", 11: "unsafe id ''", 12: "duplicate id 'g4-a' (first used by row 0",
    13: "no model configured", 14: "frames must be 4 or 9", 15: "invalid JSON",
    16: "text row needs a non-empty 'prompt'",
}


def mixed_manifest(tmp_path, inputs) -> str:
    """Good rows (relative and absolute paths, one default id) and every kind of bad row, in one manifest."""
    folder = tmp_path / "manifests"
    folder.mkdir()
    rel = os.path.relpath(inputs.root, folder)
    rows = [
        {"id": "g4-a", "kind": "grid", "image": f"{rel}/grid4_0.png", "frames": 4, "style": "flat"},
        {"id": "g9-b", "kind": "grid", "image": str(inputs.grid(1, 9))},
        {"id": "img-c", "image": f"{rel}/image_2.png", "frames": "4"},
        {"id": "jpeg-grid", "kind": "grid", "image": f"{rel}/grid4_jpeg.jpg", "frames": 4},
        {"kind": "grid", "image": f"{rel}/grid4_3.png", "frames": 4},
        {"id": "no-image", "kind": "grid", "frames": 4},
        {"id": "vid", "kind": "video", "image": "x.png"},
        {"id": "corrupt", "kind": "grid", "image": f"{rel}/corrupt.png", "frames": 4},
        {"id": "missing", "kind": "grid", "image": f"{rel}/nope.png", "frames": 4},
        {"id": "../x", "image": f"{rel}/image_0.png"},
        {"id": "a/b", "image": f"{rel}/image_0.png"},
        {"id": "", "image": f"{rel}/image_0.png"},
        {"id": "g4-a", "kind": "grid", "image": f"{rel}/grid4_1.png", "frames": 4},
        {"prompt": "a red star"},
        {"id": "five", "kind": "grid", "image": f"{rel}/grid4_1.png", "frames": 5},
        "{not json",
        {"id": "blank-prompt", "prompt": "   "},
    ]
    return str(write_jsonl(folder / "mixed.jsonl", rows))


def check_ok_row(row: dict, out: str, kind: str, frames: int, variant: int, max_mse: float, read) -> None:
    """Files exist under their final names, the SVG has one layer per step and renders the icon."""
    assert row["status"] == "ok" and row["error"] is None, row
    assert (row["kind"], row["frames"]) == (kind, frames)
    assert row["svg_uri"] == f"{out}/svg/{row['id']}.svg" and row["grid_uri"] == f"{out}/frames/{row['id']}.png"
    svg = read(row["svg_uri"])
    assert len(svg) == row["svg_bytes"]
    assert count_layers(svg) == row["n_layers"] == frames
    assert count_paths(svg) == row["n_paths"] > 0
    grid = decode_image(read(row["grid_uri"]))
    side = 2 if frames == 4 else 3
    assert grid.shape[:2] == (CELL_PX * side, CELL_PX * side)
    final = icon_frames(variant, frames)[-1] if kind == "grid" else icon_frames(variant, 4)[-1]
    assert mse(render_svg(svg, CELL_PX, CELL_PX), final) < max_mse
    assert row["vectorize_s"] > 0 and row["seed"] is None and row["model"] is None and row["sample_s"] is None


def test_mixed_manifest_local(ray_local, tmp_path, inputs):
    manifest = mixed_manifest(tmp_path, inputs)
    out = str(tmp_path / "out")
    summary = run_job(RunOptions(manifests=(manifest,), out_uri=out, progress=False, batch_size=2))
    assert (summary.ok, summary.error) == (len(GOOD), len(BAD))

    table = read_index(out)
    assert table.schema == INDEX_SCHEMA
    rows = {r["row"]: r for r in table.to_pylist()}
    assert sorted(rows) == list(range(17)) and read_parts(out).num_rows == 17  # one index row per manifest row
    assert all(r["manifest"] == manifest and r["version"] for r in rows.values())
    read = lambda uri: Path(uri).read_bytes()  # noqa: E731
    for number, expected in GOOD.items():
        check_ok_row(rows[number], out, *expected, read)
    assert rows[0]["extra"] == json.dumps({"style": "flat"}) and rows[1]["extra"] is None
    assert rows[0]["source"] == str(inputs.grid(0, 4)) and rows[2]["source"] == str(inputs.image(2))
    default_id = rows[4]["id"]
    assert default_id.startswith("row-")
    for number, message in BAD.items():
        assert rows[number]["status"] == "error" and message in rows[number]["error"], rows[number]
        assert rows[number]["svg_uri"] is None
    assert rows[13]["kind"] == "text" and rows[13]["source"] == "a red star"
    # Unsafe ids never became file names; only the good rows wrote files.
    assert sorted(os.listdir(f"{out}/svg")) == sorted(f"{rows[n]['id']}.svg" for n in GOOD)
    assert not os.path.exists(tmp_path / "x.svg")


def test_s3_manifest_and_outputs(ray_local, inputs, s3_server, s3_storage_options):
    """Manifest and images in a bucket (relative paths), outputs to the bucket, index read back by pyarrow's S3."""
    fs = s3fs.S3FileSystem(**s3_storage_options)
    fs.mkdir("lt-job")
    fs.put(str(inputs.grid(0, 4)), "lt-job/in/data/a.png")
    fs.put(str(inputs.image(1)), "lt-job/in/data/b.png")
    rows = [{"id": "a", "kind": "grid", "image": "data/a.png", "frames": 4},
            {"id": "b", "image": "data/b.png", "frames": 4}, {"id": "gone", "kind": "grid", "image": "data/c.png"}]
    fs.pipe("lt-job/in/manifest.jsonl", "".join(json.dumps(r) + "\n" for r in rows).encode())

    out = "s3://lt-job/out"
    summary = run_job(RunOptions(manifests=("s3://lt-job/in/manifest.jsonl",), out_uri=out,
                                 storage_options=s3_storage_options, progress=False))
    assert (summary.ok, summary.error) == (2, 1)

    host_port = s3_server.split("://", 1)[1]
    arrow_s3 = pafs.S3FileSystem(access_key="testing", secret_key="testing", endpoint_override=host_port,
                                 scheme="http", region="us-east-1")
    table = pq.read_table("lt-job/out/index", filesystem=arrow_s3)
    by_id = {r["id"]: r for r in table.to_pylist()}
    assert table.num_rows == 3 and by_id["gone"]["status"] == "error" and "no such file" in by_id["gone"]["error"]
    assert by_id["a"]["source"] == "s3://lt-job/in/data/a.png"
    read = lambda uri: fs.cat(uri)  # noqa: E731
    check_ok_row(by_id["a"], out, "grid", 4, 0, 1e-3, read)
    check_ok_row(by_id["b"], out, "image", 4, 1, 1e-3, read)
    assert read_index(out, s3_storage_options).num_rows == 3


def test_text_and_image_rows_with_model(ray_local, tmp_path, inputs, tiny_flux_dir):
    """The GPU stage (a logical GPU on the CPU): text rows and Image2Layers rows are sampled, then vectorized."""
    rows = [{"id": "star", "prompt": "a red star", "frames": 4, "seed": 7},
            {"id": "moon", "prompt": "a yellow moon", "frames": 4, "steps": 2},
            {"id": "ref", "image": str(inputs.image(0)), "frames": 4, "steps": 2},
            {"id": "grid", "kind": "grid", "image": str(inputs.grid(1, 4)), "frames": 4},
            {"id": "bad-ref", "image": str(inputs.root / "corrupt.png"), "frames": 4}]
    manifest = str(write_jsonl(tmp_path / "model.jsonl", rows))
    out = str(tmp_path / "out")
    options = RunOptions(manifests=(manifest,), out_uri=out, model=ModelConfig(model=tiny_flux_dir), cell_px=32,
                         progress=False, gpu_actors=1, cpu_actors=1, batch_size=4)
    summary = run_job(options)
    assert (summary.ok, summary.error) == (4, 1)

    by_id = {r["id"]: r for r in read_index(out).to_pylist()}
    for row_id in ("star", "moon", "ref"):
        row = by_id[row_id]
        assert row["status"] == "ok" and row["model"] == tiny_flux_dir and row["sample_s"] > 0, row
        assert row["n_layers"] == 4 and count_layers(Path(row["svg_uri"]).read_bytes()) == 4
        assert decode_image(Path(row["grid_uri"]).read_bytes()).shape == (64, 64, 3)  # 2x2 cells of 32 px
    assert by_id["star"]["seed"] == 7 and by_id["moon"]["seed"] == stable_seed("moon")
    reference = decode_image(inputs.image(0).read_bytes())
    assert json.loads(by_id["ref"]["extra"])["_sampling"]["reference_px"] == [reference.shape[1], reference.shape[0]]
    check_layered_svg(Path(by_id["ref"]["svg_uri"]).read_text(), 4, reference.shape[1], reference.shape[0])
    assert by_id["grid"]["model"] is None and by_id["grid"]["sample_s"] is None and by_id["grid"]["status"] == "ok"
    assert by_id["bad-ref"]["status"] == "error" and "not a readable image" in by_id["bad-ref"]["error"]
