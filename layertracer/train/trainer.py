"""LoRA training of the Flux transformer on creation grids (text -> grid, or Image2Layers), one process or one
Ray Train worker.

Reads top to bottom like the algorithm: load the pipeline (frozen, bf16 on GPU) -> add a peft LoRA (fp32) ->
for each step: encode captions and grids (no grad) -> noise to a sampled sigma -> predict the velocity ->
masked flow-matching loss -> accumulate -> clip, step -> log, checkpoint. Distributed runs pass a
`prepare_model` (DDP) and a rank; only rank 0 writes.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow as pa
import torch

from layertracer.errors import UserError
from layertracer.grid import split_grid
from layertracer.models.denoise import MAX_SEQUENCE_LENGTH
from layertracer.models.image2layers import encode_cells
from layertracer.models.latents import VAE_SCALE, cell_token_indices
from layertracer.models.loading import LORA_REFERENCE_KEY, ModelConfig, load_pipeline, resolve_device
from layertracer.train import checkpoint
from layertracer.train.data import GridBatch, decode_batch
from layertracer.train.flow import flow_loss, noise_batch, sample_timesteps
from layertracer.train.options import TrainOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """Where the LoRA went, the step reached, and the logged losses of this run (main process)."""

    lora_uri: str
    step: int
    losses: list[float]


def add_lora(transformer, options: TrainOptions) -> list[torch.nn.Parameter]:
    """Freeze the transformer, add the trainable adapter (fp32, B = 0 so training starts at the base model)."""
    from peft import LoraConfig

    transformer.requires_grad_(False)
    config = LoraConfig(
        r=options.rank,
        lora_alpha=options.lora_alpha,
        lora_dropout=options.dropout,
        init_lora_weights="gaussian",
        target_modules=list(options.target_modules),
    )
    try:
        transformer.add_adapter(config)
    except ValueError as exc:
        raise UserError(f"cannot add the LoRA: {exc}") from None
    params = [p for p in transformer.parameters() if p.requires_grad]
    for p in params:
        p.data = p.data.float()
    return params


def make_optimizer(params: list[torch.nn.Parameter], options: TrainOptions):
    """AdamW, or Prodigy (learning-rate free: pass --lr 1.0) as diffusers' scripts offer."""
    if options.optimizer == "prodigy":
        try:
            from prodigyopt import Prodigy
        except ImportError:
            raise UserError("--optimizer prodigy needs the prodigyopt package (pip install prodigyopt)") from None
        return Prodigy(params, lr=options.lr, weight_decay=options.weight_decay, safeguard_warmup=True)
    return torch.optim.AdamW(params, lr=options.lr, weight_decay=options.weight_decay)


@torch.no_grad()
def encode_inputs(pipe, batch: GridBatch, mode: str) -> dict:
    """Frozen parts, no grad: captions -> text embeddings; grids -> clean tokens; image2layers -> reference tokens."""
    device = pipe._execution_device
    prompt_embeds, pooled, text_ids = pipe.encode_prompt(
        prompt=batch.captions, prompt_2=None, device=device, max_sequence_length=MAX_SEQUENCE_LENGTH
    )
    canvas = batch.grids.shape[1]
    clean = encode_cells(pipe, list(batch.grids))
    latent_side = canvas // VAE_SCALE
    inputs = {
        "clean": clean,
        "prompt_embeds": prompt_embeds,
        "pooled": pooled,
        "text_ids": text_ids,
        "img_ids": pipe._prepare_latent_image_ids(
            len(batch.captions), latent_side // 2, latent_side // 2, device, clean.dtype
        ),
        "reference": None,
        "reference_indices": None,
    }
    if mode == "image2layers":
        # The reference is encoded on its own, as at sampling time, not cut out of the grid's latents.
        inputs["reference"] = encode_cells(pipe, [split_grid(grid, batch.spec)[-1] for grid in batch.grids])
        inputs["reference_indices"] = cell_token_indices(canvas, canvas, batch.spec, -1).to(device)
    return inputs


