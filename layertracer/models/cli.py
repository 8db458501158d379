"""The flags every Flux-using command shares (generate, vectorize --model, run), and what they build.

Kept free of torch imports so `--help` stays fast.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

import numpy as np

from layertracer.models.defaults import DEFAULT_GUIDANCE, DEFAULT_STEPS
from layertracer.models.loading import REFERENCE_CHOICES, ModelConfig
from layertracer.models.prompts import DEFAULT_PROMPT_TEMPLATE

if TYPE_CHECKING:
    from layertracer.models.batch import Kind, SampleRequest


def add_model_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """--model, --lora, --lora-scale, --reference, --offload, --vae-tiling, --compile, --device, --download,
    --prompt-template."""
    group = parser.add_argument_group("model")
    group.add_argument(
        "--model", required=required, metavar="PATH_OR_ID",
        help="FLUX.1 diffusers folder or hub id (hub ids come from the local Hugging Face cache unless --download)",
    )
    group.add_argument("--lora", metavar="PATH", help="LoRA .safetensors (kohya or diffusers format) or folder")
    group.add_argument("--lora-scale", type=float, default=1.0, help="LoRA strength (default: 1.0; 0 = base model)")
    group.add_argument(
        "--reference", choices=REFERENCE_CHOICES, default="auto",
        help="Image2Layers: pin the last cell noised to each step's sigma (the public LoRAs) or clean (LoRAs "
        "trained here in image2layers mode); auto reads the LoRA's metadata, else noised (default: auto)",
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
        "--prompt-template", default=DEFAULT_PROMPT_TEMPLATE, metavar="TEMPLATE",
        help="prompt wording the LoRA was trained with; placeholders {prompt}, {frames}, {side} "
        "(default: %(default)r)",
    )


def model_config(args: argparse.Namespace) -> ModelConfig:
    """ModelConfig from the flags added by `add_model_arguments`."""
    return ModelConfig(
        model=args.model,
        lora=args.lora,
        lora_scale=args.lora_scale,
        device=args.device,
        offload=args.offload,
        vae_tiling=args.vae_tiling,
        compile_transformer=args.compile,
        reference=args.reference,
        allow_download=args.download,
    )


def add_sampling_arguments(parser: argparse.ArgumentParser, kind: Kind) -> None:
    """--steps, --guidance, --seed, --cell-px; unset values take the paper's defaults for `kind`."""
    steps, guidance = DEFAULT_STEPS[kind], DEFAULT_GUIDANCE[kind]
    group = parser.add_argument_group("sampling")
    group.add_argument("--steps", type=int, default=None, help=f"denoising steps (default: {steps})")
    group.add_argument("--guidance", type=float, default=None, help=f"FLUX guidance (default: {guidance})")
    group.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    group.add_argument(
        "--cell-px", type=int, default=None, metavar="N",
        help="cell size, a multiple of 16 (default: 512 for 4 frames, 352 for 9: 1024/1056 px grids)",
    )


def sample_request(
    args: argparse.Namespace, kind: Kind, prompt: str | None = None, image: np.ndarray | None = None
) -> SampleRequest:
    """The SampleRequest for one row from the flags of `add_sampling_arguments` and `--frames`."""
    from layertracer.models.batch import SampleRequest

    return SampleRequest(
        kind=kind, prompt=prompt, image=image, frames=args.frames, seed=args.seed,
        steps=args.steps, guidance=args.guidance, cell_px=args.cell_px,
    )
