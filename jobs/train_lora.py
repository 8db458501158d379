"""Ray job entrypoint: `layertracer train` with Ray Train workers on the cluster this job was submitted to.

    ray job submit --address http://HEAD:8265 --working-dir . -- \
        python jobs/train_lora.py s3://bucket/datasets/icons-f9 --model black-forest-labs/FLUX.1-dev \
        --out s3://bucket/loras/icons-f9 --workers 8 --steps 4000 --rank 64 --resume

Arguments are those of `layertracer train`; without `--workers` one Ray Train worker (one GPU) is used, and
`--address auto` joins the job's cluster. OUT must be visible to every node (object storage or a shared mount).
"""

from __future__ import annotations

import sys

from layertracer.cli import main

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--workers" not in args:
        args += ["--workers", "1"]
    if "--address" not in args:
        args += ["--address", "auto"]
    raise SystemExit(main(["train", *args]))
