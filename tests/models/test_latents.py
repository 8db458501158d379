"""Packing and grid-cell token indices agree with FluxPipeline's own packing and with the grid layout."""

from __future__ import annotations

import pytest
import torch
from diffusers import FluxPipeline

from layertracer.errors import GridError
from layertracer.grid import GridSpec
from layertracer.models.latents import cell_token_indices, grid_canvas_px, pack_latents, unpack_latents


def test_pack_matches_flux_pipeline_and_unpack_inverts_it() -> None:
    latents = torch.randn(2, 16, 36, 24)
    packed = pack_latents(latents)
    assert torch.equal(packed, FluxPipeline._pack_latents(latents, 2, 16, 36, 24))
    assert torch.equal(unpack_latents(packed, 288, 192), latents)
    assert torch.equal(FluxPipeline._unpack_latents(packed, 288, 192, 8), latents)


@pytest.mark.parametrize("frames,order", [(4, "serpentine"), (9, "serpentine"), (9, "rowmajor")])
def test_cell_tokens_are_exactly_the_tokens_of_that_cell(frames: int, order: str) -> None:
    spec = GridSpec(frames=frames, order=order)
    canvas = 96 * spec.side  # 6x6 tokens per cell
    cell = canvas // 8 // spec.side
    seen: set[int] = set()
    for index, (row, col) in enumerate(spec.positions()):
        marked = torch.zeros(1, 16, canvas // 8, canvas // 8)
        marked[..., row * cell : (row + 1) * cell, col * cell : (col + 1) * cell] = 1.0
        expected = torch.nonzero(pack_latents(marked)[0, :, 0]).flatten()
        got = cell_token_indices(canvas, canvas, spec, index)
        assert torch.equal(got, expected)
        seen.update(got.tolist())
    assert seen == set(range((canvas // 16) ** 2))
    last = cell_token_indices(canvas, canvas, spec, frames - 1)
    assert torch.equal(cell_token_indices(canvas, canvas, spec, -1), last)


def test_last_serpentine_cell_of_2x2_is_bottom_left() -> None:
    # Serpentine 2x2: frame 4 is row 1, col 0 -> tokens rows 2..3, cols 0..1 of a 4x4 token canvas.
    assert cell_token_indices(64, 64, GridSpec(frames=4), -1).tolist() == [8, 9, 12, 13]


def test_canvas_sizes() -> None:
    assert grid_canvas_px(GridSpec(frames=4)) == 1024
    assert grid_canvas_px(GridSpec(frames=9)) == 1056
    assert grid_canvas_px(GridSpec(frames=9), 48) == 144
    with pytest.raises(GridError, match="multiple of 16"):
        grid_canvas_px(GridSpec(frames=9), 50)
    with pytest.raises(GridError, match="not divisible by 48"):
        cell_token_indices(1024, 1024, GridSpec(frames=9), 0)
