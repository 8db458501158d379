"""decompose_image + the layer-wise vectorizer on real icons from the benchmark set, against plain vtracer."""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import vtracer

from layertracer.decompose import decompose_image
from layertracer.images import decode_image
from layertracer.metrics import mse, render_svg
from layertracer.vectorize import VtracerSettings, vectorize_frames

# Multi-shape icons from each source set; the benchmark (benchmarks/image_quality.py) runs all 40.
ICONS = [
    "flat-color-icons__manager",
    "fluent-emoji-flat__baby",
    "noto__hot-beverage",
    "noto__monkey-face",
    "twemoji__drum",
    "twemoji__robot",
]
# On the dev set our MSE is 0.13x-1.8x plain vtracer's on the same raster (median 0.4x): 2x bounds each icon.
MAX_MSE_RATIO = 2.0
PAPER_VTRACER = dict(colormode="color", hierarchical="stacked", mode="spline", **asdict(VtracerSettings()))


def _drawn_layers(svg: str) -> int:
    """Layer groups holding a path (the contract keeps a group for every step, empty or not)."""
    return sum("<path" in body for body in re.findall(r'<g\b[^>]*\bid="layer-\d+"[^>]*>(.*?)</g>', svg, re.S))


@pytest.mark.parametrize("name", ICONS)
def test_icon_render_matches_the_input_in_layers(bench_dir: Path, name: str) -> None:
    png = (bench_dir / "frames" / "dev" / "f4" / name / "final.png").read_bytes()
    image = decode_image(png, name=name)
    height, width = image.shape[:2]
    frames = decompose_image(image, 4)
    assert np.array_equal(frames[-1], image)
    layered = vectorize_frames(frames)
    ours = mse(render_svg(layered.svg, width, height), image)
    plain_svg = vtracer.convert_raw_image_to_svg(png, img_format="png", **PAPER_VTRACER)
    plain = mse(render_svg(plain_svg, width, height), image)
    assert ours <= MAX_MSE_RATIO * plain, f"{name}: MSE {ours:.2e} vs plain vtracer {plain:.2e}"
    assert _drawn_layers(layered.svg) >= 3


def test_transparent_icon_keeps_a_transparent_background(bench_dir: Path) -> None:
    svg = (bench_dir / "icons" / "dev" / "noto__monkey-face.svg").read_text()
    image = render_svg(svg, 192, 192, background=None)  # RGBA, transparent around the icon
    assert image.shape[2] == 4 and image[0, 0, 3] == 0
    frames = decompose_image(image, 4)
    assert all(f.shape == image.shape for f in frames)
    assert all(f[0, 0, 3] == 0 and f[-1, -1, 3] == 0 for f in frames)
    assert np.array_equal(frames[-1], image)
    rendered = render_svg(vectorize_frames(frames).svg, 192, 192, background=None)
    assert rendered[0, 0, 3] == 0 and rendered[-1, -1, 3] == 0
    assert rendered[96, 96, 3] == 255
    assert mse(rendered, image) < 2e-3
