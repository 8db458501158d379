"""Manifest rows: JSONL / CSV / Parquet files, or a folder or glob of images, on any fsspec URI, read one row
at a time and normalized into the job's fixed row schema.

A bad row never raises: it becomes a row with status="error" and a one-line message, so every manifest row
reaches the index. Rows stream in manifest order, which makes "the first row with an id wins" deterministic
without a shuffle: `manifest_rows` remembers the ids it has seen (one dict entry per row, in the one task that
reads the manifests; the driver never holds rows).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from layertracer import storage
from layertracer.errors import UserError
from layertracer.filebatch import IMAGE_SUFFIXES
from layertracer.grid import FRAME_COUNTS
from layertracer.models.presets import PRESET_NAMES, PRESETS
from layertracer.pipeline.rows import ErrorKind, JobRow, empty_row, fail
from layertracer.pipeline.settings import row_fingerprint
from layertracer.seeds import MAX_SEED

if TYPE_CHECKING:
    from layertracer.pipeline.index import Finished

KINDS = ("text", "image", "grid")
FORMATS = ("jsonl", "csv", "parquet", "images")
KNOWN_FIELDS = ("id", "kind", "prompt", "image", "frames", "seed", "steps", "guidance", "preset")
NO_MODEL = "no model configured"
ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,128}")
ID_RULE = "ids are 1-128 characters from A-Z a-z 0-9 . _ - and do not start with a dot"
GLOB_CHARS = ("*", "?", "[")
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst")
NAME_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class ManifestSource:
    """One manifest: a file (jsonl/csv/parquet) or a folder/glob of images (an implicit image manifest)."""

    uri: str
    format: str


@dataclass(frozen=True)
class ManifestOptions:
    """How rows are read: `format` None takes it from each URI; `has_model` decides whether text rows can run;
    `settings` (the job's, pipeline/settings.py) goes into every row's fingerprint."""

    format: str | None = None
    default_frames: int = 9
    has_model: bool = False
    storage_options: dict[str, Any] = field(default_factory=dict)
    settings: str = ""


class RowError(UserError):
    """What is wrong with one manifest row (becomes that row's `error`, of `kind`)."""

    def __init__(self, message: str, kind: ErrorKind = ErrorKind.INPUT) -> None:
        super().__init__(message)
        self.kind = kind


def plan_sources(uris: list[str], options: ManifestOptions) -> list[ManifestSource]:
    """Check every manifest URI on the driver (exists, known format) so a typo fails before the job starts."""
    if options.format is not None and options.format not in FORMATS:
        raise UserError(f"--format must be one of {', '.join(FORMATS)}, got {options.format!r}")
    sources = []
    for uri in uris:
        if uri.startswith("memory://"):
            raise UserError(f"{uri}: memory:// lives inside one process; Ray workers cannot read it")
        if "://" not in uri:
            uri = os.path.abspath(uri)  # one name per manifest in the index, whatever the working directory
        fs, path = storage.filesystem(uri, options.storage_options)
        fmt = options.format or format_from_name(uri)
        is_glob = any(c in uri for c in GLOB_CHARS)
        if not is_glob and not fs.exists(path):
            raise UserError(f"{uri}: no such manifest")
        if not is_glob and fs.isdir(path):
            if fmt not in (None, "images"):
                raise UserError(f"{uri}: is a directory; a {fmt} manifest must be a file")
            fmt = "images"
        if fmt is None:
            raise UserError(
                f"{uri}: cannot tell the manifest format from its name; pass --format ({', '.join(FORMATS)})"
            )
        sources.append(ManifestSource(uri, fmt))
    return sources


def format_from_name(uri: str) -> str | None:
    name = uri.lower().rstrip("/")
    for suffix in COMPRESSION_SUFFIXES:
        name = name.removesuffix(suffix)
    if any(c in uri for c in GLOB_CHARS) or name.endswith(IMAGE_SUFFIXES):
        return "images"
    return next((fmt for suffix, fmt in NAME_FORMATS.items() if name.endswith(suffix)), None)


def manifest_rows(
    sources: list[ManifestSource], options: ManifestOptions, finished: Finished | None = None
) -> Iterator[JobRow]:
    """Every row of every manifest, in order, normalized (ROW_SCHEMA fields).

    A later row reusing an id is an error row ("duplicate id"); the first row with an id wins. Rows that
    `finished` holds with the same fingerprint (--resume) are not yielded, but still claim their id.
    """
    first_use: dict[str, tuple[int, int]] = {}
    for number, source in enumerate(sources):
        for row, (record, problem) in enumerate(read_records(source, options.storage_options)):
            if record is None:
                item = error_row(source.uri, row, problem, options)
            else:
                item = normalize_row(record, source.uri, row, options)
            row_id = item["id"]
            if row_id is not None and is_valid_id(row_id):
                if row_id in first_use:
                    first_number, first_row = first_use[row_id]
                    fail(item, f"duplicate id {row_id!r} (first used by row {first_row} of "
                               f"{sources[first_number].uri})", ErrorKind.INPUT)
                else:
                    first_use[row_id] = (number, row)
            if finished is None or not finished.done(item):
                yield item


def read_records(source: ManifestSource, storage_options: dict[str, Any]) -> Iterator[tuple[dict | None, Any]]:
    """(record, None) per row, or (None, RowError) for a row that cannot be parsed at all.

    A manifest that cannot be read on (not that format at all, cut short, a field over the CSV limit, storage
    gone) ends with one error row that says so, instead of ending the job; the rows after it were never seen,
    and a rerun with --resume reads them.
    """
    readers = {"jsonl": _jsonl_records, "csv": _csv_records, "parquet": _parquet_records, "images": _image_records}
    try:
        yield from readers[source.format](source.uri, storage_options)
    except Exception as exc:  # any reader failure is this manifest's problem, never the whole job's
        reason = (str(exc).strip().splitlines() or [""])[0][:300]
        kind = ErrorKind.STORE if storage.is_connection_error(exc) else ErrorKind.INPUT
        yield None, RowError(f"cannot read the manifest from this row on ({type(exc).__name__}: {reason})", kind)


def _open_text(uri: str, storage_options: dict[str, Any], **text: Any):
    """A manifest as text, decompressed by its name; through `storage` so S3 gets its bounded timeouts."""
    fs, path = storage.filesystem(uri, storage_options)
    return fs.open(path, "rt", compression="infer", errors="replace", **text)


def _jsonl_records(uri: str, storage_options: dict[str, Any]) -> Iterator[tuple[dict | None, Any]]:
    """Blank lines are not rows."""
    with _open_text(uri, storage_options, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield None, RowError(f"invalid JSON: {exc.msg} (column {exc.colno})")
                continue
            if isinstance(value, dict):
                yield value, None
            else:
                yield None, RowError(f"expected a JSON object, got {type(value).__name__}")


def _csv_records(uri: str, storage_options: dict[str, Any]) -> Iterator[tuple[dict | None, Any]]:
    """Empty cells count as missing fields."""
    with _open_text(uri, storage_options, encoding="utf-8-sig", newline="") as fh:
        for record in csv.DictReader(fh):
            if None in record:
                yield None, RowError("more values than the header has columns")
                continue
            yield {key.strip(): value for key, value in record.items() if value not in (None, "")}, None


def _parquet_records(uri: str, storage_options: dict[str, Any]) -> Iterator[tuple[dict | None, Any]]:
    fs, path = storage.filesystem(uri, storage_options)
    with fs.open(path, "rb") as fh:
        for batch in pq.ParquetFile(fh).iter_batches(batch_size=1024):
            for record in batch.to_pylist():
                yield {key: value for key, value in record.items() if value is not None}, None


def _image_records(uri: str, storage_options: dict[str, Any]) -> Iterator[tuple[dict | None, Any]]:
    """A folder (searched recursively) or glob of images: one image row per file, id from its relative path."""
    fs, path = storage.filesystem(uri, storage_options)
    if any(c in path for c in GLOB_CHARS):
        root = path[: min(path.index(c) for c in GLOB_CHARS if c in path)].rsplit("/", 1)[0]
        found = fs.glob(path)
    elif fs.isfile(path):
        root, found = path.rsplit("/", 1)[0], [path]
    else:
        root, found = path.rstrip("/"), fs.find(path)
    for file_path in sorted(p for p in found if p.lower().endswith(IMAGE_SUFFIXES)):
        file_uri = f"{uri.split('://', 1)[0]}://{file_path}" if storage.is_remote(uri) else file_path
        yield {"id": image_id(file_path[len(root):].lstrip("/")), "kind": "image", "image": file_uri}, None


def image_id(relative_path: str) -> str:
    """`icons/star.png` -> `icons__star`: readable, stable ids for the files of an implicit manifest."""
    stem = relative_path.rsplit(".", 1)[0].replace("/", "__")
    candidate = re.sub(r"[^A-Za-z0-9._-]", "_", stem).lstrip(".")
    return candidate if is_valid_id(candidate) else "img-" + hashlib.sha256(relative_path.encode()).hexdigest()[:16]


def is_valid_id(row_id: str) -> bool:
    return bool(ID_PATTERN.fullmatch(row_id)) and not row_id.startswith(".")


def default_id(record: dict[str, Any]) -> str:
    """A stable hash of the row as written (relative paths unresolved), so moving a manifest keeps its ids."""
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "row-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def error_row(manifest: str, row: int, problem: RowError, options: ManifestOptions) -> JobRow:
    """The row of a record that could not be parsed at all."""
    item = fail(empty_row(manifest, row), str(problem), problem.kind)
    item["fingerprint"] = row_fingerprint(options.settings, item)
    return item


def normalize_row(record: dict[str, Any], manifest: str, row: int, options: ManifestOptions) -> JobRow:
    """One manifest record -> ROW_SCHEMA fields; whatever is wrong becomes status="error" with a message."""
    item = empty_row(manifest, row)
    extra = {key: value for key, value in record.items() if key not in KNOWN_FIELDS}
    item["extra"] = json.dumps(extra, sort_keys=True, ensure_ascii=False, default=str) if extra else None
    given_id = record.get("id")
    item["id"] = default_id(record) if given_id is None else str(given_id)
    item["prompt"] = _as_text(record.get("prompt"))
    image = _as_text(record.get("image"))
    item["image"] = storage.resolve(image, manifest) if image and image.strip() else image
    kind = _as_text(record.get("kind"))
    inferred = "image" if "image" in record else "text" if "prompt" in record else None
    item["kind"] = kind.strip().lower() if kind else inferred
    item["preset"] = _as_text(record.get("preset"))
    try:
        _check_id(given_id, item["id"])
        _check_kind(item, record)
        if item["preset"] is not None and item["preset"] not in PRESETS:
            raise RowError(f"unknown preset {item['preset']!r} (choices: {', '.join(PRESET_NAMES)})")
        default_frames = PRESETS[item["preset"]].frames if item["preset"] else options.default_frames
        item["frames"] = _integer(record, "frames", default_frames)
        if item["frames"] not in FRAME_COUNTS:
            raise RowError(f"frames must be 4 or 9, got {record.get('frames')!r}")
        item["seed"] = _integer(record, "seed", None, low=0, high=MAX_SEED)
        item["steps"] = _integer(record, "steps", None, low=1)
        item["guidance"] = _number(record, "guidance")
        if item["kind"] == "text" and not options.has_model:
            raise RowError(NO_MODEL, ErrorKind.SETUP)
    except RowError as exc:
        fail(item, str(exc), exc.kind)
    item["fingerprint"] = row_fingerprint(options.settings, item)
    return item


def _as_text(value: Any) -> str | None:
    return None if value is None else value if isinstance(value, str) else json.dumps(value, default=str)


def _check_id(given: Any, row_id: str) -> None:
    if given is not None and (isinstance(given, bool) or not isinstance(given, (str, int))):
        raise RowError(f"id must be a string, got {type(given).__name__}")
    if not is_valid_id(row_id):
        raise RowError(f"unsafe id {row_id[:140]!r}: {ID_RULE}")


def _check_kind(item: JobRow, record: dict[str, Any]) -> None:
    kind = item["kind"]
    if kind is None:
        raise RowError("row has neither 'prompt' nor 'image' (cannot tell its kind)")
    if kind not in KINDS:
        raise RowError(f"unknown kind {kind!r} (expected text, image or grid)")
    for name in ("prompt", "image"):
        if name in record and not isinstance(record[name], str):
            raise RowError(f"'{name}' must be a string, got {type(record[name]).__name__}")
    if kind == "text" and not (item["prompt"] or "").strip():
        raise RowError("text row needs a non-empty 'prompt'")
    if kind in ("image", "grid") and not (item["image"] or "").strip():
        raise RowError(f"{kind} row needs 'image' (a path or URI)")


def _integer(record: dict[str, Any], name: str, default: int | None, low: int | None = None,
             high: int | None = None) -> int | None:
    """An integer field: JSON ints, integral floats and numeric strings (CSV) are accepted."""
    value = record.get(name)
    if value is None:
        return default
    try:
        if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
            raise ValueError
        number = int(value.strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError, OverflowError):
        raise RowError(f"'{name}' must be an integer, got {value!r}") from None
    if low is not None and number < low:
        raise RowError(f"'{name}' must be at least {low}, got {number}")
    if high is not None and number > high:
        raise RowError(f"'{name}' must be at most {high}, got {number}")
    return number


def _number(record: dict[str, Any], name: str) -> float | None:
    value = record.get(name)
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise RowError(f"'{name}' must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise RowError(f"'{name}' must be a finite number >= 0, got {value!r}")
    return number
