"""Flux latent geometry: packing VAE latents into tokens, and which tokens belong to which grid cell.

Flux's VAE maps 8x8 pixels to one latent position with 16 channels; the transformer then packs 2x2 latent
positions into one token of 64 channels. One token therefore covers 16x16 pixels, and an H x W canvas is a
row-major sequence of (H/16) x (W/16) tokens. This module is pure torch (no diffusers) so training can reuse it.
"""

from __future__ import annotations

import torch

from layertracer.errors import GridError
from layertracer.grid import GridSpec

VAE_SCALE = 8  # pixels per latent position
PATCH = 2  # latent positions per token side
TOKEN_PX = VAE_SCALE * PATCH  # 16 pixels per token side


def grid_canvas_px(spec: GridSpec, cell_px: int | None = None) -> int:
    """Side of the square canvas for `spec` (cell_px defaults to 512 for 2x2 and 352 for 3x3).

    A cell must be a whole number of tokens, so cell_px must be a multiple of 16 (hence 1056 px, not 1024, for 3x3).
    """
    cell = spec.cell_px if cell_px is None else cell_px
    if cell < TOKEN_PX or cell % TOKEN_PX:
        raise GridError(f"cell size must be a positive multiple of {TOKEN_PX} px, got {cell}")
    return cell * spec.side


def pack_latents(latents: torch.Tensor) -> torch.Tensor:
    """[B, C, h, w] VAE latents -> [B, (h/2)*(w/2), C*4] tokens, row-major over 2x2 patches (as FluxPipeline)."""
    batch, channels, height, width = latents.shape
    patches = latents.view(batch, channels, height // PATCH, PATCH, width // PATCH, PATCH)
    return patches.permute(0, 2, 4, 1, 3, 5).reshape(batch, (height // PATCH) * (width // PATCH), channels * 4)


def unpack_latents(tokens: torch.Tensor, height_px: int, width_px: int) -> torch.Tensor:
    """Inverse of `pack_latents` for an image of height_px x width_px pixels -> [B, C, height_px/8, width_px/8]."""
    batch, _, dim = tokens.shape
    rows, cols = height_px // TOKEN_PX, width_px // TOKEN_PX
    patches = tokens.view(batch, rows, cols, dim // 4, PATCH, PATCH)
    return patches.permute(0, 3, 1, 4, 2, 5).reshape(batch, dim // 4, rows * PATCH, cols * PATCH)


def cell_token_indices(height_px: int, width_px: int, spec: GridSpec, frame_index: int) -> torch.Tensor:
    """Indices (ascending, int64) of the packed tokens covering frame `frame_index` (creation order, -1 = last).

    For a g x g grid, a cell is th = H/16/g tokens high and tw = W/16/g tokens wide; token (a, b) of the cell at
    (row r, col c) sits at sequence position (r*th + a) * (W/16) + (c*tw + b). Serpentine vs row-major order only
    changes which (r, c) a frame index names, which `GridSpec.positions()` decides.
    """
    side = spec.side
    for name, length in (("height", height_px), ("width", width_px)):
        if length % (TOKEN_PX * side):
            raise GridError(f"canvas {name} {length} px is not divisible by {TOKEN_PX * side} ({side}x{side} grid)")
    row, col = spec.positions()[frame_index]
    cell_h, cell_w = height_px // TOKEN_PX // side, width_px // TOKEN_PX // side
    tokens_per_row = width_px // TOKEN_PX
    a = torch.arange(cell_h).unsqueeze(1)
    b = torch.arange(cell_w).unsqueeze(0)
    return ((row * cell_h + a) * tokens_per_row + (col * cell_w + b)).reshape(-1)
