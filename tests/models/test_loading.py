"""Loading the real diffusers classes from a folder, LoRAs in both formats, and one clear ModelError per failure."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from layertracer.errors import ModelError
from layertracer.models import FluxSampler, LoraWeights, ModelConfig, SampleRequest, load_pipeline

ROW = SampleRequest(kind="text", prompt="a red cat", frames=4, seed=7, steps=2, cell_px=64)


def grid(config: ModelConfig) -> np.ndarray:
    result = FluxSampler(config).sample([ROW])[0]
    assert result.error is None
    return result.grid


def test_loads_fp32_on_cpu_in_eval_mode(tiny_flux_dir: str) -> None:
    pipe = load_pipeline(ModelConfig(tiny_flux_dir))
    assert pipe.transformer.dtype == torch.float32
    assert pipe.device.type == "cpu"
    assert not pipe.text_encoder_2.training


@pytest.mark.parametrize("fmt", ["diffusers", "kohya"])
def test_lora_changes_the_output_and_scale_zero_does_not(tiny_flux_dir: str, tiny_loras: dict, fmt: str) -> None:
    base = grid(ModelConfig(tiny_flux_dir))
    with_lora = grid(ModelConfig(tiny_flux_dir, loras=(tiny_loras[fmt],)))
    half = grid(ModelConfig(tiny_flux_dir, loras=(LoraWeights(tiny_loras[fmt], 0.5),)))
    off = grid(ModelConfig(tiny_flux_dir, loras=(LoraWeights(tiny_loras[fmt], 0.0),)))
    changed = np.abs(with_lora.astype(int) - base).mean()
    assert changed > 5.0
    assert 0 < np.abs(half.astype(int) - base).mean() < changed
    assert np.array_equal(off, base)


def test_a_lora_folder_loads_like_its_file(tiny_flux_dir: str, tiny_loras: dict, tmp_path: Path) -> None:
    shutil.copy(tiny_loras["diffusers"], tmp_path / "pytorch_lora_weights.safetensors")
    assert np.array_equal(
        grid(ModelConfig(tiny_flux_dir, loras=(str(tmp_path),))),
        grid(ModelConfig(tiny_flux_dir, loras=(tiny_loras["diffusers"],))),
    )


def _lora(path: Path, tensors: dict[str, tuple[int, ...]]) -> str:
    save_file({k: torch.randn(*shape) for k, shape in tensors.items()}, str(path))
    return str(path)


def test_model_errors(tiny_flux_dir: str, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model folder not found: .*nowhere"):
        load_pipeline(ModelConfig(str(tmp_path / "nowhere")))
    with pytest.raises(ModelError, match="no model_index.json"):
        load_pipeline(ModelConfig(str(tmp_path)))
    with pytest.raises(ModelError, match="not in the Hugging Face cache"):
        load_pipeline(ModelConfig("layertracer-tests/no-such-model"))
    corrupt = tmp_path / "corrupt"
    shutil.copytree(tiny_flux_dir, corrupt)
    weights = corrupt / "transformer" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelError, match=r"cannot load model .*corrupt.*diffusion_pytorch_model"):
        load_pipeline(ModelConfig(str(corrupt)))
    with pytest.raises(ModelError, match="needs a CUDA device"):
        load_pipeline(ModelConfig(tiny_flux_dir, offload=True, device="cpu"))


def test_wrong_loras_are_refused(tiny_flux_dir: str, tmp_path: Path) -> None:
    cases = {
        "missing": (str(tmp_path / "missing.safetensors"), "LoRA not found"),
        "wider model": (
            _lora(tmp_path / "wide.safetensors", {
                "transformer.transformer_blocks.0.attn.to_q.lora_A.weight": (4, 3072),
                "transformer.transformer_blocks.0.attn.to_q.lora_B.weight": (3072, 4),
            }),
            "does not fit this model: size mismatch",
        ),
        "deeper model": (
            _lora(tmp_path / "deep.safetensors", {
                "transformer.transformer_blocks.18.attn.to_q.lora_A.weight": (4, 32),
                "transformer.transformer_blocks.18.attn.to_q.lora_B.weight": (32, 4),
            }),
            "does not fit this model: Target modules",
        ),
        "SDXL kohya": (
            _lora(tmp_path / "sdxl.safetensors", {
                "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": (4, 32),
                "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": (32, 4),
            }),
            "Incompatible keys detected: lora_unet_down_blocks",
        ),
        "control": (
            _lora(tmp_path / "control.safetensors", {
                "transformer.x_embedder.lora_A.weight": (4, 128),
                "transformer.x_embedder.lora_B.weight": (32, 4),
            }),
            "expects 128 latent input channels, the model has 64",
        ),
        "not a LoRA": (_lora(tmp_path / "plain.safetensors", {"proj.weight": (2, 2)}), "Invalid LoRA checkpoint"),
    }
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not safetensors")
    cases["garbage"] = (str(garbage), "does not fit this model: Unable to load weights")
    for name, (lora, message) in cases.items():
        with pytest.raises(ModelError, match=message) as caught:
            load_pipeline(ModelConfig(tiny_flux_dir, loras=(lora,)))
        assert "\n" not in str(caught.value), name
