"""`layertracer run MANIFEST_URI... --out OUT_URI`: the batch job on Ray Data (local Ray by default).

This command is the one place that reads the environment (RAY_ADDRESS, AWS_*): the values go into RunOptions
explicitly, so Ray workers on other machines get the same credentials and endpoint as the driver.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping

from layertracer import cliopts
from layertracer.errors import UserError
from layertracer.models.cli import add_model_arguments
from layertracer.pipeline.manifest import FORMATS

# RunOptions fields that are flags of the same name.
FLAG_FIELDS = ("gpu_actors", "cpu_actors", "batch_size", "index_rows_per_file", "store_failures", "resume",
               "overwrite", "redo_changed", "skip_errors")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="batch job: manifests (JSONL/CSV/Parquet, or folders/globs of images) -> SVGs + Parquet index on Ray",
        description="Run manifests through the pipeline on Ray Data: text rows are sampled with --model, image rows "
        "are decomposed (or Image2Layers with --model), grid rows are read; every row is vectorized and written to "
        "OUT/svg/{id}.svg and OUT/frames/{id}.png, and gets one row in OUT/index/*.parquet. Starts a local Ray "
        "with all CPUs unless --address (or RAY_ADDRESS) names a cluster.",
    )
    parser.add_argument("manifests", nargs="+", metavar="MANIFEST_URI",
                        help="manifest file(s), or a folder / glob of images (any fsspec URI: path, s3://, gs://)")
    parser.add_argument("--out", required=True, metavar="OUT_URI", help="output folder (path or URI)")
    parser.add_argument("--format", choices=FORMATS, help="manifest format (default: from each file name)")
    cliopts.add_storage_options(parser)
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help="skip rows whose latest index row is ok with these settings; do the rest (other "
                       "settings are refused, naming what changed)")
    again.add_argument("--overwrite", action="store_true", help="delete OUT's index, svg/ and frames/ first")
    parser.add_argument("--redo-changed", action="store_true",
                        help="with --resume: redo exactly the rows made with other settings instead of refusing")
    parser.add_argument("--skip-errors", action="store_true",
                        help="with --resume: leave rows whose error is permanent (bad input: unsafe id, not an "
                        "image, ...); store, memory and internal errors are redone")
    parser.add_argument("--embed-svg", action="store_true",
                        help="also keep each SVG in the index (`svg` column): the archive is then a few Parquet files")
    parser.add_argument("--store-failures", type=int, default=5, metavar="N",
                        help="stop the job after N requests in a row to one store fail to connect (default: 5)")
    ray_group = parser.add_argument_group("ray")
    ray_group.add_argument("--address", default=None,
                           help="Ray cluster to join ('auto' or HOST:PORT; default: RAY_ADDRESS, else a new local Ray)")
    ray_group.add_argument("--gpu-actors", type=int, default=1, metavar="N",
                           help="sampling actors, one GPU each (with --model; default: 1)")
    ray_group.add_argument("--cpu-actors", type=int, default=None, metavar="N",
                           help="vectorizing actors (default: every CPU not used by GPU actors)")
    ray_group.add_argument("--batch-size", type=int, default=4, metavar="N",
                           help="rows per stage call and per sampling batch (default: 4)")
    ray_group.add_argument("--index-rows-per-file", type=int, default=256, metavar="N",
                           help="rows per index part file; smaller saves progress sooner (default: 256)")
    ray_group.add_argument("--no-progress", action="store_true", help="no Ray Data progress bars")
    parser.add_argument("--frames", type=int, choices=(4, 9), default=None,
                        help="frames for rows that do not say (default: the --preset's, else 9)")
    parser.add_argument("--trace-px", type=int, default=1024, metavar="N",
                        help="longest side image rows are decomposed and traced at; the SVG keeps the image's size "
                             "(default: 1024)")
    parser.add_argument("--cell-px", type=int, default=None, metavar="N",
                        help="sampled grid cell size, a multiple of 16 (default: 512 for 4 frames, 352 for 9)")
    cliopts.add_trace_options(parser)
    add_model_arguments(parser, required=False)
    parser.set_defaults(func=run)


def run_options(args: argparse.Namespace, environ: Mapping[str, str]):
    """RunOptions from the flags and the environment."""
    from layertracer.models.cli import check_model_flags

    check_model_flags(args)
    storage_options = cliopts.storage_options(args, [*args.manifests, args.out], environ)
    try:
        return run_options_of(args, environ, storage_options)
    except UserError as exc:  # RunOptions names its fields; the user typed flags
        raise UserError(cliopts.flag_names(str(exc), FLAG_FIELDS)) from None


def run_options_of(args: argparse.Namespace, environ: Mapping[str, str], storage_options: dict):
    from layertracer.decompose import DecomposeOptions
    from layertracer.images import ImageLimits
    from layertracer.models.cli import frames_default, model_config
    from layertracer.pipeline.frames import InputOptions
    from layertracer.pipeline.run import RunOptions

    return RunOptions(
        manifests=tuple(args.manifests), out_uri=args.out, format=args.format, storage_options=storage_options,
        default_frames=frames_default(args),
        inputs=InputOptions(limits=ImageLimits(max_pixels=args.max_pixels),
                            decompose=DecomposeOptions(trace_px=args.trace_px)),
        trace=cliopts.trace_options(args), model=model_config(args) if args.model else None,
        prompt_template=args.prompt_template, cell_px=args.cell_px, resume=args.resume, overwrite=args.overwrite,
        address=args.address or environ.get("RAY_ADDRESS") or None, gpu_actors=args.gpu_actors,
        cpu_actors=args.cpu_actors, batch_size=args.batch_size, index_rows_per_file=args.index_rows_per_file,
        progress=not args.no_progress, redo_changed=args.redo_changed, skip_errors=args.skip_errors,
        embed_svg=args.embed_svg, store_failures=args.store_failures,
    )


def run(args: argparse.Namespace) -> int:
    from layertracer.pipeline.run import run_job

    summary = run_job(run_options(args, os.environ))
    print(f"layertracer run: {summary.line()}")
    return 0
