"""`layertracer vectorize-frames`: creation frames as separate images -> layered SVG."""

from __future__ import annotations

import argparse

from layertracer import cliopts
from layertracer.errors import GridError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "vectorize-frames",
        help="frame images in creation order -> layered SVG",
        description="Vectorize creation frames (cumulative, in creation order, equal sizes) layer by layer.",
    )
    parser.add_argument("frames", nargs="+", help="frame images (paths or URIs) in creation order")
    parser.add_argument("-o", "--output", required=True, help="output SVG (path or URI)")
    cliopts.add_trace_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from layertracer.vectorize import vectorize_frames

    if len(args.frames) < 2:
        raise GridError("need at least two frames (one frame has no creation steps; use `layertracer vectorize`)")
    frames = [cliopts.read_image(uri, args.max_pixels) for uri in args.frames]
    cliopts.write_svg(args.output, vectorize_frames(frames, cliopts.trace_options(args)))
    return 0
