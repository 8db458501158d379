"""The report's data files at scale: shards in manifest order, facets, the search index, streamed from parts."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from layertracer.errors import UserError
from layertracer.pipeline.index import INDEX_SCHEMA, read_index
from layertracer.report import ReportOptions, write_report
from tests.report.conftest import build_out
from tests.report.test_site import layer_data, read_script_json, report_data, report_rows

SMALL = ReportOptions(shard_rows=4, layer_group_rows=2, search_block_bytes=64)


def search_blocks(report: Path, count: int) -> list[list]:
    return [read_script_json((report / "search" / f"{b}.js").read_bytes(), f"window.layertracerSearch({b}, ", ");\n")
            for b in range(count)]


def decode_facets(facets: dict) -> list[tuple[str | None, str | None]]:
    runs = facets["runs"]
    return [tuple(facets["combos"][code]) for code, length in zip(runs[::2], runs[1::2]) for _ in range(length)]


@pytest.fixture(scope="module")
def small_report(tmp_path_factory: pytest.TempPathFactory):
    """An index split over many parts written out of manifest order, with superseded rows, in 4-row shards."""
    out = build_out(tmp_path_factory.mktemp("shards"), extra_ok_rows=21)
    table = read_index(str(out.path))
    for path in (out.path / "index").iterdir():
        path.unlink()
    reversed_rows = table.take(pa.array(range(table.num_rows - 1, -1, -1)))
    for k, start in enumerate(range(0, reversed_rows.num_rows, 5)):  # parts of 5 rows, last rows first
        pq.write_table(reversed_rows.slice(start, 5), out.path / "index" / f"run2_{k:03d}.parquet")
    stale = table.slice(0, 8).set_column(
        table.schema.get_field_index("created_at"), "created_at",
        pa.array([dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)] * 8, INDEX_SCHEMA.field("created_at").type),
    )
    pq.write_table(stale.set_column(table.schema.get_field_index("id"), "id", pa.array(["stale"] * 8)),
                   out.path / "index" / "run1_000.parquet")
    write_report(str(out.path), options=SMALL)
    return out, table


def test_shards_hold_the_latest_rows_in_manifest_order(small_report) -> None:
    out, table = small_report
    report = out.path / "report"
    rows = report_rows(fsspec.filesystem("file"), str(report))
    assert [r["n"] for r in rows] == list(range(table.num_rows))
    assert [(r["manifest"], r["row"]) for r in rows] == sorted(zip(table["manifest"].to_pylist(),
                                                                   table["row"].to_pylist()))
    assert "stale" not in {r["id"] for r in rows}, "older rows of a (manifest, row) must not show"
    assert len(list((report / "rows").iterdir())) == -(-table.num_rows // SMALL.shard_rows)
    data = report_data(fsspec.filesystem("file"), str(report))
    assert decode_facets(data["facets"]) == [(r["status"], r["kind"]) for r in rows]
    assert data["summary"]["rows"] == table.num_rows and data["summary"]["error"] == 2
    for row in rows:
        if row["status"] == "ok":
            assert layer_data(report, row, SMALL.layer_group_rows)["layers"] == row["n_layers"]


def test_search_blocks_hold_every_word_with_its_rows(small_report) -> None:
    out, _ = small_report
    report = out.path / "report"
    data = report_data(fsspec.filesystem("file"), str(report))
    blocks = search_blocks(report, len(data["searchBlocks"]))
    assert [block[0][0] for block in blocks] == data["searchBlocks"]
    words = [entry[0] for block in blocks for entry in block]
    assert words == sorted(words) and len(words) == len(set(words))
    index: dict[str, list[int]] = {}
    for block in blocks:
        for word, *deltas in block:
            positions, n = [], 0
            for delta in deltas:
                n += delta
                positions.append(n)
            index[word] = positions
    expected: dict[str, set[int]] = {}
    for row in report_rows(fsspec.filesystem("file"), str(report)):
        for word in re.split(r"[^\w]+|_", f"{row['id']} {row.get('source', '')}".lower()):
            if word:
                expected.setdefault(word, set()).add(row["n"])
    assert {word: set(positions) for word, positions in index.items()} == expected
    assert index["alert"] == sorted(index["alert"]) and len(index["alert"]) == 2  # the <script> prompt and id


def test_report_options_are_checked() -> None:
    with pytest.raises(UserError, match="multiple"):
        ReportOptions(shard_rows=10, layer_group_rows=4)


def test_links_are_the_same_whichever_way_out_is_spelled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index holds absolute URIs; OUT given relative (or as a file:// URI) still links ../svg/ID.svg."""
    out = build_out(tmp_path)
    monkeypatch.chdir(tmp_path)
    for spelling in ("out", out.path.as_uri()):
        write_report(spelling)
        rows = {r["id"]: r for r in report_rows(fsspec.filesystem("file"), str(out.path / "report"))}
        assert rows["house-2"]["svg"] == "../svg/house-2.svg" and rows["house-2"]["grid"] == "../frames/house-2.png"
