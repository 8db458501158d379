"""Ray job entrypoint: text (and Image2Layers) rows through FLUX.1 + LoRA on the cluster's GPUs, then vectorized.

    ray job submit --working-dir . -- python jobs/generate.py manifests/icons-text.jsonl --out s3://bucket/icons \\
        --model black-forest-labs/FLUX.1-dev --lora s3-synced/flux_lora_icon_blackline.safetensors --preset icon9 \\
        --gpu-actors 8

The same flags as `layertracer run`, with --model required (and --preset for the authors' public LoRAs, or a
`preset` field per manifest row). OUT must be storage every node can reach.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout (the job's working dir)

from layertracer.cli import main  # noqa: E402

if __name__ == "__main__":
    if not any(arg == "--model" or arg.startswith("--model=") for arg in sys.argv[1:]):
        print("jobs/generate.py: error: --model is required (text rows are sampled with FLUX.1)", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(main(["run", *sys.argv[1:]]))
