"""Training batches from a `build-dataset` output: endless, shuffled, only status="ok" rows.

Two sources with one shape (a pyarrow Table of `COLUMNS` per batch): `parquet_batches` reads the Parquet files
directly for a single process; `shard_batches` iterates a Ray Train worker's shard of the Ray Data dataset.
`decode_batch` turns either into pixels and captions.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from layertracer import storage
from layertracer.errors import UserError
from layertracer.grid import GridSpec, compose_grid, split_grid
from layertracer.images import ImageLimits, decode_image, flatten_on_white

COLUMNS = ["grid_png", "caption", "frames", "order"]


@dataclass(frozen=True)
class GridBatch:
    """Decoded training grids: [B, H, W, 3] uint8 on white, their captions, and the grid layout they share."""

    grids: np.ndarray
    captions: list[str]
    spec: GridSpec


def data_path(data_uri: str) -> str:
    """A build-dataset output folder holds its rows under data/; a folder of Parquet files is taken as is."""
    nested = storage.join(data_uri, "data")
    return nested if storage.exists(nested) else data_uri


def open_dataset(data_uri: str, storage_options=None):
    """The dataset's Parquet files as a pyarrow dataset; a UserError when DATA_URI is not a build-dataset output."""
    import pyarrow.dataset as ds
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    uri = data_path(data_uri)
    fs, path = storage.filesystem(uri, storage_options)
    try:
        dataset = ds.dataset(path, format="parquet", filesystem=PyFileSystem(FSSpecHandler(fs)))
    except (FileNotFoundError, pa.ArrowInvalid) as exc:
        raise UserError(f"{data_uri}: not a training dataset ({exc})") from None
    missing = [c for c in (*COLUMNS, "status") if c not in dataset.schema.names]
    if missing:
        raise UserError(f"{data_uri}: not a build-dataset output (no column {', '.join(missing)})")
    return dataset


def parquet_batches(
    data_uri: str, batch_size: int, seed: int, shuffle_buffer: int = 256, storage_options=None
) -> Iterator[pa.Table]:
    """Endless batches of ok rows; fragment order and a row buffer are reshuffled every epoch.

    The dataset is opened here, not on the first batch, so a wrong DATA_URI fails before any model loads.
    """
    dataset = open_dataset(data_uri, storage_options)
    return _parquet_epochs(dataset, data_uri, batch_size, random.Random(seed), shuffle_buffer)


def _parquet_epochs(dataset, data_uri: str, batch_size: int, rng: random.Random, shuffle_buffer: int):
    import pyarrow.dataset as ds

    ok = ds.field("status") == "ok"
    for _ in _epochs():
        fragments = list(dataset.get_fragments())
        rng.shuffle(fragments)
        tables = (pa.Table.from_batches([b]) for f in fragments for b in f.to_batches(columns=COLUMNS, filter=ok))
        produced = 0
        for batch in _shuffled_batches(tables, batch_size, shuffle_buffer, rng):
            produced += 1
            yield batch
        if not produced:
            raise UserError(f"{data_uri}: fewer than {batch_size} rows with status ok (one batch)")


def shard_batches(shard, batch_size: int, seed: int, shuffle_buffer: int = 256) -> Iterator[pa.Table]:
    """Endless batches from a Ray Train dataset shard (`ray.train.get_dataset_shard`)."""
    for epoch in _epochs():
        produced = 0
        for batch in shard.iter_batches(
            batch_size=batch_size, batch_format="pyarrow", drop_last=True,
            local_shuffle_buffer_size=shuffle_buffer, local_shuffle_seed=seed + epoch,
        ):
            produced += 1
            yield batch.select(COLUMNS)
        if not produced:
            raise UserError(f"a worker's share of the data has fewer than {batch_size} ok rows (one batch)")


def _epochs() -> Iterator[int]:
    epoch = 0
    while True:
        yield epoch
        epoch += 1


def _shuffled_batches(tables, batch_size: int, buffer_rows: int, rng: random.Random) -> Iterator[pa.Table]:
    """Fill a buffer of rows, emit random batches from it; the epoch's remainder smaller than a batch is dropped."""
    buffer: list[dict] = []
    for table in tables:
        buffer.extend(table.to_pylist())
        while len(buffer) >= max(buffer_rows, batch_size):
            yield _take(buffer, batch_size, rng)
    rng.shuffle(buffer)
    while len(buffer) >= batch_size:
        yield _take(buffer, batch_size, rng)


def _take(buffer: list[dict], count: int, rng: random.Random) -> pa.Table:
    picked = []
    for _ in range(count):
        index = rng.randrange(len(buffer))
        buffer[index], buffer[-1] = buffer[-1], buffer[index]
        picked.append(buffer.pop())
    return pa.Table.from_pylist(picked)


def decode_batch(batch: pa.Table, cell_px: int | None = None) -> GridBatch:
    """PNG grids -> one uint8 array; all rows must share frames and order. `cell_px` resizes the grids."""
    frames = set(batch.column("frames").to_pylist())
    orders = set(batch.column("order").to_pylist())
    if len(frames) != 1 or len(orders) != 1:
        raise UserError(f"a training dataset must use one grid layout, found frames {frames} and orders {orders}")
    spec = GridSpec(frames.pop(), orders.pop())
    grids = [flatten_on_white(decode_image(png, ImageLimits(), "grid")) for png in batch.column("grid_png").to_pylist()]
    if cell_px is not None:
        grids = [_resize(grid, spec, cell_px) for grid in grids]
    if len({g.shape for g in grids}) != 1:
        raise UserError(f"training grids differ in size: {sorted({g.shape for g in grids})}")
    return GridBatch(grids=np.stack(grids), captions=batch.column("caption").to_pylist(), spec=spec)


def _resize(grid: np.ndarray, spec: GridSpec, cell_px: int) -> np.ndarray:
    """Resize cell by cell, so no cell borrows pixels from its neighbour."""
    if grid.shape[:2] == (cell_px * spec.side,) * 2:
        return grid
    from PIL import Image

    cells = [
        np.asarray(Image.fromarray(cell).resize((cell_px, cell_px), Image.Resampling.LANCZOS))
        for cell in split_grid(grid, spec)
    ]
    return compose_grid(cells, spec)
