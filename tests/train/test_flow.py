"""The flow-matching objective: interpolation, velocity target, Image2Layers pinning and loss mask."""

from __future__ import annotations

import torch
from diffusers import FlowMatchEulerDiscreteScheduler

from layertracer.grid import GridSpec
from layertracer.models.latents import cell_token_indices
from layertracer.train.flow import flow_loss, noise_batch, sample_timesteps
from layertracer.train.options import FlowOptions


def test_noisy_input_and_velocity_target() -> None:
    clean, noise = torch.randn(2, 16, 64), torch.randn(2, 16, 64)
    sigmas = torch.tensor([0.25, 1.0])
    batch = noise_batch(clean, noise, sigmas * 1000, sigmas)
    assert torch.allclose(batch.noisy[0], 0.75 * clean[0] + 0.25 * noise[0])
    assert torch.allclose(batch.noisy[1], noise[1])  # sigma 1 is pure noise
    assert torch.allclose(batch.target, noise - clean)
    assert batch.loss_mask.all()
    assert flow_loss(batch.target, batch, FlowOptions()) == 0  # the exact velocity costs nothing


def test_image2layers_pins_the_last_cell_clean_and_leaves_it_out_of_the_loss() -> None:
    spec = GridSpec(4)
    indices = cell_token_indices(128, 128, spec, -1)  # 8x8 tokens, the bottom-left 4x4 cell
    clean, noise = torch.randn(1, 64, 64), torch.randn(1, 64, 64)
    reference = torch.randn(1, len(indices), 64)
    batch = noise_batch(clean, noise, torch.tensor([500.0]), torch.tensor([0.5]), reference, indices)
    assert torch.equal(batch.noisy[:, indices], reference)
    others = torch.ones(64, dtype=torch.bool)
    others[indices] = False
    assert torch.allclose(batch.noisy[:, others], 0.5 * clean[:, others] + 0.5 * noise[:, others])
    assert int(batch.loss_mask.sum()) == 64 - 16
    wrong_in_reference_only = batch.target.clone()
    wrong_in_reference_only[:, indices] += 10.0
    assert flow_loss(wrong_in_reference_only, batch, FlowOptions()) == 0
    wrong_elsewhere = batch.target.clone()
    wrong_elsewhere[:, others] += 1.0
    assert torch.isclose(flow_loss(wrong_elsewhere, batch, FlowOptions()), torch.tensor(1.0))


def test_timesteps_come_from_the_scheduler_table() -> None:
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=True)
    generator = torch.Generator().manual_seed(0)
    timesteps, sigmas = sample_timesteps(scheduler, 4000, FlowOptions(), generator)
    assert torch.allclose(sigmas, timesteps / 1000)
    assert 0 < sigmas.min() and sigmas.max() <= 1
    uniform_spread = sigmas.std()
    _, logit = sample_timesteps(scheduler, 4000, FlowOptions("logit_normal"), generator)
    assert abs(float(logit.mean()) - 0.5) < 0.02 and logit.std() < uniform_spread  # mass around the middle
