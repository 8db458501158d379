"""Many-GPU LoRA training: Ray Train `TorchTrainer` workers (DDP), each reading its shard of the dataset via Ray Data.

Every worker runs the same `trainer.train` loop as a single process, with the transformer wrapped by
`ray.train.torch.prepare_model` (DDP: gradients of the LoRA parameters are averaged across workers) and its own
shard of the ok rows. Rank 0 writes checkpoints, the log and the LoRA to OUT, which must therefore be a path
every node sees or an object-store URI. Where to resume is decided once, on the driver, before workers start.
"""

from __future__ import annotations

from dataclasses import dataclass

from layertracer import storage
from layertracer.train.checkpoint import read_log
from layertracer.train.data import COLUMNS, data_path, shard_batches
from layertracer.train.options import TrainOptions
from layertracer.train.trainer import TrainResult, resume_point, train


@dataclass(frozen=True)
class ClusterOptions:
    """How many Ray Train workers and what each gets; `storage_path` holds Ray Train's own run records."""

    workers: int = 1
    use_gpu: bool | None = None  # None: when the cluster has GPUs
    cpus_per_worker: float = 1.0
    storage_path: str | None = None
    max_failures: int = 0


def training_rows(options: TrainOptions):
    """The dataset's ok rows as a Ray Dataset (only the columns training reads)."""
    import ray.data
    from pyarrow.fs import FSSpecHandler, PyFileSystem
    from ray.data.expressions import col

    uri = data_path(options.data_uri)
    fs, path = storage.filesystem(uri, options.storage_options)
    rows = ray.data.read_parquet(path, filesystem=PyFileSystem(FSSpecHandler(fs)))
    return rows.select_columns([*COLUMNS, "status"]).filter(expr=col("status") == "ok").select_columns(COLUMNS)


def _worker_loop(config: dict) -> None:
    """Runs inside each Ray Train worker."""
    import ray.train
    import ray.train.torch

    options: TrainOptions = config["options"]
    rank = ray.train.get_context().get_world_rank()
    shard = ray.train.get_dataset_shard("train")
    batches = shard_batches(shard, options.batch_size, options.seed + rank, options.shuffle_buffer)
    result = train(
        options,
        batches,
        resume_from=config["resume_from"],
        rank=rank,
        device=str(ray.train.torch.get_device()),
        prepare_model=ray.train.torch.prepare_model,
        progress=rank == 0,
    )
    ray.train.report({"step": result.step, "last_loss": result.losses[-1] if result.losses else None})


def train_on_ray(options: TrainOptions, cluster: ClusterOptions) -> TrainResult:
    """Fit on the connected Ray cluster; the LoRA is at `options.out` when this returns."""
    import ray
    from ray.train import FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from layertracer.errors import UserError

    use_gpu = cluster.use_gpu
    if use_gpu is None:
        use_gpu = ray.cluster_resources().get("GPU", 0) >= cluster.workers
    resume_from = resume_point(options)
    trainer = TorchTrainer(
        _worker_loop,
        train_loop_config={"options": options, "resume_from": resume_from},
        scaling_config=ScalingConfig(
            num_workers=cluster.workers, use_gpu=use_gpu, resources_per_worker={"CPU": cluster.cpus_per_worker}
        ),
        datasets={"train": training_rows(options)},
        run_config=RunConfig(
            name="layertracer-lora",
            storage_path=cluster.storage_path,
            failure_config=FailureConfig(max_failures=cluster.max_failures),
        ),
    )
    try:
        result = trainer.fit()
    except Exception as exc:  # Ray wraps worker errors; a UserError inside is the user's message
        cause = _user_error_in(exc)
        if cause is not None:
            raise UserError(str(cause)) from None
        raise
    del result  # rank 0 wrote what there is to know: the LoRA and its log
    entries = read_log(options.out, options.storage_options)
    step = entries[-1]["step"] if entries else 0
    return TrainResult(lora_uri=options.out, step=step, losses=[e["loss"] for e in entries])


def _user_error_in(exc: BaseException):
    from layertracer.errors import UserError

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, UserError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None
