"""Noisy images (a generated icon's grain, a scan's): the noise is measured from the image itself and forgiven
where it explains the picture; clean renderings, pixel art and photographs are segmented as they are."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from layertracer.decompose import DecomposeOptions, decompose_image, flatten_fills
from layertracer.metrics import mse, render_svg
from layertracer.vectorize import TraceOptions, vectorize_frames
from layertracer.vectorize.noise import image_noise
from tests.decompose.scenes import disc_on_square_on_background, ring_on_white

CLEAN_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256">'
    '<circle cx="128.3" cy="125.7" r="90.4" fill="#2060c0"/>'
    '<rect x="100.2" y="100.6" width="50" height="40" fill="#f0c020"/></svg>'
)


def with_noise(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, sigma, image.shape)
    return np.clip(np.round(image + noise), 0, 255).astype(np.uint8)


def traced(image: np.ndarray) -> np.ndarray:
    frames = decompose_image(image, 4)
    result = vectorize_frames(frames, TraceOptions().for_exact_frames())
    return render_svg(result.svg, image.shape[1], image.shape[0])


def test_clean_renderings_measure_no_noise() -> None:
    ramp = np.repeat(np.linspace(20, 235, 256)[None, :, None], 64, axis=0).repeat(3, axis=2)
    black_on_white = np.full((64, 64, 3), 255, np.uint8)
    black_on_white[16:48, 20:40] = 0
    for image in (render_svg(CLEAN_SVG, 256, 256), disc_on_square_on_background(), ring_on_white(),
                  np.round(ramp).astype(np.uint8), black_on_white):
        assert image_noise(image) == 0.0


def test_gaussian_noise_is_measured_on_a_white_background() -> None:
    """Half a white background's noise is clipped away at 255; the estimate reads the unclipped pixels."""
    clean = render_svg(CLEAN_SVG, 256, 256)
    for sigma in (2.0, 4.0, 8.0):
        assert 0.8 * sigma <= image_noise(with_noise(clean, sigma)) <= 1.25 * sigma


def test_art_drawn_pixel_by_pixel_is_no_noise() -> None:
    """A sprite of a few colours changes colour at most pixels, as noise does, but its pixels repeat exactly."""
    rng = np.random.default_rng(3)
    palette = rng.integers(0, 256, (4, 3), dtype=np.uint8)
    sprite = palette[rng.choice(4, (12, 12), p=(0.4, 0.3, 0.2, 0.1))]
    assert image_noise(sprite) == 0.0
    assert np.array_equal(decompose_image(sprite, 4)[-1], sprite)


@pytest.mark.parametrize("sigma", [1.5, 3.0, 6.0, 12.0])
def test_noisy_images_trace_as_close_as_clean_ones(sigma: float) -> None:
    """Left noisy, the rim of a shape that a later one borders differs from its fill the frame before, and the
    later step grew by that pixel all round (noise of sigma 1 gave 8x the clean trace's error)."""
    clean = render_svg(CLEAN_SVG, 256, 256)
    baseline = mse(traced(clean), clean)
    noisy = with_noise(clean, sigma, seed=int(sigma * 10))
    assert mse(traced(noisy), clean) <= max(3 * baseline, 3e-5), sigma


def test_noise_flattens_fills_but_not_ramps() -> None:
    image = np.full((4, 6, 3), 100, np.uint8)
    image[:, 3:] = np.arange(3)[None, :, None] * 10 + 150
    regions = np.zeros((4, 6), np.int32)
    regions[:, 3:] = 1
    colours = np.array([[100, 100, 100, 255], [160, 160, 160, 255]], np.uint8)
    noisy = image.copy()
    noisy[0, 0] += 3
    out = flatten_fills(noisy, regions, colours, 5, np.array([False, True]))
    assert np.array_equal(out[:, :3], image[:, :3]) and np.array_equal(out[:, 3:], noisy[:, 3:])


def test_photographs_are_not_flattened() -> None:
    """A photograph's texture reads as noise, but most of its pixels lie beyond that noise's reach of any fill:
    it is decomposed as it is, its last frame the photograph."""
    photo = np.ascontiguousarray(data.chelsea()[::2, ::2])
    assert image_noise(photo) > 0
    assert np.array_equal(decompose_image(photo, 4, DecomposeOptions(max_regions=64))[-1], photo)
