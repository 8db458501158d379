"""Random icons for property tests: cumulative creation frames of anti-aliased shapes, drawn like real renders,
and a check of the layered-SVG contract (DESIGN.md) that the properties assert on every output."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
from defusedxml import ElementTree
from hypothesis import strategies as st

SUPERSAMPLE = 4
SVG = "{http://www.w3.org/2000/svg}"
INKSCAPE = "{http://www.inkscape.org/namespaces/inkscape}"
_FILL_RE = re.compile(r"#[0-9a-f]{6}|url\(#[A-Za-z0-9_.-]+\)")


@dataclass(frozen=True)
class Shape:
    """A filled rectangle or ellipse in pixel units (box corners), its colour and opacity."""

    ellipse: bool
    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    rgb: tuple[int, int, int]
    alpha: int
    step: int  # the frame that first shows it


@st.composite
def shapes(draw, width: int, height: int, steps: int, min_px: int, opaque: bool) -> Shape:
    x0 = draw(st.integers(0, width - min_px))
    y0 = draw(st.integers(0, height - min_px))
    x1 = draw(st.integers(x0 + min_px, width))
    y1 = draw(st.integers(y0 + min_px, height))
    rgb = draw(st.tuples(*[st.integers(0, 255)] * 3))
    alpha = 255 if opaque else draw(st.sampled_from([255, 255, draw(st.integers(1, 254))]))
    return Shape(draw(st.booleans()), (x0, y0, x1, y1), rgb, alpha, draw(st.integers(0, steps - 1)))


@dataclass(frozen=True)
class RandomIcon:
    frames: list[np.ndarray]
    shapes: list[Shape]


@st.composite
def icons(
    draw, min_side: int = 8, max_side: int = 96, min_shape_px: int = 1, opaque: bool = False, rgba=None,
    max_frames: int = 4,
) -> RandomIcon:
    """Frames 1..K of random shapes: RGB on white or RGBA on transparent (`rgba` None: either)."""
    width, height = draw(st.integers(min_side, max_side)), draw(st.integers(min_side, max_side))
    has_alpha = draw(st.booleans()) if rgba is None else rgba
    steps = draw(st.integers(2, max_frames))
    minimum = min(min_shape_px, width, height)
    drawn = draw(st.lists(shapes(width, height, steps, minimum, opaque), min_size=1, max_size=6))
    drawn = sorted(drawn, key=lambda s: s.step)
    return RandomIcon([paint(width, height, has_alpha, [s for s in drawn if s.step <= k]) for k in range(steps)], drawn)


def paint(width: int, height: int, has_alpha: bool, drawn: list[Shape]) -> np.ndarray:
    """The shapes composited in order (anti-aliased by supersampling), on white or on transparent."""
    colour = np.full((height, width, 3), 0.0 if has_alpha else 1.0)  # premultiplied
    alpha = np.full((height, width, 1), 0.0 if has_alpha else 1.0)
    for shape in drawn:
        cover = coverage(shape, width, height)[..., None] * shape.alpha / 255.0
        colour = np.asarray(shape.rgb) / 255.0 * cover + colour * (1 - cover)
        alpha = cover + alpha * (1 - cover)
    rgb = np.divide(colour, alpha, out=np.zeros_like(colour), where=alpha > 0)
    out = np.concatenate([rgb, alpha], axis=2) if has_alpha else rgb
    return np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8)


def coverage(shape: Shape, width: int, height: int) -> np.ndarray:
    """How much of each pixel the shape covers (0..1), anti-aliased like a renderer."""
    mask = np.zeros((height * SUPERSAMPLE, width * SUPERSAMPLE), np.uint8)
    x0, y0, x1, y1 = (round(v * SUPERSAMPLE) for v in shape.box)
    if shape.ellipse:
        centre = ((x0 + x1) // 2, (y0 + y1) // 2)
        cv2.ellipse(mask, centre, ((x1 - x0) // 2, (y1 - y0) // 2), 0, 0, 360, 255, thickness=-1)
    else:
        mask[y0:y1, x0:x1] = 255
    return cv2.resize(mask, (width, height), interpolation=cv2.INTER_AREA) / 255.0


def assert_shapes_drawn(icon: RandomIcon, render: np.ndarray) -> None:
    """Every shape of the icon is in the render, in its colour: all of its interior but one pixel or 10%."""
    for shape, interior, right in shapes_drawn(icon, render):
        assert interior - right <= max(1, 0.1 * interior), f"{shape}: {right} of {interior} interior pixels right"


def shapes_drawn(
    icon: RandomIcon, render: np.ndarray, tolerance: int = 48, min_visible: int = 32
) -> Iterator[tuple[Shape, int, int]]:
    """(shape, interior pixels, those of them in its colour) for each opaque shape that shows at least
    `min_visible` pixels (smaller pieces count as specks: the decomposer merges regions under 16 px, vtracer
    drops them): its interior is the pixels it covers fully, that no later shape touches, 2 px or more from the
    rest and from the image's border (edges may be placed differently; a shape that is there at all has its
    interior right)."""
    height, width = render.shape[:2]
    covers = [coverage(shape, width, height) for shape in icon.shapes]
    for k, shape in enumerate(icon.shapes):
        if shape.alpha < 255:
            continue
        visible = covers[k] >= 1.0
        for later in covers[k + 1 :]:
            visible &= later == 0
        interior = cv2.erode(visible.astype(np.uint8), np.ones((5, 5), np.uint8), borderValue=0).astype(bool)
        if visible.sum() < min_visible or interior.sum() == 0:
            continue
        off = np.abs(render[interior].astype(int) - np.asarray(shape.rgb)).max(axis=1)
        yield shape, int(interior.sum()), int((off <= tolerance).sum())


def check_layered_svg(svg: str, layers: int, width: int, height: int) -> None:
    """The layered-SVG contract: root size, one `layer-K` group per step in order, only paths with plain or
    gradient fills, gradients only in one leading `<defs>`."""
    root = ElementTree.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height")) == (str(width), str(height))
    assert root.get("viewBox")
    children = list(root)
    if children and children[0].tag == f"{SVG}defs":
        for gradient in children.pop(0):
            assert gradient.tag in (f"{SVG}linearGradient", f"{SVG}radialGradient"), gradient.tag
            assert all(stop.tag == f"{SVG}stop" for stop in gradient)
    assert [g.get("id") for g in children] == [f"layer-{k}" for k in range(1, layers + 1)]
    for group in children:
        assert group.tag == f"{SVG}g" and group.get(f"{INKSCAPE}groupmode") == "layer"
        for path in group:
            assert path.tag == f"{SVG}path" and path.get("d")
            assert _FILL_RE.fullmatch(path.get("fill", "")), path.get("fill")
