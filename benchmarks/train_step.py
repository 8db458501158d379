"""LoRA training step: our flow-matching step against a bare diffusers-script step, on the full-size Flux transformer.

Full size, no download: FLUX.1-dev's transformer (12B, its config) with random bf16 weights created on the GPU, a
rank-64 LoRA on the default targets (attention + MLPs of every block, fp32, AdamW), gradient checkpointing, a
1024 px 2x2 grid (4096 image tokens) and 512 T5 tokens. The text and VAE encoders are left out: their cost is
the same no-grad forward in any trainer. Rows: our step (layertracer.train: timestep density, masked loss,
autocast, clip, AdamW) at batch 1 and 2; the same at batch 1 in image2layers mode; the same without gradient
checkpointing; and the bare step as the diffusers Flux LoRA script writes it (uniform u, plain MSE) for the ratio.
Prints s/step, steps/s, image tokens/s, achieved TFLOP/s, peak GPU memory, and the ratio to the bare step.

Targets on one H100: peak <= 40 GiB at batch 1 (fits an A100-40G), >= 1 step/s at batch 1.

Needs one CUDA GPU with >= 40 GiB; without one it says why and exits 0. `--smoke` runs the same rows on the tiny
CPU transformer, to check the script itself (its numbers mean nothing).

    python -m benchmarks.train_step [--repeats 5] [--batch-sizes 1,2] [--rank 64] [--json OUT.json] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.gpu import cuda_or_skip, forward_flops, timed

TEXT_TOKENS = 512  # T5 length FLUX.1-dev is sampled and trained with


@dataclass
class Row:
    name: str
    batch: int
    s_per_step: float
    steps_per_s: float
    tokens_per_s: float
    tflops: float
    peak_gib: float
    vs_bare: float | None = None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per row after two warm-up steps (median)")
    parser.add_argument("--batch-sizes", default="1,2", help="batch sizes for our step")
    parser.add_argument("--rank", type=int, default=64, help="LoRA rank (default 64)")
    parser.add_argument("--intervals", default="2,3,0",
                        help="gradient checkpointing intervals for extra batch-1 text rows (0: none)")
    parser.add_argument("--smoke", action="store_true", help="tiny CPU transformer: checks the script, not speed")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    return parser.parse_args(argv)


def build_transformer(device: str, smoke: bool):
    """FLUX.1-dev's transformer with random bf16 weights made on `device` (or the tiny one for --smoke)."""
    import torch
    from diffusers import FluxTransformer2DModel

    if smoke:
        from layertracer.testing.tiny_flux import build_tiny_pipeline

        folder = build_tiny_pipeline(Path(tempfile.mkdtemp(prefix="lt-bench-")) / "tiny")
        return FluxTransformer2DModel.from_pretrained(folder, subfolder="transformer")
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)  # never materialize 48 GB of fp32 weights first
    try:
        with torch.device(device):
            return FluxTransformer2DModel(guidance_embeds=True)  # the defaults are FLUX.1-dev's
    finally:
        torch.set_default_dtype(previous)


def make_inputs(transformer, batch: int, canvas_px: int, text_tokens: int, mode: str, device: str) -> dict:
    """What `trainer.encode_inputs` returns, with random values of the real shapes."""
    import torch
    from diffusers import FluxPipeline

    from layertracer.grid import GridSpec
    from layertracer.models.latents import TOKEN_PX, cell_token_indices

    config = transformer.config
    dtype = transformer.dtype
    side = canvas_px // TOKEN_PX
    inputs = {
        "clean": torch.randn(batch, side * side, config.in_channels, device=device, dtype=dtype),
        "prompt_embeds": torch.randn(batch, text_tokens, config.joint_attention_dim, device=device, dtype=dtype),
        "pooled": torch.randn(batch, config.pooled_projection_dim, device=device, dtype=dtype),
        "text_ids": torch.zeros(text_tokens, 3, device=device, dtype=dtype),
        "img_ids": FluxPipeline._prepare_latent_image_ids(batch, side, side, device, dtype),
        "reference": None,
        "reference_indices": None,
    }
    if mode == "image2layers":
        indices = cell_token_indices(canvas_px, canvas_px, GridSpec(4), -1).to(device)
        inputs["reference"] = torch.randn(batch, len(indices), config.in_channels, device=device, dtype=dtype)
        inputs["reference_indices"] = indices
    return inputs


def measure(name: str, batch: int, step: Callable[[], None], repeats: int, tokens: int, flops: float) -> Row:
    seconds, peak = timed(step, repeats, warmups=2)
    return Row(name, batch, seconds, 1 / seconds, batch * tokens / seconds, batch * flops / seconds / 1e12, peak)


def our_step(transformer, params, optimizer, lr_schedule, scheduler, options, inputs, generator) -> Callable[[], None]:
    from layertracer.train.trainer import apply_update, compute_loss

    def run() -> None:
        loss = compute_loss(transformer, scheduler, inputs, options, generator, transformer.config.guidance_embeds)
        loss.backward()
        apply_update(params, optimizer, lr_schedule, options.max_grad_norm)

    return run


