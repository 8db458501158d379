"""The job's stages: Ray Data callable classes (state loaded once per actor) over pure per-row functions.

Sample (GPU actors): text rows and image rows with --model get a creation grid from FluxSampler; other rows
pass through. Vectorize (CPU actors): every row -> creation frames -> layered SVG -> outputs -> its index row.
Neither raises for a bad row: the row carries status="error" and a one-line message, and the batch goes on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from layertracer.errors import UserError, error_line
from layertracer.images import encode_png, read_image
from layertracer.models.loading import ModelConfig
from layertracer.models.prompts import DEFAULT_PROMPT_TEMPLATE
from layertracer.pipeline.frames import FrameOptions, creation_frames
from layertracer.pipeline.index import INDEX_SCHEMA, index_row
from layertracer.pipeline.manifest import ERROR, OK, PENDING, ROW_SCHEMA
from layertracer.pipeline.sink import write_outputs
from layertracer.vectorize import TraceOptions, vectorize_frames

if TYPE_CHECKING:
    from layertracer.models import FluxSampler

MODEL_KINDS = ("text", "image")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SampleOptions:
    config: ModelConfig
    frames: FrameOptions
    max_batch: int = 4
    prompt_template: str = DEFAULT_PROMPT_TEMPLATE
    cell_px: int | None = None


@dataclass(frozen=True)
class VectorizeOptions:
    out_uri: str
    frames: FrameOptions
    trace: TraceOptions = TraceOptions()
    model: str | None = None  # recorded in the index for the rows that were sampled
    lora: str | None = None


def stable_seed(row_id: str) -> int:
    """The default seed of a model row: derived from its id, so a rerun draws the same grid."""
    return int.from_bytes(hashlib.sha256(row_id.encode("utf-8")).digest()[:4], "big")


def sample_rows(rows: list[dict[str, Any]], sampler: FluxSampler, options: SampleOptions) -> list[dict[str, Any]]:
    """Model rows get `grid_png` and `sample_s` (or an error); the others are returned untouched."""
    from layertracer.models import SampleRequest

    todo, requests = [], []
    for row in rows:
        if row["status"] != PENDING or row["kind"] not in MODEL_KINDS:
            continue
        row["seed"] = stable_seed(row["id"]) if row["seed"] is None else row["seed"]
        try:
            image = None
            if row["kind"] == "image":
                image = read_image(row["image"], options.frames.limits, options.frames.storage_options)[0]
        except UserError as exc:
            row["status"], row["error"] = ERROR, str(exc)
            continue
        todo.append(row)
        requests.append(SampleRequest(
            kind=row["kind"], prompt=row["prompt"], image=image, frames=row["frames"], seed=row["seed"],
            steps=row["steps"], guidance=row["guidance"], cell_px=options.cell_px,
        ))
    for row, result in zip(todo, sampler.sample(requests) if requests else []):
        row["sample_s"] = result.sample_s
        if result.error is not None:
            row["status"], row["error"] = ERROR, result.error
        else:
            row["grid_png"] = encode_png(result.grid)
        if result.note is not None:
            add_note(row, result.note)
    return rows


def add_note(row: dict[str, Any], note: str) -> None:
    """Record what was done to an ok row in its index `extra` JSON, under `_notes` (manifest fields keep theirs)."""
    extra = json.loads(row["extra"]) if row["extra"] else {}
    extra.setdefault("_notes", []).append(note)
    row["extra"] = json.dumps(extra, sort_keys=True, ensure_ascii=False)


def vectorize_row(row: dict[str, Any], options: VectorizeOptions) -> dict[str, Any]:
    """One row -> frames -> layered SVG -> OUT/svg + OUT/frames -> its index row (ok or error)."""
    sampled = {"model": options.model, "lora": options.lora} if row["sample_s"] is not None else {}
    if row["status"] == ERROR:
        return index_row(row, **sampled)
    started = time.perf_counter()
    try:
        frames, grid_png, exact = creation_frames(row, options.frames)
        layered = vectorize_frames(frames, options.trace.for_exact_frames() if exact else options.trace)
        svg = layered.svg.encode("utf-8")
        svg_uri, grid_uri = write_outputs(options.out_uri, row["id"], svg, grid_png, options.frames.storage_options)
    except UserError as exc:
        return index_row(row, status=ERROR, error=str(exc), vectorize_s=time.perf_counter() - started, **sampled)
    except Exception as exc:  # an unexpected library failure fails this row only; the log keeps the traceback
        log.exception("row %s of %s failed", row["row"], row["manifest"])
        message = f"internal error: {type(exc).__name__}: {error_line(exc)}"
        return index_row(row, status=ERROR, error=message, vectorize_s=time.perf_counter() - started, **sampled)
    return index_row(
        row, status=OK, error=None, svg_uri=svg_uri, grid_uri=grid_uri, n_layers=layered.n_layers,
        n_paths=layered.n_paths, svg_bytes=len(svg), vectorize_s=time.perf_counter() - started, **sampled,
    )


class Sample:
    """GPU stage: the model is loaded once per actor. A model that cannot load fails its rows, not the job."""

    def __init__(self, options: SampleOptions) -> None:
        from layertracer.models import FluxSampler

        self.options = options
        self.sampler: FluxSampler | None = None
        self.load_error: str | None = None
        try:
            self.sampler = FluxSampler(options.config, max_batch=options.max_batch,
                                       prompt_template=options.prompt_template)
        except UserError as exc:
            self.load_error = f"model not loaded: {exc}"

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = batch.to_pylist()
        if self.sampler is None:
            for row in rows:
                if row["status"] == PENDING and row["kind"] in MODEL_KINDS:
                    row["status"], row["error"] = ERROR, self.load_error
        else:
            sample_rows(rows, self.sampler, self.options)
        return pa.Table.from_pylist(rows, schema=ROW_SCHEMA)


class Vectorize:
    """CPU stage: rows in (ROW_SCHEMA), index rows out (INDEX_SCHEMA); outputs written by this worker."""

    def __init__(self, options: VectorizeOptions) -> None:
        self.options = options

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = [vectorize_row(row, self.options) for row in batch.to_pylist()]
        return pa.Table.from_pylist(rows, schema=INDEX_SCHEMA)
