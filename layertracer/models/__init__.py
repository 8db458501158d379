"""FLUX.1 + LoRA sampling: text -> creation grid, Image2Layers, model/LoRA/checkpoint loading, presets.

Modules: `sampler` (FluxSampler: batches of SampleRequest -> SampleResult), `denoise` (the denoising loop and
GridSettings), `image2layers`, `loading` (ModelConfig, LoraWeights), `checkpoints` (single-file transformers),
`presets`, `prompts`, `latents`. The public names load lazily (PEP 562), so `layertracer --help` and the CLI flag
helpers in `layertracer.models.cli` do not import torch. The tiny offline test pipeline is in `layertracer.testing`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # re-exported for type checkers; loaded lazily by __getattr__ at run time
    from layertracer.models.denoise import GridSettings as GridSettings
    from layertracer.models.loading import LoraWeights as LoraWeights
    from layertracer.models.loading import ModelConfig as ModelConfig
    from layertracer.models.loading import load_pipeline as load_pipeline
    from layertracer.models.sampler import FluxSampler as FluxSampler
    from layertracer.models.sampler import SampleRequest as SampleRequest
    from layertracer.models.sampler import SampleResult as SampleResult

_EXPORTS = {
    "FluxSampler": "layertracer.models.sampler",
    "SampleRequest": "layertracer.models.sampler",
    "SampleResult": "layertracer.models.sampler",
    "GridSettings": "layertracer.models.denoise",
    "LoraWeights": "layertracer.models.loading",
    "ModelConfig": "layertracer.models.loading",
    "load_pipeline": "layertracer.models.loading",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
