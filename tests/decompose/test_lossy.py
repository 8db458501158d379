"""Lossy inputs: a JPEG's halos are not regions, its edges are redrawn from luma, and lossless files are untouched."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from benchmarks.common import plain_vtracer
from layertracer.cli import main
from layertracer.decompose import DecomposeOptions, decompose_image
from layertracer.decompose.halos import _grow_fill, halo_regions
from layertracer.decompose.palette import premultiply, segment
from layertracer.images import codec_reach, decode_image, encode_png, flat_pixels
from layertracer.metrics import mse, render_svg
from layertracer.vectorize import TraceOptions, vectorize_frames

SIZE, SUPER = 256, 4
ORANGE, WHITE, BLUE, DARK = (255, 152, 0), (250, 250, 250), (60, 120, 230), (60, 40, 40)


def flat_icon() -> np.ndarray:
    """A flat icon on white, anti-aliased: an orange tile, a white bar across it, a blue disc, a dark dot."""
    big = np.full((SIZE * SUPER, SIZE * SUPER, 3), 255, np.uint8)
    s = SUPER
    cv2.rectangle(big, (24 * s, 24 * s), (232 * s, 232 * s), ORANGE, thickness=-1)
    bar = np.array([(60, 80), (200, 40), (210, 76), (70, 116)]) * s
    cv2.fillConvexPoly(big, bar.astype(np.int32), WHITE)
    cv2.circle(big, (150 * s, 170 * s), 50 * s, BLUE, thickness=-1)
    cv2.circle(big, (80 * s, 180 * s), 18 * s, DARK, thickness=-1)
    return cv2.resize(big, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def encoded(image: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def traced_mse(image: np.ndarray, clean: np.ndarray, halo_px: float) -> float:
    frames = decompose_image(image, 4, DecomposeOptions(halo_px=halo_px))
    svg = vectorize_frames(frames, TraceOptions().for_exact_frames()).svg
    return mse(render_svg(svg, SIZE, SIZE), clean)


@pytest.mark.parametrize(
    ("fmt", "options", "reach"),
    [
        ("PNG", {}, 0),
        ("JPEG", {"quality": 80}, 3),  # 4:2:0, Pillow's default
        ("JPEG", {"quality": 95, "subsampling": 0}, 2),  # 4:4:4
        ("WEBP", {"quality": 80}, 3),
        ("WEBP", {"lossless": True}, 0),
        ("GIF", {}, 0),
    ],
)
def test_codec_reach_is_read_from_the_file(fmt: str, options: dict, reach: int) -> None:
    assert codec_reach(encoded(flat_icon(), fmt, **options)) == reach


def test_codec_reach_of_unreadable_bytes_is_zero() -> None:
    assert codec_reach(b"not an image") == 0


def test_codec_reach_survives_a_jpeg_header_with_zero_sampling_factors() -> None:
    data = bytearray(encoded(flat_icon(), "JPEG", quality=80))
    frame = data.index(b"\xff\xc0")  # SOF0: length, precision, height, width, components, then 3 bytes each
    for component in range(data[frame + 9]):
        data[frame + 11 + 3 * component] = 0  # the horizontal and vertical sampling factors
    assert codec_reach(bytes(data)) in (0, 2, 3)


def test_jpeg_icon_traces_closer_to_its_clean_render_than_before_and_than_plain_vtracer() -> None:
    clean = flat_icon()
    data = encoded(clean, "JPEG", quality=80)
    image = decode_image(data)
    before = traced_mse(image, clean, 0.0)
    after = traced_mse(image, clean, codec_reach(data))
    plain = mse(render_svg(plain_vtracer(image), SIZE, SIZE), clean)
    assert after < 0.8 * before
    assert after < plain


def test_jpeg_halos_are_not_regions_of_their_own() -> None:
    """Chroma bleeding tints the white bar's rim and the orange beside it: thin bands of a blended colour that are
    regions of their own in the plain segmentation. With the codec's reach none is left, and the regions of any
    size are the icon's four shapes."""
    data = encoded(flat_icon(), "JPEG", quality=80)
    rgba = cv2.cvtColor(decode_image(data), cv2.COLOR_RGB2RGBA)
    feat = premultiply(rgba)
    core = flat_pixels(feat, 8)
    args = (rgba, False, 12.0, 8, 16, 64, 256)
    for reach, halos_left, shapes in ((0.0, True, False), (codec_reach(data), False, True)):
        seg = segment(*args, reach)
        halos, _ = halo_regions(seg.region_map, seg.fills, feat, core, codec_reach(data), 12.0)
        assert halos.any() == halos_left
        assert (np.count_nonzero(seg.areas[1:] >= 100) == 4) == shapes


