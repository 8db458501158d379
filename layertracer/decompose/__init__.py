"""Image -> creation frames without any model: the CPU default for image rows and `layertracer vectorize`.

A flat raster is split into single-colour regions (robust to anti-aliasing), the regions are stacked the way a
designer builds an icon (background and enclosing shapes first, details last), each region is completed where
later regions hide it, and the stack is cut into 4 or 9 cumulative frames for the layer-wise vectorizer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from layertracer.decompose.frames import assign_steps, paint_frames
from layertracer.decompose.lossy import rebuild_edges
from layertracer.decompose.palette import Segmentation, premultiply, segment, unpremultiply
from layertracer.decompose.stacking import (
    RegionHull,
    ShapeMask,
    adjacency,
    below_weights,
    border_lengths,
    complete_shape,
    convex_hulls,
    hull_overlaps,
    stacking_order,
)
from layertracer.errors import ImageError
from layertracer.grid import FRAME_COUNTS
from layertracer.images import codec_reach, pixel_block
from layertracer.labels import label_boxes
from layertracer.opencv import single_threaded
from layertracer.vectorize.noise import image_noise, noise_tolerance
from layertracer.vectorize.ramps import COLOUR_TOL

__all__ = ["DecomposeOptions", "decompose_image"]

# The share of a noisy image's fill pixels that must lie within its noise's reach of their fill for the noise to
# explain the picture (see `_segment_noisy`): noise leaves out next to none, edges a few percent of an icon.
NOISE_EXPLAINS = 0.9
# Noise that spreads one fill's pixels over half the colour range leaves no fill to find: the picture is taken as
# it is (a field of random colours, a pattern drawn pixel by pixel).
MAX_NOISE_TOL = 127


@dataclass(frozen=True)
class DecomposeOptions:
    """How a raster is decomposed.

    trace_px: longest side of the frames (larger inputs are downscaled; smaller ones keep their size); None keeps
    the input size. colour_tol: fills closer than this (0..255 RGBA distance) are one colour. flat_tol:
    per-channel difference under which neighbours count as the same fill. min_region_px: regions smaller than
    this are merged into a neighbour. max_regions: at most this many regions are kept (the largest), which
    bounds the work on noisy or photographic input. halo_px: how far a lossy codec smeared colour across the
    input's edges (`images.codec_reach` reads it from the file; 0 for lossless): thinner bands of a blended colour
    along edges are compression halos, not regions (see `decompose.halos`).
    """

    trace_px: int | None = 1024
    colour_tol: float = COLOUR_TOL
    flat_tol: int = 8
    min_region_px: int = 16
    max_colours: int = 64
    max_regions: int = 256
    flatten_tol: int = 0
    halo_px: float = 0.0

    def __post_init__(self) -> None:
        if self.trace_px is not None and self.trace_px < 16:
            raise ImageError(f"trace_px must be at least 16, got {self.trace_px}")
        if not 0 <= self.flatten_tol <= 255:
            raise ImageError(f"flatten_tol must be from 0 to 255, got {self.flatten_tol}")
        if not 0 <= self.halo_px <= 64:
            raise ImageError(f"halo_px must be from 0 to 64, got {self.halo_px}")

    def for_file(self, data: bytes) -> DecomposeOptions:
        """These options for the image encoded in `data`: `halo_px` is its codec's reach (a JPEG's halos)."""
        return replace(self, halo_px=codec_reach(data))


@single_threaded
def decompose_image(image: np.ndarray, frames: int, options: DecomposeOptions = DecomposeOptions()) -> list[np.ndarray]:
    """Cumulative creation frames (creation order) of a flat image; the last frame is the (resized) input.

    RGB in gives RGB frames drawn on white; RGBA in gives RGBA frames on a transparent canvas. Pixel art saved
    large (an exact nearest-neighbour enlargement, see `images.pixel_block`) is decomposed at its own pixels and
    its frames enlarged back as far as `trace_px` allows: what later shapes hide is completed block by block, with
    the same stair-stepped edges as the rest, not with the 45-degree chamfers of a hull at the enlarged size.
    """
    _check_input(image, frames)
    block = pixel_block(image)
    if block == 1:
        return _decompose(image, frames, options)
    # Sizes in pixels keep meaning the image's pixels. Its pixels are the drawing: what varies from one to the next
    # (a small render's anti-aliasing, every block a shade) is not noise to flatten away.
    options = replace(options, min_region_px=max(1, options.min_region_px // block**2), halo_px=options.halo_px / block)
    out = _decompose(np.ascontiguousarray(image[::block, ::block]), frames, options, noisy=False)
    longest = max(out[0].shape[:2])
    scale = block if options.trace_px is None else min(block, max(1, options.trace_px // longest))
    return [cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST) for frame in out]


def _decompose(image: np.ndarray, frames: int, options: DecomposeOptions, noisy: bool = True) -> list[np.ndarray]:
    """`decompose_image` at the image's own pixels; `noisy`: look for noise to forgive (see `_segment_noisy`)."""
    has_alpha = image.shape[2] == 4
    traced = _resize_longest(image, options.trace_px)
    rgba = traced if has_alpha else cv2.cvtColor(traced, cv2.COLOR_RGB2RGBA)  # opaque: alpha 255
    halo_reach = options.halo_px * traced.shape[0] / image.shape[0]  # the smear shrinks with the image
    seg, options = _segment_noisy(rgba, has_alpha, options, halo_reach, image_noise(traced) if noisy else 0.0)
    n = len(seg.areas)
    boxes = label_boxes(seg.region_map, n)
    hulls = convex_hulls(seg.region_map, boxes)
    touching = adjacency(seg.region_map, n)
    below = below_weights(
        seg.areas, touching, hull_overlaps(seg.region_map, hulls, n), border_lengths(seg.region_map, n)
    )
    elements = stacking_order(seg.areas, below, seg.fills)
    order = [rid for element in elements for rid in element]

    rank = np.full(n, -1, np.int64)
    rank[order] = np.arange(len(order))
    steps = assign_steps(elements, seg.areas, frames)
    opaque = seg.colours[:, 3] == 255
    shapes = _complete_shapes(seg.region_map, rank, order, steps, seg.fills, hulls, touching, opaque)
    colours = _canvas_first(seg.colours, has_alpha)
    if halo_reach > 0 and not has_alpha:
        traced = rebuild_edges(traced, seg.region_map, colours, ~seg.ramps, halo_reach, options.colour_tol)
    if options.flatten_tol:
        traced = flatten_fills(traced, seg.region_map, colours, options.flatten_tol, seg.ramps)
    return paint_frames(traced, seg.region_map, colours, order, steps, shapes, frames)


