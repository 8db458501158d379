"""Layered SVG assembly: one Inkscape layer group per creation step, only paths with plain or gradient fills.

The output contract (DESIGN.md): root `<svg>` with viewBox/width/height; `<g id="layer-K"
inkscape:groupmode="layer" inkscape:label="step K">` for K = 1..n bottom first, empty groups kept so that
layer K always means step K; no scripts, no external references. Gradients live in one `<defs>` right after
the root, ids `gradient-N` unique in the file, in user space, used only as `fill="url(#gradient-N)"`.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import quoteattr

from layertracer.vectorize.gradients import Gradient
from layertracer.vectorize.pathdata import format_number
from layertracer.vectorize.trace import Path

SVG_NS = "http://www.w3.org/2000/svg"
INKSCAPE_NS = "http://www.inkscape.org/namespaces/inkscape"


def path_element(path: Path, gradient_id: str | None = None) -> str:
    """A path; with `gradient_id`, filled by that gradient (`gradient_element` of its gradient)."""
    transform = f' transform="translate({format_number(path.x)},{format_number(path.y)})"' if (path.x or path.y) else ""
    fill = path.fill if gradient_id is None else f"url(#{gradient_id})"
    return f"<path d={quoteattr(path.d)} fill={quoteattr(fill)}{transform}/>"


def gradient_element(path: Path, gradient_id: str) -> str:
    """The `<linearGradient>`/`<radialGradient>` of a path's gradient, in the path's own (translated) space."""
    gradient: Gradient = path.gradient.moved(1.0, -path.x, -path.y)
    if gradient.kind == "linear":
        tag, names = "linearGradient", ("x1", "y1", "x2", "y2")
    else:
        tag, names = "radialGradient", ("cx", "cy", "r")
    geometry = " ".join(f'{name}="{format_number(value)}"' for name, value in zip(names, gradient.geometry))
    opacity = f' stop-opacity="{_offset(gradient.opacity)}"' if gradient.opacity < 1 else ""
    stops = "".join(
        f'<stop offset="{_offset(offset)}" stop-color="#{r:02x}{g:02x}{b:02x}"{opacity}/>'
        for offset, (r, g, b) in gradient.stops
    )
    return f'<{tag} id="{gradient_id}" gradientUnits="userSpaceOnUse" {geometry}>{stops}</{tag}>'


def _offset(value: float) -> str:
    """A stop offset or opacity (0..1) with four decimals at most, never in exponent notation."""
    return f"{min(max(value, 0.0), 1.0):.4f}".rstrip("0").rstrip(".") or "0"


def layered_svg(
    layers: Sequence[Sequence[Path]], box: tuple[float, float, float, float], size: tuple[int, int], upscale: int = 1
) -> str:
    """Stack traced layers (creation order) into one SVG that shows `box` (x, y, width, height in frame pixels)
    of the frames they were traced on, drawn at `size` (width, height) pixels.

    Paths are in upscaled units; the viewBox maps them back, so coordinates keep their precision.
    """
    view = " ".join(format_number(value * upscale) for value in box)
    lines = [
        f'<svg xmlns="{SVG_NS}" xmlns:inkscape="{INKSCAPE_NS}" version="1.1" '
        f'width="{size[0]}" height="{size[1]}" viewBox="{view}">'
    ]
    gradients: list[str] = []
    groups = []
    for k, paths in enumerate(layers, start=1):
        body = []
        for path in paths:
            gradient_id = None
            if path.gradient is not None:
                gradient_id = f"gradient-{len(gradients) + 1}"
                gradients.append(gradient_element(path, gradient_id))
            body.append(path_element(path, gradient_id))
        groups.append(f'<g id="layer-{k}" inkscape:groupmode="layer" inkscape:label="step {k}">{"".join(body)}</g>')
    if gradients:
        lines.append(f"<defs>{''.join(gradients)}</defs>")
    lines += groups
    lines.append("</svg>")
    return "\n".join(lines) + "\n"
