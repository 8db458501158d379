"""Image2Layers: given a finished icon, let the model draw the creation frames that lead up to it.

The reference is padded to a square on white, resized to one cell and VAE-encoded; its packed tokens then pin
the grid's last cell (which cell that is follows the cell order: bottom-right for a 3x3 grid in either order and
for a row-major 2x2, bottom-left for a serpentine 2x2) at every denoising step, in one of two ways:

- `clean`: the cell is the clean reference latent before every transformer call, as in the authors' released
  recraft code (library/flux_train_utils_recraft.py) and as LoRAs trained here in image2layers mode saw it.
  The presets use it.
- `noised`: the cell is the reference noised to the sigma the next step starts from (clean after the last step),
  so the model sees the last frame at the same noise level as the rest of the grid (the flow-matching path).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from layertracer.grid import square_frame
from layertracer.images import flatten_on_white
from layertracer.models.denoise import GridSettings, decode_grids, denoise, initial_latents
from layertracer.models.latents import cell_token_indices, pack_latents
from layertracer.models.prompts import IMAGE_SUBJECT, format_prompt

if TYPE_CHECKING:
    import torch
    from diffusers import FluxPipeline


def prepare_reference(image: np.ndarray, cell_px: int) -> np.ndarray:
    """RGB or RGBA uint8 -> cell_px x cell_px RGB: alpha flattened on white, centred on a white square, resized."""
    square = Image.fromarray(square_frame(flatten_on_white(image)))
    if square.width != cell_px:
        square = square.resize((cell_px, cell_px), Image.Resampling.LANCZOS)
    return np.asarray(square)


def encode_cells(pipe: FluxPipeline, cells: Sequence[np.ndarray]) -> torch.Tensor:
    """VAE-encode equal-size RGB cells to packed, scaled and shifted Flux tokens [B, cell tokens, 64]."""
    import torch

    pixels = torch.from_numpy(np.stack(cells)).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    pixels = pixels.to(device=pipe._execution_device, dtype=pipe.vae.dtype)
    with torch.no_grad():
        latents = pipe.vae.encode(pixels).latent_dist.mode()  # the mean: the reference, not a sample around it
    latents = (latents - pipe.vae.config.shift_factor) * pipe.vae.config.scaling_factor
    return pack_latents(latents).to(pipe.transformer.dtype)


class LastCellOverwrite:
    """`callback_on_step_end` that pins the last cell's tokens to the reference on the noise path of its own noise.

    The callback runs after the scheduler step, so the latents are already at the next sigma s; the cell becomes
    (1 - s) * reference + s * noise, the flow-matching interpolation FLUX was trained on, with the same noise
    the cell started from, so the pinned cell follows one straight path from its start noise to the reference.
    With `clean`, the cell is the reference itself at every step.
    """

    def __init__(
        self, reference: torch.Tensor, start_noise: torch.Tensor, indices: torch.Tensor, clean: bool = False
    ) -> None:
        self.reference = reference
        self.start_noise = start_noise
        self.indices = indices.to(reference.device)
        self.clean = clean

    def __call__(self, pipe: FluxPipeline, step: int, timestep, callback_kwargs: dict) -> dict:
        latents = callback_kwargs["latents"]
        if self.clean:
            latents[:, self.indices] = self.reference
            return {"latents": latents}
        sigma = pipe.scheduler.sigmas[pipe.scheduler.step_index].to(latents.device, latents.dtype)
        latents[:, self.indices] = (1.0 - sigma) * self.reference + sigma * self.start_noise
        return {"latents": latents}


def sample_image2layers(
    pipe: FluxPipeline,
    images: Sequence[np.ndarray],
    prompts: Sequence[str | None],
    seeds: Sequence[int],
    settings: GridSettings,
) -> list[np.ndarray]:
    """One grid per reference image whose last frame is (the VAE round trip of) that image."""
    latents = denoise_image2layers(pipe, images, prompts, seeds, settings)
    return decode_grids(pipe, latents, settings.canvas_px)


def denoise_image2layers(
    pipe: FluxPipeline,
    images: Sequence[np.ndarray],
    prompts: Sequence[str | None],
    seeds: Sequence[int],
    settings: GridSettings,
) -> torch.Tensor:
    """The final packed latents [B, tokens, 64]; the last cell's tokens equal the encoded reference."""
    canvas = settings.canvas_px
    encoded = encode_cells(pipe, [prepare_reference(image, canvas // settings.spec.side) for image in images])
    latents = initial_latents(pipe, seeds, canvas)
    indices = cell_token_indices(canvas, canvas, settings.spec, -1).to(latents.device)
    clean = settings.reference == "clean"
    overwrite = LastCellOverwrite(encoded, latents[:, indices].clone(), indices, clean)
    if clean:
        latents[:, indices] = encoded
    # Noised, flow matching starts at sigma 1 (pure noise): the cell needs no overwrite before the first step.
    full_prompts = [format_prompt(p or IMAGE_SUBJECT, settings.frames, settings.template) for p in prompts]
    return denoise(pipe, full_prompts, latents, settings, on_step_end=overwrite)
