"""Flat-colour segmentation that is robust to anti-aliasing.

Icons are flat fills whose edges are blends of two neighbouring fills. The palette is therefore taken only
from *core* pixels (pixels that match most of their 4-neighbours), every pixel is labelled by its nearest
palette colour, and the pieces that only blends produced (components without enough core pixels, e.g. a thin
grey seam between black and white) are given to the nearest real region instead of becoming regions of their own.
Colours live in premultiplied RGBA so that a blend of two fills is a point on the segment between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from layertracer.decompose.halos import absorb_halos, give_by_colour, region_colours
from layertracer.images import flat_pixels
from layertracer.labels import label_boxes
from layertracer.vectorize.masks import PAPER_WHITE_TOL
from layertracer.vectorize.ramps import find_ramps

_BIN_SHIFT = 3  # 5 bits per channel for the palette histogram
_TRANSPARENT_ALPHA = 16  # a palette colour with less alpha than this is the (transparent) canvas
_N_BINS = 1 << 20
_MAX_BINS = 2048


@dataclass(frozen=True)
class Segmentation:
    """Pixel regions of a flat image."""

    region_map: np.ndarray  # HxW int32: 0 = canvas (nothing drawn), 1..n = regions
    colours: np.ndarray  # (n+1)x4 uint8 straight-alpha RGBA of each region (row 0: canvas)
    areas: np.ndarray  # (n+1,) int64 pixel counts
    fills: np.ndarray  # (n+1,) palette index of each region (-1 for the canvas): same fill, same colour
    ramps: np.ndarray  # (n+1,) bool: the region is a colour ramp (bands joined), its colour only their mean


def premultiply(rgba: np.ndarray) -> np.ndarray:
    """uint8 straight RGBA -> uint8 premultiplied RGBA."""
    if rgba[..., 3].min() == 255:
        return rgba
    rgb = cv2.multiply(rgba[..., :3], np.repeat(rgba[..., 3:4], 3, axis=2), scale=1 / 255.0)
    return np.dstack([rgb, rgba[..., 3]])


def unpremultiply(colours: np.ndarray) -> np.ndarray:
    """Premultiplied RGBA (..., 4) -> uint8 straight RGBA."""
    colours = np.asarray(colours, np.float32)
    alpha = colours[..., 3:4]
    rgb = np.where(alpha > 0, colours[..., :3] * 255.0 / np.maximum(alpha, 1e-6), 0.0)
    return np.clip(np.concatenate([rgb, alpha], axis=-1) + 0.5, 0, 255).astype(np.uint8)


def colour_keys(feat: np.ndarray) -> np.ndarray:
    """HxW histogram bin of each pixel: 5 bits per premultiplied RGBA channel (20-bit key)."""
    q = (np.ascontiguousarray(feat).view(np.uint32)[..., 0] >> _BIN_SHIFT) & 0x1F1F1F1F
    return ((q & 0x1F) | ((q >> 3) & 0x3E0) | ((q >> 6) & 0x7C00) | ((q >> 9) & 0xF8000)).astype(np.int64)


def present_keys(keys: np.ndarray) -> np.ndarray:
    """The distinct histogram keys among `keys`, sorted: a flag per bin, ~3x faster than counting each bin."""
    seen = np.zeros(_N_BINS, bool)
    seen[keys.ravel()] = True
    return np.flatnonzero(seen)


def bin_centres(keys: np.ndarray) -> np.ndarray:
    """Premultiplied RGBA colour (float) at the centre of each histogram bin."""
    channels = np.stack([(keys >> (5 * c)) & 0x1F for c in range(4)], axis=-1)
    return (channels * (1 << _BIN_SHIFT) + (1 << (_BIN_SHIFT - 1))).astype(np.float32)


def extract_palette(keys: np.ndarray, core: np.ndarray, colour_tol: float, min_px: int, max_colours: int) -> np.ndarray:
    """Dominant colours of the core pixels: histogram bins greedily merged within `colour_tol`, biggest first.

    Only the `_MAX_BINS` most populous bins are looked at: flat images have a few, noise would have thousands.
    """
    sample = keys[core] if core.any() else keys.ravel()
    counts = np.bincount(sample, minlength=_N_BINS)
    used = present_keys(sample)
    used = used[np.argsort(-counts[used], kind="stable")[:_MAX_BINS]]
    means = bin_centres(used)
    centres = np.zeros((len(used), 4), np.float64)
    weights = np.zeros(len(used), np.float64)
    n = 0
    for colour, count in zip(means, counts[used].astype(np.float64)):
        if n:
            dist = np.linalg.norm(centres[:n] - colour, axis=1)
            j = int(np.argmin(dist))
            if dist[j] <= colour_tol:
                centres[j] = (centres[j] * weights[j] + colour * count) / (weights[j] + count)
                weights[j] += count
                continue
        centres[n], weights[n] = colour, count
        n += 1
    order = np.argsort(-weights[:n], kind="stable")
    keep = [k for k in order if weights[k] >= min_px][:max_colours] or [int(order[0])]
    return centres[keep].astype(np.float32)


def nearest_colour(keys: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Index of the nearest palette colour for every pixel, computed once per histogram bin present."""
    used = present_keys(keys)
    centres = bin_centres(used)
    dist = ((centres[:, None, :] - palette[None, :, :]) ** 2).sum(axis=-1)
    lookup = np.zeros(_N_BINS, np.int32)
    lookup[used] = np.argmin(dist, axis=1)
    return lookup[keys]


