"""What each creation step changed: frames aligned and normalised, then cleaned change masks.

Generated frames are not pixel-exact copies of each other: cells drift by a pixel or two, JPEG and diffusion
noise speckle flat areas, and the background shade can differ between cells. Everything here exists so that
a change mask holds what the step drew, and nothing else.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from layertracer.images import flatten_on_white

ALIGN_SIZE_PX = 128  # frames are aligned at about this size, then the shift is confirmed at full size
# How far (RGB distance) from white an exact drawing's paper may be: an off-white render or a JPEG's white, not a
# tinted background (see `paper_color`; the decomposer's empty canvas is the same).
PAPER_WHITE_TOL = 24.0


@dataclass(frozen=True)
class MaskOptions:
    """How tolerant the frame diff is; the defaults suit 350-512 px cells of flat icons."""

    color_tolerance: int = 10  # max per-channel difference (after a 3x3 median) still counted as "unchanged"
    shift_tolerance_px: int = 1  # a pixel is unchanged if a neighbour this close had its colour
    max_align_px: int = 4  # largest whole-frame drift corrected between adjacent frames
    min_area_fraction: float = 4e-5  # changed regions smaller than this share of the frame are noise
    background_tolerance: int = 40  # how far a cell's background shade may stray from the last cell's
    # Frames rendered from one drawing (the decomposer's) are pixel-exact: no drift, noise or shade to forgive,
    # so nothing is aligned, normalised or denoised, and a step is every pixel whose visible value changed.
    exact: bool = False


def background_color(frame: np.ndarray) -> np.ndarray:
    """The frame's background: the median colour of its one-pixel border (RGB, on white)."""
    rgb = flatten_on_white(frame)
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    return np.median(border, axis=0).astype(np.int16)


def paper_color(frame: np.ndarray, options: MaskOptions) -> np.ndarray | None:
    """The white (or near-white) paper an RGB frame is drawn on, or None if its border is coloured.

    Only paper is background that can be dropped; a coloured full-bleed background is drawn content. A model's
    paper drifts from cell to cell (`background_tolerance`); exact frames have the paper of the drawing they were
    rendered from, white within `PAPER_WHITE_TOL`, which is also what the decomposer takes for its empty canvas:
    a pale blue card behind an icon is drawn.
    """
    color = background_color(frame)
    if options.exact:
        near = float(np.linalg.norm(255 - color)) <= PAPER_WHITE_TOL
    else:
        near = int(np.abs(255 - color).max()) <= options.background_tolerance
    return color if near else None


