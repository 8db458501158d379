"""layertracer: layered SVG icons from creation-process frames, at scale."""

__version__ = "0.1.0"
