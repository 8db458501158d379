"""`layertracer build-dataset` on Ray Data: real icons, hostile files, duplicates, captions, kohya pairs, S3."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import s3fs

from layertracer.cli import main
from layertracer.dataset.job import KOHYA_FOLDER, read_rows
from layertracer.grid import GridSpec, split_grid
from layertracer.images import ImageLimits, decode_image
from layertracer.metrics import mse

ICONS = ["twemoji__robot", "noto__hot-beverage", "fluent-emoji-flat__baby", "flat-color-icons__home"]
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" '
HOSTILE = {
    "xxe.svg": b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    + SVG + b'viewBox="0 0 9 9"><text>&x;</text></svg>',
    "script.svg": SVG + b'viewBox="0 0 9 9"><script>x()</script><rect width="4" height="4"/></svg>',
    "no-viewbox.svg": SVG + b'width="9" height="9"><rect width="4" height="4"/></svg>',
}


def test_build_dataset_from_a_folder(ray_local, bench_dir: Path, tmp_path: Path, capsys) -> None:
    icons = tmp_path / "icons"
    (icons / "more").mkdir(parents=True)
    for name in ICONS:
        shutil.copy(bench_dir / "icons" / "dev" / f"{name}.svg", icons / f"{name}.svg")
    shutil.copy(icons / "twemoji__robot.svg", icons / "more" / "robot-again.svg")  # same icon, another name
    for name, data in HOSTILE.items():
        (icons / name).write_bytes(data)
    with open(icons / "huge.svg", "wb") as fh:  # 50 MB: refused by its size, never read
        fh.write(b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 9 9">')
        fh.write(b" " * (50 * 1024 * 1024))
        fh.write(b"</svg>")
    captions = tmp_path / "captions.csv"
    captions.write_text("file,caption\nnoto__hot-beverage.svg,a steaming cup of coffee\n")
    out = tmp_path / "out"

    args = ["build-dataset", str(icons), "--out", str(out), "--frames", "4", "--kohya", "--captions", str(captions)]
    assert main(args) == 0
    rows = {r["id"]: r for r in read_rows(str(out / "data")).to_pylist()}
    stats = json.loads((out / "stats.json").read_text())
    assert stats["rows_in"] == stats["rows_out"] == len(rows) == 9
    assert (stats["ok"], stats["error"], stats["duplicate"]) == (4, 4, 1)

    # The copy sorts first ("more/..."), so it is the one kept; the original points at it.
    original = rows["twemoji__robot"]
    assert original["status"] == "duplicate" and original["duplicate_of"] == "more__robot-again"
    kept = ["more__robot-again", *ICONS[1:]]
    for row_id in kept:
        row = rows[row_id]
        assert row["status"] == "ok" and row["frames"] == 4 and row["caption"].startswith("sks")
        cells = split_grid(decode_image(row["grid_png"], ImageLimits(), row_id), GridSpec(4))
        icon = "twemoji__robot" if row_id == "more__robot-again" else row_id
        final = decode_image((bench_dir / "frames" / "dev" / "f4" / icon / "final.png").read_bytes())
        assert mse(cells[-1], final) < 5e-4
        assert (Path(out) / KOHYA_FOLDER / f"{row_id}.txt").read_text() == row["caption"]
        png = (Path(out) / KOHYA_FOLDER / f"{row_id}.png").read_bytes()
        assert np.array_equal(decode_image(png), decode_image(row["grid_png"]))
    assert sorted(p.stem for p in (Path(out) / KOHYA_FOLDER).glob("*.png")) == sorted(kept)
    assert rows["noto__hot-beverage"]["description"] == "a steaming cup of coffee"
    assert rows["fluent-emoji-flat__baby"]["description"] == "baby"

    errors = {row_id: rows[row_id]["error"] for row_id in ("xxe", "script", "no-viewbox", "huge")}
    assert "unsafe XML" in errors["xxe"] and "root:" not in errors["xxe"]
    assert "<script>" in errors["script"] and "no viewBox" in errors["no-viewbox"]
    assert "exceeds the limit" in errors["huge"]

    capsys.readouterr()
    assert main(args) == 1  # an existing dataset is not silently appended to
    assert "--overwrite" in capsys.readouterr().err


def test_build_dataset_from_a_zip_to_s3(ray_local, bench_dir: Path, tmp_path: Path, s3_storage_options) -> None:
    archive = tmp_path / "icons.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ICONS[:2]:
            zf.write(bench_dir / "icons" / "dev" / f"{name}.svg", f"set/{name}.svg")
        zf.writestr("set/readme.txt", "not an icon")
    s3fs.S3FileSystem(**s3_storage_options).mkdir("lt-dataset")

    out = "s3://lt-dataset/grids"
    args = ["build-dataset", str(archive), "--out", out, "--frames", "9"]
    args += ["--storage-options", json.dumps(s3_storage_options)]
    assert main(args) == 0
    rows = read_rows(f"{out}/data", storage_options=s3_storage_options).to_pylist()
    assert sorted(r["id"] for r in rows) == [f"set__{name}" for name in sorted(ICONS[:2])]
    assert all(r["status"] == "ok" and r["grid_px"] == 1056 for r in rows)
    assert rows[0]["source"].startswith("zip://set/") and rows[0]["source"].endswith(f"::{archive}")
