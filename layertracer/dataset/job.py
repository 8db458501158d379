"""The build-dataset job on Ray Data: list SVGs -> build examples (CPU tasks) -> mark duplicates -> Parquet.

Output under OUT:
  data/*.parquet   one row per input file (`ROW_SCHEMA`): ok rows carry the grid PNG and caption
  kohya/1_layertracer/{id}.png + {id}.txt   with `kohya=True` (kohya's "repeats_name" folder layout)
  stats.json       rows in/out, ok/error/duplicate counts, errors by kind
Streaming: sources are read, rendered and written in small batches, so tens of thousands of files never sit
in memory at once. Duplicates (same rendered final frame) are found through one small actor that remembers
the hashes it has seen: the first to arrive stays ok, the rest become status="duplicate" with `duplicate_of`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa

from layertracer import storage
from layertracer.dataset.captions import lookup_caption, read_captions_csv
from layertracer.dataset.example import DatasetOptions, build_example, empty_row
from layertracer.dataset.sources import list_sources
from layertracer.errors import UserError

KOHYA_FOLDER = "kohya/1_layertracer"

ROW_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source", pa.string()),
        ("status", pa.string()),  # ok | error | duplicate
        ("error", pa.string()),
        ("frames", pa.int32()),
        ("order", pa.string()),
        ("description", pa.string()),
        ("caption", pa.string()),
        ("grid_png", pa.binary()),
        ("grid_px", pa.int32()),
        ("n_elements", pa.int32()),
        ("steps", pa.string()),  # JSON: [start, end) of the top-level shapes each frame adds
        ("final_sha256", pa.string()),
        ("duplicate_of", pa.string()),
        ("svg_bytes", pa.int64()),
    ]
)


@dataclass(frozen=True)
class BuildOptions:
    """Everything `layertracer build-dataset` decides, passed down as one value."""

    input_uri: str
    out_uri: str
    dataset: DatasetOptions = field(default_factory=DatasetOptions)
    captions_csv: str | None = None
    file_column: str = "file"
    caption_column: str = "caption"
    kohya: bool = False
    overwrite: bool = False
    batch_size: int = 8
    storage_options: dict | None = None


def build_batch(batch: pa.Table, options: BuildOptions) -> pa.Table:
    """Ray task body: read and build each source in the batch; a read or build failure is that row's error."""
    rows = []
    for item in batch.to_pylist():
        try:
            data = storage.read_bytes(item["source"], options.storage_options, options.dataset.limits.max_bytes)
        except UserError as exc:
            row = empty_row(item["source"], item["id"], options.dataset)
            row["error"] = str(exc)
            rows.append(row)
            continue
        rows.append(build_example(data, item["source"], options.dataset, item["id"], item["sidecar"]))
    return pa.Table.from_pylist(rows, schema=ROW_SCHEMA)


class FirstSeen:
    """Ray actor: remembers which id first produced each final-frame hash."""

    def __init__(self) -> None:
        self.owner: dict[str, str] = {}

    def claim(self, pairs: list[tuple[str, str]]) -> list[str | None]:
        """For each (hash, id): None if this id owns the hash (first seen), else the owner's id."""
        out = []
        for digest, row_id in pairs:
            owner = self.owner.setdefault(digest, row_id)
            out.append(None if owner == row_id else owner)
        return out


def mark_duplicates_and_write_kohya(batch: pa.Table, registry, options: BuildOptions) -> pa.Table:
    """Ray task body: duplicates get status="duplicate" (grid dropped); kept rows get kohya files if asked."""
    import ray

    rows = batch.to_pylist()
    ok = [row for row in rows if row["status"] == "ok"]
    owners = ray.get(registry.claim.remote([(row["final_sha256"], row["id"]) for row in ok])) if ok else []
    for row, owner in zip(ok, owners):
        if owner is not None:
            row.update(status="duplicate", duplicate_of=owner, grid_png=None)
        elif options.kohya:
            folder = storage.join(options.out_uri, KOHYA_FOLDER)
            for suffix, data in ((".png", row["grid_png"]), (".txt", row["caption"].encode("utf-8"))):
                storage.write_bytes_atomic(storage.join(folder, row["id"] + suffix), data, options.storage_options)
    return pa.Table.from_pylist(rows, schema=ROW_SCHEMA)


