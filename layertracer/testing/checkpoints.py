"""Test harness: write a diffusers FLUX.1 transformer as the single-file checkpoints users download.

`diffusers_to_bfl` is the inverse of diffusers' `convert_flux_transformer_checkpoint_to_diffusers` (Black Forest
Labs' key layout: fused qkv, fused single-block projections, the final norm's shift/scale halves swapped), so a
test can check that a BFL file loads back to the very weights it was written from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch

RENAMES = {  # diffusers prefix -> BFL prefix (weight and bias follow)
    "time_text_embed.timestep_embedder.linear_1": "time_in.in_layer",
    "time_text_embed.timestep_embedder.linear_2": "time_in.out_layer",
    "time_text_embed.text_embedder.linear_1": "vector_in.in_layer",
    "time_text_embed.text_embedder.linear_2": "vector_in.out_layer",
    "time_text_embed.guidance_embedder.linear_1": "guidance_in.in_layer",
    "time_text_embed.guidance_embedder.linear_2": "guidance_in.out_layer",
    "context_embedder": "txt_in",
    "x_embedder": "img_in",
    "proj_out": "final_layer.linear",
}
DOUBLE_RENAMES = {
    "norm1.linear": "img_mod.lin",
    "norm1_context.linear": "txt_mod.lin",
    "attn.norm_q": "img_attn.norm.query_norm",
    "attn.norm_k": "img_attn.norm.key_norm",
    "attn.norm_added_q": "txt_attn.norm.query_norm",
    "attn.norm_added_k": "txt_attn.norm.key_norm",
    "ff.net.0.proj": "img_mlp.0",
    "ff.net.2": "img_mlp.2",
    "ff_context.net.0.proj": "txt_mlp.0",
    "ff_context.net.2": "txt_mlp.2",
    "attn.to_out.0": "img_attn.proj",
    "attn.to_add_out": "txt_attn.proj",
}
DOUBLE_FUSED = {"img_attn.qkv": ("attn.to_q", "attn.to_k", "attn.to_v"),
                "txt_attn.qkv": ("attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj")}
SINGLE_RENAMES = {
    "norm.linear": "modulation.lin",
    "attn.norm_q": "norm.query_norm",
    "attn.norm_k": "norm.key_norm",
    "proj_out": "linear2",
}
SINGLE_FUSED = {"linear1": ("attn.to_q", "attn.to_k", "attn.to_v", "proj_mlp")}


def diffusers_to_bfl(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A diffusers FluxTransformer2DModel state dict in BFL keys; every key is used exactly once."""
    state = dict(state)
    out: dict[str, torch.Tensor] = {}

    def move(source: str, target: str) -> None:
        for suffix, bfl_suffix in ((".weight", ".weight"), (".bias", ".bias")):
            if source + suffix in state:
                # RMSNorm weights are called `scale` in BFL's code
                name = ".scale" if target.endswith("_norm") and suffix == ".weight" else bfl_suffix
                out[target + name] = state.pop(source + suffix)

    def fuse(sources: tuple[str, ...], target: str) -> None:
        for suffix in (".weight", ".bias"):
            out[target + suffix] = torch.cat([state.pop(s + suffix) for s in sources])

    shift_scale = state.pop("norm_out.linear.weight"), state.pop("norm_out.linear.bias")
    for key, tensor in zip(("weight", "bias"), shift_scale):
        scale, shift = tensor.chunk(2, dim=0)
        out[f"final_layer.adaLN_modulation.1.{key}"] = torch.cat([shift, scale])
    for source, target in RENAMES.items():
        move(source, target)
    for prefix, bfl, renames, fused in (
        ("transformer_blocks", "double_blocks", DOUBLE_RENAMES, DOUBLE_FUSED),
        ("single_transformer_blocks", "single_blocks", SINGLE_RENAMES, SINGLE_FUSED),
    ):
        blocks = sorted({int(k.split(".")[1]) for k in state if k.startswith(prefix + ".")})
        for i in blocks:
            for target, sources in fused.items():
                fuse(tuple(f"{prefix}.{i}.{s}" for s in sources), f"{bfl}.{i}.{target}")
            for source, target in renames.items():
                move(f"{prefix}.{i}.{source}", f"{bfl}.{i}.{target}")
    if state:
        raise ValueError(f"diffusers keys with no BFL name: {sorted(state)[:5]}")
    return out


def write_transformer_file(
    transformer_dir: str | Path,
    out_path: str | Path,
    layout: Literal["bfl", "diffusers"] = "bfl",
    dtype: torch.dtype = torch.float32,
    prefix: str = "",
) -> str:
    """Write the transformer saved in `transformer_dir` as one .safetensors file in `layout` keys and `dtype`
    (torch.float8_e4m3fn for an fp8 file), under a key prefix (the authors' fp8 file uses `model.diffusion_model.`)."""
    from diffusers import FluxTransformer2DModel
    from safetensors.torch import save_file

    state = FluxTransformer2DModel.from_pretrained(str(transformer_dir)).state_dict()
    if layout == "bfl":
        state = diffusers_to_bfl(state)
    tensors = {prefix + key: tensor.to(dtype).contiguous() for key, tensor in state.items()}
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out))
    return str(out)