def compute_loss(
    model, scheduler, inputs: dict, options: TrainOptions, generator: torch.Generator, guidance_embeds: bool
) -> torch.Tensor:
    """One forward pass of the flow-matching objective for a batch of encoded inputs (see `encode_inputs`)."""
    clean = inputs["clean"]
    batch_size = clean.shape[0]
    timesteps, sigmas = sample_timesteps(scheduler, batch_size, options.flow, generator)
    noise = torch.randn(clean.shape, generator=generator, dtype=torch.float32).to(clean.device, clean.dtype)
    noised = noise_batch(clean, noise, timesteps, sigmas, inputs["reference"], inputs["reference_indices"])
    guidance = None
    if guidance_embeds:
        guidance = torch.full((batch_size,), options.guidance, device=clean.device, dtype=torch.float32)
    with _autocast(clean.device):
        prediction = model(
            hidden_states=noised.noisy,
            timestep=(timesteps / 1000.0).to(clean.device),
            guidance=guidance,
            pooled_projections=inputs["pooled"],
            encoder_hidden_states=inputs["prompt_embeds"],
            txt_ids=inputs["text_ids"],
            img_ids=inputs["img_ids"],
            return_dict=False,
        )[0]
    return flow_loss(prediction, noised, options.flow)


def apply_update(params: list[torch.nn.Parameter], optimizer, lr_schedule, max_grad_norm: float) -> None:
    """Clip the accumulated LoRA gradients, step the optimizer and the LR schedule, clear the gradients."""
    torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
    optimizer.step()
    lr_schedule.step()
    optimizer.zero_grad(set_to_none=True)


def lora_metadata(options: TrainOptions) -> dict[str, str]:
    """What the saved LoRA records of this run: an image2layers run kept the last cell clean at every sigma, so
    the sampler must pin it clean too (models.loading.image2layers_reference reads this)."""
    return {LORA_REFERENCE_KEY: "clean"} if options.mode == "image2layers" else {}


def enable_checkpointing(transformer, interval: int = 1) -> None:
    """Gradient checkpointing on every `interval`-th transformer block (double-stream, then single-stream, in
    order): those recompute their activations in the backward pass, the others keep them. 1 uses the least
    memory; 2 trades about half of the extra memory that no checkpointing costs for about half of its speed gain
    (SimpleTuner's `gradient_checkpointing_interval`; measured in benchmarks/train_step.py)."""
    blocks = [*transformer.transformer_blocks, *transformer.single_transformer_blocks]
    recomputed = {id(block) for block in blocks[::interval]}

    def checkpoint(block, *args):
        if id(block) in recomputed:
            return torch.utils.checkpoint.checkpoint(block.__call__, *args, use_reentrant=False)
        return block(*args)

    transformer.enable_gradient_checkpointing(checkpoint)


def avoid_cudnn_attention() -> None:
    """Leave cuDNN out of scaled-dot-product attention for training: its fused attention fails in the full-size
    Flux transformer's backward, and flash and memory-efficient attention compute the same thing. Process-wide,
    which suits a process that only trains; no effect on the CPU."""
    # Seen on an H100 with torch 2.11 and cuDNN 9.19 (benchmarks/train_step.py): `mha_graph.execute(...).is_good()`
    # or an illegal memory access in the backward pass.
    torch.backends.cuda.enable_cudnn_sdp(False)


def _autocast(device: torch.device):
    """bf16 matmuls for the fp32 LoRA layers on GPU; on CPU everything stays fp32."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def train(
    options: TrainOptions,
    batches: Iterator[pa.Table],
    *,
    resume_from: str | None = None,
    rank: int = 0,
    device: str | None = None,
    prepare_model: Callable | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train (from `resume_from`, see `resume_point`) to `options.steps`; rank 0 writes checkpoints, log and LoRA."""
    main = rank == 0
    parts = prepare_training(options, device, rank)
    pipe, transformer, params = parts.pipe, parts.pipe.transformer, parts.params
    optimizer, lr_schedule, generator, scheduler = parts.optimizer, parts.lr_schedule, parts.generator, parts.scheduler
    step, history = 0, []
    if resume_from:
        step, history = _restore(options, resume_from, transformer, optimizer, lr_schedule, generator)
    model = prepare_model(transformer) if prepare_model else transformer
    guidance_embeds = bool(transformer.config.guidance_embeds)
    losses: list[float] = []
    bar = _progress_bar(options, step, enabled=main and progress)
    while step < options.steps:
        started = time.perf_counter()
        loss_sum = 0.0
        for micro in range(options.grad_accum):
            batch = decode_batch(next(batches), options.cell_px)
            inputs = encode_inputs(pipe, batch, options.mode)
            sync = micro == options.grad_accum - 1
            with (contextlib.nullcontext() if sync or not hasattr(model, "no_sync") else model.no_sync()):
                loss = compute_loss(model, scheduler, inputs, options, generator, guidance_embeds)
                (loss / options.grad_accum).backward()
            loss_sum += float(loss.detach())
        apply_update(params, optimizer, lr_schedule, options.max_grad_norm)
        step += 1
        mean_loss = _mean_over_workers(loss_sum / options.grad_accum)
        losses.append(mean_loss)
        history.append({"step": step, "loss": mean_loss, "lr": lr_schedule.get_last_lr()[0],
                        "s_per_step": round(time.perf_counter() - started, 4)})
        bar.update(1)
        bar.set_postfix(loss=f"{mean_loss:.4f}")
        if main and (step % options.checkpoint_every == 0 or step == options.steps):
            state = {"step": step, "optimizer": optimizer.state_dict(), "lr_schedule": lr_schedule.state_dict(),
                     "generator": generator.get_state()}
            checkpoint.save_checkpoint(
                options.out, step, transformer, state, options.keep_checkpoints, options.storage_options,
                lora_metadata(options),
            )
            checkpoint.write_log(options.out, history, options.storage_options)
    bar.close()
    if main:
        checkpoint.save_lora(transformer, options.out, options.storage_options, lora_metadata(options))
        checkpoint.write_log(options.out, history, options.storage_options)
    return TrainResult(lora_uri=options.out, step=step, losses=losses)


