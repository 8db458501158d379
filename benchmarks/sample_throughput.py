"""Sampling throughput: our FluxSampler against a bare diffusers FluxPipeline call on the same components.

Full size, no download: FLUX.1-dev's transformer architecture (12B, from its config) with random bf16 weights,
a VAE, CLIP-L and T5-XXL of the real shapes (tokenizers from the tiny builder: token ids differ, sequence lengths
do not, since CLIP pads to 77 and T5 to 512). A 1056 px 9-frame grid at 25 steps. Prints seconds per grid,
denoising steps/s, achieved TFLOP/s, peak GPU memory and the ratio to the bare pipeline measured in this run,
then batch 2/4, two stacked LoRAs fused (rank 16 on every attention projection: must cost nothing per step),
the transformer and T5 stored in fp8 e4m3 with bf16 compute (peak memory, and the mean pixel difference of
the grid from the bf16 one), and torch.compile.

Needs one CUDA GPU with >= 40 GiB; without one it says why and exits 0. `--smoke` runs the same measurements on
the tiny CPU pipeline, to check the script itself (its numbers mean nothing).

    python -m benchmarks.sample_throughput [--repeats 2] [--batch-sizes 1,2,4] [--no-compile] [--no-fp8]
        [--no-lora] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.gpu import cuda_or_skip, forward_flops, timed

SUBJECT = "a red fox head"
# FLUX.1-dev's VAE, CLIP ViT-L/14 text tower and T5 v1.1 XXL encoder: the shapes that set the cost.
FLUX_VAE = dict(
    in_channels=3, out_channels=3, latent_channels=16, layers_per_block=2, norm_num_groups=32,
    block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4, scaling_factor=0.3611, shift_factor=0.1159,
    use_quant_conv=False, use_post_quant_conv=False, mid_block_add_attention=True, sample_size=1024,
)
CLIP_L = dict(
    hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
    max_position_embeddings=77, vocab_size=49408, projection_dim=768, hidden_act="quick_gelu",
)
T5_XXL = dict(
    d_model=4096, d_ff=10240, d_kv=64, num_heads=64, num_layers=24, vocab_size=32128,
    feed_forward_proj="gated-gelu", relative_attention_num_buckets=32, dropout_rate=0.0,
)


@dataclass
class Row:
    name: str
    batch: int
    s_per_grid: float
    steps_per_s: float
    tflops: float
    peak_gib: float
    vs_bare: float | None = None
    pixel_diff: float | None = None  # mean |grid - bf16 grid| in 8-bit levels (the fp8 row)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per row after one warm-up (median)")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--frames", type=int, choices=(4, 9), default=9)
    parser.add_argument("--batch-sizes", default="1,2,4", help="FluxSampler batch sizes to time")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile row")
    parser.add_argument("--no-lora", action="store_true", help="skip the stacked-LoRA row")
    parser.add_argument("--no-fp8", action="store_true", help="skip the fp8 row")
    parser.add_argument("--smoke", action="store_true", help="tiny CPU pipeline: checks the script, not speed")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    return parser.parse_args(argv)


def build_full_size_pipeline(tokenizer_dir: str, device: str):
    """FluxPipeline with FLUX.1-dev shapes and random bf16 weights, created directly on `device`."""
    import torch
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer, T5Config, T5EncoderModel, T5TokenizerFast

    tokenizer = CLIPTokenizer.from_pretrained(f"{tokenizer_dir}/tokenizer")
    tokenizer_2 = T5TokenizerFast.from_pretrained(f"{tokenizer_dir}/tokenizer_2")
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)  # never materialize 48 GB of fp32 weights first
    try:
        with torch.device(device):
            transformer = FluxTransformer2DModel(guidance_embeds=True)  # the defaults are FLUX.1-dev's
            vae = AutoencoderKL(**FLUX_VAE)
            clip = CLIPTextModel(CLIPTextConfig(
                **CLIP_L, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
            ))
            t5 = T5EncoderModel(T5Config(**T5_XXL))
    finally:
        torch.set_default_dtype(previous)
    for module in (transformer, vae, clip, t5):
        module.eval().requires_grad_(False)
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15,
        base_image_seq_len=256, max_image_seq_len=4096,
    )
    pipe = FluxPipeline(
        scheduler=scheduler, vae=vae, text_encoder=clip, tokenizer=tokenizer,
        text_encoder_2=t5, tokenizer_2=tokenizer_2, transformer=transformer,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def write_random_lora(transformer, path: Path, rank: int = 16, seed: int = 0) -> str:
    """A diffusers-format LoRA of `rank` on every attention q/k/v/out projection of `transformer` (random weights)."""
    import torch
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    for name, module in transformer.named_modules():
        if isinstance(module, torch.nn.Linear) and name.split(".attn.")[-1] in ("to_q", "to_k", "to_v", "to_out.0"):
            tensors[f"transformer.{name}.lora_A.weight"] = torch.randn(rank, module.in_features, generator=generator)
            tensors[f"transformer.{name}.lora_B.weight"] = torch.randn(module.out_features, rank, generator=generator)
    save_file({k: (v * 0.01).to(torch.bfloat16).contiguous() for k, v in tensors.items()}, str(path))
    return str(path)


def measure(name: str, batch: int, run: Callable[[], None], repeats: int, steps: int, flops: float) -> Row:
    """Median seconds per grid over `repeats` runs after a warm-up; peak memory over the timed runs."""
    seconds, peak = timed(run, repeats)
    per_grid = seconds / batch
    row = Row(name, batch, per_grid, steps / per_grid, flops * steps / per_grid / 1e12, peak)
    print(f"  {name} (batch {batch}): {per_grid:.2f} s/grid", flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    if not cuda_or_skip("sample_throughput", args.smoke):
        return 0

    import diffusers

    from layertracer.grid import GridSpec
    from layertracer.models import FluxSampler, ModelConfig, SampleRequest
    from layertracer.models.denoise import MAX_SEQUENCE_LENGTH
    from layertracer.models.latents import grid_canvas_px
    from layertracer.models.loading import fuse_lora, store_fp8
    from layertracer.models.prompts import format_prompt
    from layertracer.testing.tiny_flux import build_tiny_pipeline

    cell_px = 48 if args.smoke else None
    steps = 2 if args.smoke else args.steps
    canvas = grid_canvas_px(GridSpec(frames=args.frames), cell_px)
    with tempfile.TemporaryDirectory() as tmp:
        tiny = build_tiny_pipeline(Path(tmp) / "tiny")
        started = time.perf_counter()
        if args.smoke:
            config = ModelConfig(tiny, device="cpu")
            sampler = FluxSampler(config)
        else:
            config = ModelConfig("random-weight FLUX.1-dev architecture", device="cuda")
            sampler = FluxSampler(config, pipe=build_full_size_pipeline(tiny, "cuda"))
    pipe = sampler.pipe
    device = torch.cuda.get_device_name() if torch.cuda.is_available() and not args.smoke else "cpu (smoke)"
    flops = forward_flops(pipe.transformer, (canvas // 16) ** 2 + MAX_SEQUENCE_LENGTH)
    print(
        f"device: {device}; torch {torch.__version__}, diffusers {diffusers.__version__}; built in "
        f"{time.perf_counter() - started:.0f} s; {args.frames} frames at {canvas} px, {steps} steps, "
        f"{flops / 1e12:.0f} TFLOP per step"
    )

    prompt = format_prompt(SUBJECT, args.frames)

    def bare(batch: int) -> Callable[[], None]:
        def run() -> None:
            pipe(
                prompt=[prompt] * batch, height=canvas, width=canvas, num_inference_steps=steps,
                guidance_scale=3.5, generator=[torch.Generator("cpu").manual_seed(i) for i in range(batch)],
                max_sequence_length=MAX_SEQUENCE_LENGTH, output_type="np",
            )
        return run

    def ours_requests(batch: int) -> list[SampleRequest]:
        return [
            SampleRequest(kind="text", prompt=SUBJECT, frames=args.frames, seed=i, steps=steps, cell_px=cell_px)
            for i in range(batch)
        ]

    def ours(batch: int) -> Callable[[], None]:
        requests = ours_requests(batch)

        def run() -> None:
            sampler.max_batch = batch
            results = sampler.sample(requests)
            failed = [r.error for r in results if r.error]
            if failed:
                raise SystemExit(f"sample_throughput: sampling failed: {failed[0]}")
        return run

    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    rows = [measure("bare FluxPipeline", 1, bare(1), args.repeats, steps, flops)]
    baseline = rows[0].s_per_grid
    for batch in batch_sizes:
        rows.append(measure("FluxSampler", batch, ours(batch), args.repeats, steps, flops))
    if not args.no_lora:
        with tempfile.TemporaryDirectory() as tmp:
            for seed in (1, 2):
                lora = write_random_lora(pipe.transformer, Path(tmp) / f"lora{seed}.safetensors", seed=seed)
                fuse_lora(pipe, lora, (tmp, {"weight_name": Path(lora).name, "local_files_only": True}), 1.0)
        rows.append(measure("FluxSampler + 2 LoRAs fused", 1, ours(1), args.repeats, steps, flops))
    if not args.no_fp8:
        reference = sampler.sample(ours_requests(1))[0].grid
        store_fp8(pipe, pipe.transformer.dtype)
        if torch.cuda.is_available() and not args.smoke:
            torch.cuda.empty_cache()
        rows.append(measure("FluxSampler, transformer + T5 in fp8", 1, ours(1), args.repeats, steps, flops))
        fp8_grid = sampler.sample(ours_requests(1))[0].grid
        rows[-1].pixel_diff = float(abs(fp8_grid.astype(int) - reference.astype(int)).mean())
    if not args.no_compile and not args.smoke:
        pipe.transformer.compile(fullgraph=True)
        rows.append(measure("FluxSampler + torch.compile", 1, ours(1), args.repeats, steps, flops))
    for row in rows:
        row.vs_bare = row.s_per_grid / baseline
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 0


def print_table(rows: list[Row]) -> None:
    print("\n| run | batch | s / grid | steps / s | TFLOP/s | peak GiB | vs bare | pixels vs bf16 |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        diff = "" if r.pixel_diff is None else f"{r.pixel_diff:.2f}"
        print(
            f"| {r.name} | {r.batch} | {r.s_per_grid:.2f} | {r.steps_per_s:.2f} | {r.tflops:.0f} | "
            f"{r.peak_gib:.1f} | {r.vs_bare:.3f} | {diff} |"
        )


if __name__ == "__main__":
    sys.exit(main())
