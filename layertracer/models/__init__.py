"""FLUX.1 + LoRA sampling: text -> creation grid, Image2Layers, model/LoRA loading, a tiny offline pipeline.

Importing this package loads torch; diffusers and transformers load when a pipeline is built.
"""

from layertracer.models.batch import FluxSampler, SampleRequest, SampleResult
from layertracer.models.loading import ModelConfig, load_pipeline

__all__ = ["FluxSampler", "ModelConfig", "SampleRequest", "SampleResult", "load_pipeline"]
