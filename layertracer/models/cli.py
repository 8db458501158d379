"""The flags every Flux-using command shares (generate, vectorize --model, run), and what they build.

Kept free of torch imports so `--help` stays fast.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

import numpy as np

from layertracer.errors import UserError
from layertracer.grid import ORDERS
from layertracer.models.defaults import DEFAULT_GUIDANCE, DEFAULT_STEPS
from layertracer.models.loading import REFERENCE_CHOICES, LoraWeights, ModelConfig
from layertracer.models.presets import PRESET_NAMES, PRESETS
from layertracer.models.prompts import DEFAULT_PROMPT_TEMPLATE

if TYPE_CHECKING:
    from layertracer.models.sampler import Kind, SampleRequest

PRESET_HELP = (
    "the authors' released setup for their public LoRA, each setting overridable by its flag: "
    + "; ".join(preset.describe() for preset in PRESETS.values())
    + "; Image2Layers at 20 steps, the reference pinned clean (source: showlab/LayerTracer scripts/*.sh and "
    "inference code)"
)


def add_model_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """--model, --transformer, --fp8, --lora, --lora-scale, --preset, --reference, --offload, --vae-tiling,
    --compile, --device, --download, --prompt-template."""
    group = parser.add_argument_group("model")
    group.add_argument(
        "--model", required=required, metavar="PATH_OR_ID",
        help="FLUX.1 diffusers folder or hub id (hub ids come from the local Hugging Face cache unless --download)",
    )
    group.add_argument(
        "--transformer", metavar="FILE",
        help="transformer checkpoint replacing the model's: a .safetensors file in BFL (flux1-dev.safetensors, "
        "flux1-dev-fp8.safetensors) or diffusers key layout, bf16 or fp8 e4m3, or a transformer folder",
    )
    group.add_argument(
        "--fp8", action="store_true",
        help="keep the transformer's and T5's weights in fp8 e4m3, computing in bf16: FLUX.1-dev fits a 24 GB "
        "GPU without --offload (automatic for an fp8 checkpoint)",
    )
    group.add_argument(
        "--lora", action="append", metavar="PATH[:SCALE]",
        help="LoRA .safetensors (kohya or diffusers format), folder or hub id; repeat to stack LoRAs, fused in "
        "order (e.g. --lora icon.safetensors --lora recraft.safetensors:0.8)",
    )
    group.add_argument(
        "--lora-scale", type=float, default=1.0,
        help="strength of each --lora given without :SCALE (default: 1.0; 0 = base model)",
    )
    group.add_argument("--preset", choices=PRESET_NAMES, help=PRESET_HELP)
    group.add_argument(
        "--reference", choices=REFERENCE_CHOICES, default="auto",
        help="Image2Layers: pin the last cell clean at every step (the authors' code, the presets, LoRAs trained "
        "here in image2layers mode) or noised to each step's sigma; auto: clean with a preset or a LoRA that "
        "records it, else noised (default: auto)",
    )
    group.add_argument("--offload", action="store_true", help="model CPU offload: fits a ~24 GB GPU, slower (CUDA)")
    group.add_argument("--vae-tiling", action="store_true", help="decode the grid in tiles (less GPU memory)")
    group.add_argument(
        "--compile", action="store_true",
        help="torch.compile the transformer: ~25%% faster sampling on an H100 after a ~1 min first batch (CUDA)",
    )
    group.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    group.add_argument("--download", action="store_true", help="allow downloading a hub id that is not cached")
    group.add_argument(
        "--prompt-template", default=None, metavar="TEMPLATE",
        help="prompt wording the LoRA was trained with; placeholders {prompt}, {frames}, {side} "
        f"(default: the preset's, else {DEFAULT_PROMPT_TEMPLATE!r})".replace("%", "%%"),
    )


def model_config(args: argparse.Namespace) -> ModelConfig:
    """ModelConfig from the flags added by `add_model_arguments`."""
    return ModelConfig(
        model=args.model,
        loras=tuple(LoraWeights.parse(text, args.lora_scale) for text in args.lora or ()),
        transformer=args.transformer,
        fp8=args.fp8,
        preset=args.preset,
        device=args.device,
        offload=args.offload,
        vae_tiling=args.vae_tiling,
        compile_transformer=args.compile,
        reference=args.reference,
        allow_download=args.download,
    )


def check_model_flags(args: argparse.Namespace) -> None:
    """Model flags without --model would be silently ignored: refuse them."""
    if args.model:
        return
    for flag in ("lora", "transformer", "preset", "fp8"):
        if getattr(args, flag):
            raise UserError(f"--{flag} needs --model")


def frames_default(args: argparse.Namespace) -> int:
    """--frames, else the preset's, else 9."""
    if args.frames is not None:
        return args.frames
    return PRESETS[args.preset].frames if args.preset else 9


def add_sampling_arguments(parser: argparse.ArgumentParser, kind: Kind) -> None:
    """--steps, --guidance, --seed, --cell-px, --order; unset values take the preset's, else the paper's defaults
    for `kind`."""
    steps, guidance = DEFAULT_STEPS[kind], DEFAULT_GUIDANCE[kind]
    group = parser.add_argument_group("sampling")
    group.add_argument("--steps", type=int, default=None, help=f"denoising steps (default: the preset's, else {steps})")
    group.add_argument(
        "--guidance", type=float, default=None, help=f"FLUX guidance (default: the preset's, else {guidance})"
    )
    group.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    group.add_argument(
        "--cell-px", type=int, default=None, metavar="N",
        help="cell size, a multiple of 16 (default: the preset's, else 512 for 4 frames and 352 for 9: "
        "1024/1056 px grids)",
    )
    group.add_argument(
        "--order", choices=ORDERS, default=None,
        help="which cell holds which frame in the sampled grid (default: the preset's, else serpentine)",
    )


def sample_request(
    args: argparse.Namespace, kind: Kind, prompt: str | None = None, image: np.ndarray | None = None
) -> SampleRequest:
    """The SampleRequest for one row from the flags of `add_sampling_arguments` and `--frames`."""
    from layertracer.models.sampler import SampleRequest

    return SampleRequest(
        kind=kind, prompt=prompt, image=image, frames=args.frames, seed=args.seed,
        steps=args.steps, guidance=args.guidance, cell_px=args.cell_px, order=args.order,
    )
