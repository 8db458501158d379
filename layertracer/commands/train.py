"""`layertracer train DATA_URI --model PATH_OR_ID --out LORA_DIR`: flow-matching LoRA training on creation grids."""

from __future__ import annotations

import argparse

from layertracer import cliopts


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a Flux LoRA on a build-dataset output (text -> grid, or Image2Layers)",
        description="Rectified-flow LoRA training of the Flux transformer on creation grids. One process by "
        "default; --workers N runs N Ray Train workers (DDP, one GPU each when the cluster has them). The LoRA "
        "is written as LORA_DIR/pytorch_lora_weights.safetensors, loadable with --lora LORA_DIR.",
    )
    parser.add_argument("data_uri", metavar="DATA_URI", help="output folder of `layertracer build-dataset` (or URI)")
    parser.add_argument("--model", required=True, metavar="PATH_OR_ID", help="diffusers FluxPipeline folder or hub id")
    parser.add_argument("--out", required=True, metavar="LORA_DIR", help="where the LoRA, log and checkpoints go")
    parser.add_argument("--download", action="store_true", help="allow downloading a hub id that is not cached")
    parser.add_argument("--mode", choices=("text", "image2layers"), default="text",
                        help="text: caption -> grid; image2layers: the last cell is the given icon (default text)")
    parser.add_argument("--steps", type=int, default=1000, help="optimizer steps (default 1000)")
    parser.add_argument("--batch-size", type=int, default=1, help="grids per step and worker (default 1)")
    parser.add_argument("--grad-accum", type=int, default=1, help="micro-batches per optimizer step (default 1)")
    parser.add_argument("--lr", type=float, default=1e-4, help="learning rate (default 1e-4; 1.0 with prodigy)")
    parser.add_argument("--lr-warmup-steps", type=int, default=0)
    parser.add_argument("--optimizer", choices=("adamw", "prodigy"), default="adamw")
    parser.add_argument("--rank", type=int, default=16, help="LoRA rank (default 16)")
    parser.add_argument("--alpha", type=float, default=None, help="LoRA alpha (default: the rank)")
    parser.add_argument("--target-modules", default=None, metavar="A,B,...",
                        help="comma-separated module names (default: attention and MLPs of every block)")
    parser.add_argument("--weighting-scheme", default="none",
                        choices=("none", "logit_normal", "mode", "sigma_sqrt", "cosmap"),
                        help="timestep density / loss weighting as in diffusers' scripts (default none)")
    parser.add_argument("--guidance", type=float, default=3.5, help="guidance embedding (FLUX.1-dev; default 3.5)")
    parser.add_argument("--cell-px", type=int, default=None, help="train at this cell size (default: the data's)")
    parser.add_argument("--no-gradient-checkpointing", action="store_true", help="faster, much more memory")
    parser.add_argument("--gradient-checkpointing-interval", type=int, default=1, metavar="N",
                        help="recompute every Nth transformer block only: faster, more memory (default 1: all)")
    parser.add_argument("--checkpoint-every", type=int, default=250, help="steps between checkpoints (default 250)")
    parser.add_argument("--keep-checkpoints", type=int, default=2)
    parser.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in LORA_DIR")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None,
                        help="Ray Train workers (DDP); default: train in this process without Ray")
    parser.add_argument("--cpus-per-worker", type=float, default=1.0,
                        help="CPUs each Ray Train worker reserves; leave some for Ray Data (default 1)")
    parser.add_argument("--no-gpu", action="store_true", help="Ray Train workers on CPU even if GPUs are there")
    parser.add_argument("--address", default=None, help="Ray cluster address with --workers (default: local Ray)")
    cliopts.add_storage_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from layertracer.errors import UserError
    from layertracer.train.options import DEFAULT_TARGET_MODULES, FlowOptions, TrainOptions

    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}")
    targets = tuple(t.strip() for t in args.target_modules.split(",") if t.strip()) if args.target_modules else None
    options = TrainOptions(
        data_uri=args.data_uri, model=args.model, out=args.out, mode=args.mode, steps=args.steps,
        batch_size=args.batch_size, grad_accum=args.grad_accum, lr=args.lr, lr_warmup_steps=args.lr_warmup_steps,
        optimizer=args.optimizer, rank=args.rank, alpha=args.alpha, target_modules=targets or DEFAULT_TARGET_MODULES,
        guidance=args.guidance, flow=FlowOptions(weighting_scheme=args.weighting_scheme), cell_px=args.cell_px,
        gradient_checkpointing=not args.no_gradient_checkpointing,
        gradient_checkpointing_interval=args.gradient_checkpointing_interval, checkpoint_every=args.checkpoint_every,
        keep_checkpoints=args.keep_checkpoints, resume=args.resume, seed=args.seed,
        allow_download=args.download, storage_options=cliopts.storage_options(args, [args.data_uri, args.out]),
    )
    if args.workers is None:
        from layertracer.train.trainer import train_in_process

        result = train_in_process(options)
    else:
        from layertracer.pipeline.run import connect
        from layertracer.train.data import open_dataset
        from layertracer.train.ray_train import ClusterOptions, train_on_ray

        open_dataset(options.data_uri, options.storage_options)  # fail fast, before Ray starts
        connect(args.address)
        cluster = ClusterOptions(
            workers=args.workers, use_gpu=False if args.no_gpu else None, cpus_per_worker=args.cpus_per_worker
        )
        result = train_on_ray(options, cluster)
    last = f", last loss {result.losses[-1]:.4f}" if result.losses else ""
    print(f"train: step {result.step}{last}; LoRA in {result.lora_uri}")
    return 0
