"""Ray job entrypoint: vectorize manifests of image and grid rows (no model) on the cluster it is submitted to.

    ray job submit --working-dir . -- python jobs/vectorize.py MANIFEST_URI... --out OUT_URI [run flags]

The same flags as `layertracer run`; the job's RAY_ADDRESS makes it join the cluster. OUT must be storage every
node can reach (object storage, or a shared file system).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout (the job's working dir)

from layertracer.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main(["run", *sys.argv[1:]]))
