"""`layertracer merge-lora --model M --lora A --lora B:0.8 -o OUT`: a transformer with LoRAs fused in, saved once.

The authors' Image2Layers base is FLUX.1-dev with the icon LoRA merged; `--lora` on the other commands stacks
LoRAs at load time for the same result, and this command writes the merged transformer for users who want one
file: a diffusers transformer folder, or one .safetensors file (diffusers keys), either usable as `--transformer`.
"""

from __future__ import annotations

import argparse

SAVE_DTYPES = ("bf16", "fp32", "fp8")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "merge-lora",
        help="fuse LoRAs into a FLUX.1 transformer and save it (a folder or one .safetensors) for --transformer",
        description="Load the transformer of --model (or --transformer), fuse each --lora in order at its scale, "
        "and write the result: OUT ending in .safetensors is one file in diffusers key layout, anything else a "
        "diffusers transformer folder. Pass it back as `--transformer OUT` with the same --model.",
    )
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="folder, or a .safetensors file")
    parser.add_argument("--model", required=True, metavar="PATH_OR_ID", help="FLUX.1 diffusers folder or hub id")
    parser.add_argument("--transformer", metavar="FILE", help="transformer checkpoint to merge into instead")
    parser.add_argument(
        "--lora", action="append", required=True, metavar="PATH[:SCALE]",
        help="LoRA to fuse (kohya or diffusers format); repeat to stack, fused in order",
    )
    parser.add_argument("--save-dtype", choices=SAVE_DTYPES, default="bf16", help="weights' dtype (default: bf16)")
    parser.add_argument("--device", default=None, help="torch device to fuse on (default: cuda if available)")
    parser.add_argument("--download", action="store_true", help="allow downloading a hub id that is not cached")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from layertracer.errors import UserError
    from layertracer.models.checkpoints import save_transformer
    from layertracer.models.loading import LoraWeights, ModelConfig, merged_transformer

    if args.save_dtype == "fp8" and not args.output.endswith(".safetensors"):
        raise UserError("fp8 is written as one .safetensors file (--transformer reads a folder in bf16/fp32)")
    config = ModelConfig(
        model=args.model, transformer=args.transformer, loras=tuple(LoraWeights.parse(text) for text in args.lora),
        device=args.device, allow_download=args.download,
    )
    transformer = merged_transformer(config)
    save_transformer(transformer, args.output, args.save_dtype)
    print(f"{args.output}: transformer with {config.lora_label()} fused ({args.save_dtype})")
    return 0
