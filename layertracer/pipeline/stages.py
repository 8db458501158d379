"""The job's stages: Ray Data callable classes (state loaded once per actor) over pure per-row functions.

Sample (GPU actors): text rows and image rows with --model get a creation grid from FluxSampler; other rows
pass through. Vectorize (CPU actors): every row -> creation frames -> layered SVG -> outputs -> its index row.
Neither raises for a bad row: the row carries status="error", a one-line message and its error kind, and the
batch goes on. The one exception is a store that stopped answering (pipeline/breaker.py): that stops the job.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from layertracer import storage
from layertracer.errors import UserError, error_line
from layertracer.images import encode_png, read_image
from layertracer.models.loading import ModelConfig
from layertracer.pipeline.breaker import StoreWatch
from layertracer.pipeline.frames import InputOptions, creation_frames
from layertracer.pipeline.index import index_row
from layertracer.pipeline.rows import INDEX_SCHEMA, ROW_SCHEMA, ErrorKind, IndexRow, JobRow, Status, error_kind, fail
from layertracer.pipeline.sink import write_outputs
from layertracer.seeds import stable_seed
from layertracer.storage import StorageOptions
from layertracer.vectorize import TraceOptions, vectorize_frames

if TYPE_CHECKING:
    from layertracer.models import FluxSampler, GridSettings

MODEL_KINDS = ("text", "image")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SampleOptions:
    config: ModelConfig
    inputs: InputOptions
    storage_options: StorageOptions = field(default_factory=dict)
    max_batch: int = 4
    prompt_template: str | None = None  # None: each row's preset's, else the default template
    cell_px: int | None = None
    breaker: Any = None  # the job's CircuitBreaker actor (pipeline/breaker.py); None: no breaker


@dataclass(frozen=True)
class VectorizeOptions:
    out_uri: str
    inputs: InputOptions
    storage_options: StorageOptions = field(default_factory=dict)
    trace: TraceOptions = TraceOptions()
    model: str | None = None  # recorded in the index for the rows that were sampled
    lora: str | None = None
    settings: str | None = None  # the job's settings JSON (pipeline/settings.py), recorded in every index row
    embed_svg: bool = False  # the SVG itself in the index's `svg` column too
    breaker: Any = None  # the job's CircuitBreaker actor (pipeline/breaker.py); None: no breaker


def sample_rows(
    rows: list[JobRow], sampler: FluxSampler, options: SampleOptions, watch: StoreWatch | None = None
) -> list[JobRow]:
    """Model rows get `grid_png` and `sample_s` (or an error); the others are returned untouched."""
    from layertracer.models import SampleRequest

    todo, requests = [], []
    for row in rows:
        if row["status"] != Status.PENDING or row["kind"] not in MODEL_KINDS:
            continue
        row["seed"] = stable_seed(row["id"]) if row["seed"] is None else row["seed"]
        try:
            image = None
            if row["kind"] == "image":
                image = read_image(row["image"], options.inputs.limits, options.storage_options)[0]
        except UserError as exc:
            watch_failure(watch, exc)
            fail(row, str(exc), error_kind(exc))
            continue
        if watch is not None and row["kind"] == "image":
            watch.reached_stores({storage.endpoint(row["image"], options.storage_options)})
        todo.append(row)
        requests.append(SampleRequest(
            kind=row["kind"], prompt=row["prompt"], image=image, frames=row["frames"], seed=row["seed"],
            steps=row["steps"], guidance=row["guidance"], cell_px=options.cell_px, preset=row["preset"],
        ))
    for row, request, result in zip(todo, requests, sampler.sample(requests) if requests else []):
        row["sample_s"] = result.sample_s
        if result.error is not None:
            fail(row, result.error, sample_error_kind(result.error))
        else:
            row["grid_png"] = encode_png(result.grid)
        if result.settings is not None:
            row["order"] = result.settings.order
            reference = None if request.image is None else (request.image.shape[1], request.image.shape[0])
            add_extra(row, "_sampling", sampling_record(row, result.settings, options.config.preset, reference))
        if result.note is not None:
            add_note(row, result.note)
    return rows


def sample_error_kind(message: str) -> ErrorKind:
    """The kind of a sampler's error message (FluxSampler returns text): memory, a library failure, or the
    request itself (bad settings for the model)."""
    if "out of GPU memory" in message:
        return ErrorKind.MEMORY
    return ErrorKind.INTERNAL if message.startswith("sampling failed") else ErrorKind.INPUT


def watch_failure(watch: StoreWatch | None, exc: BaseException) -> None:
    """Tell the breaker about a store that did not answer (raises StoreDown once it trips)."""
    if watch is not None and isinstance(exc, storage.StoreUnreachable):
        watch.unreachable(exc)


def sampling_record(
    row: JobRow, settings: GridSettings, run_preset: str | None, reference_px: tuple[int, int] | None = None
) -> dict[str, Any]:
    """What a sampled grid was drawn with, so the index can reproduce it (seed and frames have columns); for
    Image2Layers, the reference's size (width, height), which its SVG is drawn at."""
    record = {"preset": row["preset"] or run_preset, "order": settings.order,
              "template": settings.template, "steps": settings.steps, "guidance": settings.guidance,
              "cell_px": settings.cell_px}
    if row["kind"] == "image":
        record["reference"] = settings.reference
        if reference_px is not None:
            record["reference_px"] = list(reference_px)
    return record


