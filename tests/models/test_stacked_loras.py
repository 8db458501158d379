"""Stacked LoRAs fused in order at their own scales, and `merge-lora` writing the same transformer to disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from layertracer.cli import main
from layertracer.models import FluxSampler, LoraWeights, ModelConfig, SampleRequest
from layertracer.testing.tiny_flux import build_tiny_lora

ROW = SampleRequest(kind="text", prompt="a red cat", frames=4, seed=7, steps=2, cell_px=64)


def grid(config: ModelConfig) -> np.ndarray:
    result = FluxSampler(config).sample([ROW])[0]
    assert result.error is None, result.error
    return result.grid


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


@pytest.fixture(scope="module")
def second_lora(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Another random diffusers-format LoRA (other seed): stands in for the recraft LoRA on top of the icon one."""
    return build_tiny_lora(tmp_path_factory.mktemp("lora-b") / "b.safetensors", "diffusers", seed=5, std=0.5)


@pytest.fixture(scope="module")
def stacked_grid(tiny_flux_dir: str, tiny_loras: dict, second_lora: str) -> np.ndarray:
    """The grid of the kohya LoRA and the second one at 0.8, stacked at load."""
    return grid(ModelConfig(tiny_flux_dir, loras=(tiny_loras["kohya"], LoraWeights(second_lora, 0.8))))


@pytest.mark.parametrize(
    "text,expected",
    [
        ("icon.safetensors", LoraWeights("icon.safetensors", 1.0)),
        ("icon.safetensors:0.8", LoraWeights("icon.safetensors", 0.8)),
        ("C:\\loras\\icon.safetensors", LoraWeights("C:\\loras\\icon.safetensors", 1.0)),
        ("C:\\loras\\icon.safetensors:-1.5e-1", LoraWeights("C:\\loras\\icon.safetensors", -0.15)),
        ("s3://bucket/icon.safetensors", LoraWeights("s3://bucket/icon.safetensors", 1.0)),
        ("showlab/LayerTracer:.5", LoraWeights("showlab/LayerTracer", 0.5)),
        ("odd:name.safetensors", LoraWeights("odd:name.safetensors", 1.0)),
    ],
)
def test_lora_argument_takes_a_scale_only_from_a_trailing_number(text: str, expected: LoraWeights) -> None:
    assert LoraWeights.parse(text) == expected


def test_two_loras_give_a_grid_unlike_either_alone_and_scales_apply_per_lora(
    tiny_flux_dir: str, tiny_loras: dict, second_lora: str
) -> None:
    first, second = tiny_loras["kohya"], second_lora
    alone_a = grid(ModelConfig(tiny_flux_dir, loras=(first,)))
    alone_b = grid(ModelConfig(tiny_flux_dir, loras=(second,)))
    stacked = grid(ModelConfig(tiny_flux_dir, loras=(first, second)))
    assert mean_abs(stacked, alone_a) > 5 and mean_abs(stacked, alone_b) > 5
    # Scale 0 on the first LoRA leaves exactly the second's grid.
    assert np.array_equal(grid(ModelConfig(tiny_flux_dir, loras=(LoraWeights(first, 0.0), second))), alone_b)


@pytest.mark.parametrize("out_name", ["merged.safetensors", "merged-folder"])
def test_merge_lora_writes_the_transformer_that_stacking_builds(
    tiny_flux_dir: str, tiny_loras: dict, second_lora: str, stacked_grid: np.ndarray, tmp_path: Path, capsys,
    out_name: str,
) -> None:
    out = tmp_path / out_name
    argv = ["merge-lora", "--model", tiny_flux_dir, "--lora", tiny_loras["kohya"], "--lora", f"{second_lora}:0.8",
            "--save-dtype", "fp32", "-o", str(out)]
    assert main(argv) == 0
    assert "fused (fp32)" in capsys.readouterr().out
    assert np.array_equal(grid(ModelConfig(tiny_flux_dir, transformer=str(out))), stacked_grid)


def test_cli_stacks_loras_and_refuses_model_flags_without_a_model(
    tiny_flux_dir: str, tiny_loras: dict, second_lora: str, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "x.svg"
    argv = ["generate", "a cat", "--model", tiny_flux_dir, "--lora", tiny_loras["kohya"], "--lora",
            f"{second_lora}:0.5", "--steps", "1", "--cell-px", "32", "--frames", "4", "-o", str(out)]
    assert main(argv) == 0 and out.exists()
    for argv, message in (
        (["vectorize", "in.png", "-o", str(out), "--lora", tiny_loras["kohya"]], "--lora needs --model"),
        (["vectorize", "in.png", "-o", str(out), "--preset", "icon9"], "--preset needs --model"),
        (["merge-lora", "--model", tiny_flux_dir, "--lora", str(tmp_path / "none.safetensors"), "-o",
          str(tmp_path / "m.safetensors")], "LoRA not found"),
        (["merge-lora", "--model", tiny_flux_dir, "--lora", tiny_loras["kohya"], "--save-dtype", "fp8", "-o",
          str(tmp_path / "folder")], "fp8 is written as one .safetensors file"),
    ):
        capsys.readouterr()
        assert main(argv) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("layertracer ") and message in err[-1], err
        assert not any("Traceback" in line for line in err)
