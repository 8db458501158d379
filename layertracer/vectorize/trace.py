"""vtracer on one layer: the step's sub-pixel raster (see coverage.py), traced and read back safely.

The raster's colours are already clean (coverage.py clustered them), so vtracer's own colour clustering
would only redo that work: each colour is traced in vtracer's binary mode instead, which costs about half
as much per pixel, and the colours are stacked the way vtracer's "stacked" mode stacks its clusters.
The pieces of one colour are then written as one compound path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

import cv2
import numpy as np
import vtracer

from layertracer.vectorize.coverage import LayerRaster
from layertracer.vectorize.gradients import Gradient, unflatten
from layertracer.vectorize.pathdata import fill_slots, number_slots, pairs_only
from layertracer.vectorize.strays import redraw_strays

# vtracer writes `<path d="..." fill="#rrggbb" transform="translate(x,y)"/>`; nothing else is taken over.
_PATH_TAG_RE = re.compile(r"<path\b([^<>]*)>")
_ATTRIBUTE_RE = re.compile(r'\s([A-Za-z:-]+)="([^"<>]*)"')
_FILL_RE = re.compile(r"#[0-9A-Fa-f]{6}")
_TRANSLATE_RE = re.compile(r"translate\(\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*\)")
_PATH_DATA_RE = re.compile(r"[MmLlCcQqZzHhVvSsTtAa0-9eE.,\s+-]*")


@dataclass(frozen=True)
class Path:
    """One traced shape in canvas coordinates (upscaled units); `d` is relative to (x, y). A `gradient` (in
    canvas coordinates) fills it instead of `fill`, which then holds the gradient's mean colour."""

    d: str
    fill: str
    x: float
    y: float
    gradient: Gradient | None = None


@dataclass(frozen=True)
class VtracerSettings:
    """vtracer's own knobs; the defaults are the LayerTracer paper's (filter_speckle is in frame pixels)."""

    filter_speckle: int = 4
    corner_threshold: int = 60
    length_threshold: float = 4.0
    splice_threshold: int = 45
    max_iterations: int = 10
    path_precision: int = 2

    def __post_init__(self) -> None:
        # vtracer panics (a Rust panic: a BaseException, which no `except Exception` of a batch job catches) on
        # 0 iterations and cannot take negative counts.
        counts = {"filter_speckle": self.filter_speckle, "path_precision": self.path_precision}
        if self.max_iterations < 1 or min(counts.values()) < 0:
            raise ValueError(f"vtracer needs max_iterations >= 1 and non-negative counts, got max_iterations="
                             f"{self.max_iterations}, " + ", ".join(f"{k}={v}" for k, v in counts.items()))


