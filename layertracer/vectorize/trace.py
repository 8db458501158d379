"""vtracer on one layer: the step's sub-pixel raster (see coverage.py), traced and read back safely."""

from __future__ import annotations

import re
from dataclasses import dataclass

import vtracer
from defusedxml import ElementTree

from layertracer.images import encode_png
from layertracer.vectorize.coverage import LayerRaster

# vtracer writes `<path d="..." fill="#rrggbb" transform="translate(x,y)"/>`; nothing else is taken over.
_FILL_RE = re.compile(r"#[0-9A-Fa-f]{6}")
_TRANSLATE_RE = re.compile(r"translate\(\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*\)")
_PATH_DATA_RE = re.compile(r"[MmLlCcQqZzHhVvSsTtAa0-9eE.,\s+-]*")


@dataclass(frozen=True)
class Path:
    """One traced shape in canvas coordinates (upscaled units); `d` is relative to (x, y)."""

    d: str
    fill: str
    x: float
    y: float


@dataclass(frozen=True)
class VtracerSettings:
    """vtracer's own knobs; the defaults are the LayerTracer paper's (filter_speckle is in 1x pixels)."""

    filter_speckle: int = 4
    color_precision: int = 6
    layer_difference: int = 16
    corner_threshold: int = 60
    length_threshold: float = 4.0
    splice_threshold: int = 45
    max_iterations: int = 10
    path_precision: int = 2


def trace_layer(raster: LayerRaster | None, upscale: int, settings: VtracerSettings) -> list[Path]:
    """Trace one step's raster; paths come back in upscaled canvas units."""
    if raster is None:
        return []
    svg = vtracer.convert_raw_image_to_svg(
        encode_png(raster.rgba, compress_level=1),
        img_format="png",
        colormode="color",
        hierarchical="stacked",
        mode="spline",
        filter_speckle=settings.filter_speckle * upscale,
        color_precision=settings.color_precision,
        layer_difference=settings.layer_difference,
        corner_threshold=settings.corner_threshold,
        length_threshold=settings.length_threshold,
        max_iterations=settings.max_iterations,
        splice_threshold=settings.splice_threshold,
        path_precision=settings.path_precision,
    )
    return [_shifted(path, raster.x * upscale, raster.y * upscale) for path in parse_vtracer_svg(svg)]


def _shifted(path: Path, dx: float, dy: float) -> Path:
    return Path(path.d, path.fill, path.x + dx, path.y + dy)


def parse_vtracer_svg(svg: str) -> list[Path]:
    """The paths of a vtracer SVG, validated: path data characters only, #rrggbb fills, plain translations."""
    root = ElementTree.fromstring(svg)
    paths = []
    for element in root.iter():
        if not element.tag.endswith("path"):
            continue
        d = element.get("d", "").strip()
        fill = element.get("fill", "")
        if not d:
            continue  # vtracer emits an empty path for a cluster it simplified away
        if not _PATH_DATA_RE.fullmatch(d) or not _FILL_RE.fullmatch(fill):
            raise ValueError(f"unexpected vtracer output: path d={d[:40]!r} fill={fill!r}")
        match = _TRANSLATE_RE.fullmatch(element.get("transform", "translate(0,0)").strip())
        if match is None:
            raise ValueError(f"unexpected vtracer transform {element.get('transform')!r}")
        paths.append(Path(d, fill.lower(), float(match.group(1)), float(match.group(2))))
    return paths
