"""Ray Train: two DDP workers on CPU (tiny Flux), each reading its shard of the dataset through Ray Data.

The run also goes through gradient accumulation (DDP no_sync on the first micro-batch) and Prodigy.
"""

from __future__ import annotations

import json
from pathlib import Path

from layertracer.cli import main
from layertracer.models import ModelConfig
from layertracer.models.loading import image2layers_reference
from layertracer.train.checkpoint import LORA_FILE


def test_two_workers_train_image2layers_and_save_one_lora(
    ray_local, grid_dataset: str, tiny_flux_dir: str, tmp_path: Path
) -> None:
    out = tmp_path / "lora"
    args = [
        "train", grid_dataset, "--model", tiny_flux_dir, "--out", str(out), "--mode", "image2layers",
        "--steps", "2", "--batch-size", "1", "--grad-accum", "2", "--optimizer", "prodigy", "--lr", "1.0",
        "--rank", "4", "--checkpoint-every", "2",
        "--workers", "2", "--cpus-per-worker", "0.5", "--no-gpu",
    ]
    assert main(args) == 0
    assert sorted(p.name for p in out.rglob(LORA_FILE)) == [LORA_FILE, LORA_FILE]  # the LoRA + one checkpoint
    assert (out / LORA_FILE).stat().st_size > 0
    # The LoRA records that it saw the last cell clean, so Image2Layers sampling pins it clean ("auto").
    for lora in out.rglob(LORA_FILE):
        assert image2layers_reference(ModelConfig(tiny_flux_dir, loras=(str(lora),))) == "clean"
    assert image2layers_reference(ModelConfig(tiny_flux_dir, loras=(str(out),))) == "clean"
    assert image2layers_reference(ModelConfig(tiny_flux_dir, loras=(str(out),), reference="noised")) == "noised"
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == [1, 2] and all(e["loss"] > 0 for e in log)