def _segment(rgba: np.ndarray, has_alpha: bool, options: DecomposeOptions, halo_reach: float) -> Segmentation:
    return segment(
        rgba, has_alpha, options.colour_tol, options.flat_tol, options.min_region_px, options.max_colours,
        options.max_regions, halo_reach,
    )


def _segment_noisy(
    rgba: np.ndarray, has_alpha: bool, options: DecomposeOptions, halo_reach: float, sigma: float
) -> tuple[Segmentation, DecomposeOptions]:
    """The image's regions, and the options that found them: noise of `sigma` is forgiven where it explains
    the picture.

    A noisy image (generated, photographed, scanned) is flat fills plus noise: colours and neighbours within
    what the noise explains (`noise_tolerance`) are one fill, and pixels that near their fill take its colour.
    Left noisy, every rim of a region that a later step borders would differ from the region's colour the frame
    before, and the step that redraws it would grow by that pixel. Noise leaves next to every pixel of a fill
    within that reach and anti-aliased edges are the rest, a few percent of an icon; where under NOISE_EXPLAINS
    of the fills' pixels are (a photograph's texture and shading read as noise, but leave a quarter to a half
    out), the estimate measured texture, not noise, and the image is segmented as it is.
    """
    tolerance = noise_tolerance(sigma)
    if 0 < tolerance <= MAX_NOISE_TOL:
        noisy = replace(
            options, colour_tol=max(options.colour_tol, tolerance), flat_tol=max(options.flat_tol, tolerance),
            flatten_tol=max(options.flatten_tol, tolerance),
        )
        seg = _segment(rgba, has_alpha, noisy, halo_reach)
        counted = ~seg.ramps[seg.region_map]
        if has_alpha:
            counted &= seg.region_map > 0  # the transparent canvas has no colour to be near
        near = _near_fills(rgba, _painted(_canvas_first(seg.colours, has_alpha), seg.region_map), tolerance)
        if np.count_nonzero(near & counted) >= NOISE_EXPLAINS * np.count_nonzero(counted):
            return seg, noisy
    return _segment(rgba, has_alpha, options, halo_reach), options


