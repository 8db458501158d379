"""The denoising steps every Flux grid goes through: starting noise, the stock FluxPipeline loop, the decode.

`sample_text_grids` is text -> creation grid: one FluxPipeline call for a batch of prompts. Every row draws its
starting noise from its own `torch.Generator` (on the CPU, so a seed means the same noise on any device), which
makes a batch give the same grids as one row at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from layertracer.grid import GridSpec, Order
from layertracer.models.latents import VAE_SCALE, grid_canvas_px, pack_latents, unpack_latents
from layertracer.models.loading import Reference
from layertracer.models.prompts import DEFAULT_PROMPT_TEMPLATE, format_prompt

if TYPE_CHECKING:
    import torch
    from diffusers import FluxPipeline

MAX_SEQUENCE_LENGTH = 512  # T5 tokens, FLUX.1-dev's maximum


@dataclass(frozen=True)
class GridSettings:
    """A grid's resolved sampling settings: rows with equal settings share one pipeline call.

    `order` says which cell holds which frame (so which cell Image2Layers pins: the last); `template` is the
    prompt wording; `reference` is how Image2Layers pins the last cell (text rows ignore it).
    """

    frames: int = 9
    cell_px: int | None = None  # None: 512 px cells for 2x2, 352 px for 3x3
    steps: int = 25
    guidance: float = 3.5
    order: Order = "serpentine"
    template: str = DEFAULT_PROMPT_TEMPLATE
    reference: Reference = "noised"

    @property
    def spec(self) -> GridSpec:
        return GridSpec(frames=self.frames, order=self.order)

    @property
    def canvas_px(self) -> int:
        return grid_canvas_px(self.spec, self.cell_px)


def sample_text_grids(
    pipe: FluxPipeline,
    prompts: Sequence[str],
    seeds: Sequence[int],
    settings: GridSettings,
) -> list[np.ndarray]:
    """One grid (canvas x canvas x 3 uint8, frames in `settings.spec` order) per prompt."""
    full_prompts = [format_prompt(p, settings.frames, settings.template) for p in prompts]
    latents = denoise(pipe, full_prompts, initial_latents(pipe, seeds, settings.canvas_px), settings)
    return decode_grids(pipe, latents, settings.canvas_px)


def initial_latents(pipe: FluxPipeline, seeds: Sequence[int], canvas_px: int) -> torch.Tensor:
    """Packed starting noise [B, tokens, 64], row i drawn from a CPU generator seeded with seeds[i]."""
    import torch
    from diffusers.utils.torch_utils import randn_tensor

    channels = pipe.transformer.config.in_channels // 4
    side = canvas_px // VAE_SCALE  # latent positions per side
    generators = [torch.Generator("cpu").manual_seed(int(seed)) for seed in seeds]
    noise = randn_tensor(
        (len(seeds), channels, side, side),
        generator=generators,
        device=pipe._execution_device,
        dtype=pipe.transformer.dtype,
    )
    return pack_latents(noise)


def denoise(
    pipe: FluxPipeline,
    prompts: list[str],
    latents: torch.Tensor,
    settings: GridSettings,
    on_step_end: Callable | None = None,
) -> torch.Tensor:
    """Run the stock FluxPipeline denoising loop from `latents`; returns the final packed latents."""
    canvas = settings.canvas_px
    return pipe(
        prompt=prompts,
        height=canvas,
        width=canvas,
        num_inference_steps=settings.steps,
        guidance_scale=settings.guidance,
        latents=latents,
        max_sequence_length=MAX_SEQUENCE_LENGTH,
        callback_on_step_end=on_step_end,
        output_type="latent",
    ).images


def decode_grids(pipe: FluxPipeline, latents: torch.Tensor, canvas_px: int) -> list[np.ndarray]:
    """Packed latents -> uint8 RGB grids (the pipeline's own decode, rounded instead of truncated)."""
    import torch

    with torch.no_grad():
        vae_latents = unpack_latents(latents, canvas_px, canvas_px)
        vae_latents = vae_latents / pipe.vae.config.scaling_factor + pipe.vae.config.shift_factor
        pixels = pipe.vae.decode(vae_latents.to(pipe.vae.dtype), return_dict=False)[0]
    pipe.maybe_free_model_hooks()  # with CPU offload: send the VAE back to the CPU
    images = ((pixels.float().clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)
    return list(images.permute(0, 2, 3, 1).cpu().numpy())
