"""Hostile and awkward inputs for the batch job, built in code: images, manifest rows and files that are not
manifests at all. Shared by the reliability tests and benchmarks/soak.py, so both feed the job the same things.

Each hostile image says what the job must make of it: ok (and which pixels the output must hold) or an error
whose message contains a given text.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from layertracer.images import encode_png
from tests.pipeline.icons import CELL_PX, icon_frames

BOMB_SIDE = 60_000  # a 60000 x 60000 header: 3.6 gigapixels, ~10 GiB if anyone decoded it


@dataclass(frozen=True)
class HostileImage:
    """One file for an image row: its bytes, and either an error text or the RGB(A) pixels the row must keep."""

    name: str
    data: bytes
    error: str | None = None
    expected: np.ndarray | None = None  # what decoding must give (the image row's last frame shows it)
    tolerance: float = 0.0  # largest mean absolute difference per channel (JPEG is lossy)


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def bomb_png(side: int = BOMB_SIDE, grey: bool = False) -> bytes:
    """A tiny valid-looking PNG whose header claims side x side RGB (or grey) pixels."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0 if grey else 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def bomb_jpeg(side: int = BOMB_SIDE) -> bytes:
    """A small JPEG with its frame header (SOF0) patched to claim side x side pixels."""
    data = bytearray(_encode(Image.new("RGB", (16, 16), "red"), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", side, side)
    return bytes(data)


def bomb_gif(side: int = 65_535) -> bytes:
    """A small GIF whose logical screen claims side x side pixels (GIF's largest)."""
    data = bytearray(_encode(Image.new("P", (16, 16)), "GIF"))
    data[6:10] = struct.pack("<HH", side, side)
    return bytes(data)


def icon(variant: int = 0) -> np.ndarray:
    """A flat icon (few exact colours, so palette formats keep it exactly)."""
    return icon_frames(variant, 4)[-1]


def animated(fmt: str) -> tuple[bytes, np.ndarray]:
    """An animation whose first frame is an icon and whose later frames are other pictures."""
    first, later = icon(1), [icon(2), np.zeros_like(icon(2))]
    images = [Image.fromarray(a) for a in (first, *later)]
    if fmt == "GIF":
        images = [im.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE) for im in images]
        expected = np.asarray(images[0].convert("RGB"))
    else:
        expected = first
    return _encode(images[0], fmt, save_all=True, append_images=images[1:], duration=100, loop=0), expected


def cmyk_jpeg() -> tuple[bytes, np.ndarray]:
    rgb = icon(3)
    return _encode(Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=95), rgb


def grey16_png() -> tuple[bytes, np.ndarray]:
    """16-bit grey: the full 0..65535 range must map onto 0..255, not be clipped."""
    grey8 = np.asarray(Image.fromarray(icon(0)).convert("L"))
    grey16 = grey8.astype(np.uint16) * 257
    return _encode(Image.fromarray(grey16), "PNG"), np.repeat(grey8[..., None], 3, axis=2)


def palette_with_transparency() -> tuple[bytes, np.ndarray]:
    """A palette PNG whose index 0 is transparent: the icon on a see-through background."""
    rgb = icon(2)
    background = np.all(rgb == 255, axis=2)
    pal = Image.fromarray(rgb).quantize(colors=16, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    indices = np.asarray(pal) + 1  # shift so index 0 is free for "transparent"
    indices[background] = 0
    palette = [255, 255, 255] + pal.getpalette()[: 3 * 16]
    out = Image.fromarray(indices.astype(np.uint8), "P")
    out.putpalette(palette)
    expected = np.dstack([np.asarray(out.convert("RGB")), np.where(background, 0, 255).astype(np.uint8)])
    return _encode(out, "PNG", transparency=0), expected


def exif_rotated_jpeg() -> tuple[bytes, np.ndarray]:
    """A landscape JPEG with EXIF orientation 6 (rotate 90 clockwise to view): viewers show it portrait."""
    portrait = icon(1)[:, : CELL_PX * 2 // 3].copy()  # 96 tall x 64 wide, as it must be seen
    portrait[:16, :16] = (255, 0, 0)  # a red marker top-left, to check the direction of the turn
    stored = np.rot90(portrait, k=1)  # what the file holds: turned 90 degrees counter-clockwise
    img = Image.fromarray(np.ascontiguousarray(stored))
    exif = img.getexif()
    exif[0x0112] = 6
    return _encode(img, "JPEG", quality=95, exif=exif), portrait


def hostile_images() -> list[HostileImage]:
    """Every awkward image kind of issue 8, with what an image row must make of it."""
    good = encode_png(icon(0))
    gif, gif_first = animated("GIF")
    apng, apng_first = animated("PNG")
    cmyk, cmyk_rgb = cmyk_jpeg()
    grey16, grey8 = grey16_png()
    palette, palette_rgba = palette_with_transparency()
    rotated, upright = exif_rotated_jpeg()
    return [
        HostileImage("zero-bytes", b"", error="empty file"),
        HostileImage("truncated-png", good[: len(good) // 2], error="corrupt or truncated image"),
        HostileImage("truncated-jpeg", _encode(Image.fromarray(icon(0)), "JPEG")[:400],
                     error="corrupt or truncated image"),
        HostileImage("text-named-png", b"this is a text file, not an image\n", error="not a readable image"),
        HostileImage("one-pixel", _encode(Image.new("RGB", (1, 1), "red"), "PNG"), error="too small"),
        HostileImage("bomb-png", bomb_png(), error="exceeds the limit of"),
        HostileImage("bomb-jpeg", bomb_jpeg(), error="exceeds the limit of"),
        HostileImage("bomb-gif", bomb_gif(), error="exceeds the limit of"),
        HostileImage("animated-gif", gif, expected=gif_first),
        HostileImage("animated-png", apng, expected=apng_first),
        HostileImage("cmyk-jpeg", cmyk, expected=cmyk_rgb, tolerance=4.0),
        HostileImage("grey-16bit", grey16, expected=grey8, tolerance=0.5),
        HostileImage("palette-transparent", palette, expected=palette_rgba),
        HostileImage("exif-rotated", rotated, expected=upright, tolerance=4.0),
    ]


# Manifest rows that must become error rows, with a text their message contains. "IMG" is replaced by the path
# of a good image, so that only the field under test is wrong.
HOSTILE_ROWS: list[tuple[dict, str]] = [
    ({"id": "/abs", "image": "IMG"}, "unsafe id '/abs'"),
    ({"id": ".hidden", "image": "IMG"}, "unsafe id '.hidden'"),
    ({"id": "../x", "image": "IMG"}, "unsafe id '../x'"),
    ({"id": "a/b", "image": "IMG"}, "unsafe id 'a/b'"),
    ({"id": "x" * 300, "image": "IMG"}, "unsafe id 'xxxx"),
    ({"id": "", "image": "IMG"}, "unsafe id ''"),
    ({"id": "nul\u0000byte", "image": "IMG"}, "unsafe id 'nul\\x00byte'"),
    ({"id": {"nested": 1}, "image": "IMG"}, "id must be a string"),
    ({"id": 1.5, "image": "IMG"}, "id must be a string"),
    ({"id": "frames-5", "image": "IMG", "frames": 5}, "frames must be 4 or 9"),
    ({"id": "frames-text", "image": "IMG", "frames": "nine"}, "'frames' must be an integer"),
    ({"id": "frames-list", "image": "IMG", "frames": [4]}, "'frames' must be an integer"),
    ({"id": "seed-neg", "image": "IMG", "seed": -3}, "'seed' must be at least 0"),
    ({"id": "kind-video", "kind": "video", "image": "IMG"}, "unknown kind 'video'"),
    ({"id": "no-fields"}, "neither 'prompt' nor 'image'"),
    ({"id": "grid-no-image", "kind": "grid"}, "grid row needs 'image'"),
    ({"id": "image-list", "image": ["a.png"]}, "'image' must be a string"),
    ({"id": "prompt-list", "prompt": ["a star"]}, "'prompt' must be a string"),
    ({"id": "prompt-empty", "prompt": ""}, "text row needs a non-empty 'prompt'"),
    ({"id": "prompt-blank", "prompt": " \t\n "}, "text row needs a non-empty 'prompt'"),
    ({"id": "prompt-long", "prompt": "a red star " * 1819}, "no model configured"),  # 20,009 characters
    ({"id": "prompt-cjk", "prompt": "一颗红色的星星 ☆ звезда نجمة"}, "no model configured"),
    ({"id": "image-nul", "image": "bad\u0000name.png"}, "cannot read"),
    ({"id": "image-dir", "image": "."}, "is a directory"),
    ({"id": "image-scheme", "image": "nosuchscheme://b/a.png"}, "unsupported storage"),
]


def hostile_rows(good_image: str) -> list[tuple[dict, str]]:
    """HOSTILE_ROWS with "IMG" replaced by `good_image`."""
    return [({k: good_image if v == "IMG" else v for k, v in row.items()}, message) for row, message in HOSTILE_ROWS]


# Files that are no manifest at all, under manifest names: each must become error rows, never end the job.
def not_a_manifest(root: Path) -> dict[str, str]:
    """{path: text every one of its rows' errors contains}; the files are written under `root`."""
    png = encode_png(icon(0))
    files: dict[str, tuple[bytes, str]] = {
        "png-bytes.jsonl": (png, "invalid JSON"),
        "png-bytes.parquet": (png, "cannot read the manifest"),
        "png-bytes.jsonl.gz": (png, "cannot read the manifest"),
        "huge-field.csv": (b"id,prompt\nbig," + b"x" * 200_000 + b"\n", "cannot read the manifest"),
    }
    out = {}
    for name, (data, message) in files.items():
        (root / name).write_bytes(data)
        out[str(root / name)] = message
    return out


def write_manifest(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return str(path)


def write_images(root: Path, images: list[HostileImage]) -> dict[str, str]:
    """{image name: path}; every image gets an extension that matches what it claims to be."""
    root.mkdir(parents=True, exist_ok=True)
    paths = {}
    for image in images:
        path = root / f"{image.name}.png"
        path.write_bytes(image.data)
        paths[image.name] = str(path)
    return paths



def exif_rotated_grid() -> tuple[bytes, list[np.ndarray]]:
    """A 2x2 creation grid stored turned on its side with EXIF orientation 6: it must split upright."""
    from layertracer.grid import GridSpec, compose_grid

    frames = icon_frames(0, 4)
    grid = compose_grid(frames, GridSpec(frames=4))
    img = Image.fromarray(np.ascontiguousarray(np.rot90(grid, k=1)))
    exif = img.getexif()
    exif[0x0112] = 6
    return _encode(img, "JPEG", quality=95, exif=exif), frames