def _canvas_first(colours: np.ndarray, has_alpha: bool) -> np.ndarray:
    """Region colours with the canvas's in row 0: transparent, or the white frames are drawn on."""
    colours = colours.copy()
    colours[0] = (0, 0, 0, 0) if has_alpha else (255, 255, 255, 255)
    return colours


def _complete_shapes(
    region_map: np.ndarray, rank: np.ndarray, order: list[int], steps: np.ndarray, fills: np.ndarray,
    hulls: list[RegionHull | None], touching: np.ndarray, opaque: np.ndarray,
) -> dict[int, ShapeMask]:
    """Each region drawn whole; regions of one fill drawn in one step are completed together, under the id of
    the first of them, so pieces that later shapes cut apart become one shape (one path instead of several).

    An `opaque` shape is completed only under opaque regions: a translucent one (a soft shadow) does not hide it,
    and completed under it the shape would show where the picture has only shadow, which the shadow's step could
    only paint over with an opaque mix. Translucent regions still complete under one another: a shadow's bands
    stack."""
    groups: dict[tuple[int, int], list[int]] = {}
    for rid in order:
        groups.setdefault((int(fills[rid]), int(steps[rid])), []).append(rid)
    shapes: dict[int, ShapeMask] = {}
    hiding = np.where(opaque, rank, -1)  # to an opaque shape, a translucent region hides as little as the canvas
    later = (touching > 0) & (rank[None, :] > rank[:, None])
    covered = np.where(opaque, (later & opaque[None, :]).any(axis=1), later.any(axis=1))  # touches what hides it
    for members in groups.values():
        if not covered[members].any():  # nothing covers them: they are already whole
            shapes.update({rid: _own_shape(region_map, rid, hulls[rid]) for rid in members})
            continue
        points = np.concatenate([hulls[rid].points for rid in members])
        ranks = rank
        if opaque[members].all():
            ranks = hiding.copy()
            ranks[members] = rank[members]
        shapes[members[0]] = complete_shape(region_map, ranks, members, points)
    return shapes


def flatten_fills(
    image: np.ndarray, region_map: np.ndarray, colours: np.ndarray, tolerance: int, ramps: np.ndarray
) -> np.ndarray:
    """Pixels within `tolerance` (every channel) of their region's colour take that colour exactly; regions that
    are colour `ramps` keep their pixels (their colour is only the ramp's mean).

    Noise (a generated image's grain, a codec's) would otherwise reach the tracer as specks of change in every
    step; anti-aliased edges and real detail differ by more and are kept.
    """
    flat = _painted(colours[:, : image.shape[2]], region_map)
    near = _near_fills(image, flat, tolerance) & ~ramps[region_map]
    return cv2.copyTo(flat, near.view(np.uint8), image.copy())


def _painted(colours: np.ndarray, region_map: np.ndarray) -> np.ndarray:
    """Each pixel in its region's colour."""
    return np.take(colours, region_map, axis=0)


def _near_fills(image: np.ndarray, flat: np.ndarray, tolerance: int) -> np.ndarray:
    """Pixels within `tolerance` (every channel) of `flat`, their regions' colours painted."""
    return cv2.absdiff(image, flat).max(axis=2) <= tolerance


def _own_shape(region_map: np.ndarray, rid: int, hull: RegionHull) -> ShapeMask:
    h, w = hull.mask.shape
    return ShapeMask(hull.y0, hull.x0, region_map[hull.y0 : hull.y0 + h, hull.x0 : hull.x0 + w] == rid)


def _check_input(image: np.ndarray, frames: int) -> None:
    if frames not in FRAME_COUNTS:
        raise ImageError(f"frames must be 4 or 9, got {frames}")
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] not in (3, 4):
        shape = getattr(image, "shape", None)
        raise ImageError(f"expected an HxWx3 or HxWx4 image, got shape {shape}")
    if image.dtype != np.uint8:
        raise ImageError(f"expected a uint8 image, got {image.dtype}")
    if min(image.shape[:2]) < 2:
        raise ImageError(f"image of {image.shape[1]}x{image.shape[0]} px is too small to decompose")


def _resize_longest(image: np.ndarray, longest: int | None) -> np.ndarray:
    """Downscale so the longest side is at most `longest` (area filter; RGBA premultiplied so edges stay clean)."""
    height, width = image.shape[:2]
    if longest is None or max(height, width) <= longest:
        return image
    scale = longest / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if image.shape[2] == 3:
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return unpremultiply(cv2.resize(premultiply(image), size, interpolation=cv2.INTER_AREA))
