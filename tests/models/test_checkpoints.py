"""Single-file transformer checkpoints (BFL and diffusers keys, fp32 and fp8) load to the grid of their folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from layertracer.cli import main
from layertracer.errors import ModelError
from layertracer.models import FluxSampler, ModelConfig, SampleRequest, load_pipeline
from layertracer.models.checkpoints import bfl_to_diffusers
from layertracer.models.loading import store_fp8
from layertracer.testing.checkpoints import diffusers_to_bfl, write_transformer_file

ROW = SampleRequest(kind="text", prompt="a red cat", frames=4, seed=7, steps=2, cell_px=64)


def grid(config: ModelConfig) -> np.ndarray:
    result = FluxSampler(config).sample([ROW])[0]
    assert result.error is None, result.error
    return result.grid


@pytest.fixture(scope="module")
def folder_grid(tiny_flux_dir: str) -> np.ndarray:
    return grid(ModelConfig(tiny_flux_dir))


@pytest.fixture(scope="module")
def checkpoint_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("checkpoints")


def test_bfl_keys_round_trip_through_diffusers_converter(tiny_flux_dir: str) -> None:
    from diffusers import FluxTransformer2DModel

    state = FluxTransformer2DModel.from_pretrained(f"{tiny_flux_dir}/transformer").state_dict()
    bfl = diffusers_to_bfl(state)
    assert "double_blocks.0.img_attn.qkv.weight" in bfl and "single_blocks.0.linear1.weight" in bfl
    back = bfl_to_diffusers(bfl, inner_dim=32)
    assert back.keys() == state.keys()
    assert all(torch.equal(back[key], state[key]) for key in state)


@pytest.mark.parametrize("layout,prefix", [("bfl", ""), ("bfl", "model.diffusion_model."), ("diffusers", "")])
def test_single_file_gives_the_folder_grid(
    tiny_flux_dir: str, folder_grid: np.ndarray, checkpoint_dir: Path, layout: str, prefix: str
) -> None:
    file = write_transformer_file(
        f"{tiny_flux_dir}/transformer", checkpoint_dir / f"{layout}{len(prefix)}.safetensors", layout, prefix=prefix
    )
    config = ModelConfig(tiny_flux_dir, transformer=file)
    loaded = load_pipeline(config).transformer.state_dict()
    folder = load_pipeline(ModelConfig(tiny_flux_dir)).transformer.state_dict()
    assert loaded.keys() == folder.keys() and all(torch.equal(loaded[k], folder[k]) for k in folder)
    # The very weights, so the same grid up to float rounding: a BFL file's tensors are rebuilt by splitting fused
    # ones, and where a tensor lies in memory decides how CPU kernels vectorize their sums (a level, rarely).
    assert np.abs(grid(config).astype(int) - folder_grid).max() <= 1


def test_fp8_file_is_upcast_on_the_cpu_and_draws_close_to_the_folder(
    tiny_flux_dir: str, folder_grid: np.ndarray, checkpoint_dir: Path
) -> None:
    file = write_transformer_file(
        f"{tiny_flux_dir}/transformer", checkpoint_dir / "fp8.safetensors", "bfl", torch.float8_e4m3fn,
        "model.diffusion_model.",
    )
    pipe = load_pipeline(ModelConfig(tiny_flux_dir, transformer=file))
    assert pipe.transformer.transformer_blocks[0].attn.to_q.weight.dtype == torch.float32
    fp8_grid = FluxSampler(ModelConfig(tiny_flux_dir), pipe=pipe).sample([ROW])[0].grid
    # e4m3 keeps 3 mantissa bits (up to ~6% relative error per weight), and upcasting keeps that error: the grid
    # moves by about one level on average, where another seed moves it by ~37.
    difference = np.abs(fp8_grid.astype(int) - folder_grid).mean()
    assert 0 < difference < 3.0


def test_fp8_storage_keeps_weights_fp8_and_draws_close_to_the_folder(
    tiny_flux_dir: str, folder_grid: np.ndarray, checkpoint_dir: Path
) -> None:
    """What --fp8 does on a GPU (layerwise casting), exercised on the CPU with fp32 compute."""
    file = write_transformer_file(
        f"{tiny_flux_dir}/transformer", checkpoint_dir / "fp8-stored.safetensors", "bfl", torch.float8_e4m3fn,
    )
    pipe = load_pipeline(ModelConfig(tiny_flux_dir, transformer=file))
    store_fp8(pipe, torch.float32)
    weight = pipe.transformer.transformer_blocks[0].attn.to_q.weight
    assert weight.dtype == torch.float8_e4m3fn and pipe.transformer.dtype == torch.float32  # stored fp8, fp32 compute
    t5 = pipe.text_encoder_2
    assert t5.encoder.block[0].layer[0].SelfAttention.q.weight.dtype == torch.float8_e4m3fn  # T5 too
    assert t5.shared.weight.dtype == torch.float32 and t5.dtype == torch.float32  # its embedding sets the prompt's
    fp8_grid = FluxSampler(ModelConfig(tiny_flux_dir), pipe=pipe).sample([ROW])[0].grid
    # e4m3 keeps 3 mantissa bits (up to ~6% relative error per weight): on this random model (transformer and T5
    # in fp8) the grid moves by about one level on average, where another seed moves it by ~37.
    difference = np.abs(fp8_grid.astype(int) - folder_grid).mean()
    assert 0 < difference < 3.0


def test_fp8_flag_is_refused_on_the_cpu_in_one_line(tiny_flux_dir: str, capsys) -> None:
    with pytest.raises(ModelError, match="--fp8 needs a CUDA device") as caught:
        load_pipeline(ModelConfig(tiny_flux_dir, fp8=True, device="cpu"))
    assert "\n" not in str(caught.value)
    assert main(["generate", "a cat", "--model", tiny_flux_dir, "--fp8", "-o", "unused.svg"]) != 0
    err = capsys.readouterr().err
    assert "--fp8 needs a CUDA device" in err and "Traceback" not in err and err.count("\n") == 1


def test_wrong_checkpoints_are_refused_in_one_line(tiny_flux_dir: str, tmp_path: Path) -> None:
    sdxl = tmp_path / "sdxl.safetensors"
    save_file({"conditioner.embedders.0.weight": torch.zeros(2, 2)}, str(sdxl))
    wide = tmp_path / "wide.safetensors"
    save_file({"transformer_blocks.0.attn.to_q.weight": torch.zeros(64, 64)}, str(wide))
    scaled = tmp_path / "scaled.safetensors"
    save_file({"double_blocks.0.img_attn.qkv.weight": torch.zeros(2, 2).to(torch.float8_e4m3fn),
               "double_blocks.0.img_attn.qkv.scale_weight": torch.ones(1)}, str(scaled))
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{")
    cases = {
        str(tmp_path / "missing.safetensors"): "transformer checkpoint not found",
        str(sdxl): "not a FLUX.1 transformer checkpoint: neither BFL",
        str(wide): "does not fit model",
        str(scaled): "scaled fp8 checkpoint",
        str(truncated): "cannot read transformer checkpoint",
        str(tmp_path): "cannot load transformer folder",
    }
    for file, message in cases.items():
        with pytest.raises(ModelError, match=message) as caught:
            load_pipeline(ModelConfig(tiny_flux_dir, transformer=file))
        assert "\n" not in str(caught.value), file


def test_cli_refuses_a_bfl_file_of_another_size_in_one_line(tiny_flux_dir: str, tmp_path: Path, capsys) -> None:
    bfl = diffusers_to_bfl({k: v[..., :1] if v.ndim > 1 else v for k, v in _tiny_state(tiny_flux_dir).items()})
    file = tmp_path / "other.safetensors"
    save_file({k: v.contiguous() for k, v in bfl.items()}, str(file))
    argv = ["generate", "a cat", "--model", tiny_flux_dir, "--transformer", str(file), "-o", str(tmp_path / "x.svg")]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("layertracer generate: error: transformer checkpoint")


def _tiny_state(tiny_flux_dir: str) -> dict[str, torch.Tensor]:
    from diffusers import FluxTransformer2DModel

    return FluxTransformer2DModel.from_pretrained(f"{tiny_flux_dir}/transformer").state_dict()
