"""decompose_image on random icons (hypothesis): shapes, colours, alpha and sizes, down to 2 px.

Whatever the image, the decomposer gives the requested number of cumulative frames ending at the image, and the
model-free path (`layertracer vectorize`: decompose, then trace the exact frames) draws every shape of it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layertracer.decompose import DecomposeOptions, decompose_image
from layertracer.errors import GridError
from layertracer.metrics import mse, render_svg
from layertracer.vectorize import TraceOptions, vectorize_frames
from layertracer.vectorize.noise import image_noise, noise_tolerance
from tests.vectorize.random_icons import RandomIcon, assert_shapes_drawn, check_layered_svg, icons

# Seeded (derandomize): the suite draws the same examples every run.
PROPERTY = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
FRAMES = st.sampled_from([4, 9])


@PROPERTY
@given(icons(min_side=2), FRAMES)
def test_frames_are_as_many_as_asked_and_the_last_is_the_image(icon: RandomIcon, frames: int):
    image = icon.frames[-1]
    out = decompose_image(image, frames)
    assert len(out) == frames
    assert all(f.shape == image.shape and f.dtype == np.uint8 for f in out)
    if image.shape[2] == 3:
        assert np.array_equal(out[-1], image)
    else:  # the colour under full transparency is nobody's
        seen = image[..., 3] > 0
        assert np.array_equal(out[-1][..., 3], image[..., 3]) and np.array_equal(out[-1][seen], image[seen])


@PROPERTY
@given(st.integers(8, 14), st.integers(8, 14), st.integers(2, 9), st.integers(0, 2**32 - 1), FRAMES, st.booleans())
def test_pixel_art_saved_large_is_decomposed_in_whole_blocks(
    height: int, width: int, block: int, seed: int, frames: int, alpha: bool
):
    """Every frame of an enlarged sprite is made of the sprite's blocks, and the last is the image."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (4, 4 if alpha else 3), dtype=np.uint8)
    if alpha:
        palette[:, 3] = (0, 255, 255, 140)
    sprite = palette[rng.choice(4, (height, width), p=(0.4, 0.3, 0.2, 0.1))]
    image = np.repeat(np.repeat(sprite, block, axis=0), block, axis=1)
    out = decompose_image(image, frames)
    assert len(out) == frames and all(f.shape == image.shape for f in out)
    for frame in out:
        assert np.array_equal(frame, np.repeat(np.repeat(frame[::block, ::block], block, axis=0), block, axis=1))
    seen = image[..., 3] > 0 if alpha else np.ones(image.shape[:2], bool)
    assert np.array_equal(out[-1][seen], image[seen])


@PROPERTY
@given(icons(min_shape_px=5, opaque=True), FRAMES)
def test_the_model_free_path_draws_every_shape_in_its_colour(icon: RandomIcon, frames: int):
    image = icon.frames[-1]
    height, width = image.shape[:2]
    result = vectorize_frames(decompose_image(image, frames), TraceOptions().for_exact_frames())
    check_layered_svg(result.svg, frames, width, height)
    assert_shapes_drawn(icon, render_svg(result.svg, width, height))


@PROPERTY
@given(icons(min_side=8), FRAMES, st.floats(0.5, 40.0), st.integers(0, 2**32 - 1))
def test_noisy_images_decompose_and_trace_and_move_no_pixel_beyond_the_noise(
    icon: RandomIcon, frames: int, sigma: float, seed: int
):
    """Any noise, on any icon: the frames come as asked, the layered SVG is valid, and the last frame moves no
    pixel farther than the noise the image measures explains (flattened fills) - or none at all."""
    image = icon.frames[-1].astype(np.float64)
    image[..., :3] += np.random.default_rng(seed).normal(0, sigma, image[..., :3].shape)
    image = np.clip(np.round(image), 0, 255).astype(np.uint8)
    out = decompose_image(image, frames)
    assert len(out) == frames and all(f.shape == image.shape for f in out)
    seen = image[..., 3] > 0 if image.shape[2] == 4 else np.ones(image.shape[:2], bool)
    moved = np.abs(out[-1].astype(int) - image)[seen]
    assert moved.size == 0 or moved.max() <= noise_tolerance(image_noise(image))
    height, width = image.shape[:2]
    check_layered_svg(vectorize_frames(out, TraceOptions().for_exact_frames()).svg, frames, width, height)


@PROPERTY
@given(icons(min_side=2, max_side=7), FRAMES)
def test_images_too_small_to_trace_decompose_and_then_refuse_in_one_line(icon: RandomIcon, frames: int):
    out = decompose_image(icon.frames[-1], frames)
    with pytest.raises(GridError, match="too small to trace"):
        vectorize_frames(out, TraceOptions().for_exact_frames())


def test_a_large_image_is_decomposed_at_trace_px():
    image = np.full((1300, 650, 4), 0, np.uint8)
    image[100:1200, 100:550] = (20, 120, 220, 255)
    out = decompose_image(image, 4, DecomposeOptions(trace_px=260))
    assert all(f.shape == (260, 130, 4) for f in out)
    assert out[-1][130, 65].tolist() == [20, 120, 220, 255] and out[-1][5, 5, 3] == 0
    result = vectorize_frames(out, TraceOptions().for_exact_frames())
    assert mse(render_svg(result.svg, 650, 1300), image) < 1e-3
