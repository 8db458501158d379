"""Noisy generated frames (vectorize/noise.py): the noise measured, fills flattened, clean frames untouched."""

import re

import numpy as np

from layertracer.metrics import mse, render_svg
from layertracer.vectorize import vectorize_frames
from layertracer.vectorize.layered import prepare_frames
from layertracer.vectorize.masks import MaskOptions
from layertracer.vectorize.noise import denoise, frame_noise
from tests.vectorize.shapes import BLUE, GREEN, RED, SIZE, canvas, disc, square, square_disc_recolour

PAPER = (235, 232, 228)  # an off-white paper, so noise is not clipped away at 255


def noisy(frames: list[np.ndarray], sigma: float, seed: int = 0, gain: float = 0.0) -> list[np.ndarray]:
    """Every frame with its own Gaussian noise and per-channel gain (up to +-gain), as a model draws cells."""
    rng = np.random.default_rng(seed)
    out = []
    for frame in frames:
        drawn = frame * rng.uniform(1 - gain, 1 + gain, 3) + rng.normal(0, sigma, frame.shape)
        out.append(np.clip(drawn + 0.5, 0, 255).astype(np.uint8))
    return out


def creation(paper=PAPER) -> list[np.ndarray]:
    """A square, a disc on it, a second disc: three steps on paper."""
    f1 = square(canvas(paper), BLUE)
    f2 = disc(f1, RED)
    f3 = disc(f2, GREEN, center=(170, 170), radius=25)
    return [f1, f2, f3]


def test_clean_frames_measure_no_noise_and_are_not_touched():
    for frames in (square_disc_recolour(), creation()):
        assert frame_noise(frames) == 0.0
        assert denoise(frames[0], 0.0) is frames[0]


def test_the_noise_of_known_gaussian_noise_is_measured():
    for sigma in (2.0, 4.0, 8.0):
        estimate = frame_noise(noisy(creation(), sigma))
        assert 0.75 * sigma <= estimate <= 1.25 * sigma, (sigma, estimate)


def test_a_tone_drift_between_cells_is_not_noise_and_not_a_change():
    """+-2% gain per cell: a whole fill shifts by a few levels, which neither the estimate nor the masks see."""
    frames = creation()
    drifted = noisy(frames, 0.0, gain=0.02)
    assert frame_noise(drifted) == 0.0
    still = [drifted[0], noisy([frames[0]], 0.0, seed=1, gain=0.02)[0], drifted[2]]  # step 2 draws nothing
    result = vectorize_frames(still)
    layers = re.findall(r'<g\b[^>]*id="layer-(\d+)"[^>]*>(.*?)</g>', result.svg, re.S)
    assert [body.count("<path") for _, body in layers] == [1, 0, 2]  # the square, nothing, both discs


def test_noisy_frames_trace_to_few_paths_close_to_the_clean_render():
    frames = creation()
    clean = vectorize_frames(frames)
    noisy_result = vectorize_frames(noisy(frames, 4.0))
    assert noisy_result.n_paths <= clean.n_paths + 1
    clean_render = render_svg(clean.svg, SIZE, SIZE)
    assert mse(render_svg(noisy_result.svg, SIZE, SIZE), clean_render) < 2e-4


def test_the_repainted_paper_is_no_evidence_of_noise():
    """Small shapes on a noisy paper whose shade drifts per cell: every frame's paper but the last is repainted
    in the last one's shade, so the first pairs agree exactly over most of their area. That agreement says
    nothing about the noise, and the noise drawn into the shapes is still measured."""
    f1 = disc(canvas(PAPER), BLUE, center=(60, 60), radius=20)
    f2 = disc(f1, RED, center=(190, 70), radius=20)
    f3 = disc(f2, GREEN, center=(70, 190), radius=20)
    f4 = square(f3, BLUE, lo=170, hi=210)
    frames = prepare_frames(noisy([f1, f2, f3, f4], 3.0, seed=2, gain=0.02), MaskOptions())
    assert 0.75 * 3.0 <= frame_noise(frames) <= 1.25 * 3.0
