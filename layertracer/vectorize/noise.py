"""How noisy generated frames are, and frames denoised accordingly: flat fills flattened, edges kept.

A model draws every cell of a grid afresh, so two cells differ by noise wherever the drawing did not change:
diffusion grain, the grid's JPEG compression, a shade of tone. The differences between adjacent aligned frames
measure that noise directly, and edges hardly disturb the estimate (an edge drawn in both frames cancels).
Clean frames (rendered, or exact copies where nothing changed) differ by exactly nothing there: the estimate
is 0 and the frames are returned as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from layertracer.images import colour_words, flatten_on_white
from layertracer.vectorize.gradients import MAD_TO_SIGMA, ROUNDING_SIGMA, noise_variance
from layertracer.vectorize.masks import background_color

SCALE_PX = 4  # noise is measured on 4x4-pixel means: JPEG keeps coarse grain and removes the fine
# Two pixels of one fill differ by noise of sigma * sqrt(2); within three of those standard deviations
# (99.7% of such pairs) a difference is noise, beyond it an edge or a change.
NOISE_SPREAD = 3 * np.sqrt(2)
EXACT_SHARE = 0.1


def frame_noise(frames: Sequence[np.ndarray]) -> float:
    """Per-channel noise sigma (levels) of aligned creation frames, from their pairwise differences.

    What is compared is each frame's fine detail (a Laplacian) at SCALE_PX: a tone or gain difference
    between two cells is smooth and cancels, so does an edge both frames show, and the inside of a recoloured
    fill has no detail to differ. It is taken over blocks where neither frame is clipped at 0 or 255 (clipping
    hides noise: an icon's white paper), and the median ignores the changed edges as long as they are under
    half of the blocks. Pairs of identical frames (a step that drew nothing) say nothing and are skipped.
    """
    rgbs = [flatten_on_white(frame) for frame in frames]
    paper = background_color(frames[-1]).astype(np.uint8)  # every frame's background was repainted in it
    unclipped = [_unclipped(rgb) for rgb in rgbs]  # each frame's, once: it is in two pairs
    exact = [_exact(*pair, paper) for pair in zip(rgbs, rgbs[1:], unclipped, unclipped[1:])]
    # An exact pair measures 0 or is skipped, so unless two pairs are not exact the estimate is 0: known
    # without the detail views, which cost more than the rest (clean grids end here).
    if len(exact) - sum(exact) < 2:
        return 0.0
    views = [_NoiseView.of(rgb, mask) for rgb, mask in zip(rgbs, unclipped)]
    deviations = []
    for a, b, rendered in zip(views, views[1:], exact):
        # The paper was repainted in one noiseless colour in every frame but the last: where a frame shows it,
        # the pair differs by one frame's noise or by nothing, which understates the noise (a 4-frame grid's
        # first frames are mostly paper, and their pairs measured 0).
        repainted = cv2.bitwise_or(cv2.inRange(a.rgb, paper, paper), cv2.inRange(b.rgb, paper, paper))
        seen = ~(a.clipped | b.clipped | _near_blocks(repainted))
        differ = np.abs(a.detail - b.detail)[seen]
        if differ.size == 0 or differ.max() == 0:
            continue
        deviations.append(0.0 if rendered else float(np.median(differ)))
    # Noise is in every cell: one pair of frames alone may differ only by what its step drew, so it takes two
    # pairs to show noise, and the quietest pair says how much.
    if len(deviations) < 2:
        return 0.0
    # White noise of sigma gives block means of sigma / SCALE_PX, their Laplacian sqrt(20) times that (the
    # kernel's squared weights sum to 20), and a difference of two frames sqrt(2) times more.
    return float(min(deviations) * MAD_TO_SIGMA * SCALE_PX / np.sqrt(20 * 2))


def image_noise(image: np.ndarray) -> float:
    """Per-channel noise sigma (levels) of one image from its own pixels: 0 for a clean rendering.

    A single image has no second frame to compare, but a rendering's fills repeat exactly, pixel after pixel,
    while noise (a generated image's grain, a photograph's, a scan's) changes every pixel: the median second
    difference along rows (`gradients.noise_variance`: ramps cancel, edges are too few to move a median) is 0
    for the one and measures the other. A rendered ramp's rounding makes second differences of a level, so an
    estimate no larger than that is a clean image; so is one whose pixels equal their neighbour as often as
    `_exact` asks of a rendered frame (art drawn pixel by pixel: a sprite, a dithered palette). A noisy one is
    measured where it is not clipped at 0 or 255 (clipping hides noise: a white background's would halve the
    estimate); a clean one could not be, as black and white art has nothing unclipped but its edges.
    """
    rgb = np.ascontiguousarray(image[..., :3])
    words = colour_words(rgb)
    same = words[:, 1:] == words[:, :-1]  # a pixel and its right neighbour, all three channels
    flat = same[:, 1:] & same[:, :-1]
    if image.shape[-1] == 4:
        opaque = image[..., 3] == 255
        counted = opaque[:, 2:] & opaque[:, 1:-1] & opaque[:, :-2]
        flat, n_counted = flat & counted, np.count_nonzero(counted)
    else:
        opaque, n_counted = np.ones(image.shape[:2], bool), flat.size
    if 2 * np.count_nonzero(flat) > n_counted:
        return 0.0  # most pixels equal both neighbours (flat art): the median second difference is 0, known cheaply
    overall = noise_variance(rgb, opaque)
    if np.sqrt(overall) <= ROUNDING_SIGMA:
        return 0.0
    unclipped = opaque & (_unclipped(rgb) > 0)
    pairs = unclipped[:, 1:] & unclipped[:, :-1]
    if np.count_nonzero(same & pairs) >= EXACT_SHARE * np.count_nonzero(pairs):
        return 0.0
    return float(np.sqrt(max(overall, noise_variance(rgb, unclipped))))


def _exact(a: np.ndarray, b: np.ndarray, unclipped_a: np.ndarray, unclipped_b: np.ndarray, paper: np.ndarray) -> bool:
    """Whether two frames are rendered exactly: noise leaves two unclipped pixels equal in all three channels
    next to never, while a rendering leaves every pixel its step did not touch so. EXACT_SHARE of the pixels
    unclipped in both being equal is more than noise makes. The paper's colour, which `normalize_backgrounds`
    painted into every frame alike, is no evidence. `unclipped_*`: the frames' `_unclipped` masks."""
    unclipped = cv2.subtract(cv2.bitwise_and(unclipped_a, unclipped_b), cv2.inRange(a, paper, paper))
    n = cv2.countNonZero(unclipped)
    equal = cv2.bitwise_and(cv2.inRange(cv2.absdiff(a, b), (0, 0, 0), (0, 0, 0)), unclipped)
    return n > 0 and cv2.countNonZero(equal) >= EXACT_SHARE * n


def _unclipped(rgb: np.ndarray) -> np.ndarray:
    """255 where no channel is 0 or 255 (uint8 mask)."""
    return cv2.inRange(rgb, (1, 1, 1), (254, 254, 254))


def denoise(frame: np.ndarray, sigma: float) -> np.ndarray:
    """The frame with noise of `sigma` smoothed away inside fills and its edges kept (a bilateral filter whose
    colour range passes noise and stops at anything beyond it); unchanged when sigma is 0."""
    if sigma <= 0:
        return frame
    rgb = np.ascontiguousarray(frame[..., :3])
    smooth = cv2.bilateralFilter(rgb, 5, float(NOISE_SPREAD * sigma), 2.0)
    return smooth if frame.shape[-1] == 3 else np.dstack([smooth, frame[..., 3]])


def noise_tolerance(sigma: float) -> int:
    """The largest per-channel difference between two frames that noise of `sigma` explains."""
    return int(np.ceil(NOISE_SPREAD * sigma))


@dataclass(frozen=True)
class _NoiseView:
    """A frame as the estimate reads it: RGB on white, the per-channel Laplacian of its SCALE_PX means, and
    which of those blocks (or their neighbours) hold a clipped (0 or 255) value."""

    rgb: np.ndarray
    detail: np.ndarray
    clipped: np.ndarray

    @classmethod
    def of(cls, rgb: np.ndarray, unclipped: np.ndarray) -> _NoiseView:
        """The view of a frame flattened on white, from it and its `_unclipped` mask."""
        h, w = rgb.shape[0] // SCALE_PX * SCALE_PX, rgb.shape[1] // SCALE_PX * SCALE_PX
        means = cv2.resize(rgb[:h, :w].astype(np.float32), (w // SCALE_PX, h // SCALE_PX), interpolation=cv2.INTER_AREA)
        return cls(rgb, cv2.Laplacian(means, cv2.CV_32F), _near_blocks(cv2.bitwise_not(unclipped)))


def _near_blocks(mask: np.ndarray) -> np.ndarray:
    """Per SCALE_PX block and channel, whether the block or a neighbour (which its Laplacian reads) holds a
    pixel of `mask` (uint8, frame size)."""
    h, w = mask.shape[0] // SCALE_PX * SCALE_PX, mask.shape[1] // SCALE_PX * SCALE_PX
    blocks = cv2.resize(mask[:h, :w].astype(np.float32), (w // SCALE_PX, h // SCALE_PX), interpolation=cv2.INTER_AREA)
    near = cv2.dilate((blocks > 0).view(np.uint8), np.ones((3, 3), np.uint8))
    return np.repeat(near[..., None] > 0, 3, axis=2)
