"""Real designer icons from ../shared/bench: our layered SVG renders close to the icon.

Bounds come from benchmarks/vectorize_quality.py on the dev set: median MSE 1.7e-4 (4 frames) and 2.3e-4
(9 frames), 90th percentile ~5e-4, against plain vtracer's medians of 5.2e-4 and 7.3e-4.
"""

import pytest

from benchmarks.common import load_icons, plain_vtracer
from layertracer.metrics import count_layers, count_paths, layer_renders, mse, render_svg
from layertracer.vectorize import vectorize_frames

ICONS = ["noto__tooth", "twemoji__floppy-disk", "flat-color-icons__camcorder", "fluent-emoji-flat__baby"]


@pytest.fixture(scope="module", params=[4, 9], ids=["f4", "f9"])
def icons(request, bench_dir):
    return [icon for icon in load_icons(bench_dir, request.param) if icon.name in ICONS]


def test_full_render_matches_the_icon_better_than_plain_vtracer(icons):
    assert len(icons) == len(ICONS)
    for icon in icons:
        height, width = icon.final.shape[:2]
        result = vectorize_frames(icon.frames)
        ours = mse(render_svg(result.svg, width, height), icon.final)
        plain = plain_vtracer(icon.final)
        assert ours < 1e-3, icon.name
        assert ours < mse(render_svg(plain, width, height), icon.final), icon.name
        assert result.n_paths <= 1.5 * max(count_paths(plain), icon.n_elements), icon.name
        assert count_layers(result.svg) == len(icon.frames)


def test_each_step_shows_its_frame(icons):
    for icon in icons:
        height, width = icon.final.shape[:2]
        renders = layer_renders(vectorize_frames(icon.frames).svg, width, height)
        for k, (render, frame) in enumerate(zip(renders, icon.frames), start=1):
            assert mse(render, frame) < 1e-3, f"{icon.name}: layers 1..{k}"
