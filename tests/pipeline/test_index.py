"""The index: latest row per (manifest, row), what --resume skips, per-run counts, and a part cut short by a crash."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from layertracer.errors import UserError
from layertracer.pipeline.index import (
    INDEX_SCHEMA,
    Finished,
    index_row,
    ok_ids,
    read_index,
    read_parts,
    run_counts,
    snapshot,
)
from layertracer.pipeline.rows import empty_row

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def attempt(manifest: str, row: int, row_id: str, status: str, minute: int) -> dict:
    item = empty_row(manifest, row)
    item.update(id=row_id, kind="grid", image=f"{row_id}.png", frames=4, status=status)
    out = index_row(item, error=None if status == "ok" else "boom")
    out["created_at"] = T0 + dt.timedelta(minutes=minute)
    return out


def write_part(out, name: str, rows: list[dict]) -> None:
    (out / "index").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=INDEX_SCHEMA), out / "index" / name)


def test_latest_row_per_manifest_row_wins(tmp_path):
    write_part(tmp_path, "run1_a.parquet", [attempt("m1", 0, "a", "ok", 0), attempt("m1", 1, "b", "error", 0),
                                            attempt("m2", 0, "c", "error", 0)])
    write_part(tmp_path, "run2_a.parquet", [attempt("m1", 1, "b", "ok", 5), attempt("m2", 0, "c", "error", 5)])
    (tmp_path / "index" / "run3_cut.parquet").write_bytes(b"PAR1 cut short by a crash")
    table = read_index(str(tmp_path))
    assert table.schema == INDEX_SCHEMA
    latest = {(r["manifest"], r["row"]): (r["status"], r["created_at"].minute) for r in table.to_pylist()}
    assert latest == {("m1", 0): ("ok", 0), ("m1", 1): ("ok", 5), ("m2", 0): ("error", 5)}
    assert read_parts(str(tmp_path)).num_rows == 5  # every attempt is kept; the cut part is skipped
    assert ok_ids(str(tmp_path)) == {"a", "b"}
    assert run_counts(str(tmp_path), "run2") == {"ok": 1, "error": 1}
    assert index_row(empty_row("m", 0) | {"kind": "text", "prompt": "a star"})["source"] == "a star"


def test_resume_snapshot_ignores_parts_written_later(tmp_path):
    """A replayed read task must skip the same ids as the first attempt, whatever the run wrote meanwhile."""
    write_part(tmp_path, "run1_a.parquet", [attempt("m", 0, "a", "ok", 0), attempt("m", 1, "b", "error", 0)])
    before = snapshot(str(tmp_path))
    write_part(tmp_path, "run2_a.parquet", [attempt("m", 1, "b", "ok", 5)])
    assert before.finished().ok.keys() == {"a"} and snapshot(str(tmp_path)).finished().ok.keys() == {"a", "b"}
    assert snapshot(str(tmp_path / "nothing")).finished() == Finished()


def test_no_index_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="no index"):
        read_index(str(tmp_path))
    assert ok_ids(str(tmp_path)) == frozenset()
