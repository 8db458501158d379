"""A FLUX.1 transformer from one checkpoint file (or a transformer folder), with the rest of the pipeline elsewhere.

The authors' scripts load single files: `flux1-dev-fp8.safetensors` in Black Forest Labs' key layout
(`double_blocks.N.img_attn.qkv`, optionally under `model.diffusion_model.`), in float8 e4m3. Such a file, or one
in diffusers' key layout (what `layertracer merge-lora` writes), goes through diffusers' single-file loading with
the model folder's (or hub id's) `transformer/config.json`, so nothing is downloaded. Float8 weights are upcast
exactly to the compute dtype on load; `load_pipeline` then stores them as float8 again after fusing LoRAs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from layertracer.errors import ModelError, error_line

if TYPE_CHECKING:
    import torch
    from diffusers import FluxTransformer2DModel

Layout = Literal["bfl", "diffusers"]
BFL_PREFIX = "model.diffusion_model."
# diffusers' BFL converter splits each single block's fused [q, k, v, mlp] rows at FLUX.1's width.
FLUX_INNER_DIM = 3072
MLP_RATIO = 4


def load_transformer(
    path: str, model: str, dtype: torch.dtype, allow_download: bool = False
) -> tuple[FluxTransformer2DModel, bool]:
    """(transformer in `dtype`, whether its file held float8 weights); ModelError names what is wrong."""
    from diffusers import FluxTransformer2DModel

    source = Path(path).expanduser()
    if source.is_dir():
        try:
            return FluxTransformer2DModel.from_pretrained(str(source), torch_dtype=dtype), False
        except Exception as exc:  # a folder without config.json or weights
            raise ModelError(f"cannot load transformer folder {path!r}: {error_line(exc)}") from None
    if not source.is_file():
        raise ModelError(f"transformer checkpoint not found: {path}")
    state = _read_safetensors(source)
    if any(key.endswith(".scale_weight") or key.endswith("scaled_fp8") for key in state):
        # per-tensor scales the converter would drop: the weights would load silently wrong
        raise ModelError(f"{path} is a scaled fp8 checkpoint (ComfyUI fp8_scaled), which is not supported; use a "
                         "plain e4m3 one such as flux1-dev-fp8.safetensors")
    fp8 = any(tensor.dtype.is_floating_point and tensor.element_size() == 1 for tensor in state.values())
    config = _transformer_config(model, allow_download)
    if key_layout(state, path) == "bfl":
        state = bfl_to_diffusers(state, config["num_attention_heads"] * config["attention_head_dim"])
    try:
        transformer = FluxTransformer2DModel.from_single_file(
            state, config=_config_source(model), subfolder="transformer", torch_dtype=dtype,
            local_files_only=not allow_download,
        )
    except Exception as exc:  # missing or misshapen weights: a checkpoint of another model
        raise ModelError(f"transformer checkpoint {path!r} does not fit model {model!r}: {error_line(exc)}") from None
    return transformer, fp8


def key_layout(state: dict, path: str = "checkpoint") -> Layout:
    """Which key layout a FLUX.1 transformer state dict uses; ModelError for anything else."""
    if any(key.startswith(("double_blocks.", BFL_PREFIX + "double_blocks.")) for key in state):
        return "bfl"
    if any(key.startswith("transformer_blocks.") for key in state):
        return "diffusers"
    example = next(iter(state), "no tensors")
    raise ModelError(
        f"{path} is not a FLUX.1 transformer checkpoint: neither BFL (double_blocks.*) nor diffusers "
        f"(transformer_blocks.*) keys, e.g. {example!r}"
    )


def bfl_to_diffusers(state: dict, inner_dim: int) -> dict:
    """BFL keys -> diffusers keys by diffusers' own converter.

    The converter assumes FLUX.1's width (3072) for the single blocks' fused projection; a narrower model (the
    tiny test one) has its rows laid out at FLUX.1's offsets first and trimmed back after, so the same converter
    serves both.
    """
    import torch
    from diffusers.loaders.single_file_utils import convert_flux_transformer_checkpoint_to_diffusers

    state = {key.removeprefix(BFL_PREFIX): tensor for key, tensor in state.items()}
    narrow = inner_dim != FLUX_INNER_DIM
    if narrow:
        widths = (inner_dim,) * 3 + (MLP_RATIO * inner_dim,)
        for key in [k for k in state if k.startswith("single_blocks.") and ".linear1." in k]:
            parts = torch.split(state[key], widths, dim=0)
            padded = [torch.zeros((FLUX_INNER_DIM * len(p) // inner_dim, *p.shape[1:]), dtype=p.dtype) for p in parts]
            for part, room in zip(parts, padded):
                room[: len(part)] = part
            state[key] = torch.cat(padded)
    try:
        converted = convert_flux_transformer_checkpoint_to_diffusers(state)
    except (KeyError, IndexError, RuntimeError) as exc:
        raise ModelError(f"BFL checkpoint is missing or misshapes a FLUX.1 weight: {error_line(exc)}") from None
    if narrow:
        for key, tensor in converted.items():
            if key.startswith("single_transformer_blocks.") and ".attn.to_" in key:
                converted[key] = tensor[:inner_dim]
            elif key.startswith("single_transformer_blocks.") and ".proj_mlp." in key:
                converted[key] = tensor[: MLP_RATIO * inner_dim]
    return converted


def _read_safetensors(path: Path) -> dict:
    from safetensors.torch import load_file

    if path.suffix != ".safetensors":
        raise ModelError(f"transformer checkpoint {str(path)!r} must be a .safetensors file")
    try:
        return load_file(str(path))
    except Exception as exc:  # truncated or not safetensors at all
        raise ModelError(f"cannot read transformer checkpoint {str(path)!r}: {error_line(exc)}") from None


def _config_source(model: str) -> str:
    path = Path(model).expanduser()
    return str(path) if path.is_dir() else model


def _transformer_config(model: str, allow_download: bool) -> dict:
    from diffusers import FluxTransformer2DModel

    try:
        return dict(FluxTransformer2DModel.load_config(
            _config_source(model), subfolder="transformer", local_files_only=not allow_download
        ))
    except Exception as exc:  # no such folder, or a hub id that is not cached
        raise ModelError(f"cannot read the transformer config of model {model!r}: {error_line(exc)}") from None


def save_transformer(transformer: FluxTransformer2DModel, out: str, dtype_name: str) -> None:
    """Write `transformer` in bf16, fp32 or fp8: to one .safetensors file (diffusers keys) or a diffusers folder."""
    import torch

    dtype = {"bf16": torch.bfloat16, "fp32": torch.float32, "fp8": torch.float8_e4m3fn}[dtype_name]
    path = Path(out).expanduser()
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import save_file

            state = {key: t.detach().to("cpu", dtype).contiguous() for key, t in transformer.state_dict().items()}
            path.parent.mkdir(parents=True, exist_ok=True)
            save_file(state, str(path), metadata={"format": "pt"})
        else:
            transformer.to(dtype).save_pretrained(str(path), safe_serialization=True)
    except OSError as exc:
        raise ModelError(f"cannot write {out}: {error_line(exc)}") from None
