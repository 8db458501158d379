"""`layertracer report OUT_URI`: write the static HTML report of an output folder."""

from __future__ import annotations

import argparse

from layertracer import cliopts


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write OUT_URI/report/index.html: gallery, layer-by-layer view per icon, failed rows",
        description="Write a static HTML report of an output folder (local or object storage). It needs no "
        "server: open OUT_URI/report/index.html from disk or from the bucket.",
    )
    parser.add_argument("out_uri", metavar="OUT_URI", help="output folder of `layertracer run` (path or URI)")
    cliopts.add_storage_options(parser)
    parser.add_argument("--workers", type=int, default=8, help="parallel reads and writes (default: 8)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from layertracer.errors import UserError
    from layertracer.report import ReportOptions, write_report

    if args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}")
    storage_options = cliopts.storage_options(args, [args.out_uri])
    result = write_report(args.out_uri, storage_options, ReportOptions(workers=args.workers))
    note = f", {result.layer_data_missing} without layer view" if result.layer_data_missing else ""
    print(f"report: {result.rows} rows ({result.ok} ok, {result.errors} errors{note})")
    print(result.index_uri)
    return 0
