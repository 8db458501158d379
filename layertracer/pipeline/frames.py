"""The creation frames of one job row, and the frame grid that is kept beside its SVG (OUT/frames/{id}.png).

Grid rows: the given grid image, split. Image rows without a model: the model-free decomposer. Model rows
(text, or image with --model): the grid the Sample stage drew.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from layertracer.decompose import DecomposeOptions, decompose_image
from layertracer.errors import UserError
from layertracer.grid import GridSpec, compose_grid, split_grid
from layertracer.images import ImageLimits, decode_image, encode_png
from layertracer.storage import StorageOptions, read_bytes

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class FrameOptions:
    """Where inputs are read from and how image rows are decomposed."""

    storage_options: StorageOptions = field(default_factory=dict)
    limits: ImageLimits = ImageLimits()
    decompose: DecomposeOptions = DecomposeOptions()


def read_image_bytes(uri: str, options: FrameOptions) -> tuple[np.ndarray, bytes]:
    """An image from storage, decoded within the limits (the bytes too, to keep a PNG as it is)."""
    data = read_bytes(uri, options.storage_options, max_bytes=options.limits.max_bytes)
    return decode_image(data, options.limits, name=uri), data


def creation_frames(row: dict[str, Any], options: FrameOptions) -> tuple[list[np.ndarray], bytes]:
    """(frames in creation order, PNG of their grid) for a row; UserError says what is wrong with it."""
    spec = GridSpec(frames=row["frames"])
    if row["grid_png"] is not None:
        grid = decode_image(row["grid_png"], options.limits, name=f"sampled grid of {row['id']}")
        return split_grid(grid, spec), row["grid_png"]
    if row["kind"] == "grid":
        grid, data = read_image_bytes(row["image"], options)
        return split_grid(grid, spec), data if data.startswith(PNG_SIGNATURE) else encode_png(grid)
    if row["kind"] == "image":
        image, _ = read_image_bytes(row["image"], options)
        frames = decompose_image(image, spec.frames, options.decompose)
        return frames, encode_png(compose_grid(frames, spec))
    raise UserError(f"a {row['kind']} row has no frames without a sampled grid")
