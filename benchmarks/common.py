"""What every quality benchmark shares: the bench set beside the checkout and the plain-vtracer baseline."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import vtracer
from defusedxml import ElementTree

from layertracer.images import decode_image, encode_png

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_BENCH = REPO.parent / "shared" / "bench"

# The LayerTracer paper's vtracer settings: the baseline every table compares against.
PAPER_VTRACER = dict(
    colormode="color", hierarchical="stacked", mode="spline", filter_speckle=4, color_precision=6,
    layer_difference=16, corner_threshold=60, length_threshold=4.0, splice_threshold=45,
)


def plain_vtracer(image: np.ndarray) -> str:
    """The baseline: vtracer with the paper's settings on the raster as it is."""
    return plain_vtracer_png(encode_png(image))


def plain_vtracer_png(data: bytes, img_format: str = "png") -> str:
    """The baseline as it is timed: vtracer on a PNG (or `img_format`) file's bytes, as its users run it
    (decoding included)."""
    return vtracer.convert_raw_image_to_svg(data, img_format=img_format, **PAPER_VTRACER)


def count_fill_runs(svg: str) -> int:
    """Paths once consecutive paths of one fill are merged, as svgo's mergePaths (and our own output) does:
    the like-for-like path count of plain vtracer's output against ours."""
    fills = [element.get("fill") for element in ElementTree.fromstring(svg).iter() if element.tag.endswith("path")]
    return sum(1 for k, fill in enumerate(fills) if k == 0 or fill != fills[k - 1])


def best_time(run: Callable[[], T], repeat: int = 3) -> tuple[T, float]:
    """`run()`'s result and its fastest wall time of `repeat` runs: scheduler noise only ever adds time."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return result, min(times)


@dataclass(frozen=True)
class BenchIcon:
    """One icon's ground truth: creation frames, final render and the designer's element count."""

    name: str
    frames: list[np.ndarray]
    final: np.ndarray
    final_png: bytes
    n_elements: int
    grid_path: Path


def load_icons(bench: Path, frames: int, limit: int | None = None) -> list[BenchIcon]:
    """Icons of `bench/frames/dev/f{frames}`, sorted by name."""
    root = bench / "frames" / "dev" / f"f{frames}"
    if not root.is_dir():
        raise SystemExit(f"benchmark set not found at {root} (pass --bench)")
    icons = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir())[:limit]:
        read = lambda p: decode_image(p.read_bytes(), name=str(p))  # noqa: E731
        icons.append(
            BenchIcon(
                name=folder.name,
                frames=[read(p) for p in sorted(folder.glob("frame_*.png"))],
                final=read(folder / "final.png"),
                final_png=(folder / "final.png").read_bytes(),
                n_elements=json.loads((folder / "meta.json").read_text())["n_elements"],
                grid_path=folder / "grid.png",
            )
        )
    return icons


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def mean(values: Sequence[float]) -> float:
    return float(statistics.fmean(values)) if values else float("nan")
