"""Layer data for the report's slider: a layered SVG reduced to a checked tree of `<g>` and `<path>` (and the
gradient fills of the contract: `<defs>`, `<linearGradient>`/`<radialGradient>`, `<stop>`, `fill="url(#id)"`).

The page rebuilds the SVG from this data with createElementNS/setAttribute, so no markup from an SVG file
reaches the browser's parser: only elements and attribute values that pass the checks below survive.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from layertracer.errors import UserError

SVG_NS = "{http://www.w3.org/2000/svg}"
INKSCAPE_GROUPMODE = "{http://www.inkscape.org/namespaces/inkscape}groupmode"

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_NUMBER_RE = re.compile(_NUMBER)
_LENGTH_RE = re.compile(rf"{_NUMBER}(?:px)?")
_VIEW_BOX_RE = re.compile(rf"\s*{_NUMBER}(?:[\s,]+{_NUMBER}){{3}}\s*")
_COLOR_RE = re.compile(r"#[0-9a-fA-F]{3,8}|rgba?\([0-9.,%\s]+\)|[a-zA-Z]{3,20}")
_TRANSFORM_RE = re.compile(
    rf"(?:\s*(?:matrix|translate|scale|rotate|skewX|skewY)\(\s*{_NUMBER}(?:[\s,]+{_NUMBER})*\s*\)\s*,?)+\s*"
)
_PATH_DATA_RE = re.compile(r"[MmLlHhVvCcSsQqTtAaZz0-9eE.,+\-\s]*")
_FILL_RULE_RE = re.compile(r"nonzero|evenodd")
_LAYER_ID_RE = re.compile(r"layer-(\d+)")
_GRADIENT_ID_RE = re.compile(r"gradient-\d+")
_FILL_RE = re.compile(rf"{_COLOR_RE.pattern}|url\(#{_GRADIENT_ID_RE.pattern}\)")
_STOP_COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}")
_GRADIENT = {"id": _GRADIENT_ID_RE, "gradientUnits": re.compile("userSpaceOnUse")}

_PAINT = {
    "fill": _FILL_RE,
    "fill-opacity": _NUMBER_RE,
    "fill-rule": _FILL_RULE_RE,
    "opacity": _NUMBER_RE,
    "stroke": _COLOR_RE,
    "stroke-width": _NUMBER_RE,
    "stroke-opacity": _NUMBER_RE,
    "transform": _TRANSFORM_RE,
}
ALLOWED_ATTRIBUTES: dict[str, dict[str, re.Pattern[str]]] = {
    "g": _PAINT,
    "path": {**_PAINT, "d": _PATH_DATA_RE},
    "defs": {},
    "linearGradient": {**_GRADIENT, **{name: _NUMBER_RE for name in ("x1", "y1", "x2", "y2")}},
    "radialGradient": {**_GRADIENT, **{name: _NUMBER_RE for name in ("cx", "cy", "r")}},
    "stop": {"offset": _NUMBER_RE, "stop-color": _STOP_COLOR_RE, "stop-opacity": _NUMBER_RE},
}


class LayerDataError(UserError):
    """An SVG that cannot be read as a layered SVG."""


@dataclass(frozen=True)
class IconLayers:
    """What the icon page needs to draw layers 1..K, or one layer alone."""

    view_box: str
    n_layers: int
    paths_per_layer: tuple[int, ...]
    nodes: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "viewBox": self.view_box,
            "layers": self.n_layers,
            "pathsPerLayer": list(self.paths_per_layer),
            "nodes": list(self.nodes),
        }


def icon_layers(svg: bytes) -> IconLayers:
    """Parse a layered SVG (DTDs and entities refused) into checked layer data."""
    try:
        root = SafeET.fromstring(svg)
    except (ET.ParseError, DefusedXmlException) as exc:
        raise LayerDataError(f"not a readable SVG ({exc})") from None
    if root.tag != f"{SVG_NS}svg":
        raise LayerDataError(f"root element is {root.tag!r}, not an SVG <svg>")
    counts: dict[int, int] = {}
    nodes = tuple(node for child in root if (node := _node(child, counts, layer=None)) is not None)
    if not counts:
        raise LayerDataError('no <g id="layer-K"> layer groups')
    n_layers = max(counts)
    return IconLayers(
        view_box=_view_box(root),
        n_layers=n_layers,
        paths_per_layer=tuple(counts.get(k, 0) for k in range(1, n_layers + 1)),
        nodes=nodes,
    )


def _view_box(root: ET.Element) -> str:
    view_box = root.get("viewBox")
    if view_box is not None and _VIEW_BOX_RE.fullmatch(view_box):
        return " ".join(view_box.replace(",", " ").split())
    width, height = root.get("width", ""), root.get("height", "")
    if _LENGTH_RE.fullmatch(width) and _LENGTH_RE.fullmatch(height):
        return f"0 0 {width.removesuffix('px')} {height.removesuffix('px')}"
    raise LayerDataError("the <svg> has neither a viewBox nor a numeric width and height")


def _node(element: ET.Element, counts: dict[int, int], layer: int | None) -> dict[str, Any] | None:
    """One element as {"tag", "attrs", "children", "layer"?}; None for anything outside the allowed set."""
    if not isinstance(element.tag, str) or not element.tag.startswith(SVG_NS):
        return None
    tag = element.tag[len(SVG_NS):]
    allowed = ALLOWED_ATTRIBUTES.get(tag)
    if allowed is None:
        return None
    attrs = {
        name: value.strip()
        for name, pattern in allowed.items()
        if (value := element.get(name)) is not None and pattern.fullmatch(value.strip())
    }
    node: dict[str, Any] = {"tag": tag, "attrs": attrs}
    if tag == "path":
        if layer is not None:
            counts[layer] += 1
        return node
    number = _layer_number(element)
    if number is not None and layer is None:
        layer = number
        counts.setdefault(layer, 0)
        node["layer"] = layer
    node["children"] = [child for sub in element if (child := _node(sub, counts, layer)) is not None]
    return node


def _layer_number(group: ET.Element) -> int | None:
    match = _LAYER_ID_RE.fullmatch(group.get("id", ""))
    if match is None or group.get(INKSCAPE_GROUPMODE, "layer") != "layer":
        return None
    return int(match.group(1))
