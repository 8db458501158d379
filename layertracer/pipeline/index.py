"""The output index (OUT/index/*.parquet): its schema, its rows, and reading it back.

Every run appends part files named `{run_id}_...parquet`; readers take the latest row per (manifest, row), so a
resumed run's rows replace the earlier attempts. A part file cut short by a crash (local disks have no atomic
multi-megabyte write) is skipped with a warning: its rows are simply redone by --resume.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from layertracer import __version__, storage
from layertracer.errors import UserError

INDEX_DIR = "index"
INDEX_SCHEMA = pa.schema([
    ("id", pa.string()), ("manifest", pa.string()), ("row", pa.int64()), ("kind", pa.string()),
    ("source", pa.string()), ("status", pa.string()), ("error", pa.string()), ("extra", pa.string()),
    ("svg_uri", pa.string()), ("grid_uri", pa.string()), ("frames", pa.int64()), ("n_layers", pa.int64()),
    ("n_paths", pa.int64()), ("svg_bytes", pa.int64()), ("seed", pa.int64()), ("model", pa.string()),
    ("lora", pa.string()), ("sample_s", pa.float64()), ("vectorize_s", pa.float64()),
    ("created_at", pa.timestamp("us", tz="UTC")), ("version", pa.string()),
])
log = logging.getLogger(__name__)


def index_row(row: dict[str, Any], **results: Any) -> dict[str, Any]:
    """The index row of one job row: its manifest fields, then what the stages produced (`results`)."""
    out = dict.fromkeys(INDEX_SCHEMA.names)
    out.update(
        id=row["id"], manifest=row["manifest"], row=row["row"], kind=row["kind"],
        source=row["prompt"] if row["kind"] == "text" else row["image"] or row["prompt"],
        status=row["status"], error=row["error"], extra=row["extra"], frames=row["frames"],
        seed=row["seed"], sample_s=row["sample_s"],
    )
    out.update(results)
    out.update(created_at=dt.datetime.now(dt.timezone.utc), version=__version__)
    return out


def index_uri(out_uri: str) -> str:
    return storage.join(out_uri, INDEX_DIR)


def arrow_filesystem(uri: str, storage_options: storage.StorageOptions | None = None) -> tuple[pafs.FileSystem, str]:
    """A pyarrow view of the fsspec filesystem of `uri` (for Ray's Parquet writer): one URI layer everywhere."""
    fs, path = storage.filesystem(uri, storage_options)
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), path


def part_files(
    out_uri: str, storage_options: storage.StorageOptions | None = None, run_id: str | None = None
) -> list[str]:
    fs, path = storage.filesystem(index_uri(out_uri), storage_options)
    return sorted(fs.glob(f"{path}/{run_id or ''}*.parquet"))


def has_index(out_uri: str, storage_options: storage.StorageOptions | None = None) -> bool:
    return bool(part_files(out_uri, storage_options))


def read_parts(
    out_uri: str, storage_options: storage.StorageOptions | None = None, columns: list[str] | None = None,
    parts: list[str] | None = None,
) -> pa.Table:
    """All readable index rows (every attempt), or those of the given part files."""
    fs, _ = storage.filesystem(out_uri, storage_options)
    schema = INDEX_SCHEMA if columns is None else pa.schema([INDEX_SCHEMA.field(c) for c in columns])
    tables = []
    for part in part_files(out_uri, storage_options) if parts is None else parts:
        try:
            tables.append(pq.read_table(part, filesystem=fs, columns=columns, schema=schema))
        except (pa.ArrowInvalid, OSError) as exc:
            log.warning("skipping unreadable index part %s (%s)", part, exc)
    return pa.concat_tables(tables) if tables else schema.empty_table()


def latest_rows(table: pa.Table) -> pa.Table:
    """The latest row (by created_at) for each (manifest, row)."""
    if table.num_rows == 0:
        return table
    order = pc.sort_indices(table, [("manifest", "ascending"), ("row", "ascending"), ("created_at", "descending")])
    table = table.take(order)
    manifest = pc.dictionary_encode(table["manifest"]).combine_chunks().indices.to_numpy(zero_copy_only=False)
    row = table["row"].to_numpy()
    first = np.ones(len(row), dtype=bool)
    first[1:] = (manifest[1:] != manifest[:-1]) | (row[1:] != row[:-1])
    return table.filter(pa.array(first))


def read_index(out_uri: str, storage_options: storage.StorageOptions | None = None) -> pa.Table:
    """The index as readers see it: the latest row per (manifest, row)."""
    if not has_index(out_uri, storage_options):
        raise UserError(f"{out_uri}: no index (expected {storage.join(index_uri(out_uri), '*.parquet')})")
    return latest_rows(read_parts(out_uri, storage_options))


@dataclass(frozen=True)
class IndexSnapshot:
    """The index part files of OUT at one moment: --resume skips what they hold, so a replay sees the same."""

    out_uri: str
    parts: tuple[str, ...]

    def ok_ids(self, storage_options: storage.StorageOptions | None = None) -> frozenset[str]:
        return ok_ids(self.out_uri, storage_options, list(self.parts)) if self.parts else frozenset()


def snapshot(out_uri: str, storage_options: storage.StorageOptions | None = None) -> IndexSnapshot:
    return IndexSnapshot(out_uri, tuple(part_files(out_uri, storage_options)))


def ok_ids(
    out_uri: str, storage_options: storage.StorageOptions | None = None, parts: list[str] | None = None
) -> frozenset[str]:
    """Ids whose latest row is ok (in all part files, or in `parts`): what --resume skips."""
    columns = ["id", "manifest", "row", "status", "created_at"]
    latest = latest_rows(read_parts(out_uri, storage_options, columns=columns, parts=parts))
    done = latest.filter(pc.equal(latest["status"], "ok"))
    return frozenset(done["id"].to_pylist())


def run_counts(out_uri: str, run_id: str, storage_options: storage.StorageOptions | None = None) -> Counter:
    """Rows per status written by one run (counted part by part: the driver never holds the rows)."""
    fs, _ = storage.filesystem(out_uri, storage_options)
    counts: Counter = Counter()
    for part in part_files(out_uri, storage_options, run_id):
        statuses = pq.read_table(part, filesystem=fs, columns=["status"])["status"]
        for entry in pc.value_counts(statuses).to_pylist():
            counts[entry["values"]] += entry["counts"]
    return counts
