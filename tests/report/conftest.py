"""A small output folder built in code (real vectorizer, real Parquet index), and a headless Chromium."""

from __future__ import annotations

import datetime as dt
import functools
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from layertracer.grid import GridSpec, compose_grid
from layertracer.images import encode_png
from layertracer.pipeline.index import INDEX_SCHEMA
from layertracer.vectorize import LayeredSVG, vectorize_frames

XSS_PROMPT = "<script>alert(1)</script> a red star"
XSS_ID = '"><img src=x onerror=alert(2)>'
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")


SHAPES = [  # (y0, y1, x0, x1, colour) per creation step; the fourth frame repeats the third (an empty step)
    ((6, 58, 6, 58, (40, 90, 200)), (16, 40, 14, 40, (220, 60, 40)), (42, 54, 36, 54, (30, 160, 60))),
    ((10, 54, 4, 60, (250, 200, 40)), (20, 44, 20, 44, (120, 40, 160)), (4, 12, 4, 60, (20, 20, 20))),
]


def creation_frames(variant: int, size: int = 64) -> list[np.ndarray]:
    """Four cumulative frames: three coloured rectangles added one per step, then an unchanged frame."""
    frame = np.full((size, size, 3), 255, np.uint8)
    frames = []
    for y0, y1, x0, x1, colour in SHAPES[variant % len(SHAPES)]:
        frame = frame.copy()
        frame[y0:y1, x0:x1] = colour
        frames.append(frame)
    return frames + [frame.copy()]


@dataclass(frozen=True)
class OutFolder:
    path: Path
    rows: list[dict[str, Any]]  # the latest row per (manifest, row), as written

    @property
    def ok_rows(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] == "ok"]


@functools.cache
def vectorized(variant: int) -> tuple[LayeredSVG, bytes]:
    """The layered SVG and the PNG frame grid of one synthetic icon (cached: bulk rows reuse them)."""
    frames = creation_frames(variant)
    return vectorize_frames(frames), encode_png(compose_grid(frames, GridSpec(frames=4)))


def _ok_row(out: Path, icon_id: str, kind: str, source: str, row: int, variant: int, when: dt.datetime) -> dict:
    layered, grid_png = vectorized(variant % len(SHAPES))
    svg_path, grid_path = out / "svg" / f"{icon_id}.svg", out / "frames" / f"{icon_id}.png"
    svg_path.write_text(layered.svg)
    grid_path.write_bytes(grid_png)
    return {
        "id": icon_id, "manifest": str(out.parent / "manifest.jsonl"), "row": row, "kind": kind, "source": source,
        "status": "ok", "error": None, "extra": json.dumps({"style": "flat"}), "svg_uri": str(svg_path),
        "grid_uri": str(grid_path), "frames": 4, "n_layers": layered.n_layers, "n_paths": layered.n_paths,
        "svg_bytes": len(layered.svg.encode()), "seed": 7 + row, "model": "tiny-flux" if kind == "text" else None,
        "lora": None, "sample_s": 0.5 + row if kind == "text" else None, "vectorize_s": 0.01 * (row + 1),
        "created_at": when, "version": "0.1.0",
    }


def _error_row(out: Path, icon_id: str, kind: str, source: str, row: int, error: str, when: dt.datetime) -> dict:
    return {
        "id": icon_id, "manifest": str(out.parent / "manifest.jsonl"), "row": row, "kind": kind, "source": source,
        "status": "error", "error": error, "extra": None, "svg_uri": None, "grid_uri": None, "frames": 4,
        "n_layers": None, "n_paths": None, "svg_bytes": None, "seed": None, "model": None, "lora": None,
        "sample_s": None, "vectorize_s": None, "created_at": when, "version": "0.1.0",
    }


def build_out(root: Path, extra_ok_rows: int = 0) -> OutFolder:
    """OUT with 4 ok rows (one prompt holds <script>), 2 error rows, a superseded row, and `extra_ok_rows` more."""
    out = root / "out"
    (out / "svg").mkdir(parents=True)
    (out / "frames").mkdir()
    (out / "index").mkdir()
    t0 = dt.datetime(2026, 11, 25, 12, 0, 0, tzinfo=dt.timezone.utc)
    at = lambda s: t0 + dt.timedelta(seconds=s)  # noqa: E731
    rows = [
        _ok_row(out, "star-1", "text", XSS_PROMPT, 0, 0, at(10)),
        _ok_row(out, "house-2", "text", "a yellow house, flat icon", 1, 1, at(12)),
        _ok_row(out, "photo-3", "image", "images/photo.png", 2, 0, at(15)),
        _ok_row(out, "grid-4", "grid", "grids/g4.png", 3, 1, at(20)),
        _error_row(out, XSS_ID, "text", "<script>alert(3)</script>", 4, "invalid id: <b>not allowed</b>", at(21)),
        _error_row(out, "missing-6", "image", "images/missing.png", 5, "images/missing.png: no such file", at(22)),
    ]
    rows += [
        _ok_row(out, f"bulk-{i:04d}", "grid", f"grids/bulk-{i}.png", 6 + i, i, at(30 + i)) for i in range(extra_ok_rows)
    ]
    superseded = _error_row(out, "star-1", "text", XSS_PROMPT, 0, "sampler out of memory", at(1))
    pq.write_table(pa.Table.from_pylist([superseded], schema=INDEX_SCHEMA), out / "index" / "part-0000.parquet")
    pq.write_table(pa.Table.from_pylist(rows, schema=INDEX_SCHEMA), out / "index" / "part-0001.parquet")
    return OutFolder(out, rows)


@pytest.fixture(scope="session")
def out_folder(tmp_path_factory: pytest.TempPathFactory) -> OutFolder:
    return build_out(tmp_path_factory.mktemp("report-out"))


def chromium_path() -> str | None:
    return next((p for name in CHROMIUM_CANDIDATES if (p := shutil.which(name))), None)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright (never a downloaded browser build)."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable)
        yield chromium
        chromium.close()
