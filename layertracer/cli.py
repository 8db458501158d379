"""The `layertracer` command.

Each subcommand lives in `layertracer/commands/<name>.py` and exposes `register(subparsers)`, which adds its
parser and sets `func(args) -> int`. Command modules import heavy libraries (torch, ray, diffusers) inside
`func`, so `--help` stays fast. User errors print one line and exit 1; argparse usage errors exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from layertracer import __version__, commands
from layertracer.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="layertracer",
        description="Layered SVG icons: creation-process frames -> layer-wise vectorization, at scale.",
    )
    parser.add_argument("--version", action="version", version=f"layertracer {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"{commands.__name__}.{info.name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"layertracer {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"layertracer {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
