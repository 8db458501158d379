"""Edges of a lossy image redrawn as clean blends of the two fills that meet there.

A JPEG keeps brightness (luma) at full resolution and colour (chroma) coarser, and drops the fine frequencies of
both, so an edge arrives blurred over a few pixels, tinted by the fill across it, with ringing beside it. The
vectorizer places an edge where a pixel is half one fill and half the other, so the tint and the blur move it.
Each pixel within the codec's reach of another region is therefore redrawn from what survives best: how far it
lies from its own fill towards its neighbour's, read from its luma where the fills differ in luma (else from its
colour), and how steeply that changes across the edge, which gives its distance from the edge. Redrawn as a
one-pixel anti-aliased edge at that distance, the edge stays where the luma puts it and its tint and blur go.
"""

from __future__ import annotations

import cv2
import numpy as np

_LUMA = np.array([0.299, 0.587, 0.114])  # JPEG's (BT.601) luma


def rebuild_edges(
    image: np.ndarray, region_map: np.ndarray, colours: np.ndarray, flat: np.ndarray, reach: float, colour_tol: float
) -> np.ndarray:
    """RGB `image` with every pixel within `reach` of another region redrawn as a blend of the two regions'
    `colours`; pixels of regions that are not `flat` (colour ramps, whose colour is only a mean) are kept.

    Where three regions meet, a pixel takes the pair whose line in colour it lies nearest to.
    """
    size = 2 * int(np.ceil(reach)) + 1
    ids = region_map.astype(np.float32)  # exact below 2**24
    kernel = np.ones((size, size), np.uint8)
    highest, lowest = cv2.dilate(ids, kernel), cv2.erode(ids, kernel)
    near = ((highest != ids) | (lowest != ids)) & flat[region_map]
    own = region_map[near]
    pixel = image[near].astype(np.float64)
    fill = colours[own, :3].astype(np.float64)
    values = image.astype(np.float32)
    slope = np.stack([cv2.Sobel(values, cv2.CV_32F, dx, 1 - dx, ksize=3)[near] for dx in (1, 0)])
    slope = slope.astype(np.float64) / 8.0  # (2, N, 3): change per pixel across x and y
    blends, errors = [], []
    for other in (highest[near].astype(np.int64), lowest[near].astype(np.int64)):
        blend, error = _blend(pixel, slope, fill, colours[other, :3].astype(np.float64), colour_tol)
        error[(other == own) | ~flat[other]] = np.inf
        blends.append(blend)
        errors.append(error)
    blend = np.where((errors[1] < errors[0])[:, None], blends[1], blends[0])
    redrawn = np.clip(blend + 0.5, 0, 255).astype(np.uint8)
    out = image.copy()
    out[near] = np.where(np.isinf(np.minimum(*errors))[:, None], image[near], redrawn)  # no flat neighbour: kept
    return out


def _blend(
    pixel: np.ndarray, slope: np.ndarray, a: np.ndarray, b: np.ndarray, colour_tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel (row) redrawn between fills a and b, and its distance in colour from the line between them.

    t, the share of b, comes from luma where a and b differ in luma by more than `colour_tol`, else from the
    colour's projection on the line; its gradient (from `slope`, the image's (2, N, 3) derivatives) says how far
    the pixel's centre lies from the edge (t = 1/2): (t - 1/2) / |grad t| pixels. A pixel at that distance from a
    sharp edge is covered by 1/2 + distance. Slopes steeper than one pixel are not a blur (noise, or an edge
    already sharp), so t is never made softer.
    """
    d = b - a
    length = np.maximum((d * d).sum(axis=1), 1e-9)
    t_colour = ((pixel - a) * d).sum(axis=1) / length
    d_luma = d @ _LUMA
    by_luma = np.abs(d_luma) > colour_tol
    safe = np.where(by_luma, d_luma, 1.0)
    t = np.where(by_luma, ((pixel - a) @ _LUMA) / safe, t_colour)
    gradient = np.hypot(*np.where(by_luma, (slope @ _LUMA) / safe, (slope * d).sum(axis=-1) / length))
    cover = np.clip(0.5 + (t - 0.5) / np.clip(gradient, 1e-3, 1.0), 0.0, 1.0)
    error = np.linalg.norm(pixel - a - np.clip(t_colour, 0.0, 1.0)[:, None] * d, axis=1)
    return a + cover[:, None] * d, error