def canvas_colour_index(palette: np.ndarray, labels: np.ndarray, has_alpha: bool) -> int | None:
    """The palette entry that is the empty canvas: transparent for RGBA, white touching the border for RGB."""
    if has_alpha:
        transparent = np.flatnonzero(palette[:, 3] < _TRANSPARENT_ALPHA)
        return int(transparent[0]) if len(transparent) else None
    white = np.flatnonzero(np.linalg.norm(palette - 255.0, axis=1) <= PAPER_WHITE_TOL)
    if len(white) == 0:
        return None
    border = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    candidates = [int(k) for k in white if np.any(border == k)]
    return candidates[0] if candidates else None


def segment(
    rgba: np.ndarray, has_alpha: bool, colour_tol: float, flat_tol: int, min_px: int, max_colours: int,
    max_regions: int, halo_reach: float = 0.0,
) -> Segmentation:
    """Split a flat RGBA image into connected single-colour regions; canvas pixels get region 0.

    halo_reach: how far (px) a lossy codec smeared colour across edges; thinner bands of a blended colour join
    their neighbours (see `halos`). 0 for lossless images.
    """
    feat = premultiply(rgba)
    core = flat_pixels(feat, flat_tol)
    keys = colour_keys(feat)
    palette = extract_palette(keys, core, colour_tol, min_px, max_colours)
    labels = nearest_colour(keys, palette)
    canvas_index = canvas_colour_index(palette, labels, has_alpha)

    region_map = np.zeros(labels.shape, np.int32)
    fills = [np.asarray([-1])]
    next_id = 1
    for k, (y0, x0, y1, x1) in enumerate(label_boxes(labels, len(palette))):
        if y1 <= y0:
            continue
        # Labelled inside the colour's box (the same components, in the same order); the canvas colour on the
        # whole image, since which of its pieces touch the border matters.
        box = (slice(None), slice(None)) if k == canvas_index else (slice(y0, y1), slice(x0, x1))
        count, comp = cv2.connectedComponents((labels[box] == k).view(np.uint8), connectivity=8)
        lookup = np.arange(next_id - 1, next_id + count - 1, dtype=np.int32)
        lookup[0] = 0  # outside this colour: the masks are disjoint, so the sums below never collide
        if k == canvas_index:
            lookup[_canvas_components(comp, count, has_alpha)] = 0
        region_map[box] += lookup[comp]
        fills.append(np.full(count - 1, k))
        next_id += count - 1
    fills = np.concatenate(fills)
    lossy = (fills, feat) if halo_reach > 0 else None
    region_map = _absorb_blend_pieces(region_map, core, min_px, max_regions, lossy)
    if lossy is not None:
        region_map = absorb_halos(region_map, fills, feat, core, halo_reach, colour_tol)
        region_map = _grow(region_map, region_map < 0)
    regions = _compact(region_map, fills)  # most ids were pieces that joined a neighbour
    regions = _join_ramps(*regions, feat, core, colour_tol, len(palette))
    return _finish(*regions, feat, core, len(palette))


