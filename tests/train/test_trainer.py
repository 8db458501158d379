"""LoRA training with the tiny Flux on synthetic grids: the loss falls, the LoRA loads and matters, resume resumes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from layertracer.cli import main
from layertracer.models import FluxSampler, ModelConfig, SampleRequest, load_pipeline
from layertracer.models.loading import image2layers_reference
from layertracer.train.checkpoint import LORA_FILE, load_lora_state
from layertracer.train.options import TrainOptions
from layertracer.train.trainer import add_lora

RANK, ALPHA = 4, 8  # alpha != rank: the reload must use the saved scale (FIELD-NOTES)
ROW = SampleRequest(kind="text", prompt="a red circle", frames=4, seed=3, steps=2, cell_px=64)


def train_args(data: str, model: str, out: Path, steps: int, *extra: str) -> list[str]:
    return [
        "train", data, "--model", model, "--out", str(out), "--steps", str(steps), "--batch-size", "2",
        "--rank", str(RANK), "--alpha", str(ALPHA), "--lr", "1e-2", "--checkpoint-every", "10", *extra,
    ]


def read_log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def trained(grid_dataset: str, tiny_flux_dir: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lora") / "run"
    assert main(train_args(grid_dataset, tiny_flux_dir, out, 30)) == 0
    return out


def test_thirty_steps_lower_the_loss(trained: Path) -> None:
    log = read_log(trained)
    assert [e["step"] for e in log] == list(range(1, 31))
    losses = np.array([e["loss"] for e in log])
    assert losses[-5:].mean() < losses[:5].mean() - 0.05, losses.round(3)


def test_the_saved_lora_loads_and_changes_the_output(trained: Path, tiny_flux_dir: str) -> None:
    with safe_open(str(trained / LORA_FILE), "pt") as f:
        meta = json.loads(f.metadata()["lora_adapter_metadata"])
    assert meta["transformer.r"] == RANK and meta["transformer.lora_alpha"] == ALPHA
    assert image2layers_reference(ModelConfig(tiny_flux_dir, loras=(str(trained),))) == "noised"  # a text-mode LoRA
    base = FluxSampler(ModelConfig(tiny_flux_dir)).sample([ROW])[0].grid
    tuned = FluxSampler(ModelConfig(tiny_flux_dir, loras=(str(trained),))).sample([ROW])[0].grid
    assert np.abs(base.astype(int) - tuned.astype(int)).mean() > 1.0


def test_load_lora_weights_reproduces_the_trained_adapter(trained: Path, tiny_flux_dir: str) -> None:
    """diffusers' loader (scale from the saved metadata) computes what the trainer's own adapter computes."""
    ours = load_pipeline(ModelConfig(tiny_flux_dir)).transformer
    add_lora(ours, TrainOptions(data_uri="-", model="-", out="-", rank=RANK, alpha=ALPHA))
    load_lora_state(ours, str(trained))
    pipe = load_pipeline(ModelConfig(tiny_flux_dir))
    plain = pipe.transformer
    generator = torch.Generator().manual_seed(0)
    inputs = {
        "hidden_states": torch.randn(1, 16, 64, generator=generator),
        "encoder_hidden_states": torch.randn(1, 8, 32, generator=generator),
        "pooled_projections": torch.randn(1, 32, generator=generator),
        "timestep": torch.tensor([0.5]), "guidance": torch.tensor([3.5]),
        "txt_ids": torch.zeros(8, 3), "img_ids": pipe._prepare_latent_image_ids(1, 4, 4, "cpu", torch.float32),
        "return_dict": False,
    }
    with torch.no_grad():
        before = plain(**inputs)[0]
        pipe.load_lora_weights(str(trained))
        loaded = plain(**inputs)[0]
        ours.eval()
        expected = ours(**inputs)[0]
    assert (loaded - before).abs().max() > 1e-3
    torch.testing.assert_close(loaded, expected, rtol=1e-4, atol=1e-5)


def test_resume_continues_the_step_count(trained: Path, grid_dataset, tiny_flux_dir, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    shutil.copytree(trained, out)
    assert main(train_args(grid_dataset, tiny_flux_dir, out, 36, "--resume")) == 0
    log = read_log(out)
    assert [e["step"] for e in log] == list(range(1, 37))
    assert log[:30] == read_log(trained)  # the first run's history is kept as it was
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-00000030", "step-00000036"]
    capsys.readouterr()
    assert main(train_args(grid_dataset, tiny_flux_dir, out, 40)) == 1
    assert "--resume" in capsys.readouterr().err.strip()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--rank", "0"], "rank must be at least 1"),
        (["--cell-px", "50"], "multiple of 16"),
        (["--lr", "0"], "positive"),
    ],
)
def test_bad_options_are_one_line_errors(grid_dataset, tiny_flux_dir, tmp_path, capsys, args, message) -> None:
    assert main(train_args(grid_dataset, tiny_flux_dir, tmp_path / "x", 1, *args)) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_missing_dataset_is_a_one_line_error(tiny_flux_dir, tmp_path, capsys) -> None:
    assert main(train_args(str(tmp_path / "nowhere"), tiny_flux_dir, tmp_path / "x", 1)) == 1
    err = capsys.readouterr().err
    assert "nowhere" in err and "Traceback" not in err
