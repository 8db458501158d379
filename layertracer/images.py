"""The one image loader: bytes in, a uint8 RGB or RGBA array out, with limits checked before decoding."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from layertracer.errors import ImageError, error_line
from layertracer.storage import StorageOptions, read_bytes

DEFAULT_MAX_PIXELS = 64_000_000  # 8000 x 8000: far above any icon, far below a decompression bomb


@dataclass(frozen=True)
class ImageLimits:
    """Refuse images before decoding them: a 60000 x 60000 header must not allocate 10 GiB."""

    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = 256 * 1024 * 1024


def decode_image(data: bytes, limits: ImageLimits = ImageLimits(), name: str = "image") -> np.ndarray:
    """Decode PNG/JPEG/WebP/GIF/... to HxWx3 (opaque) or HxWx4 (has transparency) uint8.

    EXIF rotation is applied, animations give their first frame, CMYK, palette, grey and 16-bit
    images are converted; alpha is kept only when some pixel is not fully opaque.
    """
    if not data:
        raise ImageError(f"{name}: empty file")
    if len(data) > limits.max_bytes:
        raise ImageError(f"{name}: {len(data)} bytes exceeds the limit of {limits.max_bytes}")
    try:
        with warnings.catch_warnings():
            # Our own limit decides (so --max-pixels can go above Pillow's warning threshold); Pillow's hard
            # limit (DecompressionBombError, twice that threshold) still refuses headers beyond it, unread.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size
            if width * height > limits.max_pixels:
                raise _too_many_pixels(name, f"{width}x{height}", limits)
            if width < 1 or height < 1:
                raise ImageError(f"{name}: empty image ({width}x{height})")
            img.seek(0)
            ImageOps.exif_transpose(img, in_place=True)  # in place: no copy of an image that needs no turn
            img.load()
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not a readable image (unknown format)") from None
    except Image.DecompressionBombError:
        raise _too_many_pixels(name, f"more than {_pillow_max_pixels()}", limits) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{name}: corrupt or truncated image ({error_line(exc)})") from None
    return _to_rgb_or_rgba(img)


def _to_rgb_or_rgba(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit grey: scale by the actual range of the mode, not by clipping to 255.
        arr = np.asarray(img, dtype=np.float64)
        arr = np.clip(arr / (65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0), 0, 1)
        img = Image.fromarray((arr * 255 + 0.5).astype(np.uint8), "L")
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        img.mode == "P" and "transparency" in img.info
    ) or (img.mode in ("RGB", "L") and "transparency" in img.info)
    mode = "RGBA" if has_alpha else "RGB"
    rgba = np.asarray(img if img.mode == mode else img.convert(mode))
    if has_alpha and rgba[..., 3].min() == 255:
        rgba = rgba[..., :3]
    return np.ascontiguousarray(rgba)


def _pillow_max_pixels() -> int:
    """Pillow refuses to open images above twice its MAX_IMAGE_PIXELS, whatever our limit says."""
    return 2 * Image.MAX_IMAGE_PIXELS


def _too_many_pixels(name: str, size: str, limits: ImageLimits) -> ImageError:
    limit = min(limits.max_pixels, _pillow_max_pixels())
    hint = "raise it with --max-pixels" if limit == limits.max_pixels else "Pillow's limit for one image"
    return ImageError(f"{name}: {size} pixels exceeds the limit of {limit} ({hint}); refused before decoding")


def read_image(
    uri: str, limits: ImageLimits = ImageLimits(), storage_options: StorageOptions | None = None
) -> tuple[np.ndarray, bytes]:
    """An image from a path or URI, size-checked before reading and decoded within the limits.

    The bytes come back too, so a PNG can be kept as it was read.
    """
    data = read_bytes(uri, storage_options, max_bytes=limits.max_bytes)
    return decode_image(data, limits, name=uri), data


def codec_reach(data: bytes) -> int:
    """How far (px) a lossy codec smeared colour across the edges of the image in `data`; 0 for lossless files.

    JPEG: one pixel more than the spacing of its colour (chroma) samples, read from the file's own frame header
    (3 for the usual 4:2:0, 2 for 4:4:4 and grey): an edge's tint spreads from its blended pixel to the chroma
    samples on either side. Lossy WebP (VP8) always samples colour at 4:2:0, so 3. See `decompose.halos`.
    """
    try:
        img = Image.open(io.BytesIO(data))
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        return 0
    if img.format == "JPEG":
        layers = getattr(img, "layer", None) or [("", 1, 1, 0)]  # (component, h, v, table) per component
        # sampling factors are 1-4 in a valid file; a corrupt header's 0 must not divide
        horizontal, vertical = [max(h, 1) for _, h, _, _ in layers], [max(v, 1) for _, _, v, _ in layers]
        spacing = max(max(horizontal) // min(horizontal), max(vertical) // min(vertical))
        return spacing + 1
    if img.format == "WEBP" and _webp_chunks(data) & {b"VP8 "}:
        return 3
    return 0


def _webp_chunks(data: bytes) -> set[bytes]:
    """The chunk types of a RIFF WebP file ('VP8 ' is lossy, 'VP8L' lossless)."""
    found, pos = set(), 12
    while pos + 8 <= len(data) and len(found) < 16:
        found.add(data[pos : pos + 4])
        pos += (8 + int.from_bytes(data[pos + 4 : pos + 8], "little") + 1) & ~1  # chunks are padded to even sizes
    return found


def flatten_on_white(image: np.ndarray) -> np.ndarray:
    """Composite an RGBA array over white (frames are drawn on white); RGB passes through."""
    if image.shape[-1] == 3:
        return image
    # white - (white - rgb) * alpha, rounded: in OpenCV's integer ops ~40x faster than in floats, and the same
    # bytes for every (value, alpha) pair (a product of 255ths is never exactly half-way).
    rgb = cv2.cvtColor(image, cv2.COLOR_RGBA2RGB)
    alpha = cv2.cvtColor(image[..., 3], cv2.COLOR_GRAY2RGB)
    return cv2.bitwise_not(cv2.multiply(cv2.bitwise_not(rgb), alpha, scale=1 / 255))


def flat_pixels(image: np.ndarray, tolerance: int = 0) -> np.ndarray:
    """Pixels whose colour matches at least 3 of their 4 neighbours within `tolerance` in every channel: the
    inside of a flat fill. An anti-aliased edge pixel differs from its neighbours across the edge, so it is not.

    uint8 HxWx3 or HxWx4.
    """
    return matching_neighbours(image, tolerance) >= 3


def matching_neighbours(image: np.ndarray, tolerance: int = 0) -> np.ndarray:
    """HxW uint8: how many of its 4 neighbours (0-4) each pixel's colour matches within `tolerance` in every
    channel; the image's border counts as matching. 3 or more: inside a flat fill (`flat_pixels`); 4: a fill's
    interior, which a band at most 2 px wide has none of.

    uint8 HxWx3 or HxWx4.
    """
    if image.shape[-1] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2RGBA)  # four bytes: one 32-bit compare per neighbour
    padded = cv2.copyMakeBorder(image, 1, 1, 1, 1, cv2.BORDER_REPLICATE)
    h, w = image.shape[:2]
    similar = np.zeros((h, w), np.uint8)
    colours = padded.view(np.uint32)[..., 0]
    for dy, dx in ((0, 1), (2, 1), (1, 0), (1, 2)):
        if tolerance == 0:  # the same colour: the four bytes compared at once
            similar += colours[dy : dy + h, dx : dx + w] == colours[1:-1, 1:-1]
        else:
            excess = cv2.subtract(cv2.absdiff(padded[dy : dy + h, dx : dx + w], image), tolerance)
            similar += np.ascontiguousarray(excess).view(np.uint32)[..., 0] == 0
    return similar


def colour_words(rgb: np.ndarray) -> np.ndarray:
    """HxW uint32: each pixel of an HxWx3 uint8 image as one word (its RGB and an opaque alpha), so that two
    colours compare in one operation."""
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2RGBA).view(np.uint32)[..., 0]


def pixel_block(image: np.ndarray, min_blocks: int = 8) -> int:
    """The side k of the square blocks an HxWx3/4 uint8 image is made of: k > 1 where it is an exact
    nearest-neighbour enlargement (pixel art saved large), every k x k block of the grid from (0, 0) one colour;
    1 otherwise.

    A colour changes only between blocks, so every column and row where one does, and the image's sides, are
    multiples of k: k is their greatest common divisor. Nothing is estimated, so anti-aliased, noisy or
    compressed artwork gives 1. A picture with few changes (a square in a flat field) is blocky at larger k than
    it was drawn at; it is still exactly its blocks, which keep `min_blocks` along its short side.
    Transparent pixels count as one colour whatever their RGB.
    """
    height, width = image.shape[:2]
    if image.shape[2] == 4:
        words = np.where(image[..., 3:] > 0, image, 0).view(np.uint32)[..., 0]
    else:
        words = colour_words(image)
    columns = np.flatnonzero((words[:, 1:] != words[:, :-1]).any(axis=0)) + 1
    rows = np.flatnonzero((words[1:] != words[:-1]).any(axis=1)) + 1
    k = int(np.gcd.reduce(np.concatenate([columns, rows, [width, height]])))
    return max((d for d in range(1, k + 1) if k % d == 0 and min(width, height) // d >= min_blocks), default=1)


def encode_png(image: np.ndarray, compress_level: int = 6) -> bytes:
    """PNG bytes of an HxWx3/4 uint8 array."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()
