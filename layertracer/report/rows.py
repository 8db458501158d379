"""The latest index rows in (manifest, row) order, shard by shard, without holding the whole index.

Two passes over the part files: the first reads only (manifest, row, created_at) and decides each row's place
`n` in the report (its winner per (manifest, row), numbered in manifest order); the second reads the shown
columns part by part and spills the winners to local Parquet files, one folder per shard of `shard_rows`
rows. Shards are then read back one at a time, so memory holds the key columns and one part or one shard.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from layertracer import layout, storage
from layertracer.errors import UserError
from layertracer.pipeline.index import latest_order, part_files, read_parts

KEY_COLUMNS = ["manifest", "row", "created_at"]


@dataclass(frozen=True)
class RowOrder:
    """Where each part's rows go: `places[k][i]` is the report position of row i of part k, or -1 if superseded."""

    parts: tuple[str, ...]
    places: tuple[np.ndarray, ...]
    rows: int


def row_order(out_uri: str, storage_options: storage.StorageOptions | None) -> RowOrder:
    """Pass 1: the latest row per (manifest, row) by created_at, numbered by (manifest, row)."""
    parts = part_files(out_uri, storage_options)
    if not parts:
        raise UserError(f"{out_uri}: no index (expected {storage.join(layout.index_uri(out_uri), '*.parquet')})")
    tables = [read_parts(out_uri, storage_options, columns=KEY_COLUMNS, parts=[part], compact=True) for part in parts]
    place = np.full(sum(table.num_rows for table in tables), -1, np.int64)
    if len(place):
        winners = latest_order(pa.concat_tables(tables))
        place[winners] = np.arange(len(winners))
    places = np.split(place, np.cumsum([table.num_rows for table in tables])[:-1])
    rows = int((place >= 0).sum())
    return RowOrder(tuple(parts), tuple(places), rows)


def iter_shards(
    out_uri: str, storage_options: storage.StorageOptions | None, order: RowOrder, columns: list[str],
    shard_rows: int,
) -> Iterator[tuple[int, pa.Table]]:
    """Pass 2: (shard, table of `columns` plus `n`) per shard of `shard_rows` report positions, sorted by n."""
    with tempfile.TemporaryDirectory(prefix="lt-report-") as spill:
        root = Path(spill)
        for k, (part, places) in enumerate(zip(order.parts, order.places)):
            table = read_parts(out_uri, storage_options, columns=columns, parts=[part])
            if table.num_rows != len(places):  # unreadable now (or rewritten since pass 1): its rows are gone
                continue
            keep = places >= 0
            table = table.filter(pa.array(keep)).append_column("n", pa.array(places[keep]))
            shard_of = places[keep] // shard_rows
            for shard in np.unique(shard_of):
                folder = root / str(shard)
                folder.mkdir(exist_ok=True)
                pq.write_table(table.filter(pa.array(shard_of == shard)), folder / f"{k}.parquet")
        for shard in range((order.rows + shard_rows - 1) // shard_rows):
            folder = root / str(shard)
            if not folder.is_dir():
                continue
            table = pa.concat_tables(pq.read_table(path) for path in sorted(folder.iterdir()))
            yield shard, table.take(pc.sort_indices(table["n"]))
