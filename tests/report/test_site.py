"""Writing the report: files, escaping, relative links, broken SVGs, object storage, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import fsspec
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import s3fs

from layertracer.cli import main
from layertracer.report import write_report
from layertracer.report.layers import LayerDataError, icon_layers
from tests.report.conftest import XSS_PROMPT, OutFolder, build_out, vectorized


def read_script_json(data: bytes, prefix: str, suffix: str) -> object:
    text = data.decode("ascii")
    assert text.startswith(prefix) and text.endswith(suffix)
    return json.loads(text[len(prefix):-len(suffix)])


def report_data(fs: fsspec.AbstractFileSystem, report_path: str) -> dict:
    return read_script_json(fs.cat_file(f"{report_path}/data.js"), "window.LAYERTRACER_REPORT = ", ";\n")


def report_rows(fs: fsspec.AbstractFileSystem, report_path: str) -> list[dict]:
    """Every row of every shard the report wrote, in position order."""
    data = report_data(fs, report_path)
    rows = []
    for shard in range(-(-data["rows"] // data["shardRows"])):
        rows += read_script_json(fs.cat_file(f"{report_path}/rows/{shard}.js"), f"window.layertracerRows({shard}, ",
                                 ");\n")
    return rows


def layer_data(report: Path, row: dict, group_rows: int = 100) -> dict:
    group = row["n"] // group_rows
    groups = read_script_json((report / "layers" / f"{group}.js").read_bytes(), f"window.layertracerLayers({group}, ",
                              ");\n")
    return groups[str(row["n"])]


def test_report_files_links_and_escaping(out_folder: OutFolder) -> None:
    result = write_report(str(out_folder.path))
    report = out_folder.path / "report"
    assert result.index_uri == str(report / "index.html")
    assert (result.rows, result.ok, result.errors, result.layer_data_missing) == (6, 4, 2, 0)
    assert {p.name for p in report.iterdir()} == {
        "index.html", "report.css", "report.js", "data.js", "rows", "layers", "search",
    }
    for script in [report / "data.js", *report.glob("*/*.js")]:
        raw = script.read_bytes()
        assert b"<" not in raw and b">" not in raw, f"{script}: index strings must not open or close a tag"
    rows = {r["id"]: r for r in report_rows(fsspec.filesystem("file"), str(report))}
    assert rows["star-1"]["status"] == "ok", "the latest row per (manifest, row) wins over the superseded one"
    assert rows["star-1"]["source"] == XSS_PROMPT
    assert rows["star-1"]["svg"] == "../svg/star-1.svg" and rows["star-1"]["grid"] == "../frames/star-1.png"
    layers = layer_data(report, rows["star-1"])
    assert layers["layers"] == rows["star-1"]["n_layers"]
    assert sum(layers["pathsPerLayer"]) == rows["star-1"]["n_paths"]
    assert all("layers" not in r for r in rows.values() if r["status"] == "error")


def test_unreadable_svg_loses_only_its_layer_view(tmp_path: Path) -> None:
    out = build_out(tmp_path)
    (out.path / "svg" / "house-2.svg").write_text("<svg><g id='layer-1'>")  # truncated by a crash
    (out.path / "svg" / "grid-4.svg").unlink()
    result = write_report(str(out.path))
    assert (result.ok, result.layer_data_missing) == (4, 2)
    rows = {r["id"]: r for r in report_rows(fsspec.filesystem("file"), str(out.path / "report"))}
    assert "not a readable SVG" in rows["house-2"]["layerDataError"] and "layers" not in rows["house-2"]
    assert "no such file" in rows["grid-4"]["layerDataError"]
    assert rows["star-1"]["layers"] is True


def test_report_on_object_storage(tmp_path: Path, s3_storage_options: dict) -> None:
    """An output folder in a bucket (moto's S3 server): the index holds s3:// URIs, the report's links stay relative."""
    local = build_out(tmp_path)
    fs = s3fs.S3FileSystem(**s3_storage_options)
    fs.mkdir("lt-report")
    fs.put(str(local.path), "lt-report/out", recursive=True)
    for part in fs.glob("lt-report/out/index/*.parquet"):
        table = pq.read_table(part, filesystem=fs)
        for column in ("svg_uri", "grid_uri"):
            uris = pc.replace_substring(table[column], str(local.path), "s3://lt-report/out")
            table = table.set_column(table.schema.get_field_index(column), column, uris)
        pq.write_table(table, part, filesystem=fs)

    code = main(["report", "s3://lt-report/out", "--storage-options", json.dumps(s3_storage_options)])
    assert code == 0
    assert fs.exists("lt-report/out/report/index.html") and fs.exists("lt-report/out/report/layers/0.js")
    rows = {r["id"]: r for r in report_rows(fs, "lt-report/out/report")}
    assert rows["photo-3"]["svg"] == "../svg/photo-3.svg"
    assert all(r.get("layers") for r in rows.values() if r["status"] == "ok")


def test_icon_layers_keeps_only_checked_paths_and_groups() -> None:
    svg, _ = vectorized(0)
    hostile = svg.svg.replace(
        '<g id="layer-2"',
        '<script>alert(1)</script><foreignObject><div>x</div></foreignObject>'
        '<image href="http://example.com/x.png"/><g id="layer-2" onload="alert(2)" style="fill:url(http://x)"',
    ).replace('fill="#dc3c28"', 'fill="url(javascript:alert(3))" onclick="alert(4)"')
    layers = icon_layers(hostile.encode())
    assert (layers.n_layers, sum(layers.paths_per_layer)) == (svg.n_layers, svg.n_paths)
    dumped = json.dumps(layers.to_json())
    for word in ("script", "alert", "foreignObject", "image", "href", "onload", "onclick", "style", "url("):
        assert word not in dumped

    def tags(nodes: list[dict]) -> set[str]:
        return {n["tag"] for n in nodes} | {t for n in nodes for t in tags(n.get("children", []))}

    assert tags(layers.to_json()["nodes"]) == {"g", "path"}


@pytest.mark.parametrize(
    "svg, message",
    [
        (b'<!DOCTYPE svg [<!ENTITY x "boom">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>', "not a readable SVG"),
        (b"<html><body/></html>", "not an SVG"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><path d="M0 0"/></svg>', "no <g"),
    ],
)
def test_icon_layers_refuses_what_is_not_a_layered_svg(svg: bytes, message: str) -> None:
    with pytest.raises(LayerDataError, match=message):
        icon_layers(svg)


def test_report_command(out_folder: OutFolder, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(out_folder.path), "--workers", "2"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["report: 6 rows (4 ok, 2 errors)", str(out_folder.path / "report" / "index.html")]
    assert main(["report", str(tmp_path / "nothing-here")]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "no index" in error
