"""Load FLUX.1 (diffusers `FluxPipeline`) and a LayerTracer LoRA, with one clear ModelError for every way it fails.

The same code loads the tiny test pipeline and the real 12B model: a local folder or a Hugging Face hub id,
bf16 on CUDA and fp32 on CPU, a kohya or diffusers LoRA fused at the requested scale (fusing costs nothing per
step, unlike an unfused adapter), optional model CPU offload and VAE tiling for small GPUs.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from layertracer.errors import ModelError, error_line

if TYPE_CHECKING:
    from diffusers import FluxPipeline

ADAPTER_NAME = "layertracer"
# Image2Layers: the last cell pinned noised to each step's sigma (the public LayerTracer LoRAs), or clean (LoRAs
# trained here in image2layers mode, which record it under this safetensors metadata key).
Reference = Literal["noised", "clean"]
REFERENCE_CHOICES = ("auto", "noised", "clean")
LORA_REFERENCE_KEY = "layertracer.image2layers_reference"
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class ModelConfig:
    """Which model and LoRA to load and how to place them.

    `model`/`lora`: a local path or a hub id (hub ids are read from the local Hugging Face cache unless
    `allow_download`). `device`: None picks CUDA when present. `offload`: keep weights in CPU memory and move each
    component to the GPU while it runs (CUDA only). `compile_transformer`: `torch.compile` the transformer.
    `reference`: how Image2Layers pins the last cell ("auto": what the LoRA's metadata says, else "noised").
    """

    model: str
    lora: str | None = None
    lora_scale: float = 1.0
    device: str | None = None
    offload: bool = False
    vae_tiling: bool = False
    allow_download: bool = False
    compile_transformer: bool = False
    reference: str = "auto"


def resolve_device(device: str | None) -> str:
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"device {device!r} requested but CUDA is not available")
    return device


def load_pipeline(config: ModelConfig) -> FluxPipeline:
    """A ready-to-call FluxPipeline on its device, LoRA fused, in eval mode."""
    import torch

    device = resolve_device(config.device)
    if config.offload and not device.startswith("cuda"):
        raise ModelError("--offload needs a CUDA device (it moves components between CPU and GPU memory)")
    if config.reference not in REFERENCE_CHOICES:
        raise ModelError(f"reference must be one of {', '.join(REFERENCE_CHOICES)}, got {config.reference!r}")
    if config.compile_transformer and not device.startswith("cuda"):
        raise ModelError("--compile needs a CUDA device (on the CPU compiling costs more than it saves)")
    if not math.isfinite(config.lora_scale):
        raise ModelError(f"LoRA scale must be a finite number, got {config.lora_scale}")
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    lora = _lora_source(config.lora, config.allow_download) if config.lora else None
    pipe = _from_pretrained(config.model, dtype, config.allow_download)
    if not config.offload:
        pipe.to(device)  # fuse on the GPU: much faster than fusing 12B parameters on the CPU
    if lora:
        fuse_lora(pipe, config.lora, lora, config.lora_scale)
    if config.offload:
        pipe.enable_model_cpu_offload(device=device)
    if config.vae_tiling:
        pipe.vae.enable_tiling()
    if config.compile_transformer:
        pipe.transformer.compile(fullgraph=True)
    return pipe


def _from_pretrained(model: str, dtype, allow_download: bool) -> FluxPipeline:
    from diffusers import FluxPipeline

    path = Path(model).expanduser()
    is_hub_id = not path.exists() and bool(HUB_ID.match(model))
    if not path.exists() and not is_hub_id:
        raise ModelError(f"model folder not found: {model}")
    if path.exists() and not path.is_dir():
        raise ModelError(f"model {model!r} is a file; pass the diffusers FluxPipeline folder")
    if path.exists() and not (path / "model_index.json").is_file():
        raise ModelError(f"model folder {model!r} has no model_index.json (not a diffusers pipeline folder)")
    try:
        pipe = FluxPipeline.from_pretrained(
            model if is_hub_id else str(path), dtype=dtype, local_files_only=not allow_download
        )
    except Exception as exc:  # diffusers/hub/safetensors raise many types; the user needs one line
        raise ModelError(_load_failure(model, is_hub_id and not allow_download, exc)) from None
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _load_failure(model: str, offline_hub_id: bool, exc: Exception) -> str:
    if offline_hub_id and _is_not_cached(exc):
        return (
            f"model {model!r} is not a local folder and not in the Hugging Face cache "
            "(downloads are off: pass a folder, or allow downloading)"
        )
    return f"cannot load model {model!r}: {error_line(exc)}"


def _is_not_cached(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(s in text for s in ("cache", "offline", "local_files_only", "not found", "does not appear to have"))


def _lora_source(lora: str, allow_download: bool) -> tuple[str, dict]:
    """Where `load_lora_weights` should look: (folder or hub id, extra kwargs); checked before the model loads."""
    path = Path(lora).expanduser()
    if path.is_file():
        return str(path.parent), {"weight_name": path.name, "local_files_only": True}
    if path.is_dir():
        return str(path), {"local_files_only": True}
    if HUB_ID.match(lora) and allow_download:
        return lora, {"local_files_only": False}
    raise ModelError(f"LoRA not found: {lora}")


def image2layers_reference(config: ModelConfig) -> Reference:
    """`config.reference`, or for "auto" what the LoRA records under LORA_REFERENCE_KEY; "noised" without one."""
    if config.reference in ("noised", "clean"):
        return config.reference  # type: ignore[return-value]
    file = _lora_file(config.lora) if config.lora else None
    if file is None:
        return "noised"
    from safetensors import safe_open

    with safe_open(str(file), "pt") as weights:
        recorded = (weights.metadata() or {}).get(LORA_REFERENCE_KEY)
    return "clean" if recorded == "clean" else "noised"


def _lora_file(lora: str) -> Path | None:
    """The local .safetensors file of a LoRA path (a folder holding exactly one), or None (a hub id)."""
    path = Path(lora).expanduser()
    if path.is_file():
        return path
    found = sorted(path.glob("*.safetensors")) if path.is_dir() else []
    return found[0] if len(found) == 1 else None


def fuse_lora(pipe: FluxPipeline, lora: str, source: tuple[str, dict], scale: float) -> None:
    """Load a kohya or diffusers LoRA, check that it fits this model, and fuse it into the weights at `scale`."""
    where, kwargs = source
    in_channels = pipe.transformer.config.in_channels
    try:
        pipe.load_lora_weights(where, adapter_name=ADAPTER_NAME, **kwargs)
    except Exception as exc:  # shape mismatches, unknown key layouts, corrupt files
        raise ModelError(f"LoRA {lora!r} does not fit this model: {error_line(exc)}") from None
    if pipe.transformer.config.in_channels != in_channels:
        # diffusers widens the input layer for Flux Control LoRAs instead of failing; that model is not ours.
        raise ModelError(
            f"LoRA {lora!r} expects {pipe.transformer.config.in_channels} latent input channels, the model has "
            f"{in_channels} (a Flux Control LoRA?)"
        )
    components = [c for c, names in pipe.get_list_adapters().items() if ADAPTER_NAME in names]
    if not components:
        raise ModelError(f"LoRA {lora!r} matches no layer of this model (is it a FLUX.1 LoRA?)")
    pipe.fuse_lora(components=components, lora_scale=scale, adapter_names=[ADAPTER_NAME])
    pipe.unload_lora_weights()  # keeps the fused weights, drops the adapter layers
