"""The creation frames of one job row, and the frame grid that is kept beside its SVG (OUT/frames/{id}.png).

Grid rows: the given grid image, split. Image rows without a model: the model-free decomposer (its grid has
square cells, a non-square icon's frames centred on them, so `vectorize-grid` reads it back). Model rows
(text, or image with --model): the grid the Sample stage drew; an Image2Layers row's SVG shows its reference's
part of the cell at the reference's size, which the Sample stage recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from layertracer.decompose import DecomposeOptions, decompose_image
from layertracer.errors import UserError
from layertracer.grid import GridSpec, compose_grid, split_grid, square_box, square_frame
from layertracer.images import ImageLimits, decode_image, encode_png, read_image
from layertracer.storage import StorageOptions

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class InputOptions:
    """How inputs are decoded (size limits) and how image rows are decomposed."""

    limits: ImageLimits = ImageLimits()
    decompose: DecomposeOptions = DecomposeOptions()


class RowFrames(NamedTuple):
    """A row's creation frames, the PNG of their grid, whether they are exact renders (the decomposer's), and
    the size its SVG is drawn at and the part of the frames it shows where those are not the frames' (an image
    decomposed at a smaller `trace_px`; an Image2Layers reference in its cell): `vectorize_frames`' size and box."""

    frames: list[np.ndarray]
    grid_png: bytes
    exact: bool = False
    size: tuple[int, int] | None = None
    box: tuple[float, float, float, float] | None = None


def creation_frames(
    row: dict[str, Any], options: InputOptions, storage_options: StorageOptions | None = None
) -> RowFrames:
    """The row's frames in creation order and their grid; UserError says what is wrong with the row."""
    spec = GridSpec(frames=row["frames"], order=row["order"] or "serpentine")
    if row["grid_png"] is not None:
        grid = decode_image(row["grid_png"], options.limits, name=f"sampled grid of {row['id']}")
        frames = split_grid(grid, spec)
        reference = json.loads(row["extra"] or "{}").get("_sampling", {}).get("reference_px")
        if row["kind"] != "image" or reference is None:
            return RowFrames(frames, row["grid_png"])
        width, height = reference
        return RowFrames(frames, row["grid_png"], size=(width, height),
                         box=square_box(width, height, frames[0].shape[1]))
    if row["kind"] == "grid":
        grid, data = read_image(row["image"], options.limits, storage_options)
        return RowFrames(split_grid(grid, spec), data if data.startswith(PNG_SIGNATURE) else encode_png(grid))
    if row["kind"] == "image":
        image, data = read_image(row["image"], options.limits, storage_options)
        frames = decompose_image(image, spec.frames, options.decompose.for_file(data))
        grid_png = encode_png(compose_grid([square_frame(f) for f in frames], spec))
        return RowFrames(frames, grid_png, exact=True, size=(image.shape[1], image.shape[0]))
    raise UserError(f"a {row['kind']} row has no frames without a sampled grid")
