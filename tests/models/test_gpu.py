"""CUDA-only checks of the tiny pipeline: bf16 placement, CPU offload and VAE tiling give the resident result."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from layertracer.models import FluxSampler, ModelConfig, SampleRequest, load_pipeline

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]
ROW = SampleRequest(kind="text", prompt="a red cat", frames=4, seed=7, steps=2, cell_px=64)


def test_loads_bf16_on_cuda(tiny_flux_dir: str, tiny_loras: dict) -> None:
    pipe = load_pipeline(ModelConfig(tiny_flux_dir, lora=tiny_loras["kohya"]))
    assert pipe.transformer.dtype == torch.bfloat16
    assert pipe.transformer.device.type == "cuda" and pipe.vae.device.type == "cuda"


def test_offload_and_tiling_match_the_resident_pipeline(tiny_flux_dir: str, tiny_loras: dict) -> None:
    resident = FluxSampler(ModelConfig(tiny_flux_dir, lora=tiny_loras["diffusers"])).sample([ROW])[0]
    offloaded = FluxSampler(ModelConfig(tiny_flux_dir, lora=tiny_loras["diffusers"], offload=True)).sample([ROW])[0]
    assert resident.error is None and offloaded.error is None
    assert np.abs(resident.grid.astype(int) - offloaded.grid.astype(int)).max() <= 1
    image = SampleRequest(kind="image", image=resident.grid, frames=4, seed=1, steps=2, cell_px=64)
    assert FluxSampler(ModelConfig(tiny_flux_dir, offload=True, vae_tiling=True)).sample([image])[0].error is None