def test_lossless_input_is_decomposed_exactly_as_before() -> None:
    """halo_px 0 (a PNG) is the default: the same frames, the last one the input itself."""
    image = flat_icon()
    default = decompose_image(image, 4)
    assert np.array_equal(default[-1], image)
    for a, b in zip(default, decompose_image(image, 4, DecomposeOptions(halo_px=0))):
        assert np.array_equal(a, b)


def test_halo_px_is_checked() -> None:
    with pytest.raises(Exception, match="halo_px"):
        DecomposeOptions(halo_px=-1)


def test_vectorize_reads_the_reach_from_the_jpeg_file(tmp_path: Path) -> None:
    """The command reads the file's codec: the JPEG traces closer to the clean icon than the same pixels as a PNG
    (lossless, so taken as they are)."""
    clean = flat_icon()
    data = encoded(clean, "JPEG", quality=80)
    (tmp_path / "icon.jpg").write_bytes(data)
    (tmp_path / "icon.png").write_bytes(encode_png(decode_image(data)))
    errors = {}
    for name in ("icon.jpg", "icon.png"):
        out = tmp_path / f"{name}.svg"
        assert main(["vectorize", str(tmp_path / name), "-o", str(out), "--frames", "4"]) == 0
        errors[name] = mse(render_svg(out.read_text(), SIZE, SIZE), clean)
    assert errors["icon.jpg"] < 0.8 * errors["icon.png"]


@pytest.mark.parametrize("seed", range(6))
def test_tiny_and_striped_lossy_images_decompose(seed: int) -> None:
    """Images made only of thin bands (every region a candidate halo) and tiny ones still give frames."""
    rng = np.random.default_rng(seed)
    size = int(rng.integers(2, 24))
    stripes = np.repeat(rng.integers(0, 256, (size, 1, 3), dtype=np.uint8), size, axis=1)
    image = decode_image(encoded(stripes if seed % 2 else stripes.transpose(1, 0, 2), "JPEG", quality=60))
    frames = decompose_image(image, 4, DecomposeOptions(halo_px=3))
    assert len(frames) == 4 and frames[-1].shape == image.shape


def _grow_fill_every_pixel_every_round(out, fill_of, todo, want, stride) -> None:
    """`halos._grow_fill` as first written: every pixel left tried in every round."""
    offsets = [dy * stride + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
    while len(todo):
        took = np.zeros(len(todo), bool)
        for offset in offsets:
            neighbour = todo + offset
            take = ~took & (fill_of[neighbour] == want) & (out[neighbour] >= 0)
            out[todo[take]] = out[neighbour[take]]
            fill_of[todo[take]] = want[take]
            took |= take
        if not took.any():
            return
        todo, want = todo[~took], want[~took]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(3, 40), unknown_share=st.floats(0.05, 0.95))
def test_growing_fills_from_the_last_rounds_takers_alone_gives_what_trying_every_pixel_gives(seed, size, unknown_share):
    """Only pixels near the last round's takers are tried again: on random regions, fills and wanted fills, every
    pixel takes the region it takes when every pixel is tried every round (a reach of 1 fails: chains)."""
    rng = np.random.default_rng(seed)
    stride = size + 2
    regions = np.full((size + 2, size + 2), -1, np.int64)
    regions[1:-1, 1:-1] = rng.integers(0, 6, (size, size))
    fills = np.full(regions.shape, -3, np.int64)
    fills[1:-1, 1:-1] = regions[1:-1, 1:-1] % 3
    unknown = np.zeros(regions.shape, bool)
    unknown[1:-1, 1:-1] = rng.random((size, size)) < unknown_share
    regions[unknown], fills[unknown] = -1, -3
    todo = np.flatnonzero(unknown)
    want = rng.integers(0, 4, len(todo))  # fill 3 is nowhere: those pixels never take
    results = []
    for grow in (_grow_fill, _grow_fill_every_pixel_every_round):
        out, fill_of = regions.ravel().copy(), fills.ravel().copy()
        grow(out, fill_of, todo, want, stride)
        results.append(out)
    assert np.array_equal(*results)
