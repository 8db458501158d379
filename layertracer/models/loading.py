"""Load FLUX.1 (diffusers `FluxPipeline`) and LayerTracer LoRAs, with one clear ModelError for every way it fails.

The same code loads the tiny test pipeline and the real 12B model: a local folder or a Hugging Face hub id,
optionally with the transformer from a single checkpoint file (`models.checkpoints`: BFL or diffusers keys, bf16
or fp8), bf16 on CUDA and fp32 on CPU, LoRAs (kohya or diffusers) fused in order at their scales (fusing costs
nothing per step, unlike unfused adapters), optional model CPU offload and VAE tiling for small GPUs.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from layertracer.errors import ModelError, UserError, error_line
from layertracer.models.presets import get_preset

if TYPE_CHECKING:
    from diffusers import FluxPipeline

ADAPTER_NAME = "layertracer"
# Image2Layers: the last cell pinned noised to each step's sigma, or clean (the authors' released code and the
# presets; LoRAs trained here in image2layers mode record it under this safetensors metadata key).
Reference = Literal["noised", "clean"]
REFERENCE_CHOICES = ("auto", "noised", "clean")
LORA_REFERENCE_KEY = "layertracer.image2layers_reference"
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
LORA_SCALE_SUFFIX = re.compile(r"^(?P<path>.+):(?P<scale>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)$")


@dataclass(frozen=True)
class LoraWeights:
    """One LoRA to fuse: a .safetensors file, a folder holding one, or a hub id; `scale` its strength."""

    path: str
    scale: float = 1.0

    @classmethod
    def parse(cls, text: str, default_scale: float = 1.0) -> LoraWeights:
        """`PATH` or `PATH:SCALE`; the scale is read only from a trailing `:<number>`, so `C:\\x.safetensors` and
        `s3://b/x.safetensors` are paths."""
        match = LORA_SCALE_SUFFIX.match(text)
        if match is None:
            return cls(text, default_scale)
        return cls(match["path"], float(match["scale"]))

    def label(self) -> str:
        return self.path if self.scale == 1.0 else f"{self.path}:{self.scale:g}"


@dataclass(frozen=True)
class ModelConfig:
    """Which model, transformer checkpoint and LoRAs to load and how to place them.

    `model`: a local path or a hub id (hub ids are read from the local Hugging Face cache unless
    `allow_download`). `transformer`: a single checkpoint file (BFL or diffusers keys, bf16 or fp8) or transformer
    folder replacing the model's transformer. `loras`: fused in order, each at its scale (plain paths are taken at
    scale 1). `fp8`: keep the transformer's and T5's weights in float8 e4m3 and compute in bf16 (CUDA only);
    automatic for an fp8 checkpoint on CUDA, which the CPU upcasts to fp32 instead. `preset`: the rows' default
    preset (`models.presets`). `device`: None picks CUDA when present. `offload`: keep weights in CPU memory and
    move each component to the GPU while it runs (CUDA only). `compile_transformer`: `torch.compile` the
    transformer. `reference`: how Image2Layers pins the last cell ("auto": clean if a LoRA's metadata or the preset
    says so, else noised).
    """

    model: str
    loras: tuple[LoraWeights, ...] = ()
    transformer: str | None = None
    fp8: bool = False
    preset: str | None = None
    device: str | None = None
    offload: bool = False
    vae_tiling: bool = False
    allow_download: bool = False
    compile_transformer: bool = False
    reference: str = "auto"

    def __post_init__(self) -> None:
        loras = tuple(lora if isinstance(lora, LoraWeights) else LoraWeights(str(lora)) for lora in self.loras)
        object.__setattr__(self, "loras", loras)

    def lora_label(self) -> str | None:
        """The LoRAs as one line (`a.safetensors, b.safetensors:0.8`), or None without any."""
        return ", ".join(lora.label() for lora in self.loras) or None


def resolve_device(device: str | None) -> str:
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"device {device!r} requested but CUDA is not available")
    return device


def load_pipeline(config: ModelConfig) -> FluxPipeline:
    """A ready-to-call FluxPipeline on its device, LoRAs fused, in eval mode."""
    device, dtype = _placement(config)
    pipe, fp8 = _load_and_fuse(config, device, dtype)
    if fp8:  # after fusing, so the LoRAs are fused in full precision; the bf16 weights never reach the GPU
        store_fp8(pipe, dtype)
        if not config.offload:
            pipe.to(device)
    if config.offload:
        pipe.enable_model_cpu_offload(device=device)
    if config.vae_tiling:
        pipe.vae.enable_tiling()
    if config.compile_transformer:
        pipe.transformer.compile(fullgraph=True)
    return pipe


def store_fp8(pipe: FluxPipeline, compute_dtype) -> None:
    """Keep the transformer's and T5's weights in float8 e4m3, each layer upcast to `compute_dtype` while it runs
    (diffusers layerwise casting). Norms and embeddings stay in `compute_dtype` (T5's embedding also sets the
    dtype the pipeline gives its prompt embeddings), and so does T5's `wo`, whose forward casts its input to its
    weight's dtype before the cast hook runs."""
    import torch
    from diffusers.hooks import apply_layerwise_casting
    from diffusers.hooks.layerwise_casting import DEFAULT_SKIP_MODULES_PATTERN

    pipe.transformer.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=compute_dtype)
    keep = (*DEFAULT_SKIP_MODULES_PATTERN, "shared", "embed_tokens", r"DenseReluDense\.wo$")
    apply_layerwise_casting(pipe.text_encoder_2, torch.float8_e4m3fn, compute_dtype, skip_modules_pattern=keep)


