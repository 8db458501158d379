"""Settings fingerprints: what a row was made with, --resume refusing other settings, --redo-changed,
--skip-errors over error kinds, --embed-svg, and `inspect` listing the settings present."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from layertracer.cli import main
from layertracer.errors import UserError
from layertracer.pipeline.index import finished_rows, index_row, read_index, snapshot
from layertracer.pipeline.rows import INDEX_SCHEMA, ErrorKind, Status, empty_row, fail
from layertracer.pipeline.run import RunOptions
from layertracer.pipeline.settings import changes, check_resume, job_settings, row_fingerprint
from layertracer.vectorize import TraceOptions
from tests.pipeline.icons import write_jsonl


@dataclass(frozen=True)
class FutureOptions:
    """An options class as another module may grow it: nested options, a new field, runtime fields."""

    trace: TraceOptions = TraceOptions()
    new_knob: float = 0.5
    storage_options: dict = field(default_factory=dict)
    workers: int = 3


def test_settings_come_from_every_options_field_but_runtime_ones():
    settings = json.loads(job_settings(FutureOptions()))
    assert settings["new_knob"] == 0.5 and settings["trace"]["upscale"] == 2 and "version" in settings
    assert "storage_options" not in settings and "workers" not in settings["trace"] and "workers" not in settings
    run = json.loads(job_settings(RunOptions(manifests=("m.jsonl",), out_uri="out", cpu_actors=3, batch_size=9)))
    assert {"trace", "inputs", "model", "prompt_template", "cell_px", "version"} <= run.keys()
    assert not {"manifests", "out_uri", "cpu_actors", "batch_size", "resume", "storage_options"} & run.keys()
    assert "storage_options" not in run["inputs"]
    # Options that only say how or where the job runs keep the settings; those that shape outputs change them.
    base = RunOptions(manifests=("m.jsonl",), out_uri="out")
    assert job_settings(base) == job_settings(RunOptions(manifests=("n.jsonl",), out_uri="o2", cpu_actors=1))
    assert changes(job_settings(base), job_settings(FutureOptions(new_knob=1.0))) != []
    upscaled = RunOptions(manifests=("m.jsonl",), out_uri="out", trace=TraceOptions().with_upscale(3))
    assert changes(job_settings(base), job_settings(upscaled)) == ["trace.exact_upscale: null -> 3",
                                                                     "trace.upscale: 2 -> 3"]


def test_row_fingerprint_covers_job_and_row_settings():
    row = empty_row("m.jsonl", 0) | {"id": "a", "frames": 4, "seed": None}
    fingerprint = row_fingerprint("{}", row)
    assert len(fingerprint) == 16 and fingerprint == row_fingerprint("{}", dict(row))
    assert row_fingerprint('{"x":1}', row) != fingerprint
    assert row_fingerprint("{}", row | {"seed": 7}) != fingerprint
    assert row_fingerprint("{}", row | {"frames": 9}) != fingerprint
    assert row_fingerprint("{}", row | {"id": "b", "prompt": "other"}) == fingerprint  # identity is no setting


def test_resume_refuses_other_settings_naming_them():
    current = job_settings(RunOptions(manifests=("m",), out_uri="o"))
    check_resume({current: 5}, current)
    old = job_settings(RunOptions(manifests=("m",), out_uri="o", trace=TraceOptions(keep_background=True)))
    with pytest.raises(UserError, match=r"2 finished rows .*trace.keep_background: true -> false.*--redo-changed"):
        check_resume({current: 5, old: 2}, current)
    with pytest.raises(UserError, match="not recorded"):
        check_resume({None: 1}, current)


T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def indexed(number: int, row_id: str, kind: ErrorKind | None, settings: str = "{}") -> dict:
    row = empty_row("m.jsonl", number) | {"id": row_id, "kind": "grid", "frames": 4}
    row["fingerprint"] = row_fingerprint(settings, row)
    if kind is not None:
        fail(row, "boom", kind)
    out = index_row(row, settings=settings, status=row["status"] if kind else Status.OK)
    out["created_at"] = T0
    return out


def test_skip_errors_keeps_permanent_errors_only(tmp_path):
    rows = [indexed(0, "ok", None), indexed(1, "bad", ErrorKind.INPUT), indexed(2, "gone", ErrorKind.STORE),
            indexed(3, "oom", ErrorKind.MEMORY), indexed(4, "old", None, settings='{"v":0}')]
    (tmp_path / "index").mkdir()
    pq.write_table(pa.Table.from_pylist(rows, schema=INDEX_SCHEMA), tmp_path / "index" / "run1_0.parquet")
    plain = finished_rows(str(tmp_path))
    assert plain.ok == {"ok": rows[0]["fingerprint"], "old": rows[4]["fingerprint"]} and plain.failed == {}
    skipping = finished_rows(str(tmp_path), skip_errors=True)
    assert skipping.failed == {("m.jsonl", 1): ("bad", rows[1]["fingerprint"])}
    assert snapshot(str(tmp_path)).recorded_settings() == {"{}": 1, '{"v":0}': 1}
    assert snapshot(str(tmp_path), skip_errors=True).recorded_settings() == {"{}": 2, '{"v":0}': 1}
    assert ErrorKind.INPUT.permanent and not ErrorKind.STORE.permanent and not ErrorKind.INTERNAL.permanent


def test_resume_settings_check_reads_part_by_part_unless_other_settings_appear(tmp_path):
    """`all_made_with` answers from each part alone when every keepable attempt has the job's settings (flat
    memory); an attempt with other settings, even superseded, sends plan_resume to the exact latest-row check."""
    from layertracer.pipeline.run import plan_resume

    def write(name, rows, created_at):
        for row in rows:
            row["created_at"] = created_at
        pq.write_table(pa.Table.from_pylist(rows, schema=INDEX_SCHEMA), tmp_path / "index" / name)

    (tmp_path / "index").mkdir()
    options = RunOptions(manifests=("m.jsonl",), out_uri=str(tmp_path), resume=True)
    write("run1_0.parquet", [indexed(0, "a", None), indexed(1, "b", ErrorKind.INPUT, settings='{"v":0}')], T0)
    write("run1_1.parquet", [indexed(2, "c", ErrorKind.STORE, settings='{"v":0}')], T0)
    assert snapshot(str(tmp_path)).all_made_with("{}")  # error rows with other settings are redone, not kept
    assert not snapshot(str(tmp_path), skip_errors=True).all_made_with("{}")  # a permanent error is kept
    plan_resume(options, "{}")
    # row 0 was first made with other settings, then redone with these: passes, by the exact check
    write("run0_0.parquet", [indexed(0, "a", None, settings='{"v":0}')], T0 - dt.timedelta(hours=1))
    assert not snapshot(str(tmp_path)).all_made_with("{}")
    plan_resume(options, "{}")
    # the latest row 0 has other settings: refused
    write("run2_0.parquet", [indexed(0, "a", None, settings='{"v":0}')], T0 + dt.timedelta(hours=1))
    with pytest.raises(UserError, match="1 finished rows were made with other settings"):
        plan_resume(options, "{}")
    # a part written before settings were recorded reads back null: not the job's settings
    (tmp_path / "index" / "run2_0.parquet").unlink()
    (tmp_path / "index" / "run0_0.parquet").unlink()
    pq.write_table(pa.table({"manifest": ["m.jsonl"], "row": [5], "id": ["e"], "status": ["ok"]}),
                   tmp_path / "index" / "old_0.parquet")
    assert not snapshot(str(tmp_path)).all_made_with("{}")


def test_resume_with_changed_settings_redo_changed_and_embedded_svgs(ray_local, tmp_path, inputs, capsys):
    """A job, then --resume with another --upscale: refused naming it; --redo-changed redoes exactly those rows
    (and a row whose manifest entry changed its frames is redone by a plain --resume)."""
    manifest = tmp_path / "m.jsonl"
    rows = [{"id": f"g{i}", "kind": "grid", "image": str(inputs.grid(i, 4)), "frames": 4} for i in range(3)]
    write_jsonl(manifest, rows)
    out = str(tmp_path / "out")
    common = [str(manifest), "--out", out, "--no-progress", "--address", ray_local, "--cpu-actors", "1"]
    assert main(["run", *common]) == 0
    first = {r["id"]: r for r in read_index(out).to_pylist()}
    assert {r["status"] for r in first.values()} == {"ok"} and len({r["settings"] for r in first.values()}) == 1
    assert json.loads(first["g0"]["settings"])["trace"]["upscale"] == 2
    assert len({r["fingerprint"] for r in first.values()}) == 1  # same job and row settings

    capsys.readouterr()
    assert main(["run", *common, "--resume", "--upscale", "1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "3 finished rows" in err and "trace.upscale: 2 -> 1" in err, err

    rows[1]["frames"] = 9
    rows[1]["image"] = str(inputs.grid(1, 9))
    write_jsonl(manifest, rows)
    assert main(["run", *common, "--resume"]) == 0  # only g1's own settings changed: it alone is redone
    assert "1 ok, 0 error of 1 rows" in capsys.readouterr().out

    assert main(["run", *common, "--resume", "--upscale", "1", "--redo-changed", "--embed-svg"]) == 0
    assert "3 ok, 0 error of 3 rows" in capsys.readouterr().out
    assert main(["run", *common, "--resume", "--upscale", "1"]) == 0  # nothing left to do with these settings
    assert "0 ok, 0 error of 0 rows" in capsys.readouterr().out

    latest = {r["id"]: r for r in read_index(out).to_pylist()}
    assert json.loads(latest["g0"]["settings"])["trace"]["upscale"] == 1
    assert {r["fingerprint"] for r in latest.values()}.isdisjoint(r["fingerprint"] for r in first.values())
    # --embed-svg: the index alone holds the archive (pyarrow, and DuckDB when installed).
    files = pq.read_table(f"{out}/index", columns=["id", "svg", "svg_uri", "created_at"]).to_pylist()
    embedded = {r["id"]: r for r in sorted(files, key=lambda r: r["created_at"])}
    for row_id, row in embedded.items():
        assert row["svg"] is not None and row["svg"].encode() == (tmp_path / f"out/svg/{row_id}.svg").read_bytes()

    capsys.readouterr()
    assert main(["inspect", out]) == 0
    text = capsys.readouterr().out
    assert "settings (a row's fingerprint" in text and "3 rows" in text
    if importlib.util.find_spec("duckdb") is None:
        return  # pyarrow read it above; DuckDB is not a dependency
    import duckdb

    svgs = duckdb.sql(f"select count(*) from '{out}/index/*.parquet' where svg like '<svg%'").fetchone()[0]
    assert svgs == 3
