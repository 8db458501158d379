"""The job's two row types, each a TypedDict beside its Arrow schema (Ray Data batches are lists of dicts):

- `JobRow` (ROW_SCHEMA): a manifest row normalized, travelling between the stages; model rows gain their grid.
- `IndexRow` (INDEX_SCHEMA): what the index keeps of it (DESIGN.md, "Output layout and index").

A row that fails carries `status="error"`, a one-line `error` and an `error_kind` (`fail`): `--resume
--skip-errors` leaves rows whose error is permanent (the input itself is bad) and redoes transient ones.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any, TypedDict

import pyarrow as pa

from layertracer.errors import UserError
from layertracer.storage import StoreFailure


class Status(str, Enum):
    """A row's state: pending between stages, then ok or error in the index (str-valued: Arrow stores text)."""

    PENDING = "pending"
    OK = "ok"
    ERROR = "error"


class ErrorKind(str, Enum):
    """Why a row failed; only INPUT is permanent (the same input fails again whatever is retried)."""

    INPUT = "input"  # bad row or input file: unsafe or duplicate id, unknown kind, not an image, too large
    STORE = "store"  # storage unreachable or failing (a rerun may find it back)
    MEMORY = "memory"  # out of (GPU) memory
    SETUP = "setup"  # the job's setup: no model configured, the model not loaded
    INTERNAL = "internal"  # an unexpected library failure (a bug: a fixed release may succeed)

    @property
    def permanent(self) -> bool:
        return self is ErrorKind.INPUT


# Row fields that shape a row's output (with the job's settings, they make its fingerprint: pipeline/settings.py).
ROW_SETTINGS = ("frames", "seed", "steps", "guidance", "preset")

ROW_SCHEMA = pa.schema([
    ("id", pa.string()), ("manifest", pa.string()), ("row", pa.int64()), ("kind", pa.string()),
    ("prompt", pa.string()), ("image", pa.string()), ("frames", pa.int64()), ("seed", pa.int64()),
    ("steps", pa.int64()), ("guidance", pa.float64()), ("extra", pa.string()), ("status", pa.string()),
    ("error", pa.string()), ("grid_png", pa.binary()), ("sample_s", pa.float64()),
    ("preset", pa.string()), ("order", pa.string()),  # a model preset; the sampled grid's cell order
    ("error_kind", pa.string()), ("fingerprint", pa.string()),
])


class JobRow(TypedDict):
    """One row between stages (ROW_SCHEMA)."""

    id: str | None
    manifest: str
    row: int
    kind: str | None
    prompt: str | None
    image: str | None
    frames: int | None
    seed: int | None
    steps: int | None
    guidance: float | None
    extra: str | None  # JSON of the manifest's unknown fields (and `_notes`)
    status: str
    error: str | None
    grid_png: bytes | None  # the sampled grid (model rows)
    sample_s: float | None
    preset: str | None
    order: str | None
    error_kind: str | None
    fingerprint: str | None


INDEX_SCHEMA = pa.schema([
    ("id", pa.string()), ("manifest", pa.string()), ("row", pa.int64()), ("kind", pa.string()),
    ("source", pa.string()), ("status", pa.string()), ("error", pa.string()), ("extra", pa.string()),
    ("svg_uri", pa.string()), ("grid_uri", pa.string()), ("frames", pa.int64()), ("n_layers", pa.int64()),
    ("n_paths", pa.int64()), ("svg_bytes", pa.int64()), ("seed", pa.int64()), ("model", pa.string()),
    ("lora", pa.string()), ("sample_s", pa.float64()), ("vectorize_s", pa.float64()),
    ("created_at", pa.timestamp("us", tz="UTC")), ("version", pa.string()), ("error_kind", pa.string()),
    ("steps", pa.int64()), ("guidance", pa.float64()), ("settings", pa.string()), ("fingerprint", pa.string()),
    ("svg", pa.string()),
])


class IndexRow(TypedDict):
    """One index row (INDEX_SCHEMA): the manifest row, what the stages produced, and the settings it was made with."""

    id: str | None
    manifest: str
    row: int
    kind: str | None
    source: str | None  # the prompt (text rows) or the image URI
    status: str
    error: str | None
    extra: str | None
    svg_uri: str | None
    grid_uri: str | None
    frames: int | None
    n_layers: int | None
    n_paths: int | None
    svg_bytes: int | None
    seed: int | None
    model: str | None
    lora: str | None
    sample_s: float | None
    vectorize_s: float | None
    created_at: dt.datetime
    version: str
    error_kind: str | None
    steps: int | None
    guidance: float | None
    settings: str | None  # canonical JSON of the job's settings (pipeline/settings.py)
    fingerprint: str | None  # short hash of `settings` and the row's own ROW_SETTINGS
    svg: str | None  # the SVG itself, with --embed-svg


def empty_row(manifest: str, row: int) -> JobRow:
    item: Any = dict.fromkeys(ROW_SCHEMA.names)
    item.update(manifest=manifest, row=row, status=Status.PENDING)
    return item


def error_kind(exc: BaseException) -> ErrorKind:
    """The kind of the error a row failed with."""
    if isinstance(exc, StoreFailure):
        return ErrorKind.STORE
    if isinstance(exc, MemoryError):
        return ErrorKind.MEMORY
    return ErrorKind.INPUT if isinstance(exc, UserError) else ErrorKind.INTERNAL


def fail(row: Any, message: str | None, kind: ErrorKind) -> Any:
    """Mark `row` (a JobRow or IndexRow) failed with a one-line message; returns it."""
    row["status"], row["error"], row["error_kind"] = Status.ERROR, message, kind
    return row