def trace_fills(raster: LayerRaster | None, upscale: int, settings: VtracerSettings) -> list[tuple[int, list[Path]]]:
    """Trace one step's raster, one colour at a time, largest first: (colour row, its paths) in drawing order,
    paths in upscaled canvas units."""
    if raster is None:
        return []
    fills = []
    speck_px = (settings.filter_speckle * upscale) ** 2
    for row, region in stacked_regions(raster.index, len(raster.colors), speck_px, list(raster.opacities)):
        x, y, w, h = cv2.boundingRect(region.view(np.uint8))
        # A blank one-pixel margin keeps edges off the bitmap's border.
        ink = cv2.copyMakeBorder(region[y : y + h, x : x + w].view(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
        svg = vtracer.convert_raw_image_to_svg(
            _pbm(ink),
            img_format="pbm",
            colormode="binary",
            mode="spline",
            filter_speckle=_speckle(settings.filter_speckle, upscale, row in raster.strokes),
            corner_threshold=settings.corner_threshold,
            length_threshold=settings.length_threshold,
            max_iterations=settings.max_iterations,
            splice_threshold=settings.splice_threshold,
            path_precision=settings.path_precision,
        )
        color, gradient = tuple(int(v) for v in raster.colors[row]), raster.gradients.get(row)
        opacity = raster.opacities.get(row)
        if opacity is not None:  # colours were measured over white: the straight ones, at the fill's opacity
            gradient = (gradient or Gradient.translucent(color, 1.0)).seen_through(opacity)
            color = unflatten(color, opacity)
        fill = "#{:02x}{:02x}{:02x}".format(*color)
        if gradient is not None:
            gradient = gradient.moved(upscale, raster.x * upscale, raster.y * upscale)
        dx, dy = raster.x * upscale + x - 1, raster.y * upscale + y - 1  # - 1: the bitmap's blank margin
        traced = redraw_strays(parse_vtracer_svg(svg), ink.view(bool))
        pieces = [Path(path.d, fill, path.x + dx, path.y + dy, gradient) for path in traced]
        fills.append((row, compound(pieces)))
    return fills


def _speckle(filter_speckle: int, upscale: int, stroke: bool) -> int:
    """vtracer's speck size at the traced scale. It drops pieces of fewer pixels than its square; a stroke about a
    pixel wide is a speck only where it is shorter than that side, so its square is the one of that many pixels."""
    side = math.sqrt(filter_speckle) if stroke else filter_speckle
    return max(1, round(side * upscale)) if filter_speckle else 0


def compound(pieces: list[Path]) -> list[Path]:
    """The pieces of one colour in one step as one compound path, as svgo's mergePaths would write them.

    One colour of one step (both eyes, a row of rivets) is then one object in an editor (Inkscape's
    "Break Apart" splits it). vtracer's pieces are disjoint and wind their holes the other way, so the
    render does not change. Path data with commands other than absolute M/L/C/Z is left as it is.
    """
    if len(pieces) < 2 or not all(pairs_only(piece.d) for piece in pieces):
        return pieces
    first = pieces[0]
    moved = [_moved(piece.d, piece.x - first.x, piece.y - first.y) for piece in pieces[1:]]
    return [replace(first, d=" ".join([first.d, *moved]))]


def _moved(d: str, dx: float, dy: float) -> str:
    """Path data of absolute (x, y) pairs only (M/L/C/Z), translated by (dx, dy)."""
    slots, text = number_slots(d)
    numbers = np.array(text, np.float64)
    numbers[0::2] += dx
    numbers[1::2] += dy
    return fill_slots(slots, numbers)


def _pbm(ink: np.ndarray) -> bytes:
    """A binary PBM of a 0/1 uint8 mask (1 = ink, which vtracer's binary mode traces).

    vtracer copies its input byte by byte, so one bit per pixel with nothing to compress or decompress
    is both the cheapest to make and to read.
    """
    return b"P4\n%d %d\n" % (ink.shape[1], ink.shape[0]) + np.packbits(ink, axis=1).tobytes()


def stacked_regions(
    index: np.ndarray, n_colors: int, speck_px: int = 0, see_through: list[int] | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """(colour row, pixels to fill) per colour of an indexed raster (0 = empty), in drawing order.

    Largest colour first, as vtracer stacks its clusters; each region reaches one pixel under the colours
    drawn after it, so two fills that meet leave no hairline seam of what lies beneath. A colour with no
    pixels left (all of them under half covered) yields nothing: every region has at least one pixel.
    A hole in a region is filled where what lies in it is a speck that vtracer drops: a colour drawn later has
    the hole and the ring around it that this region reaches under, a colour drawn earlier reaches a pixel
    under this one, so either is traced on those pixels and the ring, and under `speck_px` of them (at the
    traced scale) vtracer drops it, leaving the hole to show what lies beneath the step. A hole holding the
    step's own outside stays. Colour rows in `see_through` are translucent: nothing reaches under them, where it
    would show through as a seam (and a translucent fill reaching under another would darken their overlap).
    """
    if n_colors == 1:
        region = index > 0
        if region.any():
            yield 0, region
        return
    areas = cv2.calcHist([index], [0], None, [n_colors + 1], [0, n_colors + 1]).ravel()[1:]
    order = [int(row) for row in np.argsort(-areas, kind="stable") if areas[row] > 0]
    # Each pixel's place in the drawing order (0 = empty), so "drawn after" is one comparison.
    place = np.zeros(n_colors + 1, index.dtype)
    place[np.asarray(order) + 1] = np.arange(1, len(order) + 1)
    placed = place[index]
    outside = placed == 0
    under = placed  # the pixels a colour may reach under: those of the colours drawn after it that hide it
    if see_through:
        place[np.add(see_through, 1)] = 0  # to what is drawn before it, a translucent colour's pixels are empty
        under = place[index]
    for k, row in enumerate(order, start=1):
        region = placed == k
        if k < len(order):
            region |= cv2.dilate(region.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool) & (under > k)
        yield row, _fill_specks(region, outside, speck_px) if speck_px else region


def _fill_specks(region: np.ndarray, outside: np.ndarray, speck_px: int) -> np.ndarray:
    """`region` with the holes filled whose pixels, with the ring of pixels around them, are fewer than
    `speck_px`, unless they hold `outside` pixels (a hole of the step's own)."""
    contours, hierarchy = cv2.findContours(region.view(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return region
    holes = [c for c, link in zip(contours, hierarchy[0]) if link[3] >= 0 and cv2.contourArea(c) < speck_px]
    if not holes:
        return region
    filled = region.view(np.uint8).copy()
    height, width = region.shape
    for hole in holes:
        x, y, w, h = cv2.boundingRect(hole)
        x0, y0 = max(0, x - 1), max(0, y - 1)
        box = (slice(y0, min(height, y + h + 1)), slice(x0, min(width, x + w + 1)))
        piece = np.zeros(region[box].shape, np.uint8)
        cv2.drawContours(piece, [hole], -1, 1, thickness=cv2.FILLED, offset=(-x0, -y0))
        inside = piece.view(bool) & ~region[box]
        reach = cv2.dilate(inside.view(np.uint8), np.ones((3, 3), np.uint8))
        if np.count_nonzero(reach) < speck_px and not (inside & outside[box]).any():
            filled[box] |= piece
    return filled.view(bool)


def parse_vtracer_svg(svg: str) -> list[Path]:
    """The paths of a vtracer SVG, validated: path data characters only, #rrggbb fills, plain translations.

    vtracer writes flat `<path d=".." fill=".." transform=".."/>` elements with double-quoted attributes;
    they are read by pattern (an XML parser costs ~0.1 ms per call, a tenth of the tracing), and anything
    else inside a path tag is refused rather than skipped, so a format change cannot lose shapes silently.
    """
    paths = []
    for tag in _PATH_TAG_RE.findall(svg):
        attributes = dict(_ATTRIBUTE_RE.findall(tag))
        if _ATTRIBUTE_RE.sub("", tag).strip(" \n/"):
            raise ValueError(f"unexpected vtracer output: <path{tag[:60]}>")
        d = attributes.get("d", "").strip()
        fill = attributes.get("fill", "")
        if not d:
            continue  # vtracer emits an empty path for a cluster it simplified away
        if not _PATH_DATA_RE.fullmatch(d) or not _FILL_RE.fullmatch(fill):
            raise ValueError(f"unexpected vtracer output: path d={d[:40]!r} fill={fill!r}")
        match = _TRANSLATE_RE.fullmatch(attributes.get("transform", "translate(0,0)").strip())
        if match is None:
            raise ValueError(f"unexpected vtracer transform {attributes.get('transform')!r}")
        paths.append(Path(d, fill.lower(), float(match.group(1)), float(match.group(2))))
    return paths