def merged_transformer(config: ModelConfig):
    """The model's transformer (or `config.transformer`) with `config.loras` fused in order; the text encoders and
    the VAE are not loaded. What `layertracer merge-lora` saves."""
    if not config.loras:
        raise ModelError("nothing to merge: give at least one LoRA")
    device, dtype = _placement(config)
    skip = dict.fromkeys(("text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "vae"))
    pipe, _ = _load_and_fuse(config, device, dtype, skip)
    return pipe.transformer


def _placement(config: ModelConfig):
    """(device, compute dtype): bf16 on CUDA, fp32 on CPU; refuses settings that cannot work before loading."""
    import torch

    device = resolve_device(config.device)
    _check(config, device)
    return device, torch.bfloat16 if device.startswith("cuda") else torch.float32


def _load_and_fuse(config: ModelConfig, device: str, dtype, skip: dict | None = None) -> tuple[FluxPipeline, bool]:
    """The pipeline with its LoRAs fused, and whether its transformer is to be stored in fp8. It is on `device`
    unless it offloads or is fp8 (then fused on the CPU, moved after casting)."""
    sources = [_lora_source(lora.path, config.allow_download) for lora in config.loras]
    components = dict(skip or {})
    fp8 = config.fp8
    if config.transformer:
        from layertracer.models.checkpoints import load_transformer

        components["transformer"], fp8_file = load_transformer(
            config.transformer, config.model, dtype, config.allow_download
        )
        fp8 = fp8 or (fp8_file and device.startswith("cuda"))
    pipe = _from_pretrained(config.model, dtype, config.allow_download, components)
    if not config.offload and not fp8:
        pipe.to(device)  # fuse on the GPU: much faster than fusing 12B parameters on the CPU
    for lora, source in zip(config.loras, sources):
        fuse_lora(pipe, lora.path, source, lora.scale)
    return pipe, fp8


def _check(config: ModelConfig, device: str) -> None:
    """Refuse settings that cannot work before anything loads."""
    if config.offload and not device.startswith("cuda"):
        raise ModelError("--offload needs a CUDA device (it moves components between CPU and GPU memory)")
    if config.fp8 and not device.startswith("cuda"):
        raise ModelError("--fp8 needs a CUDA device (fp8 storage with bf16 compute); on the CPU an fp8 checkpoint "
                         "loads without it, upcast to fp32")
    if config.reference not in REFERENCE_CHOICES:
        raise ModelError(f"reference must be one of {', '.join(REFERENCE_CHOICES)}, got {config.reference!r}")
    if config.compile_transformer and not device.startswith("cuda"):
        raise ModelError("--compile needs a CUDA device (on the CPU compiling costs more than it saves)")
    for lora in config.loras:
        if not math.isfinite(lora.scale):
            raise ModelError(f"LoRA scale must be a finite number, got {lora.scale} for {lora.path}")
    try:
        get_preset(config.preset)
    except UserError as exc:
        raise ModelError(str(exc)) from None


def _from_pretrained(model: str, dtype, allow_download: bool, components: dict | None = None) -> FluxPipeline:
    """The pipeline folder or hub id; `components` replace the folder's own, which are then not read (None: left
    out)."""
    from diffusers import FluxPipeline

    path = Path(model).expanduser()
    is_hub_id = not path.exists() and bool(HUB_ID.match(model))
    if not path.exists() and not is_hub_id:
        raise ModelError(f"model folder not found: {model}")
    if path.exists() and not path.is_dir():
        raise ModelError(f"model {model!r} is a file; pass the diffusers FluxPipeline folder (and the file as "
                         "--transformer)")
    if path.exists() and not (path / "model_index.json").is_file():
        raise ModelError(f"model folder {model!r} has no model_index.json (not a diffusers pipeline folder)")
    extra = components or {}
    try:
        pipe = FluxPipeline.from_pretrained(
            model if is_hub_id else str(path), dtype=dtype, local_files_only=not allow_download, **extra
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


def reference_override(config: ModelConfig) -> Reference | None:
    """`config.reference` when set, else "clean" when a LoRA records it under LORA_REFERENCE_KEY, else None (the
    row's preset decides)."""
    if config.reference in ("noised", "clean"):
        return config.reference  # type: ignore[return-value]
    return "clean" if any(_records_clean(lora.path) for lora in config.loras) else None


def image2layers_reference(config: ModelConfig) -> Reference:
    """How Image2Layers pins the last cell for rows without their own preset."""
    preset = get_preset(config.preset)
    return reference_override(config) or ("clean" if preset else "noised")


def _records_clean(lora: str) -> bool:
    file = _lora_file(lora)
    if file is None:
        return False
    from safetensors import safe_open

    with safe_open(str(file), "pt") as weights:
        return (weights.metadata() or {}).get(LORA_REFERENCE_KEY) == "clean"


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
