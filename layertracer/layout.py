"""The output folder's layout (a contract: DESIGN.md, "Output layout and index"), named once for run, sink,
index and report.

    OUT/svg/{id}.svg       layered SVG
    OUT/frames/{id}.png    the frame grid that was vectorized
    OUT/index/*.parquet    one row per manifest row
    OUT/report/            after `layertracer report`
"""

from __future__ import annotations

from layertracer.storage import join

SVG_DIR = "svg"
FRAMES_DIR = "frames"
INDEX_DIR = "index"
REPORT_DIR = "report"
RUN_DIRS = (INDEX_DIR, SVG_DIR, FRAMES_DIR)  # what `layertracer run` writes, and what --overwrite clears
ROW_OUTPUT_DIRS = (SVG_DIR, FRAMES_DIR)  # one file per row, written by the vectorizing actors


def svg_uri(out_uri: str, row_id: str) -> str:
    return join(out_uri, SVG_DIR, f"{row_id}.svg")


def grid_uri(out_uri: str, row_id: str) -> str:
    return join(out_uri, FRAMES_DIR, f"{row_id}.png")


def index_uri(out_uri: str) -> str:
    return join(out_uri, INDEX_DIR)


def report_uri(out_uri: str) -> str:
    return join(out_uri, REPORT_DIR)
