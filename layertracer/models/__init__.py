"""FLUX.1 + LoRA sampling: text -> creation grid, Image2Layers, model/LoRA loading, a tiny offline pipeline.

The public names load lazily (PEP 562), so `layertracer --help` and the CLI flag helpers in
`layertracer.models.cli` do not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # re-exported for type checkers; loaded lazily by __getattr__ at run time
    from layertracer.models.batch import FluxSampler as FluxSampler
    from layertracer.models.batch import SampleRequest as SampleRequest
    from layertracer.models.batch import SampleResult as SampleResult
    from layertracer.models.loading import ModelConfig as ModelConfig
    from layertracer.models.loading import load_pipeline as load_pipeline

_EXPORTS = {
    "FluxSampler": "layertracer.models.batch",
    "SampleRequest": "layertracer.models.batch",
    "SampleResult": "layertracer.models.batch",
    "ModelConfig": "layertracer.models.loading",
    "load_pipeline": "layertracer.models.loading",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
