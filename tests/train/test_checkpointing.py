"""Gradient checkpointing on every Nth block: exactly those blocks run twice, and the gradients do not change."""

from __future__ import annotations

import pytest
import torch
from diffusers import FluxTransformer2DModel

from layertracer.train.trainer import enable_checkpointing

IMAGE_TOKENS, TEXT_TOKENS = 16, 4


def transformer(tiny_flux_dir: str) -> FluxTransformer2DModel:
    """The tiny transformer with 3 double- and 3 single-stream blocks, seeded."""
    config = FluxTransformer2DModel.load_config(tiny_flux_dir, subfolder="transformer")
    torch.manual_seed(0)
    return FluxTransformer2DModel.from_config(config, num_layers=3, num_single_layers=3).train()


def forward_backward(model: FluxTransformer2DModel) -> tuple[list[int], torch.Tensor]:
    """How often each block (double-stream first) started, and the gradient of the input. (A recomputation
    stops early, once it has what the backward needs: only pre-hooks see it.)"""
    blocks = [*model.transformer_blocks, *model.single_transformer_blocks]
    calls = [0] * len(blocks)
    hooks = [
        block.register_forward_pre_hook(lambda *_, i=i: calls.__setitem__(i, calls[i] + 1))
        for i, block in enumerate(blocks)
    ]
    config = model.config
    generator = torch.Generator().manual_seed(1)
    hidden = torch.randn(1, IMAGE_TOKENS, config.in_channels, generator=generator, requires_grad=True)
    output = model(
        hidden_states=hidden,
        encoder_hidden_states=torch.randn(1, TEXT_TOKENS, config.joint_attention_dim, generator=generator),
        pooled_projections=torch.randn(1, config.pooled_projection_dim, generator=generator),
        timestep=torch.tensor([0.5]),
        guidance=torch.tensor([3.5]) if config.guidance_embeds else None,
        img_ids=torch.zeros(IMAGE_TOKENS, 3),
        txt_ids=torch.zeros(TEXT_TOKENS, 3),
        return_dict=False,
    )[0]
    output.square().mean().backward()
    for hook in hooks:
        hook.remove()
    return calls, hidden.grad


@pytest.mark.parametrize(("interval", "runs"), [(1, [2] * 6), (2, [2, 1, 2, 1, 2, 1]), (4, [2, 1, 1, 1, 2, 1])])
def test_every_nth_block_is_recomputed_with_unchanged_gradients(tiny_flux_dir: str, interval: int, runs: list) -> None:
    plain_calls, plain_grad = forward_backward(transformer(tiny_flux_dir))
    assert plain_calls == [1] * 6
    model = transformer(tiny_flux_dir)
    enable_checkpointing(model, interval)
    calls, grad = forward_backward(model)
    assert calls == runs
    torch.testing.assert_close(grad, plain_grad)