def add_note(row: JobRow, note: str) -> None:
    """Record what was done to an ok row in its index `extra` JSON, under `_notes` (manifest fields keep theirs)."""
    notes = json.loads(row["extra"]).get("_notes", []) if row["extra"] else []
    add_extra(row, "_notes", [*notes, note])


def add_extra(row: JobRow, key: str, value: Any) -> None:
    """Record `value` under `key` in the row's index `extra` JSON (manifest fields keep theirs)."""
    extra = json.loads(row["extra"]) if row["extra"] else {}
    extra[key] = value
    row["extra"] = json.dumps(extra, sort_keys=True, ensure_ascii=False)


def vectorize_row(row: JobRow, options: VectorizeOptions, watch: StoreWatch | None = None) -> IndexRow:
    """One row -> frames -> layered SVG -> OUT/svg + OUT/frames -> its index row (ok or error)."""
    results: dict[str, Any] = {"settings": options.settings}
    if row["sample_s"] is not None:
        results.update(model=options.model, lora=options.lora)
    if row["status"] == Status.ERROR:
        return index_row(row, **results)
    started = time.perf_counter()
    try:
        frames, grid_png, exact, size, box = creation_frames(row, options.inputs, options.storage_options)
        layered = vectorize_frames(frames, options.trace.for_exact_frames() if exact else options.trace, size, box)
        svg = layered.svg.encode("utf-8")
        svg_uri, grid_uri = write_outputs(options.out_uri, row["id"], svg, grid_png, options.storage_options)
    except UserError as exc:
        watch_failure(watch, exc)
        return index_row(fail(row, str(exc), error_kind(exc)), vectorize_s=time.perf_counter() - started, **results)
    except Exception as exc:  # an unexpected library failure fails this row only; the log keeps the traceback
        log.exception("row %s of %s failed", row["row"], row["manifest"])
        message = f"internal error: {type(exc).__name__}: {error_line(exc)}"
        return index_row(fail(row, message, error_kind(exc)), vectorize_s=time.perf_counter() - started, **results)
    if watch is not None:
        image = row["image"] if row["grid_png"] is None else None
        watch.reached_stores({storage.endpoint(uri, options.storage_options)
                              for uri in (image, options.out_uri) if uri})
    row["status"] = Status.OK
    return index_row(
        row, svg_uri=svg_uri, grid_uri=grid_uri, n_layers=layered.n_layers, n_paths=layered.n_paths,
        svg_bytes=len(svg), vectorize_s=time.perf_counter() - started,
        svg=layered.svg if options.embed_svg else None, **results,
    )


class Sample:
    """GPU stage: the model is loaded once per actor. A model that cannot load fails its rows, not the job."""

    def __init__(self, options: SampleOptions) -> None:
        from layertracer.models import FluxSampler

        self.options = options
        self.watch = StoreWatch(options.breaker) if options.breaker is not None else None
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
                if row["status"] == Status.PENDING and row["kind"] in MODEL_KINDS:
                    fail(row, self.load_error, ErrorKind.SETUP)
        else:
            sample_rows(rows, self.sampler, self.options, self.watch)
            if self.watch is not None:
                self.watch.flush()
        return pa.Table.from_pylist(rows, schema=ROW_SCHEMA)


class Vectorize:
    """CPU stage: rows in (ROW_SCHEMA), index rows out (INDEX_SCHEMA); outputs written by this worker."""

    def __init__(self, options: VectorizeOptions) -> None:
        self.options = options
        self.watch = StoreWatch(options.breaker) if options.breaker is not None else None

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = [vectorize_row(row, self.options, self.watch) for row in batch.to_pylist()]
        if self.watch is not None:
            self.watch.flush()
        return pa.Table.from_pylist(rows, schema=INDEX_SCHEMA)
