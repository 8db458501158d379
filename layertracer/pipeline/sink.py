"""Where a row's outputs go: OUT/svg/{id}.svg and OUT/frames/{id}.png (layertracer/layout.py), each published
atomically.

The grid is written first, so an SVG under its final name always has its grid beside it; a rerun overwrites
both with the same names (ids are unique within a run), which makes retried and resumed rows idempotent.
"""

from __future__ import annotations

from layertracer.layout import grid_uri, svg_uri
from layertracer.storage import StorageOptions, write_bytes_atomic


def write_outputs(
    out_uri: str, row_id: str, svg: bytes, grid_png: bytes, storage_options: StorageOptions | None = None
) -> tuple[str, str]:
    """Write the grid, then the SVG; returns (svg_uri, grid_uri)."""
    grid_target, svg_target = grid_uri(out_uri, row_id), svg_uri(out_uri, row_id)
    write_bytes_atomic(grid_target, grid_png, storage_options)
    write_bytes_atomic(svg_target, svg, storage_options)
    return svg_target, grid_target
