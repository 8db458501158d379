"""Options several commands share, so each flag means the same thing everywhere."""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from layertracer import images
from layertracer.grid import ORDERS, GridSpec
from layertracer.images import DEFAULT_MAX_PIXELS, ImageLimits
from layertracer.storage import write_bytes_atomic
from layertracer.vectorize import LayeredSVG, TraceOptions
from layertracer.vectorize.layered import TRACE_BUDGET_PX


def flag_names(message: str, fields: Iterable[str]) -> str:
    """A library message about option `fields` (named as in their dataclass) with each named as its flag."""
    for name in fields:
        message = re.sub(rf"(?<![\w-]){name}\b", "--" + name.replace("_", "-"), message)
    return message


def add_trace_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("tracing")
    group.add_argument(
        "--keep-background", action="store_true", help="keep the first frame's background as part of layer 1"
    )
    group.add_argument(
        "--drop-covered", action="store_true",
        help="skip regions later steps repaint entirely (smaller SVG; layers 1..K no longer show frame K)",
    )
    group.add_argument(
        "--upscale", type=int, default=None, choices=(1, 2, 3),
        help=f"trace at this multiple of the frame size for sub-pixel edges (default: {TraceOptions().upscale} for "
        f"frame grids and sampled frames; for images decomposed without a model 1, or for an image under "
        f"{TRACE_BUDGET_PX} px the largest that stays within {TRACE_BUDGET_PX} px)",
    )
    group.add_argument(
        "--no-snap", action="store_true",
        help="leave traced outlines on the pixel grid instead of moving them onto their anti-aliased edges "
        "(faster, less faithful: see the README)",
    )
    group.add_argument(
        "--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
        help="refuse images with more pixels than this, before decoding (default: %(default)s)",
    )


def trace_options(args: argparse.Namespace) -> TraceOptions:
    options = TraceOptions(keep_background=args.keep_background, drop_covered=args.drop_covered,
                           snap_edges=not args.no_snap)
    return options if args.upscale is None else options.with_upscale(args.upscale)


def add_grid_options(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--frames", type=int, choices=(4, 9), required=required, default=None if required else 9,
                        help="frames in the grid: 4 (2x2) or 9 (3x3)")
    parser.add_argument("--order", choices=ORDERS, default="serpentine",
                        help="cell order of the frames (default: %(default)s)")


def grid_spec(args: argparse.Namespace) -> GridSpec:
    return GridSpec(frames=args.frames, order=args.order)


def read_image(uri: str, max_pixels: int):
    """An image from a path or URI with the pixel limit the user chose."""
    return images.read_image(uri, ImageLimits(max_pixels=max_pixels))[0]


def write_svg(uri: str, result: LayeredSVG) -> None:
    write_bytes_atomic(uri, result.svg.encode("utf-8"))


AWS_OPTIONS = (  # (environment variable, s3fs option); earlier entries win
    ("AWS_ACCESS_KEY_ID", "key"), ("AWS_SECRET_ACCESS_KEY", "secret"), ("AWS_SESSION_TOKEN", "token"),
    ("AWS_ENDPOINT_URL_S3", "endpoint_url"), ("AWS_ENDPOINT_URL", "endpoint_url"), ("AWS_PROFILE", "profile"),
)


def storage_options_json(text: str) -> dict[str, Any]:
    """argparse type for `--storage-options JSON` (fsspec keyword arguments, e.g. endpoint or credentials)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def add_storage_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage-options", type=storage_options_json, default=None, metavar="JSON",
        help="fsspec options for object storage, as a JSON object (default: from the AWS_* environment)",
    )


def storage_options(
    args: argparse.Namespace, uris: Sequence[str], environ: Mapping[str, str] = os.environ
) -> dict[str, Any]:
    """The AWS_* environment's settings for the S3 URIs among `uris`, overridden by `--storage-options`.

    The CLI is the one place that reads the environment; the options then travel explicitly, so Ray workers
    on other machines use the same credentials and endpoint as the driver.
    """
    return {**storage_options_from_env(environ, uris), **(args.storage_options or {})}


def storage_options_from_env(environ: Mapping[str, str], uris: Sequence[str]) -> dict[str, Any]:
    """s3fs options from the standard AWS variables, when any URI is on S3."""
    if not any(uri.startswith(("s3://", "s3a://")) for uri in uris):
        return {}
    options: dict[str, Any] = {}
    for variable, name in AWS_OPTIONS:
        if environ.get(variable) and name not in options:
            options[name] = environ[variable]
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if region:
        options["client_kwargs"] = {"region_name": region}
    return options