def plan_build(options: BuildOptions) -> list[dict]:
    """The job's input rows (source, id, sidecar description); no Ray needed, so bad input fails fast."""
    _existing_dataset(options, storage.join(options.out_uri, "data"))
    sources = list_sources(options.input_uri, options.storage_options)
    captions = (
        read_captions_csv(options.captions_csv, options.file_column, options.caption_column, options.storage_options)
        if options.captions_csv
        else {}
    )
    return [{"source": s.uri, "id": s.id, "sidecar": lookup_caption(captions, s.uri, s.relative)} for s in sources]


def run_build(options: BuildOptions, items: list[dict]) -> dict:
    """Run the job for `plan_build`'s rows on the current Ray cluster (the caller connects); returns its stats."""
    import ray

    data_uri = storage.join(options.out_uri, "data")
    _prepare_output(options, data_uri)
    registry = ray.remote(num_cpus=0)(FirstSeen).remote()
    dataset = (
        ray.data.from_items(items, override_num_blocks=max(1, min(-(-len(items) // options.batch_size), 10_000)))
        .map_batches(build_batch, batch_format="pyarrow", batch_size=options.batch_size, fn_kwargs={"options": options})
        .map_batches(
            mark_duplicates_and_write_kohya,
            batch_format="pyarrow",
            batch_size=None,
            fn_kwargs={"registry": registry, "options": options},
        )
    )
    fs, path = storage.filesystem(data_uri, options.storage_options)
    try:
        dataset.write_parquet(path, filesystem=_arrow_filesystem(fs))
    finally:
        ray.kill(registry)
    stats = _stats(data_uri, len(items), options.storage_options)
    storage.write_bytes_atomic(
        storage.join(options.out_uri, "stats.json"), json.dumps(stats, indent=2).encode(), options.storage_options
    )
    return stats


def _existing_dataset(options: BuildOptions, data_uri: str) -> bool:
    """Whether OUT already holds a dataset to replace; one without --overwrite is refused (never appended to)."""
    fs, path = storage.filesystem(data_uri, options.storage_options)
    if not (fs.exists(path) and fs.ls(path)):
        return False
    if not options.overwrite:
        raise UserError(f"{data_uri} already holds a dataset (pass --overwrite to replace it)")
    return True


def _prepare_output(options: BuildOptions, data_uri: str) -> None:
    """Clear a previous dataset and its kohya pairs when --overwrite allows it."""
    if not _existing_dataset(options, data_uri):
        return
    for uri in (data_uri, storage.join(options.out_uri, KOHYA_FOLDER)):
        fs, path = storage.filesystem(uri, options.storage_options)
        if fs.exists(path):
            fs.rm(path, recursive=True)


def _arrow_filesystem(fs):
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    return PyFileSystem(FSSpecHandler(fs))


def read_rows(data_uri: str, columns: list[str] | None = None, storage_options=None) -> pa.Table:
    """The dataset's rows (all part files) as one table; `columns` keeps reads of the PNGs optional."""
    import pyarrow.parquet as pq

    fs, path = storage.filesystem(data_uri, storage_options)
    return pq.read_table(path, columns=columns, filesystem=_arrow_filesystem(fs), schema=ROW_SCHEMA)


def _stats(data_uri: str, rows_in: int, storage_options) -> dict:
    table = read_rows(data_uri, ["status", "error"], storage_options)
    status = Counter(table.column("status").to_pylist())
    kinds = Counter(_error_kind(e) for e in table.column("error").to_pylist() if e)
    return {
        "rows_in": rows_in,
        "rows_out": table.num_rows,
        "ok": status.get("ok", 0),
        "error": status.get("error", 0),
        "duplicate": status.get("duplicate", 0),
        "errors_by_kind": dict(kinds.most_common()),
    }


def _error_kind(message: str) -> str:
    """"/x/a.svg: 7 bytes exceeds ..." -> "N bytes exceeds": the reason without its source and details."""
    reason = message.split(": ", 1)[-1]
    reason = re.split(r"[(:'\"]", reason, maxsplit=1)[0]
    return re.sub(r"\d+", "N", reason).strip()[:80]
