"""`layertracer build-dataset SVG_DIR_OR_URI --out OUT_URI --frames {4,9}`: layered SVGs -> training grids."""

from __future__ import annotations

import argparse

from layertracer import cliopts


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "build-dataset",
        help="turn a folder/archive/glob of SVG icons into creation-grid training data (Parquet, optional kohya)",
        description="Parse each SVG safely, split its top-level shapes (painter's order) into 4 or 9 steps, "
        "render the cumulative frames on white, compose the grid and caption it. Runs on Ray Data; bad files "
        "become rows with status=error, identical icons rows with status=duplicate.",
    )
    parser.add_argument(
        "input_uri", metavar="SVG_DIR_OR_URI",
        help="folder, glob (quoted), .zip/.tar archive or .txt listing of SVG files; local path or URI",
    )
    parser.add_argument("--out", required=True, metavar="OUT_URI", help="output folder (path or URI)")
    parser.add_argument("--frames", type=int, choices=(4, 9), default=9, help="creation steps per grid (default 9)")
    parser.add_argument("--order", choices=("serpentine", "rowmajor"), default="serpentine")
    parser.add_argument("--cell-px", type=int, default=None, help="cell size (default: 512 for 4 frames, 352 for 9)")
    parser.add_argument("--margin", type=float, default=0.06, help="margin around the icon per side (default 0.06)")
    parser.add_argument("--kohya", action="store_true", help="also write kohya PNG/TXT pairs under OUT/kohya/")
    parser.add_argument("--captions", metavar="CSV", default=None, help="sidecar CSV with a description per file")
    parser.add_argument("--file-column", default="file", help="captions CSV column naming the file (default: file)")
    parser.add_argument("--caption-column", default="caption", help="captions CSV text column (default: caption)")
    parser.add_argument(
        "--caption-template", default=None,
        help="caption template: {prompt} is the description, optional {frames}, {side} "
        "(default: the sampler's prompt template, with the LoRA trigger)",
    )
    parser.add_argument("--allow-raster", action="store_true", help="keep icons with embedded data: PNG/JPEG images")
    parser.add_argument("--max-svg-mb", type=float, default=5.0, help="refuse larger SVG files (default 5 MB)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing dataset in OUT_URI")
    parser.add_argument("--batch-size", type=int, default=8, help="files per Ray task (default 8)")
    parser.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray)")
    cliopts.add_storage_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from layertracer.dataset.captions import CaptionOptions
    from layertracer.dataset.example import DatasetOptions
    from layertracer.dataset.job import BuildOptions, plan_build, run_build
    from layertracer.dataset.sanitize import SvgLimits
    from layertracer.errors import UserError
    from layertracer.pipeline.run import connect

    if args.batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.max_svg_mb <= 0:
        raise UserError(f"--max-svg-mb must be positive, got {args.max_svg_mb}")
    captions = CaptionOptions(args.caption_template) if args.caption_template else CaptionOptions()
    dataset = DatasetOptions(
        frames=args.frames, order=args.order, cell_px=args.cell_px, margin=args.margin, captions=captions,
        limits=SvgLimits(max_bytes=int(args.max_svg_mb * 1024 * 1024), allow_raster=args.allow_raster),
    )
    options = BuildOptions(
        input_uri=args.input_uri, out_uri=args.out, dataset=dataset, captions_csv=args.captions,
        file_column=args.file_column, caption_column=args.caption_column, kohya=args.kohya,
        overwrite=args.overwrite, batch_size=args.batch_size,
        storage_options=cliopts.storage_options(args, [args.input_uri, args.out]),
    )
    items = plan_build(options)
    connect(args.address)
    stats = run_build(options, items)
    print(json.dumps(stats, indent=2))
    return 0
