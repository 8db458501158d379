"""`layertracer report OUT_URI`: write the static HTML report of an output folder."""

from __future__ import annotations

import argparse
import json
from typing import Any


def storage_options_json(text: str) -> dict[str, Any]:
    """argparse type for `--storage-options JSON` (fsspec keyword arguments, e.g. endpoint or credentials)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write OUT_URI/report/index.html: gallery, layer-by-layer view per icon, failed rows",
        description="Write a static HTML report of an output folder (local or object storage). It needs no "
        "server: open OUT_URI/report/index.html from disk or from the bucket.",
    )
    parser.add_argument("out_uri", metavar="OUT_URI", help="output folder of `layertracer run` (path or URI)")
    parser.add_argument(
        "--storage-options", type=storage_options_json, default=None, metavar="JSON",
        help="fsspec options for object storage, as a JSON object (default: the standard environment)",
    )
    parser.add_argument("--workers", type=int, default=8, help="parallel reads and writes (default: 8)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from layertracer.errors import UserError
    from layertracer.report import ReportOptions, write_report

    if args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}")
    result = write_report(args.out_uri, args.storage_options, ReportOptions(workers=args.workers))
    note = f", {result.layer_data_missing} without layer view" if result.layer_data_missing else ""
    print(f"report: {result.rows} rows ({result.ok} ok, {result.errors} errors{note})")
    print(result.index_uri)
    return 0