def bare_step(transformer, params, optimizer, inputs) -> Callable[[], None]:
    """The diffusers Flux LoRA script's step, reduced to the transformer: uniform t, plain MSE, clip, AdamW."""
    import torch
    import torch.nn.functional as F

    clean = inputs["clean"]
    batch = clean.shape[0]

    def run() -> None:
        sigmas = torch.rand(batch, device=clean.device)
        noise = torch.randn_like(clean)
        noisy = (1 - sigmas.view(-1, 1, 1).to(clean.dtype)) * clean + sigmas.view(-1, 1, 1).to(clean.dtype) * noise
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=clean.is_cuda):
            prediction = transformer(
                hidden_states=noisy, timestep=sigmas, guidance=torch.full((batch,), 3.5, device=clean.device),
                pooled_projections=inputs["pooled"], encoder_hidden_states=inputs["prompt_embeds"],
                txt_ids=inputs["text_ids"], img_ids=inputs["img_ids"], return_dict=False,
            )[0]
        loss = F.mse_loss(prediction.float(), (noise - clean).float())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return run


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    if not cuda_or_skip("train_step", args.smoke):
        return 0
    from diffusers import FlowMatchEulerDiscreteScheduler
    from diffusers.optimization import get_scheduler

    from layertracer.train.options import TrainOptions
    from layertracer.train.trainer import add_lora, avoid_cudnn_attention, enable_checkpointing, make_optimizer

    device = "cpu" if args.smoke else "cuda"
    avoid_cudnn_attention()  # as layertracer.train does; the bare step would fail without it too
    canvas, text_tokens = (128, 16) if args.smoke else (1024, TEXT_TOKENS)
    rank = 4 if args.smoke else args.rank
    transformer = build_transformer(device, args.smoke)
    options = TrainOptions(data_uri="-", model="-", out="-", rank=rank, lr=1e-5, steps=10**6)
    params = add_lora(transformer, options)
    transformer.train()
    optimizer = make_optimizer(params, options)
    lr_schedule = get_scheduler("constant", optimizer)
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=True)
    generator = torch.Generator().manual_seed(0)
    image_tokens = (canvas // 16) ** 2
    name = torch.cuda.get_device_name() if not args.smoke else "cpu (smoke)"
    lora_params = sum(p.numel() for p in params)
    print(f"train_step on {name}: {canvas} px grid ({image_tokens} image + {text_tokens} text tokens), "
          f"LoRA rank {rank} ({lora_params / 1e6:.1f} M params), AdamW, {args.repeats} timed steps per row")

    def row(label: str, batch: int, mode: str, interval: int, bare: bool = False) -> Row:
        """`interval`: gradient checkpointing on every Nth block; 0: none."""
        if interval:
            enable_checkpointing(transformer, interval)
        else:
            transformer.disable_gradient_checkpointing()
        inputs = make_inputs(transformer, batch, canvas, text_tokens, mode, device)
        step = (
            bare_step(transformer, params, optimizer, inputs)
            if bare
            else our_step(transformer, params, optimizer, lr_schedule, scheduler, options, inputs, generator)
        )
        # Backward costs twice the forward; checkpointing recomputes (about) 1/interval of the forward once more.
        flops = forward_flops(transformer, image_tokens + text_tokens) * (3 + (1 / interval if interval else 0))
        result = measure(label, batch, step, args.repeats, image_tokens, flops)
        del inputs, step
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return result

    rows = [row("bare diffusers-script step, grad ckpt", 1, "text", 1, bare=True)]
    for batch in (int(b) for b in args.batch_sizes.split(",") if b.strip()):
        rows.append(row("layertracer text, grad ckpt", batch, "text", 1))
    rows.append(row("layertracer image2layers, grad ckpt", 1, "image2layers", 1))
    for interval in (int(i) for i in args.intervals.split(",") if i.strip()):
        try:
            rows.append(row(f"layertracer text, grad ckpt every {interval} blocks" if interval else
                            "layertracer text, no grad ckpt", 1, "text", interval))
        except torch.cuda.OutOfMemoryError:
            print(f"(gradient checkpointing interval {interval}: out of GPU memory at batch 1)")
    bare = rows[0].s_per_step
    for r in rows:
        r.vs_bare = (r.s_per_step / r.batch) / bare
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 0


def print_table(rows: list[Row]) -> None:
    print("| step | batch | s/step | steps/s | img tokens/s | TFLOP/s | peak GiB | s/sample vs bare |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r.name} | {r.batch} | {r.s_per_step:.3f} | {r.steps_per_s:.2f} | {r.tokens_per_s:,.0f} | "
              f"{r.tflops:.0f} | {r.peak_gib:.1f} | {r.vs_bare:.2f} |")


if __name__ == "__main__":
    sys.exit(main())
