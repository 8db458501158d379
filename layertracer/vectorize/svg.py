"""Layered SVG assembly: one Inkscape layer group per creation step, only paths with plain fills.

The output contract (DESIGN.md): root `<svg>` with viewBox/width/height; `<g id="layer-K"
inkscape:groupmode="layer" inkscape:label="step K">` for K = 1..n bottom first, empty groups kept so that
layer K always means step K; no scripts, no external references.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import quoteattr

from layertracer.vectorize.trace import Path, format_number

SVG_NS = "http://www.w3.org/2000/svg"
INKSCAPE_NS = "http://www.inkscape.org/namespaces/inkscape"


def path_element(path: Path) -> str:
    transform = f' transform="translate({format_number(path.x)},{format_number(path.y)})"' if (path.x or path.y) else ""
    return f"<path d={quoteattr(path.d)} fill={quoteattr(path.fill)}{transform}/>"


def layered_svg(layers: Sequence[Sequence[Path]], width: int, height: int, upscale: int = 1) -> str:
    """Stack traced layers (creation order) into one SVG drawn at width x height pixels.

    Paths are in upscaled units; the viewBox maps them back, so coordinates keep their precision.
    """
    lines = [
        f'<svg xmlns="{SVG_NS}" xmlns:inkscape="{INKSCAPE_NS}" version="1.1" '
        f'width="{width}" height="{height}" viewBox="0 0 {width * upscale} {height * upscale}">'
    ]
    for k, paths in enumerate(layers, start=1):
        body = "".join(path_element(p) for p in paths)
        lines.append(f'<g id="layer-{k}" inkscape:groupmode="layer" inkscape:label="step {k}">{body}</g>')
    lines.append("</svg>")
    return "\n".join(lines) + "\n"