@dataclass(frozen=True)
class TrainingParts:
    """The frozen pipeline with its trainable adapter, and what updates it."""

    pipe: object
    params: list
    scheduler: object
    optimizer: torch.optim.Optimizer
    lr_schedule: object
    generator: torch.Generator


def prepare_training(options: TrainOptions, device: str | None, rank: int) -> TrainingParts:
    """Load the pipeline (bf16 on GPU), freeze it, add the LoRA, gradient checkpointing, optimizer and schedule."""
    from diffusers import FlowMatchEulerDiscreteScheduler
    from diffusers.optimization import get_scheduler

    device = resolve_device(device or options.device)
    avoid_cudnn_attention()
    config = ModelConfig(model=options.model, device=device, allow_download=options.allow_download)
    pipe = load_pipeline(config)
    for module in (pipe.vae, pipe.text_encoder, pipe.text_encoder_2):
        module.requires_grad_(False)
    params = add_lora(pipe.transformer, options)
    if options.gradient_checkpointing:
        enable_checkpointing(pipe.transformer, options.gradient_checkpointing_interval)
    pipe.transformer.train()
    optimizer = make_optimizer(params, options)
    lr_schedule = get_scheduler(
        "constant_with_warmup", optimizer, num_warmup_steps=options.lr_warmup_steps, num_training_steps=options.steps
    )
    return TrainingParts(
        pipe=pipe,
        params=params,
        # A copy: the training table of 1000 timesteps/sigmas, untouched by any set_timesteps call.
        scheduler=FlowMatchEulerDiscreteScheduler.from_config(pipe.scheduler.config),
        optimizer=optimizer,
        lr_schedule=lr_schedule,
        generator=torch.Generator().manual_seed(options.seed * 1000 + rank),
    )


def resume_point(options: TrainOptions) -> str | None:
    """The checkpoint to resume from (decided once, before any worker starts writing), or None for a fresh run."""
    found = checkpoint.complete_checkpoints(options.out, options.storage_options)
    if found and not options.resume:
        raise UserError(f"{options.out} already has training checkpoints: pass --resume, or choose another --out")
    return found[-1] if found else None


def _restore(options: TrainOptions, uri: str, transformer, optimizer, lr_schedule, generator) -> tuple[int, list[dict]]:
    """(step, log up to that step) after loading the adapter, optimizer, LR schedule and RNG from a checkpoint."""
    checkpoint.load_lora_state(transformer, uri, options.storage_options)
    state = checkpoint.load_training_state(uri, options.storage_options)
    optimizer.load_state_dict(state["optimizer"])
    lr_schedule.load_state_dict(state["lr_schedule"])
    generator.set_state(state["generator"])
    step = int(state["step"])
    history = [e for e in checkpoint.read_log(options.out, options.storage_options) if e["step"] <= step]
    log.info("resuming from %s at step %d", uri, step)
    return step, history


def _mean_over_workers(value: float) -> float:
    """The loss averaged over DDP workers (what the update actually used); the value itself in one process."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return value
    tensor = torch.tensor([value], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        tensor = tensor.cuda()
    dist.all_reduce(tensor)
    return float(tensor.item()) / dist.get_world_size()


def _progress_bar(options: TrainOptions, step: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=options.steps, initial=step, desc="train", unit="step", disable=not enabled)


def train_in_process(options: TrainOptions) -> TrainResult:
    """Single-process training reading the Parquet dataset directly (no Ray)."""
    from layertracer.train.data import parquet_batches

    resume_from = resume_point(options)
    batches = parquet_batches(
        options.data_uri, options.batch_size, options.seed, options.shuffle_buffer, options.storage_options
    )
    return train(options, batches, resume_from=resume_from)
