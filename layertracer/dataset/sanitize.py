"""Safe SVG parsing: untrusted icon files in, a checked element tree out, or an SvgError saying why not.

The parser is defusedxml (no entity declarations, so no XXE and no billion laughs; no external DTDs). The tree
is then checked for anything that can reach outside the file (scripts, event handlers, external `href`s,
`url(...)` to other documents, CSS `@import`), and later re-serialized by `svgdoc` from this tree alone, so
nothing the checks did not see ever reaches the renderer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from layertracer.errors import UserError

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"

# Elements that run code or embed other documents: the file is refused, not cleaned, so a training set never
# silently differs from what its author drew. Compared in lower case: an HTML parser (an SVG inlined in a page)
# runs <SCRIPT> too.
FORBIDDEN_TAGS = frozenset({"script", "foreignobject", "iframe", "object", "embed", "handler", "listener"})
# SMIL elements that can set an attribute, e.g. <set attributeName="href" to="http://...">: their values are hrefs.
ANIMATION_TAGS = frozenset({"set", "animate", "animatetransform", "animatemotion", "animatecolor"})
ANIMATION_VALUES = ("to", "from", "by", "values")
RASTER_TAGS = frozenset({"image"})
RASTER_DATA_URI = re.compile(r"^data:image/(png|jpeg|jpg|webp|gif);base64,", re.I)
_URL_RE = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.I | re.S)
_NUMBER_SPLIT = re.compile(r"[\s,]+")


class SvgError(UserError):
    """An SVG file that is refused: unreadable, unsafe, too large, or without a usable viewBox."""


@dataclass(frozen=True)
class SvgLimits:
    """Refuse hostile or unreasonable files before they cost memory or render time."""

    max_bytes: int = 5 * 1024 * 1024
    max_elements: int = 20_000
    max_depth: int = 64
    allow_raster: bool = False


@dataclass(frozen=True)
class ViewBox:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class ParsedSvg:
    """A checked SVG: its root element (namespace-free tag names via `local_name`) and its viewBox."""

    root: Element
    view_box: ViewBox


def local_name(tag: str) -> str:
    """`{ns}path` -> `path`."""
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag


def namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def is_svg_element(element: Element) -> bool:
    """SVG-namespace elements (and un-namespaced ones, which hand-written files often have)."""
    return isinstance(element.tag, str) and namespace(element.tag) in (SVG_NS, "")


def parse_svg(data: bytes, limits: SvgLimits = SvgLimits(), name: str = "svg") -> ParsedSvg:
    """Parse and check one SVG file; raises SvgError with a one-line reason."""
    if len(data) > limits.max_bytes:
        raise SvgError(f"{name}: {len(data)} bytes exceeds the limit of {limits.max_bytes}")
    if not data.strip():
        raise SvgError(f"{name}: empty file")
    try:
        root = SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise SvgError(f"{name}: refused unsafe XML ({type(exc).__name__})") from None
    except ParseError as exc:
        raise SvgError(f"{name}: not well-formed XML ({exc})") from None
    except (LookupError, UnicodeError) as exc:  # an encoding declaration Python does not know
        raise SvgError(f"{name}: unreadable text encoding ({exc})") from None
    if local_name(root.tag) != "svg" or not is_svg_element(root):
        raise SvgError(f"{name}: root element is <{local_name(root.tag)}>, not <svg>")
    _check_tree(root, limits, name)
    return ParsedSvg(root=root, view_box=_view_box(root, name))


def _view_box(root: Element, name: str) -> ViewBox:
    raw = root.get("viewBox")
    if raw is None:
        raise SvgError(f"{name}: no viewBox (the icon's drawing area is unknown; add viewBox=\"0 0 W H\")")
    try:
        x, y, width, height = (float(v) for v in _NUMBER_SPLIT.split(raw.strip()))
    except ValueError:
        raise SvgError(f"{name}: viewBox {raw!r} is not four numbers") from None
    if not all(map(_finite, (x, y, width, height))) or width <= 0 or height <= 0:
        raise SvgError(f"{name}: viewBox {raw!r} has no positive finite size")
    return ViewBox(x, y, width, height)


def _finite(value: float) -> bool:
    return value == value and abs(value) != float("inf")


def _check_tree(root: Element, limits: SvgLimits, name: str) -> None:
    count = 0
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        count += 1
        if count > limits.max_elements:
            raise SvgError(f"{name}: more than {limits.max_elements} elements")
        if depth > limits.max_depth:
            raise SvgError(f"{name}: elements nested deeper than {limits.max_depth}")
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions are dropped on re-serialization
        _check_element(element, limits, name)
        stack.extend((child, depth + 1) for child in element)


def _check_element(element: Element, limits: SvgLimits, name: str) -> None:
    tag = local_name(element.tag)
    if tag.lower() in FORBIDDEN_TAGS:
        raise SvgError(f"{name}: <{tag}> is not allowed in an icon")
    if tag.lower() in ANIMATION_TAGS and element.get("attributeName", "").rsplit(":", 1)[-1].lower() == "href":
        for key in ANIMATION_VALUES:
            for value in (element.get(key) or "").split(";"):
                if value.strip():
                    _check_href(value, False, tag, name)
    raster = tag in RASTER_TAGS and is_svg_element(element)
    if raster and not limits.allow_raster:
        raise SvgError(f"{name}: raster <image> is not allowed (enable allow_raster to keep embedded images)")
    for key, value in element.attrib.items():
        attr = local_name(key)
        if attr.lower().startswith("on"):
            raise SvgError(f"{name}: event attribute {attr!r} on <{tag}> is not allowed")
        if attr == "href":
            _check_href(value, raster, tag, name)
        _check_urls(value, f"{attr!r} on <{tag}>", name)
    if tag == "style":
        css = "".join(element.itertext())
        if "@import" in css.lower():
            raise SvgError(f"{name}: CSS @import in <style> is not allowed")
        _check_urls(css, "<style>", name)


def _check_href(value: str, raster: bool, tag: str, name: str) -> None:
    value = value.strip()
    if value.startswith("#"):
        return
    if raster and RASTER_DATA_URI.match(value):
        return
    shown = value if len(value) <= 60 else value[:57] + "..."
    raise SvgError(f"{name}: external reference {shown!r} on <{tag}> is not allowed")


def _check_urls(value: str, where: str, name: str) -> None:
    if "url(" not in value.lower():
        return
    for _, target in _URL_RE.findall(value):
        if not target.strip().startswith("#"):
            shown = target if len(target) <= 60 else target[:57] + "..."
            raise SvgError(f"{name}: external url({shown}) in {where} is not allowed")
