"""`layertracer vectorize IMAGE -o OUT.svg`: a raster (or a folder of them) -> layered SVG.

Without `--model` the creation frames come from the model-free decomposer (CPU, all cores for a folder);
with `--model` (and usually `--lora`) from Image2Layers on FLUX.1. Either way each step is then traced.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from layertracer import cliopts
from layertracer.models.cli import add_model_arguments, add_sampling_arguments

if TYPE_CHECKING:
    import numpy as np

    from layertracer.decompose import DecomposeOptions
    from layertracer.vectorize import LayeredSVG, TraceOptions


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "vectorize",
        help="raster image -> layered SVG (model-free decomposition, or Image2Layers with --model)",
        description="Turn a flat raster (PNG/JPEG/WebP, RGB or RGBA) into a layered SVG whose <g> layers follow "
        "a plausible creation order: background and big shapes first, details last. A directory in writes one "
        "SVG per image (same stem) into the -o directory.",
    )
    parser.add_argument("image", help="image (path or URI), or a local directory of images")
    parser.add_argument("-o", "--output", required=True, help="output SVG (or directory, for a directory in)")
    parser.add_argument(
        "--frames", type=int, choices=(4, 9), default=None, help="creation steps (default: the preset's, else 9)"
    )
    parser.add_argument(
        "--frames-out", metavar="DIR",
        help="also write the creation frames (DIR/frame_XX.png; DIR/STEM/frame_XX.png for a directory)",
    )
    parser.add_argument(
        "--trace-px", type=int, default=1024, metavar="N",
        help="longest side the frames are decomposed and traced at; larger images are downscaled, their SVG keeps "
             "their size (default: 1024)",
    )
    parser.add_argument(
        "--flatten", type=int, default=0, metavar="N",
        help="snap pixels within N levels of their flat colour to it: keeps JPEG/WebP noise out of the layers "
        "(default: 0; noise the image itself measures is snapped away anyway; 16 suits JPEG icons)",
    )
    parser.add_argument("--workers", type=int, default=None, help="processes for a directory (default: all cores)")
    cliopts.add_trace_options(parser)
    add_sampling_arguments(parser, "image")
    add_model_arguments(parser, required=False)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from layertracer import filebatch
    from layertracer.decompose import DecomposeOptions
    from layertracer.errors import UserError
    from layertracer.models.cli import check_model_flags, frames_default

    check_model_flags(args)
    is_dir = os.path.isdir(args.image)
    pairs = filebatch.output_pairs(args.image, args.output, ".svg") if is_dir else [(args.image, args.output)]
    frames_dir = partial(_frames_dir, args.frames_out, is_dir)
    trace = cliopts.trace_options(args)
    if args.model:
        failures = _run_with_model(args, pairs, trace, frames_dir)
        if failures and not is_dir:
            raise UserError(failures[0][1])
        return filebatch.report_failures(failures, len(pairs))
    decompose = DecomposeOptions(trace_px=args.trace_px, flatten_tol=args.flatten)
    job = partial(
        vectorize_image_file, frames=frames_default(args), decompose=decompose, trace=trace,
        max_pixels=args.max_pixels, frames_out=args.frames_out, per_stem=is_dir,
    )
    if is_dir:
        failures = filebatch.run_files(pairs, job, args.workers, desc="vectorize")
        return filebatch.report_failures(failures, len(pairs))
    _print_summary(args.output, job(args.image, args.output))
    return 0


def vectorize_image_file(
    source: str, target: str, frames: int, decompose: DecomposeOptions, trace: TraceOptions,
    max_pixels: int, frames_out: str | None, per_stem: bool,
) -> LayeredSVG:
    """One image -> decomposed frames -> layered SVG at `target` (a process-pool job: module-level, picklable)."""
    from layertracer.decompose import decompose_image
    from layertracer.images import ImageLimits, read_image

    image, data = read_image(source, ImageLimits(max_pixels=max_pixels))
    creation = decompose_image(image, frames, decompose.for_file(data))
    size = (image.shape[1], image.shape[0])  # the SVG keeps the image's size, traced at --trace-px or not
    return _finish(creation, target, trace.for_exact_frames(), _frames_dir(frames_out, per_stem, source), size)


def _run_with_model(
    args: argparse.Namespace, pairs: Sequence[tuple[str, str]], trace: TraceOptions,
    frames_dir: Callable[[str], str | None],
) -> list[tuple[str, str]]:
    """Image2Layers: the model loads once, then every image is sampled and traced in turn."""
    from tqdm import tqdm

    from layertracer import filebatch
    from layertracer.errors import UserError
    from layertracer.grid import split_grid, square_box
    from layertracer.models import FluxSampler
    from layertracer.models.cli import model_config, sample_request

    sampler = FluxSampler(model_config(args), max_batch=1, prompt_template=args.prompt_template)
    failures: list[tuple[str, str]] = []
    for source, target in tqdm(pairs, desc="vectorize", unit="file", disable=len(pairs) == 1):
        try:
            image = cliopts.read_image(source, args.max_pixels)
            result = sampler.sample([sample_request(args, "image", image=image)])[0]
            if result.error:
                raise UserError(f"{source}: {result.error}")
            creation = split_grid(result.grid, result.settings.spec)
            # The SVG shows the reference's part of the cell at the reference's size, like the model-free path.
            size = (image.shape[1], image.shape[0])
            box = square_box(*size, creation[0].shape[1])
            layered = _finish(creation, target, trace, frames_dir(source), size, box)
        except Exception as exc:  # one file's failure, whatever it is, is its line; the others go on
            failures.append((source, filebatch.failure_line(source, exc)))
            continue
        if len(pairs) == 1:
            _print_summary(target, layered)
    return failures


def _finish(
    creation: list[np.ndarray], target: str, trace: TraceOptions, frames_dir: str | None,
    size: tuple[int, int] | None = None, box: tuple[float, float, float, float] | None = None,
) -> LayeredSVG:
    from layertracer.images import encode_png
    from layertracer.storage import join, write_bytes_atomic
    from layertracer.vectorize import vectorize_frames

    if frames_dir is not None:
        for k, frame in enumerate(creation):
            write_bytes_atomic(join(frames_dir, f"frame_{k:02d}.png"), encode_png(frame))
    layered = vectorize_frames(creation, trace, size, box)
    cliopts.write_svg(target, layered)
    return layered


def _frames_dir(frames_out: str | None, per_stem: bool, source: str) -> str | None:
    if frames_out is None:
        return None
    if not per_stem:
        return frames_out
    from layertracer.storage import join

    return join(frames_out, Path(source).stem)


def _print_summary(target: str, layered: LayeredSVG) -> None:
    print(f"{target}: {layered.n_layers} layers, {layered.n_paths} paths, {layered.width}x{layered.height} px")
