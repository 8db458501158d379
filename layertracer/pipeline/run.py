"""`layertracer run`: manifests -> Ray Data -> SVGs, grids and the Parquet index, streaming end to end.

    read manifests (1 task) -> [Sample: GPU actors, with --model] -> Vectorize: CPU actors -> index Parquet

The read and write tasks take no CPU slot (they are light I/O), so the actor pools can hold every CPU without
starving them. Nothing is materialized: the driver only plans, watches progress and counts statuses at the end.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from layertracer import layout, storage
from layertracer.errors import UserError
from layertracer.models.loading import ModelConfig
from layertracer.pipeline import breaker, index, recovery
from layertracer.pipeline.frames import InputOptions
from layertracer.pipeline.manifest import ManifestOptions, ManifestSource, plan_sources
from layertracer.pipeline.settings import check_resume, job_settings
from layertracer.pipeline.stages import Sample, SampleOptions, Vectorize, VectorizeOptions
from layertracer.vectorize import TraceOptions

if TYPE_CHECKING:
    import ray.data

READ_BLOCKS = 200  # the read task's output is split into this many blocks (more when there are more actors)
WRITE_CONCURRENCY = 2


@dataclass(frozen=True)
class RunOptions:
    """Everything `layertracer run` decides, built by the CLI (the only place that reads the environment)."""

    manifests: tuple[str, ...]
    out_uri: str
    format: str | None = None
    storage_options: dict[str, Any] = field(default_factory=dict)
    default_frames: int = 9
    inputs: InputOptions = InputOptions()  # image limits and decomposition
    trace: TraceOptions = TraceOptions()
    model: ModelConfig | None = None
    prompt_template: str | None = None  # None: each row's preset's, else the default template
    cell_px: int | None = None
    resume: bool = False
    overwrite: bool = False
    redo_changed: bool = False  # with resume: redo the rows made with other settings instead of refusing
    skip_errors: bool = False  # with resume: leave rows whose error is permanent (ErrorKind.INPUT)
    embed_svg: bool = False  # each SVG in the index's `svg` column too
    store_failures: int = 5  # connection failures in a row on one store that stop the job (pipeline/breaker.py)
    address: str | None = None  # None: a new local Ray; "auto" or host:port / ray://: join a cluster
    gpu_actors: int = 1
    cpu_actors: int | None = None  # None: every CPU of the cluster not taken by GPU actors
    batch_size: int = 4
    index_rows_per_file: int = 256
    actor_start_timeout_s: int = 900  # a pool that cannot start (no GPU node ever joins) fails instead of hanging
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("gpu_actors", "batch_size", "index_rows_per_file", "store_failures"):
            if getattr(self, name) < 1:
                raise UserError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.cpu_actors is not None and self.cpu_actors < 1:
            raise UserError(f"cpu_actors must be at least 1, got {self.cpu_actors}")
        if self.resume and self.overwrite:
            raise UserError("resume and overwrite contradict each other; pick one")
        for name in ("redo_changed", "skip_errors"):
            if getattr(self, name) and not self.resume:
                raise UserError(f"{name} applies to a resumed job only (set resume)")
        if self.trace.workers != 1:
            # Each CPU actor holds one CPU of Ray's; helper processes of its own would take cores Ray gave others.
            raise UserError(
                f"trace workers must be 1 in a batch job (got {self.trace.workers}): it already traces one icon per "
                "CPU actor; raise cpu_actors instead"
            )


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    ok: int
    error: int
    seconds: float
    index_uri: str

    def line(self) -> str:
        rows = self.ok + self.error
        rate = rows / self.seconds if self.seconds > 0 else 0.0
        return (f"{self.ok} ok, {self.error} error of {rows} rows in {self.seconds:.1f} s ({rate:.2f} rows/s); "
                f"index: {self.index_uri}")


def run_job(options: RunOptions) -> RunSummary:
    """Run the whole job (connecting to Ray if needed) and count what this run wrote."""
    settings = job_settings(options)
    sources = plan_sources(list(options.manifests), manifest_options(options, settings))
    prepare_out(options)
    resume = plan_resume(options, settings)
    connect(options.address)
    check_gpus(options)
    run_id = f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    store_breaker = breaker.start_breaker(options.store_failures)
    dataset = build_dataset(options, sources, cpu_actors=options.cpu_actors or default_cpu_actors(options),
                            settings=settings, resume=resume, store_breaker=store_breaker)
    started = time.perf_counter()
    try:
        write_index(dataset, options, run_id)
    except Exception:
        message = breaker.tripped(store_breaker)
        if message is None:
            raise
        raise breaker.StoreDown(message) from None
    seconds = time.perf_counter() - started
    recovery.remove_partial_writes(options.out_uri, layout.ROW_OUTPUT_DIRS, options.storage_options)
    counts = index.run_counts(options.out_uri, run_id, options.storage_options)
    return RunSummary(run_id, counts.get("ok", 0), counts.get("error", 0), seconds, layout.index_uri(options.out_uri))


def manifest_options(options: RunOptions, settings: str = "") -> ManifestOptions:
    return ManifestOptions(format=options.format, default_frames=options.default_frames,
                           has_model=options.model is not None, storage_options=options.storage_options,
                           settings=settings)


def plan_resume(options: RunOptions, settings: str) -> index.IndexSnapshot | None:
    """With --resume: the index as it is now, after checking that the rows it keeps were made with `settings`."""
    if not options.resume:
        return None
    resume = index.snapshot(options.out_uri, options.storage_options, options.skip_errors)
    if not options.redo_changed and not resume.all_made_with(settings, options.storage_options):
        check_resume(resume.recorded_settings(options.storage_options), settings)
    return resume


def prepare_out(options: RunOptions) -> None:
    """Refuse to mix runs by accident; --overwrite clears our layout; check OUT is writable before starting."""
    out, storage_options = options.out_uri, options.storage_options
    if out.startswith("memory://"):
        raise UserError(f"{out}: memory:// lives inside one process; Ray workers cannot write to it")
    if index.has_index(out, storage_options):
        if options.overwrite:
            fs, path = storage.filesystem(out, storage_options)
            for name in layout.RUN_DIRS:
                if fs.exists(f"{path}/{name}"):
                    fs.rm(f"{path}/{name}", recursive=True)
        elif not options.resume:
            raise UserError(f"{out} already has an index; pass --resume to finish that job, "
                            "or --overwrite to start over")
    probe = storage.join(out, f".write-probe-{uuid.uuid4().hex}")
    storage.write_bytes_atomic(probe, b"", storage_options)
    fs, path = storage.filesystem(probe, storage_options)
    fs.rm(path)


def connect(address: str | None) -> None:
    """Join `address`, or start a new local Ray with every CPU (never a cluster found by accident)."""
    import ray

    if ray.is_initialized():
        return
    if address:
        ray.init(address=address)
    else:
        ray.init(address="local", include_dashboard=False)


def check_gpus(options: RunOptions) -> None:
    """A local Ray without GPUs can never run the sampling actors: say so now rather than wait."""
    import ray

    if options.model is not None and options.address is None and not ray.cluster_resources().get("GPU"):
        raise UserError("--model needs a GPU for the sampling actors and this machine's Ray has none "
                        "(use `layertracer generate` on a CPU, or --address to join a GPU cluster)")


def default_cpu_actors(options: RunOptions) -> int:
    import ray

    cpus = int(ray.cluster_resources().get("CPU", 1))
    return max(1, cpus - (options.gpu_actors if options.model else 0))


def build_dataset(
    options: RunOptions, sources: list[ManifestSource], cpu_actors: int, settings: str = "",
    resume: index.IndexSnapshot | None = None, store_breaker: Any = None,
) -> ray.data.Dataset:
    """The lazy Dataset of index rows: read -> (sample) -> vectorize."""
    import ray.data
    from ray.data import ActorPoolStrategy

    from layertracer.pipeline.reader import ManifestDatasource

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = options.progress
    context.wait_for_min_actors_s = options.actor_start_timeout_s
    recovery.configure(context)
    dataset = ray.data.read_datasource(
        ManifestDatasource(sources, manifest_options(options, settings), resume),
        override_num_blocks=max(READ_BLOCKS, 8 * (cpu_actors + options.gpu_actors)), num_cpus=0,
    )
    if options.model is not None:
        sample = SampleOptions(
            options.model, options.inputs, options.storage_options, max_batch=options.batch_size,
            prompt_template=options.prompt_template, cell_px=options.cell_px, breaker=store_breaker,
        )
        dataset = dataset.map_batches(
            Sample, fn_constructor_args=(sample,), batch_size=options.batch_size, batch_format="pyarrow",
            compute=ActorPoolStrategy(size=options.gpu_actors), num_gpus=1,
        )
    model = options.model
    vectorize = VectorizeOptions(
        options.out_uri, options.inputs, options.storage_options, options.trace, model and model.model,
        model and model.lora_label(), settings=settings, embed_svg=options.embed_svg, breaker=store_breaker,
    )
    return dataset.map_batches(
        Vectorize, fn_constructor_args=(vectorize,), batch_size=options.batch_size, batch_format="pyarrow",
        compute=ActorPoolStrategy(min_size=1, max_size=cpu_actors, initial_size=cpu_actors), num_cpus=1,
    )


def write_index(dataset: ray.data.Dataset, options: RunOptions, run_id: str) -> None:
    """Execute the job: Ray's Parquet writer streams index rows to OUT/index/{run_id}_*.parquet."""
    from ray.data.datasource import FilenameProvider

    filesystem, path = index.arrow_filesystem(layout.index_uri(options.out_uri), options.storage_options)
    dataset.write_parquet(
        path, filesystem=filesystem, filename_provider=FilenameProvider(dataset_uuid=run_id, file_format="parquet"),
        min_rows_per_file=options.index_rows_per_file, concurrency=WRITE_CONCURRENCY, ray_remote_args={"num_cpus": 0},
    )
