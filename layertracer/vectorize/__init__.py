"""Layer-wise vectorization: creation frames -> change masks -> traced steps -> layered SVG."""

from layertracer.vectorize.layered import LayeredSVG, TraceOptions, vectorize_frames, vectorize_grid
from layertracer.vectorize.masks import MaskOptions
from layertracer.vectorize.trace import VtracerSettings

__all__ = ["LayeredSVG", "MaskOptions", "TraceOptions", "VtracerSettings", "vectorize_frames", "vectorize_grid"]
