"""`layertracer inspect OUT_URI`: summary of an output index in the terminal, or as JSON for scripts."""

from __future__ import annotations

import argparse

from layertracer import cliopts


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="summarize OUT_URI's index: rows ok/error, top errors, layers and paths, throughput",
        description="Summarize the index of an output folder (latest row per manifest row).",
    )
    parser.add_argument("out_uri", metavar="OUT_URI", help="output folder of `layertracer run` (path or URI)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    cliopts.add_storage_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from layertracer.inspect import format_summary, summarize_index
    from layertracer.pipeline.index import read_index

    summary = summarize_index(read_index(args.out_uri, cliopts.storage_options(args, [args.out_uri])))
    print(json.dumps(summary, indent=2, sort_keys=True) if args.json else format_summary(summary))
    return 0
