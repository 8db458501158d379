"""`layertracer generate "PROMPT" --model ... --lora ... -o OUT.svg`: text -> creation grid (Flux) -> layered SVG."""

from __future__ import annotations

import argparse

from layertracer.models.cli import add_model_arguments, add_sampling_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="text -> layered SVG: FLUX.1 + LoRA draws the creation frames, then each step is traced",
        description="Sample a grid of creation frames for PROMPT with FLUX.1 and a LayerTracer LoRA, then "
        "vectorize it layer by layer into OUT.svg (one <g> layer per creation step).",
    )
    parser.add_argument("prompt", metavar="PROMPT", help="what to draw, e.g. 'a red fox head'")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.svg", help="layered SVG to write (path or URI)")
    parser.add_argument(
        "--frames", type=int, choices=(4, 9), default=None, help="creation frames (default: the preset's, else 9)"
    )
    parser.add_argument("--frames-out", metavar="GRID.png", help="also write the sampled frame grid")
    add_sampling_arguments(parser, "text")
    add_model_arguments(parser, required=True)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from layertracer.errors import UserError
    from layertracer.images import encode_png
    from layertracer.models import FluxSampler
    from layertracer.models.cli import model_config, sample_request
    from layertracer.models.sampler import settings_for
    from layertracer.storage import write_bytes_atomic
    from layertracer.vectorize import vectorize_grid

    request = sample_request(args, "text", prompt=args.prompt)
    settings_for(request, args.preset, args.prompt_template)  # bad settings fail before the model loads
    sampler = FluxSampler(
        model_config(args), max_batch=1, prompt_template=args.prompt_template, show_progress=True
    )
    result = sampler.sample([request])[0]
    if result.error:
        raise UserError(result.error)
    if args.frames_out:
        write_bytes_atomic(args.frames_out, encode_png(result.grid))
    layered = vectorize_grid(result.grid, result.settings.spec)
    write_bytes_atomic(args.output, layered.svg.encode("utf-8"))
    print(
        f"{args.output}: {layered.n_layers} layers, {layered.n_paths} paths, "
        f"{layered.width}x{layered.height} px (sampled in {result.sample_s:.1f} s)"
    )
    return 0
