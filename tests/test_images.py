import io

import cv2
import numpy as np
import pytest
from PIL import Image

from layertracer.errors import ImageError
from layertracer.images import (
    ImageLimits,
    decode_image,
    encode_png,
    flat_pixels,
    flatten_on_white,
    matching_neighbours,
    pixel_block,
)


def png_bytes(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_rgb_round_trip():
    arr = np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    assert np.array_equal(decode_image(encode_png(arr)), arr)


def test_opaque_rgba_becomes_rgb_and_transparent_stays_rgba():
    opaque = np.full((8, 8, 4), 255, np.uint8)
    assert decode_image(encode_png(opaque)).shape == (8, 8, 3)
    clear = opaque.copy()
    clear[0, 0, 3] = 0
    assert decode_image(encode_png(clear)).shape == (8, 8, 4)


@pytest.mark.parametrize("data,match", [(b"", "empty"), (b"hello, not an image", "not a readable image")])
def test_garbage(data, match):
    with pytest.raises(ImageError, match=match):
        decode_image(data)


def test_truncated_png():
    data = png_bytes(Image.new("RGB", (64, 64), "red"))
    with pytest.raises(ImageError):
        decode_image(data[: len(data) // 2])


def test_pixel_limit_checked_before_decoding():
    data = png_bytes(Image.new("L", (300, 300)))
    with pytest.raises(ImageError, match="exceeds the limit"):
        decode_image(data, ImageLimits(max_pixels=10_000))


def test_sixteen_bit_and_cmyk_and_palette():
    grey16 = Image.fromarray(np.full((4, 4), 65535, np.uint16))
    assert decode_image(png_bytes(grey16))[0, 0].tolist() == [255, 255, 255]
    cmyk = Image.new("CMYK", (4, 4), (0, 255, 255, 0))
    assert decode_image(png_bytes(cmyk, "JPEG"))[0, 0, 0] > 200
    pal = Image.new("P", (4, 4), 1)
    pal.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    pal.info["transparency"] = 0
    out = decode_image(png_bytes(pal, transparency=1))
    assert out.shape == (4, 4, 4) and out[0, 0, 3] == 0


def test_exif_rotation_applied():
    img = Image.new("RGB", (40, 20), "blue")
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90
    assert decode_image(png_bytes(img, "JPEG", exif=exif)).shape == (40, 20, 3)


def test_flatten_on_white():
    rgba = np.zeros((2, 2, 4), np.uint8)
    assert flatten_on_white(rgba)[0, 0].tolist() == [255, 255, 255]


def test_flatten_on_white_rounds_every_value_and_alpha_as_the_compositing_formula_does():
    """OpenCV's integer ops against rgb * a + 255 * (1 - a), rounded, for all 65536 (value, alpha) pairs."""
    value, alpha = np.meshgrid(np.arange(256), np.arange(256))
    rgba = np.dstack([value, 255 - value, value[:, ::-1], alpha]).astype(np.uint8)
    a = rgba[..., 3:].astype(np.float64) / 255
    expected = np.floor(rgba[..., :3] * a + 255 * (1 - a) + 0.5)
    assert np.array_equal(flatten_on_white(rgba), expected)
    assert flatten_on_white(rgba[::3, 1::2]).shape == (86, 128, 3)  # strided views too


def blocky(blocks: np.ndarray, k: int) -> np.ndarray:
    return np.repeat(np.repeat(blocks, k, axis=0), k, axis=1)


def test_pixel_block_finds_the_enlargement_and_nothing_else():
    rng = np.random.default_rng(3)
    sprite = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    assert pixel_block(blocky(sprite, 7)) == 7
    assert pixel_block(sprite) == 1  # its own pixels: a colour changes between any two
    shifted = np.roll(blocky(sprite, 7), 1, axis=1)  # blocks off the grid from (0, 0)
    assert pixel_block(shifted) == 1
    smooth = cv2.GaussianBlur(blocky(sprite, 7), (3, 3), 0)  # anti-aliased edges
    assert pixel_block(smooth) == 1
    flat = np.full((64, 48, 3), 200, np.uint8)  # no change anywhere: gcd(64, 48) = 16 would leave 3 blocks
    assert pixel_block(flat) == 4  # the largest divisor of 16 that leaves 8 blocks along the short side


def test_pixel_block_reads_transparent_pixels_as_one_colour():
    sprite = np.zeros((10, 10, 4), np.uint8)
    sprite[2:6, 3:8] = (200, 40, 40, 255)
    image = blocky(sprite, 5)
    noise = np.random.default_rng(1).integers(0, 256, image[..., :3].shape, dtype=np.uint8)
    image[..., :3] = np.where(image[..., 3:] == 0, noise, image[..., :3])  # whatever lies under alpha 0
    assert pixel_block(image) == 5


def test_matching_neighbours_counts_equal_neighbours_and_a_two_pixel_band_has_no_interior():
    image = np.full((8, 9, 3), 255, np.uint8)
    image[2:4, 1:8] = (200, 30, 30)  # a band 2 px wide
    image[5:8, 0:3] = (30, 30, 200)  # a 3 x 3 block in the corner
    count = matching_neighbours(image)
    assert (count[2:4, 1:8] < 4).all() and count[2, 3] == 3 and count[2, 1] == 2
    assert count[6, 1] == 4 and count[7, 0] == 4  # the image's border counts as matching
    assert np.array_equal(flat_pixels(image), count >= 3)
