"""A checked SVG as a creation sequence: its drawable units in painter's order, and cell documents that show
only the first units, centred in a square cell with a margin.

Cell documents are written from the checked tree (never from the original bytes): SVG elements and plain
attributes only, foreign-namespace metadata (Inkscape, RDF) and comments dropped, `xlink:href` as `href`.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, quoteattr

from layertracer.dataset.sanitize import SVG_NS, XLINK_NS, ParsedSvg, is_svg_element, local_name, namespace

# What paints pixels. Everything else (defs, style, gradients, clip paths, title, ...) is kept as context in
# every frame, and animation elements are dropped (resvg draws the static document anyway).
DRAWABLE_TAGS = frozenset(
    {"path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "use", "image", "g", "a",
     "svg", "switch"}
)
GROUP_TAGS = frozenset({"g", "a", "switch"})
DROPPED_TAGS = frozenset({"animate", "animateMotion", "animateTransform", "animateColor", "set", "metadata"})
# Root attributes that place the drawing in its own viewport; the cell document sets its own.
ROOT_PLACEMENT_ATTRS = frozenset({"width", "height", "x", "y", "viewBox", "preserveAspectRatio", "version"})


def is_drawable(element: Element) -> bool:
    return is_svg_element(element) and local_name(element.tag) in DRAWABLE_TAGS


def drawable_children(element: Element) -> list[Element]:
    return [child for child in element if is_drawable(child)]


def drawable_units(svg: ParsedSvg, min_units: int) -> list[Element]:
    """The icon's top-level shapes in painter's order.

    Wrapper groups (a lone `<g>` around everything, as many icon sets write) are looked through. While there
    are fewer units than `min_units`, the group with the most drawable children is opened in place, so a
    3-group icon can still fill 9 steps; its children stay inside it, so inherited styles keep applying.
    """
    units = drawable_children(svg.root)
    while len(units) == 1 and local_name(units[0].tag) in GROUP_TAGS and drawable_children(units[0]):
        units = drawable_children(units[0])
    while len(units) < min_units:
        groups = [
            (len(drawable_children(u)), i) for i, u in enumerate(units) if local_name(u.tag) in GROUP_TAGS
        ]
        groups = [(n, i) for n, i in groups if n > 1]
        if not groups:
            break
        _, index = max(groups, key=lambda item: (item[0], -item[1]))
        units[index : index + 1] = drawable_children(units[index])
    return units


def cell_document(svg: ParsedSvg, hidden: frozenset[int], cell_px: int, margin: float) -> str:
    """An SVG of `cell_px` square showing the icon without the elements in `hidden` (by `id()`).

    The icon keeps its aspect ratio and is centred: a nested `<svg>` viewport of (1 - 2 * margin) of the cell
    carries the original viewBox, preserveAspectRatio and clipping, and the root's presentation attributes.
    """
    inner = cell_px * (1 - 2 * margin)
    offset = cell_px * margin
    vb = svg.view_box
    root = svg.root
    attrs = {
        "x": _num(offset), "y": _num(offset), "width": _num(inner), "height": _num(inner),
        "viewBox": f"{_num(vb.x)} {_num(vb.y)} {_num(vb.width)} {_num(vb.height)}",
    }
    if root.get("preserveAspectRatio"):
        attrs["preserveAspectRatio"] = root.get("preserveAspectRatio", "")
    attrs.update(
        (name, value) for name, value in _plain_attributes(root) if name not in ROOT_PLACEMENT_ATTRS
    )
    parts = [
        f'<svg xmlns="{SVG_NS}" width="{cell_px}" height="{cell_px}" viewBox="0 0 {cell_px} {cell_px}">',
        "<svg" + "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items()) + ">",
    ]
    if root.text and root.text.strip():
        parts.append(escape(root.text))
    for child in root:
        _write(child, hidden, parts)
    parts.append("</svg></svg>")
    return "".join(parts)


def _num(value: float) -> str:
    return f"{value:.6g}"


def _plain_attributes(element: Element) -> list[tuple[str, str]]:
    """Attributes without a namespace, plus xlink:href as href; foreign-namespace ones are dropped."""
    out = []
    for key, value in element.attrib.items():
        ns = namespace(key)
        if ns == "":
            out.append((key, value))
        elif ns == XLINK_NS and local_name(key) == "href":
            out.append(("href", value))
    return out


def _write(element: Element, hidden: frozenset[int], parts: list[str]) -> None:
    visible = (
        isinstance(element.tag, str)
        and is_svg_element(element)
        and local_name(element.tag) not in DROPPED_TAGS
        and id(element) not in hidden
    )
    if visible:
        tag = local_name(element.tag)
        attrs = "".join(f" {k}={quoteattr(v)}" for k, v in _plain_attributes(element))
        parts.append(f"<{tag}{attrs}>")
        if element.text:
            parts.append(escape(element.text))
        for child in element:
            _write(child, hidden, parts)
        parts.append(f"</{tag}>")
    # Text after an element belongs to its parent (e.g. inside <text>), so it stays even when the element goes.
    if element.tail:
        parts.append(escape(element.tail))
