import numpy as np
import pytest

from layertracer.metrics import count_layers, count_paths, layer_renders, mse, psnr, render_svg, ssim

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 20 20" width="20" height="20">'
    '<g id="layer-1"><path d="M0 0h10v10H0z" fill="#ff0000"/></g>'
    '<g id="layer-2"><path d="M10 10h10v10H10z" fill="#0000ff"/><path d="M0 10h5v5H0z" fill="#00ff00"/></g>'
    '<g id="layer-3"></g></svg>'
)


def test_render_places_shapes_and_scales():
    small = render_svg(SVG, 20, 20)
    assert small[5, 5].tolist() == [255, 0, 0] and small[15, 15].tolist() == [0, 0, 255]
    assert small[5, 15].tolist() == [255, 255, 255]
    big = render_svg(SVG, 40, 40)
    assert big.shape == (40, 40, 3) and big[30, 30].tolist() == [0, 0, 255]
    rgba = render_svg(SVG, 20, 20, background=None)
    assert rgba.shape == (20, 20, 4) and rgba[5, 15, 3] == 0 and rgba[5, 5, 3] == 255


def test_layer_renders_are_cumulative():
    renders = layer_renders(SVG, 20, 20)
    assert len(renders) == 3
    assert renders[0][15, 15].tolist() == [255, 255, 255]
    assert renders[1][15, 15].tolist() == [0, 0, 255] and renders[1][5, 5].tolist() == [255, 0, 0]
    assert np.array_equal(renders[1], renders[2])


def test_counts():
    assert count_paths(SVG) == 3
    assert count_layers(SVG) == 3


def test_error_measures():
    a = np.zeros((16, 16, 3), np.uint8)
    b = np.full((16, 16, 3), 255, np.uint8)
    assert mse(a, a) == 0 and psnr(a, a) == float("inf") and ssim(a, a) == pytest.approx(1.0)
    assert mse(a, b) == pytest.approx(1.0) and psnr(a, b) == pytest.approx(0.0)
    assert ssim(a, b) < 0.01
    clear = np.zeros((16, 16, 4), np.uint8)  # transparent counts as white
    assert mse(clear, b) == 0
    with pytest.raises(ValueError, match="differ in size"):
        mse(a, np.zeros((8, 8, 3), np.uint8))


# A fluent-emoji inner shadow (articulated-lorry, MIT), cut down: resvg indexes out of bounds in its arithmetic
# composite at 512 px on this viewBox (a 6% margin around 32 units), a Rust panic.
RESVG_PANICS = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="-1.92 -1.92 35.84 35.84">'
    '<g filter="url(#f)"><path fill="#aba5b1" d="M12 24H2v1c0 .55.45 1 1 1h8.85a.15.15 0 0 0 .15-.15z"/></g>'
    '<defs><filter id="f" width="10.5" height="2.25" x="2" y="23.75" filterUnits="userSpaceOnUse">'
    '<feColorMatrix in="SourceAlpha" result="hardAlpha" values="0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 127 0"/>'
    '<feGaussianBlur stdDeviation=".325"/><feComposite in2="hardAlpha" k2="-1" k3="1" operator="arithmetic"/>'
    "</filter></defs></svg>"
)


def test_a_resvg_panic_is_an_ordinary_exception():
    """pyo3 raises a Rust panic as a BaseException, past every `except Exception` of a batch stage."""
    with pytest.raises(RuntimeError, match="resvg failed drawing the SVG at 512x512"):
        render_svg(RESVG_PANICS, 512, 512)
    assert render_svg(RESVG_PANICS, 300, 300).shape == (300, 300, 3)  # the same document at another size draws
