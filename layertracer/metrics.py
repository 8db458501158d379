"""Quality figures for layered SVGs: one renderer (resvg), pixel errors, and path/layer counts.

Everything is measured on uint8 RGB arrays composited on white, the way the creation frames are drawn.
"""

from __future__ import annotations

import io
import re

import numpy as np
import resvg_py
from PIL import Image
from skimage.metrics import structural_similarity

from layertracer.errors import error_line
from layertracer.images import flatten_on_white

White = (255, 255, 255)

_PATH_RE = re.compile(rb"<path[\s/>]")
_LAYER_RE = re.compile(rb'<g\b[^>]*\bid="layer-(\d+)"')
_LAYER_GROUP_RE = re.compile(rb'(<g\b[^>]*\bid="layer-(\d+)"[^>]*>)(.*?)(</g>)', re.S)


def _as_bytes(svg: str | bytes) -> bytes:
    return svg.encode("utf-8") if isinstance(svg, str) else svg


def render_svg(
    svg: str | bytes, width: int, height: int, background: tuple[int, int, int] | None = White
) -> np.ndarray:
    """Rasterize an SVG to width x height: HxWx3 on `background`, or HxWx4 (straight alpha) if it is None.

    resvg refuses a document it cannot parse with a ValueError; one it fails on while drawing (an index out of
    bounds in its filters, seen on fluent-emoji inner shadows at some sizes) is a Rust panic, which pyo3 raises as
    a BaseException that no `except Exception` of a batch stage catches: it becomes a RuntimeError here.
    """
    try:
        png = resvg_py.svg_to_bytes(
            svg_string=_as_bytes(svg).decode("utf-8"), width=width, height=height, skip_system_fonts=True
        )
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":  # pyo3_runtime.PanicException, not importable by name
            raise
        raise RuntimeError(f"resvg failed drawing the SVG at {width}x{height} ({error_line(exc)})") from None
    rgba = np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGBA"))
    if rgba.shape[:2] != (height, width):
        # resvg keeps the SVG's aspect ratio; pad to the requested canvas like a browser would.
        canvas = np.zeros((height, width, 4), np.uint8)
        h, w = min(height, rgba.shape[0]), min(width, rgba.shape[1])
        canvas[:h, :w] = rgba[:h, :w]
        rgba = canvas
    if background is None:
        return rgba
    if background == White:
        return flatten_on_white(rgba)
    rgb = rgba[..., :3].astype(np.float32)
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    return (rgb * alpha + np.asarray(background, np.float32) * (1 - alpha) + 0.5).astype(np.uint8)


def layer_renders(svg: str | bytes, width: int, height: int) -> list[np.ndarray]:
    """Renders of layers 1..K cumulatively (layer K shown with everything below it), on white."""
    data = _as_bytes(svg)
    layers = sorted({int(k) for k in _LAYER_RE.findall(data)})
    out = []
    for k in layers:
        def hide_above(match: re.Match, k: int = k) -> bytes:
            if int(match.group(2)) <= k:
                return match.group(0)
            return match.group(1) + match.group(4)

        out.append(render_svg(_LAYER_GROUP_RE.sub(hide_above, data), width, height))
    return out


def _unit(image: np.ndarray) -> np.ndarray:
    return flatten_on_white(image).astype(np.float64) / 255.0


def _check_same_shape(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape[:2] != b.shape[:2]:
        raise ValueError(f"images differ in size: {a.shape[:2]} vs {b.shape[:2]}")


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error on [0, 1] RGB (RGBA composited on white first)."""
    _check_same_shape(a, b)
    return float(np.mean((_unit(a) - _unit(b)) ** 2))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB; infinite for identical images."""
    error = mse(a, b)
    return float("inf") if error == 0 else float(10 * np.log10(1.0 / error))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity (scikit-image, Gaussian-weighted) on RGB."""
    _check_same_shape(a, b)
    side = min(a.shape[:2])
    window = min(11, side if side % 2 else side - 1)  # skimage's window, shrunk for tiny images
    return float(
        structural_similarity(
            _unit(a), _unit(b), channel_axis=2, data_range=1.0, gaussian_weights=True, win_size=window
        )
    )


def count_paths(svg: str | bytes) -> int:
    return len(_PATH_RE.findall(_as_bytes(svg)))


def count_layers(svg: str | bytes) -> int:
    """Layer groups per the layered-SVG contract (`<g id="layer-K">`), empty steps included."""
    return len(set(_LAYER_RE.findall(_as_bytes(svg))))


def count_drawn_layers(svg: str | bytes) -> int:
    """Layer groups that hold at least one path: the steps that drew something."""
    return sum(1 for match in _LAYER_GROUP_RE.finditer(_as_bytes(svg)) if _PATH_RE.search(match.group(3)))