def _join_ramps(
    region_map: np.ndarray, fills: np.ndarray, areas: np.ndarray, feat: np.ndarray, core: np.ndarray,
    colour_tol: float, first_fill: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bands a colour ramp was cut into (one palette colour each) as one region with a fill of its own
    (numbered from `first_fill`, past the palette's), so that a gradient is one shape, drawn in one step and
    traced as one gradient there (see `vectorize.ramps`). Measured on opaque flat pixels only.

    Regions as `_compact` gives them, in and out."""
    rgb = cv2.cvtColor(feat, cv2.COLOR_RGBA2RGB)  # contiguous: a view of three channels is copied per gather
    ramps = find_ramps(region_map, rgb, core & (feat[..., 3] == 255), colour_tol=colour_tol)
    joined = [k for k in ramps.gradients if np.count_nonzero(ramps.group == k) > 1]
    if not joined:
        return region_map, fills, areas
    fills = fills.copy()
    fills[joined] = first_fill + np.arange(len(joined))
    return _compact(ramps.group[region_map].astype(np.int32), fills)


def _canvas_components(comp: np.ndarray, count: int, has_alpha: bool) -> np.ndarray:
    """Components of the canvas colour that are canvas: all of them for transparency, border-touching for white."""
    if has_alpha:
        return np.arange(1, count)
    border = np.concatenate([comp[0], comp[-1], comp[:, 0], comp[:, -1]])
    return np.setdiff1d(np.unique(border), [0])


def _absorb_blend_pieces(
    region_map: np.ndarray, core: np.ndarray, min_px: int, max_regions: int,
    lossy: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Regions too small or without flat pixels (anti-aliasing seams, specks), and all but the `max_regions`
    largest (noise, photos), join a neighbouring region.

    They are filled from their rim inwards, one pixel per round. The canvas (0) is a valid neighbour, so a seam
    against the canvas simply disappears into it. In a lossy image (`lossy`: the regions' fills and the
    premultiplied pixels) a blend piece can be a few pixels wide, and each of its pixels first joins the side it
    looks like (`halos.give_by_colour`).
    """
    n = int(region_map.max()) + 1
    areas = np.bincount(region_map.ravel(), minlength=n)
    core_counts = np.bincount(region_map[core], minlength=n)
    weak = (areas < min_px) | (core_counts < max(1, min_px // 4))
    weak[np.argsort(-areas, kind="stable")[max_regions:]] = True
    weak[0] = False
    if weak[1:].all() and not areas[0]:
        weak[int(np.argmax(areas))] = False  # no canvas and nothing strong: keep the largest region
    if lossy is not None and weak.any():
        fills, feat = lossy
        region_map = give_by_colour(
            region_map, weak[region_map], fills, feat, region_colours(region_map, feat, core, len(fills))
        )
        return _grow(region_map, region_map < 0)
    return _grow(region_map, weak[region_map])


def _grow(region_map: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """The `unknown` pixels filled from the rim inwards by their known neighbours, one pixel per round."""
    if not unknown.any():
        return region_map
    # ids + 1 as float32 (exact below 2**24): 0 marks pixels still to fill; dilation takes a neighbour's id.
    filled = np.where(unknown, 0, region_map + 1).astype(np.float32)
    kernel = np.ones((3, 3), np.uint8)
    while unknown.any():
        grown = cv2.dilate(filled, kernel)
        reached = unknown & (grown > 0)
        filled[reached] = grown[reached]
        unknown &= ~reached
    return filled.astype(np.int32) - 1


def _compact(region_map: np.ndarray, fills: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Regions renumbered densely in their order (canvas stays 0), their fills and their pixel counts."""
    pixels = np.bincount(region_map.ravel(), minlength=len(fills))
    present = pixels > 0
    present[0] = True
    if present.all():
        return region_map.astype(np.int32, copy=False), fills, pixels
    return (np.cumsum(present) - 1).astype(np.int32)[region_map], fills[present], pixels[present]


def _finish(
    dense: np.ndarray, fills: np.ndarray, areas: np.ndarray, feat: np.ndarray, core: np.ndarray, n_palette: int
) -> Segmentation:
    """Regions as `_compact` gives them, with each one's colour (the mean of its core pixels)."""
    n = len(fills)
    sample = core & (dense > 0)
    ids = dense[sample]
    counts = np.maximum(np.bincount(ids, minlength=n), 1).astype(np.float64)
    values = np.take(feat.reshape(-1, 4), np.flatnonzero(sample), axis=0).astype(np.float64)  # one gather, not four
    colours = np.stack([np.bincount(ids, weights=values[:, c], minlength=n) for c in range(4)], axis=1)
    return Segmentation(dense, unpremultiply(colours / counts[:, None]), areas, fills, fills >= n_palette)
