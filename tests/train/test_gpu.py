"""CUDA-only: the trainer end to end on the GPU (bf16 base, fp32 LoRA, SDPA without cuDNN, partial checkpointing)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from layertracer.cli import main
from layertracer.train.checkpoint import LORA_FILE

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_trains_on_cuda_with_every_other_block_checkpointed(
    grid_dataset: str, tiny_flux_dir: str, tmp_path: Path
) -> None:
    out = tmp_path / "lora"
    args = ["train", grid_dataset, "--model", tiny_flux_dir, "--out", str(out), "--steps", "6", "--batch-size", "2",
            "--rank", "4", "--gradient-checkpointing-interval", "2", "--checkpoint-every", "3"]
    assert main(args) == 0
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == list(range(1, 7))
    assert all(math.isfinite(e["loss"]) and e["loss"] > 0 for e in log)
    assert (out / LORA_FILE).stat().st_size > 0
    assert not torch.backends.cuda.cudnn_sdp_enabled()  # the trainer left cuDNN attention out
