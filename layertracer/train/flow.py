"""Rectified-flow (flow matching) training math for Flux, on packed latent tokens.

As in diffusers' Flux training scripts: u ~ a density (`compute_density_for_timestep_sampling`: uniform,
logit-normal or "mode"), picked from the scheduler's 1000 training timesteps; x_t = (1 - sigma) x_0 + sigma * noise;
the transformer predicts the velocity noise - x_0 (timestep passed as t / 1000); the squared error is weighted per
sample (`compute_loss_weighting_for_sd3`). Image2Layers adds one thing: the last cell's tokens are the clean
reference in the input and carry no loss, so the model learns to draw the frames that lead up to a given icon.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers.training_utils import compute_density_for_timestep_sampling, compute_loss_weighting_for_sd3

from layertracer.train.options import FlowOptions


@dataclass(frozen=True)
class NoisedBatch:
    """One training input: noisy tokens, the velocity target, and which tokens the loss counts."""

    noisy: torch.Tensor  # [B, N, C] x_t (with the reference pinned in image2layers)
    target: torch.Tensor  # [B, N, C] noise - x_0
    timesteps: torch.Tensor  # [B] in the scheduler's 0..1000 scale
    sigmas: torch.Tensor  # [B]
    loss_mask: torch.Tensor  # [N] bool: tokens that count in the loss


def sample_timesteps(
    scheduler, batch_size: int, options: FlowOptions, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(timesteps, sigmas) for a batch, drawn from the scheduler's training table (as the diffusers scripts do)."""
    u = compute_density_for_timestep_sampling(
        weighting_scheme=options.weighting_scheme,
        batch_size=batch_size,
        logit_mean=options.logit_mean,
        logit_std=options.logit_std,
        mode_scale=options.mode_scale,
        generator=generator,
    )
    count = scheduler.config.num_train_timesteps
    indices = (u * count).long().clamp(0, count - 1)
    return scheduler.timesteps[indices].float(), scheduler.sigmas[indices].float()


def noise_batch(
    clean: torch.Tensor,
    noise: torch.Tensor,
    timesteps: torch.Tensor,
    sigmas: torch.Tensor,
    reference: torch.Tensor | None = None,
    reference_indices: torch.Tensor | None = None,
) -> NoisedBatch:
    """x_t and the velocity target; with a reference, its tokens are pinned clean and masked out of the loss."""
    sigma = sigmas.to(clean.device, clean.dtype).view(-1, 1, 1)
    noisy = (1.0 - sigma) * clean + sigma * noise
    loss_mask = torch.ones(clean.shape[1], dtype=torch.bool, device=clean.device)
    if reference is not None and reference_indices is not None:
        noisy[:, reference_indices] = reference.to(noisy.dtype)
        loss_mask[reference_indices] = False
    return NoisedBatch(noisy=noisy, target=noise - clean, timesteps=timesteps, sigmas=sigmas, loss_mask=loss_mask)


def flow_loss(prediction: torch.Tensor, batch: NoisedBatch, options: FlowOptions) -> torch.Tensor:
    """Weighted mean squared error over the counted tokens (fp32), averaged over the batch."""
    weighting = compute_loss_weighting_for_sd3(options.weighting_scheme, batch.sigmas.float())
    weighting = weighting.to(prediction.device).view(-1, 1, 1)
    error = (prediction.float() - batch.target.float()) ** 2
    counted = error[:, batch.loss_mask]
    return (weighting * counted).reshape(counted.shape[0], -1).mean(dim=1).mean()
