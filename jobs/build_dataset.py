"""Ray job entrypoint: `layertracer build-dataset` on the cluster this job was submitted to.

    ray job submit --address http://HEAD:8265 --working-dir . -- \
        python jobs/build_dataset.py s3://bucket/icons/ --out s3://bucket/datasets/icons-f9 --frames 9 --kohya

Arguments are those of `layertracer build-dataset`; `--address auto` joins the job's cluster instead of
starting a new local Ray.
"""

from __future__ import annotations

import sys

from layertracer.cli import main

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--address" not in args:
        args += ["--address", "auto"]
    raise SystemExit(main(["build-dataset", *args]))
