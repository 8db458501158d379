"""What `layertracer train` decides, as one frozen value passed to the trainer (and to every Ray Train worker)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from layertracer.errors import UserError

WEIGHTING_SCHEMES: tuple[str, ...] = ("none", "logit_normal", "mode", "sigma_sqrt", "cosmap")
Mode = Literal["text", "image2layers"]
MODES: tuple[str, ...] = ("text", "image2layers")
OPTIMIZERS: tuple[str, ...] = ("adamw", "prodigy")
# diffusers' Flux LoRA scripts' default targets: attention (image and text streams) and both MLPs, all blocks.
DEFAULT_TARGET_MODULES: tuple[str, ...] = (
    "attn.to_k", "attn.to_q", "attn.to_v", "attn.to_out.0",
    "attn.add_k_proj", "attn.add_q_proj", "attn.add_v_proj", "attn.to_add_out",
    "ff.net.0.proj", "ff.net.2", "ff_context.net.0.proj", "ff_context.net.2",
)


@dataclass(frozen=True)
class FlowOptions:
    """Timestep density and loss weighting, named and defaulted as in diffusers' Flux training scripts."""

    weighting_scheme: str = "none"
    logit_mean: float = 0.0
    logit_std: float = 1.0
    mode_scale: float = 1.29


@dataclass(frozen=True)
class TrainOptions:
    """LoRA training settings. `alpha` None means alpha = rank (scale 1); `cell_px` None trains at the data's size.

    `out` is a local folder or fsspec URI: the final LoRA (`pytorch_lora_weights.safetensors`, diffusers format with
    its adapter config, so `load_lora_weights` gets alpha right), `train_log.jsonl`, and `checkpoints/step-N/`.
    """

    data_uri: str
    model: str
    out: str
    mode: Mode = "text"
    steps: int = 1000
    batch_size: int = 1
    grad_accum: int = 1
    lr: float = 1e-4
    lr_warmup_steps: int = 0
    optimizer: str = "adamw"
    weight_decay: float = 1e-4
    max_grad_norm: float = 1.0
    rank: int = 16
    alpha: float | None = None
    dropout: float = 0.0
    target_modules: tuple[str, ...] = DEFAULT_TARGET_MODULES
    guidance: float = 3.5
    flow: FlowOptions = field(default_factory=FlowOptions)
    cell_px: int | None = None
    gradient_checkpointing: bool = True
    gradient_checkpointing_interval: int = 1  # recompute every Nth transformer block (see trainer.enable_checkpointing)
    checkpoint_every: int = 250
    keep_checkpoints: int = 2
    resume: bool = False
    seed: int = 0
    device: str | None = None
    allow_download: bool = False
    shuffle_buffer: int = 256
    storage_options: dict | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UserError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.flow.weighting_scheme not in WEIGHTING_SCHEMES:
            raise UserError(f"weighting scheme must be one of {', '.join(WEIGHTING_SCHEMES)}")
        for name in ("steps", "batch_size", "grad_accum", "rank", "checkpoint_every", "keep_checkpoints",
                     "gradient_checkpointing_interval"):
            if getattr(self, name) < 1:
                raise UserError(f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise UserError(f"learning rate must be positive, got {self.lr}")
        if self.cell_px is not None and (self.cell_px < 16 or self.cell_px % 16):
            raise UserError(f"cell size must be a positive multiple of 16 px, got {self.cell_px}")
        if not self.target_modules:
            raise UserError("at least one target module is needed")

    @property
    def lora_alpha(self) -> float:
        return float(self.rank if self.alpha is None else self.alpha)
