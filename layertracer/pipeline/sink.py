"""Where a row's outputs go: OUT/svg/{id}.svg and OUT/frames/{id}.png, each published atomically.

The grid is written first, so an SVG under its final name always has its grid beside it; a rerun overwrites
both with the same names (ids are unique within a run), which makes retried and resumed rows idempotent.
"""

from __future__ import annotations

from layertracer.storage import StorageOptions, join, write_bytes_atomic


def svg_uri(out_uri: str, row_id: str) -> str:
    return join(out_uri, "svg", f"{row_id}.svg")


def grid_uri(out_uri: str, row_id: str) -> str:
    return join(out_uri, "frames", f"{row_id}.png")


def write_outputs(
    out_uri: str, row_id: str, svg: bytes, grid_png: bytes, storage_options: StorageOptions | None = None
) -> tuple[str, str]:
    """Write the grid, then the SVG; returns (svg_uri, grid_uri)."""
    grid_target, svg_target = grid_uri(out_uri, row_id), svg_uri(out_uri, row_id)
    write_bytes_atomic(grid_target, grid_png, storage_options)
    write_bytes_atomic(svg_target, svg, storage_options)
    return svg_target, grid_target
