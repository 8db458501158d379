"""`layertracer vectorize-grid`: a creation-frame grid (or a folder of them) -> layered SVG."""

from __future__ import annotations

import argparse
import os
from functools import partial

from layertracer import cliopts
from layertracer.grid import GridSpec
from layertracer.vectorize import TraceOptions


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "vectorize-grid",
        help="frame grid image -> layered SVG",
        description="Split a 2x2 or 3x3 creation-frame grid into frames and vectorize them layer by layer. "
        "A directory in writes one SVG per grid (same stem) into the -o directory.",
    )
    parser.add_argument("grid", help="grid image (path or URI), or a local directory of grid images")
    cliopts.add_grid_options(parser)
    parser.add_argument("-o", "--output", required=True, help="output SVG (or directory, for a directory in)")
    parser.add_argument("--workers", type=int, default=None, help="processes for a directory (default: all cores)")
    cliopts.add_trace_options(parser)
    parser.set_defaults(func=run)


def vectorize_grid_file(source: str, target: str, spec: GridSpec, options: TraceOptions, max_pixels: int) -> None:
    from layertracer.vectorize import vectorize_grid

    cliopts.write_svg(target, vectorize_grid(cliopts.read_image(source, max_pixels), spec, options))


def run(args: argparse.Namespace) -> int:
    from layertracer import filebatch

    job = partial(
        vectorize_grid_file, spec=cliopts.grid_spec(args), options=cliopts.trace_options(args),
        max_pixels=args.max_pixels,
    )
    if os.path.isdir(args.grid):
        pairs = filebatch.output_pairs(args.grid, args.output, ".svg")
        failures = filebatch.run_files(pairs, job, args.workers, desc="vectorize-grid")
        return filebatch.report_failures(failures, len(pairs))
    job(args.grid, args.output)
    return 0
