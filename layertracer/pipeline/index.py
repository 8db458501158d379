"""The output index (OUT/index/*.parquet): its schema, its rows, and reading it back.

Every run appends part files named `{run_id}_...parquet`; readers take the latest row per (manifest, row), so a
resumed run's rows replace the earlier attempts. A part file cut short by a crash (local disks have no atomic
multi-megabyte write) is skipped with a warning: its rows are simply redone by --resume. Parts written before a
column existed read back with that column null.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from layertracer import __version__, storage
from layertracer.errors import UserError
from layertracer.layout import index_uri
from layertracer.pipeline.rows import INDEX_SCHEMA, ErrorKind, IndexRow, JobRow, Status

PERMANENT_KINDS = [kind.value for kind in ErrorKind if kind.permanent]
log = logging.getLogger(__name__)


def index_row(row: JobRow, **results: Any) -> IndexRow:
    """The index row of one job row: its manifest fields, then what the stages produced (`results`)."""
    out: Any = dict.fromkeys(INDEX_SCHEMA.names)
    out.update(
        id=row["id"], manifest=row["manifest"], row=row["row"], kind=row["kind"],
        source=row["prompt"] if row["kind"] == "text" else row["image"] or row["prompt"],
        status=row["status"], error=row["error"], extra=row["extra"], frames=row["frames"],
        seed=row["seed"], sample_s=row["sample_s"], error_kind=row["error_kind"], steps=row["steps"],
        guidance=row["guidance"], fingerprint=row["fingerprint"],
    )
    out.update(results)
    out.update(created_at=dt.datetime.now(dt.timezone.utc), version=__version__)
    return out


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


# Columns that repeat a few values on every row (the job's settings are ~650 bytes of JSON per row): `compact`
# readers hold them as dictionaries, 4 bytes a row, so --resume planning stays small at a million rows.
COMPACT_COLUMNS = ("manifest", "status", "settings", "fingerprint", "error_kind", "model", "lora", "version")


def read_parts(
    out_uri: str, storage_options: storage.StorageOptions | None = None, columns: list[str] | None = None,
    parts: list[str] | None = None, compact: bool = False,
) -> pa.Table:
    """All readable index rows (every attempt), or those of the given part files; `compact` reads
    COMPACT_COLUMNS as dictionaries (same values, another Arrow type)."""
    fs, _ = storage.filesystem(out_uri, storage_options)
    schema = pa.schema([
        pa.field(name, pa.dictionary(pa.int32(), pa.string())) if compact and name in COMPACT_COLUMNS
        else INDEX_SCHEMA.field(name)
        for name in (INDEX_SCHEMA.names if columns is None else columns)
    ])
    # read_dictionary decodes those columns straight into dictionaries: without it Parquet's strings (~650 bytes
    # a row of settings) are decoded and then cast, which left ~100 MB more in the allocator at a million rows
    dictionary = [f.name for f in schema if pa.types.is_dictionary(f.type)] or None
    tables = []
    for part in part_files(out_uri, storage_options) if parts is None else parts:
        try:
            tables.append(pq.read_table(part, filesystem=fs, columns=columns, schema=schema,
                                        read_dictionary=dictionary))
        except (pa.ArrowInvalid, OSError) as exc:
            log.warning("skipping unreadable index part %s (%s)", part, exc)
    return pa.concat_tables(tables) if tables else schema.empty_table()


def latest_rows(table: pa.Table) -> pa.Table:
    """The latest row (by created_at) for each (manifest, row), in (manifest, row) order."""
    return table if table.num_rows == 0 else table.take(pa.array(latest_order(table)))


def latest_order(table: pa.Table) -> np.ndarray:
    """Positions in `table` (manifest, row, created_at columns) of the latest row of each (manifest, row), in
    (manifest, row) order. Sorted on integer keys (each manifest's rank among the distinct manifests, the row,
    the time), so a million-row table costs ~30 bytes a row here, and only the winners are copied after."""
    manifest = _manifest_ranks(table["manifest"])
    row = pc.fill_null(table["row"], -1).to_numpy()
    created = pc.fill_null(table["created_at"].cast(pa.int64()), np.iinfo(np.int64).min + 1).to_numpy()
    order = np.lexsort((-created, row, manifest))
    first = np.ones(len(order), dtype=bool)
    first[1:] = (manifest[order][1:] != manifest[order][:-1]) | (row[order][1:] != row[order][:-1])
    return order[first]


def _manifest_ranks(column: pa.ChunkedArray) -> np.ndarray:
    """Each row's manifest as its rank among the distinct manifests (by name; a null manifest last)."""
    encoded = column if pa.types.is_dictionary(column.type) else pc.dictionary_encode(column)
    combined = encoded.unify_dictionaries().combine_chunks()
    names = combined.dictionary.to_pylist()
    rank = np.empty(len(names) + 1, np.int64)
    rank[np.argsort(np.array(names, dtype=object), kind="stable")] = np.arange(len(names))
    rank[len(names)] = len(names)
    return rank[pc.fill_null(combined.indices, len(names)).to_numpy()]


def read_index(out_uri: str, storage_options: storage.StorageOptions | None = None) -> pa.Table:
    """The index as readers see it: the latest row per (manifest, row)."""
    if not has_index(out_uri, storage_options):
        raise UserError(f"{out_uri}: no index (expected {storage.join(index_uri(out_uri), '*.parquet')})")
    return latest_rows(read_parts(out_uri, storage_options))