def normalize_backgrounds(frames: Sequence[np.ndarray], tolerance: int) -> list[np.ndarray]:
    """Repaint each frame's background in the last frame's shade, so a shade change is not a 'step'."""
    target = background_color(frames[-1])
    out = []
    for frame in frames:
        own = background_color(frame)
        shade_gap = int(np.abs(own - target).max())
        if 0 < shade_gap <= tolerance and frame.shape[-1] == 3:
            near = _near_color(frame, own, max(8, shade_gap // 2))
            frame = frame.copy()
            frame[near] = target.astype(np.uint8)
        out.append(frame)
    return out


@dataclass(frozen=True)
class AlignView:
    """A frame as alignment reads it: grey at full size, and shrunk to about ALIGN_SIZE_PX.

    Each frame is the moving side of one pair and the reference of the next, so it is made once.
    """

    gray: np.ndarray  # uint8
    small: np.ndarray
    factor: tuple[float, float]  # full-size pixels per shrunk pixel, (y, x)

    @classmethod
    def of(cls, frame: np.ndarray) -> AlignView:
        gray = cv2.cvtColor(flatten_on_white(frame), cv2.COLOR_RGB2GRAY)
        scale = min(1.0, ALIGN_SIZE_PX / max(gray.shape))
        # A whole factor first (OpenCV's area filter is ~15x faster on those), then the rest.
        step = max(1, int(1 / scale))
        h, w = gray.shape[0] // step * step, gray.shape[1] // step * step
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        area = cv2.resize(gray[:h, :w].astype(np.float32), (w // step, h // step), interpolation=cv2.INTER_AREA)
        small = cv2.resize(area, size, interpolation=cv2.INTER_LINEAR)
        return cls(gray, small, (h / size[1], w / size[0]))


def estimate_shift(reference: AlignView, moving: AlignView, max_shift_px: int) -> tuple[int, int]:
    """Whole-pixel (dy, dx) that moves `moving` onto `reference`; (0, 0) unless clearly better.

    Phase correlation runs on frames shrunk to about ALIGN_SIZE_PX: an FFT's cost grows fast with size, and
    at a size it needs no padding for, the estimate on the bench frames is sharper than at half resolution
    (median error 0.3 px against 1 px). The candidate is then confirmed, with its neighbours, on
    full-resolution pixels.
    """
    ref, mov = reference.gray, moving.gray
    (sx, sy), response = cv2.phaseCorrelate(moving.small, reference.small)
    cy, cx = int(round(sy * reference.factor[0])), int(round(sx * reference.factor[1]))

    dark = ref < 255 - 16  # where `mov`'s white-filled, uncovered border would differ
    all_dark = np.count_nonzero(dark)

    @functools.cache
    def mismatched(dy: int, dx: int) -> int:
        # Pixels that differ, not the mean difference: a recolour elsewhere in the step costs the same at
        # every shift, so only the edges the shift lines up decide. `mov` shifted, its uncovered border white.
        ys, xs = _overlap(ref.shape[0], dy), _overlap(ref.shape[1], dx)
        differ = np.count_nonzero(cv2.absdiff(ref[ys[1], xs[1]], mov[ys[0], xs[0]]) > 16)
        return int(differ + all_dark - np.count_nonzero(dark[ys[1], xs[1]]))

    if response < 0.1 or max(abs(cy), abs(cx)) > max_shift_px + 1:
        # A step that adds much (a roof over a house) can outweigh the drift in the correlation: its peak
        # then says nothing, and every allowed shift is tried on the pixels themselves.
        r = range(-max_shift_px, max_shift_px + 1)
        candidates = [(a, b) for a in r for b in r]
    else:
        candidates = [(cy + a, cx + b) for a in (-1, 0, 1) for b in (-1, 0, 1)]
    allowed = [c for c in candidates if max(abs(c[0]), abs(c[1])) <= max_shift_px]
    best = min(allowed, key=lambda c: mismatched(*c), default=(0, 0))
    return best if best != (0, 0) and mismatched(*best) < 0.98 * mismatched(0, 0) else (0, 0)


def shift_image(image: np.ndarray, dy: int, dx: int, fill: float | np.ndarray) -> np.ndarray:
    """Translate by whole pixels, filling the uncovered border with `fill`."""
    out = np.empty_like(image)
    out[...] = fill
    (src_y, dst_y), (src_x, dst_x) = _overlap(image.shape[0], dy), _overlap(image.shape[1], dx)
    out[dst_y, dst_x] = image[src_y, src_x]
    return out


def _overlap(length: int, shift: int) -> tuple[slice, slice]:
    """(source, destination) ranges of an axis of `length` pixels moved by `shift`."""
    if shift >= 0:
        return slice(0, length - shift), slice(shift, length)
    return slice(-shift, length), slice(0, length + shift)


def align_frames(frames: Sequence[np.ndarray], max_shift_px: int) -> list[np.ndarray]:
    """Move every frame onto the last frame's position (drift is estimated between neighbours, then summed)."""
    offsets = [(0, 0)] * len(frames)

    @functools.cache
    def view(k: int) -> AlignView:
        return AlignView.of(frames[k])

    for k in range(len(frames) - 2, -1, -1):
        same = max_shift_px <= 0 or _identical(frames[k + 1], frames[k])  # drew nothing: nothing to align
        dy, dx = (0, 0) if same else estimate_shift(view(k + 1), view(k), max_shift_px)
        offsets[k] = (offsets[k + 1][0] + dy, offsets[k + 1][1] + dx)
    out = []
    for frame, (dy, dx) in zip(frames, offsets):
        if (dy, dx) != (0, 0):
            fill = background_color(frame) if frame.shape[-1] == 3 else 0
            frame = shift_image(frame, dy, dx, fill)
        out.append(frame)
    return out


def _on_white(frame: np.ndarray) -> np.ndarray:
    """RGB as seen on white; RGBA frames keep alpha as a fourth 'colour', so fading counts as change."""
    if frame.shape[-1] == 3:
        return frame
    seen = cv2.cvtColor(flatten_on_white(frame), cv2.COLOR_RGB2RGBA)
    seen[..., 3] = frame[..., 3]
    return seen


def _within(diff: np.ndarray, tolerance: int) -> np.ndarray:
    """Pixels whose every channel of `diff` is at most `tolerance`."""
    return _in_range(diff, tolerance) != 0


def _in_range(diff: np.ndarray, tolerance: int) -> np.ndarray:
    """255 where every channel of `diff` is at most `tolerance`, else 0 (one pass, any channel count)."""
    channels = 1 if diff.ndim == 2 else diff.shape[-1]
    return cv2.inRange(diff, (0,) * channels, (tolerance,) * channels)


def _near_color(frame: np.ndarray, color: np.ndarray, tolerance: int) -> np.ndarray:
    """Pixels of an RGB frame within `tolerance` of `color` in every channel."""
    return _within(cv2.absdiff(frame, np.append(color, 0).astype(np.float64)), tolerance)


def _identical(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and cv2.norm(a, b, cv2.NORM_INF) == 0


def change_masks(frames: Sequence[np.ndarray], options: MaskOptions) -> Iterator[np.ndarray]:
    """Per adjacent pair of frames, the pixels the step clearly changed: beyond tolerance against every
    nearby pixel of the previous frame. One at a time, so each step can be traced while the next is diffed.

    The neighbourhood test forgives a one-pixel drift that alignment left; `coverage` later decides the
    changed region's anti-aliased rim at sub-pixel precision. Exact frames are compared as they are.
    """
    seen = _on_white if options.exact else _denoised
    before = seen(frames[0])
    for a, b in zip(frames, frames[1:]):
        after = seen(b)
        if _identical(a, b):
            yield np.zeros(b.shape[:2], bool)
        elif options.exact:
            yield _in_range(cv2.absdiff(before, after), 0) == 0
        else:
            yield _changed(before, after, options)
        before = after


def _denoised(frame: np.ndarray) -> np.ndarray:
    # A 3x3 median removes JPEG and diffusion speckle but keeps flat areas' true colour, so the
    # tolerance can stay low enough to see a subtle recolour (two greys 15 levels apart).
    return cv2.medianBlur(_on_white(frame), 3)


def _changed(before: np.ndarray, after: np.ndarray, options: MaskOptions) -> np.ndarray:
    changed = _in_range(cv2.absdiff(before, after), options.color_tolerance) == 0
    x, y, w, h = cv2.boundingRect(changed.view(np.uint8))
    r = options.shift_tolerance_px
    if r > 0 and w > 0:
        # Only the changed pixels' bounding box is tested; the border repeats edge pixels, as a drift would.
        padded = cv2.copyMakeBorder(before, r, r, r, r, cv2.BORDER_REPLICATE)
        box = (slice(y, y + h), slice(x, x + w))
        moved = after[box]
        matched = np.zeros((h, w), np.uint8)  # 255 where some neighbour had the colour
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                if (dy, dx) != (0, 0):
                    neighbour = padded[r + y + dy : r + y + h + dy, r + x + dx : r + x + w + dx]
                    cv2.bitwise_or(matched, _in_range(cv2.absdiff(moved, neighbour), options.color_tolerance), matched)
        changed[box] &= matched == 0
    return drop_specks(changed, options.min_area_fraction)


def foreground_mask(frame: np.ndarray, options: MaskOptions) -> np.ndarray:
    """What the first frame drew: everything except the background connected to the border.

    Enclosed background-coloured areas (the white of an eye) are drawn, not background.
    """
    if frame.shape[-1] == 4:
        return drop_specks(frame[..., 3] > 0, options.min_area_fraction)
    if paper_color(frame, options) is None:
        return np.ones(frame.shape[:2], bool)  # a coloured full-bleed background is part of the drawing
    flood = _near_color(frame, background_color(frame), options.color_tolerance).view(np.uint8)
    # A ring of paper around the frame joins every paper region that touches the border into one.
    ringed = cv2.copyMakeBorder(flood, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=1)
    _, labels = cv2.connectedComponents(ringed, connectivity=4)
    return drop_specks(labels[1:-1, 1:-1] != labels[0, 0], options.min_area_fraction)


def drop_specks(mask: np.ndarray, min_area_fraction: float) -> np.ndarray:
    """Remove connected regions below the minimum area: diffusion and JPEG noise, not drawing."""
    x, y, w, h = cv2.boundingRect(mask.view(np.uint8))
    if w == 0:
        return mask
    min_area = max(4, int(round(min_area_fraction * mask.size)))
    box = (slice(y, y + h), slice(x, x + w))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask[box].view(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
    out = np.zeros_like(mask)
    out[box] = keep[labels]
    return out


def drop_covered(masks: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Remove regions of a step that later steps repaint entirely: they would be paths nobody sees."""
    out = list(masks)
    later = np.zeros_like(masks[-1], dtype=bool)
    for k in range(len(masks) - 1, -1, -1):
        mask = masks[k]
        if k < len(masks) - 1 and mask.any() and later.any():
            count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
            uncovered = np.bincount(labels[mask & ~later], minlength=count)
            out[k] = mask & (uncovered[labels] > 0)
        later |= mask
    return out