@dataclass(frozen=True)
class Finished:
    """What --resume leaves alone, each with the fingerprint it was made with: ids whose latest row is ok, and
    (--skip-errors) the (manifest, row) of rows whose latest error is permanent, with their id."""

    ok: Mapping[str, str | None] = field(default_factory=dict)
    failed: Mapping[tuple[str, int], tuple[str | None, str | None]] = field(default_factory=dict)

    def done(self, row: JobRow) -> bool:
        """Whether `row`, as read now, was already done with the same settings."""
        if row["status"] == Status.ERROR:
            key = (row["manifest"], row["row"])
            return key in self.failed and self.failed[key] == (row["id"], row["fingerprint"])
        return row["id"] in self.ok and self.ok[row["id"]] == row["fingerprint"]


@dataclass(frozen=True)
class IndexSnapshot:
    """The index part files of OUT at one moment: --resume skips what they hold, so a replay sees the same."""

    out_uri: str
    parts: tuple[str, ...]
    skip_errors: bool = False

    def finished(self, storage_options: storage.StorageOptions | None = None) -> Finished:
        if not self.parts:
            return Finished()
        return finished_rows(self.out_uri, storage_options, list(self.parts), self.skip_errors)

    def all_made_with(self, settings: str, storage_options: storage.StorageOptions | None = None) -> bool:
        """Whether every row --resume could leave alone (ok, or with --skip-errors a permanent error), in any
        attempt, was made with `settings`: then so were the latest ones, and `recorded_settings` (which must hold
        the key columns of every row to find the latest) is not needed. Read part by part, so the driver's
        memory stays flat at a million rows in the common case of a resume with unchanged settings."""
        for part in self.parts:
            kept = _kept(read_parts(self.out_uri, storage_options, ["status", "error_kind", "settings"], [part],
                                    compact=True), self.skip_errors)
            if any(entry["values"] != settings for entry in pc.value_counts(kept["settings"]).to_pylist()):
                return False
        return True

    def recorded_settings(self, storage_options: storage.StorageOptions | None = None) -> Counter:
        """Rows per job settings among those --resume would leave alone (None: not recorded)."""
        counts: Counter = Counter()
        if self.parts:
            kept = _kept(_latest(self.out_uri, storage_options, list(self.parts), ["settings"]), self.skip_errors)
            for entry in pc.value_counts(kept["settings"]).to_pylist():
                counts[entry["values"]] += entry["counts"]
        return counts


def snapshot(
    out_uri: str, storage_options: storage.StorageOptions | None = None, skip_errors: bool = False
) -> IndexSnapshot:
    return IndexSnapshot(out_uri, tuple(part_files(out_uri, storage_options)), skip_errors)


def _latest(out_uri: str, storage_options: storage.StorageOptions | None, parts: list[str] | None,
            columns: list[str]) -> pa.Table:
    """The latest row per (manifest, row), with `columns` and what is needed to choose and keep it."""
    needed = ["manifest", "row", "created_at", "status", "error_kind"]
    return latest_rows(read_parts(out_uri, storage_options, columns=[*needed, *columns], parts=parts, compact=True))


def _kept(latest: pa.Table, skip_errors: bool) -> pa.Table:
    """The rows --resume leaves alone: ok ones, and with --skip-errors those whose error is permanent."""
    kept = pc.equal(latest["status"], Status.OK.value)
    if skip_errors:
        permanent = pc.and_(pc.equal(latest["status"], Status.ERROR.value),
                            pc.is_in(latest["error_kind"], pa.array(PERMANENT_KINDS)))
        kept = pc.or_(kept, permanent)
    return latest.filter(pc.fill_null(kept, False))


def finished_rows(out_uri: str, storage_options: storage.StorageOptions | None = None,
                  parts: list[str] | None = None, skip_errors: bool = False) -> Finished:
    """What --resume leaves alone in all part files (or in `parts`), with each row's fingerprint."""
    kept = _kept(_latest(out_uri, storage_options, parts, ["id", "fingerprint"]), skip_errors)
    ok = kept.filter(pc.equal(kept["status"], Status.OK.value))
    failed = kept.filter(pc.equal(kept["status"], Status.ERROR.value))
    return Finished(
        ok=dict(zip(ok["id"].to_pylist(), _shared_strings(ok["fingerprint"]))),
        failed={(m, r): (i, f) for m, r, i, f in zip(*(failed[c].to_pylist()
                                                      for c in ("manifest", "row", "id", "fingerprint")))},
    )


def _shared_strings(column: pa.ChunkedArray) -> list[str | None]:
    """A dictionary column's values as Python strings, one object per distinct value (not one per row)."""
    values: list[str | None] = []
    for chunk in column.chunks:
        names = chunk.dictionary.to_pylist()
        values += [None if code is None else names[code] for code in chunk.indices.to_pylist()]
    return values


def ok_ids(
    out_uri: str, storage_options: storage.StorageOptions | None = None, parts: list[str] | None = None
) -> frozenset[str]:
    """Ids whose latest row is ok (in all part files, or in `parts`)."""
    return frozenset(finished_rows(out_uri, storage_options, parts).ok)


def run_counts(out_uri: str, run_id: str, storage_options: storage.StorageOptions | None = None) -> Counter:
    """Rows per status written by one run (counted part by part: the driver never holds the rows)."""
    fs, _ = storage.filesystem(out_uri, storage_options)
    counts: Counter = Counter()
    for part in part_files(out_uri, storage_options, run_id):
        statuses = pq.read_table(part, filesystem=fs, columns=["status"])["status"]
        for entry in pc.value_counts(statuses).to_pylist():
            counts[entry["values"]] += entry["counts"]
    return counts
