"""Which SVG files a dataset is built from: a folder, a glob, a zip/tar archive or a listing file, on any URI.

Listing happens once on the driver; each source is then read by a worker through `storage.read_bytes`, so an
archive member is a chained fsspec URI (`zip://icons/a.svg::s3://bucket/icons.zip`).
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass

from layertracer import storage
from layertracer.errors import UserError

ARCHIVE_PROTOCOLS = {".zip": "zip", ".tar": "tar"}
LISTING_SUFFIXES = (".txt", ".lst")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_ID_CHARS = 128


@dataclass(frozen=True)
class SvgSource:
    """One input file: where to read it, its path relative to the input (for captions CSVs) and its row id."""

    uri: str
    relative: str
    id: str


def list_sources(input_uri: str, storage_options: storage.StorageOptions | None = None) -> list[SvgSource]:
    """Every .svg under the input, sorted, with unique ids derived from relative paths (reruns give the same ids)."""
    fs, path = storage.filesystem(input_uri, storage_options)
    lower = path.lower()
    if any(ch in path for ch in "*?["):
        base = path.split("*", 1)[0].split("?", 1)[0].split("[", 1)[0].rsplit("/", 1)[0]
        pairs = [(_uri_like(input_uri, p), _relative(p, base)) for p in fs.glob(path) if _is_svg(p)]
    elif lower.endswith(tuple(ARCHIVE_PROTOCOLS)):
        protocol = ARCHIVE_PROTOCOLS[posixpath.splitext(lower)[1]]
        archive, _ = storage.filesystem(f"{protocol}://::{input_uri}", storage_options)
        pairs = [(f"{protocol}://{p}::{input_uri}", p) for p in archive.find("") if _is_svg(p)]
    elif lower.endswith(LISTING_SUFFIXES):
        text = storage.read_bytes(input_uri, storage_options).decode("utf-8", errors="replace")
        lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
        pairs = [(storage.resolve(line, input_uri), line) for line in lines]
    elif fs.isdir(path):
        pairs = [(_uri_like(input_uri, p), _relative(p, path)) for p in fs.find(path) if _is_svg(p)]
    elif fs.exists(path):
        pairs = [(input_uri, posixpath.basename(path))]
    else:
        raise UserError(f"{input_uri}: no such folder, file, archive or listing")
    if not pairs:
        raise UserError(f"{input_uri}: no .svg files found")
    return _with_ids(sorted(pairs))


def _is_svg(path: str) -> bool:
    return path.lower().endswith(".svg")


def _relative(path: str, base: str) -> str:
    base = base.rstrip("/")
    return path[len(base) + 1 :] if base and path.startswith(base + "/") else posixpath.basename(path)


def _uri_like(input_uri: str, path: str) -> str:
    """A path from fs.find/glob back in the input's form (scheme kept for remote stores)."""
    if storage.is_remote(input_uri):
        return f"{input_uri.split('://', 1)[0]}://{path}"
    return path


def example_id(relative: str) -> str:
    """`twemoji/red apple.svg` -> `twemoji__red_apple`: the DESIGN id alphabet, no leading dot, <= 128 chars."""
    stem = re.sub(r"\.svg$", "", relative, flags=re.I).strip("/")
    name = _ID_UNSAFE.sub("_", stem.replace("/", "__")).lstrip(".") or "icon"
    if len(name) > MAX_ID_CHARS:
        name = f"{name[: MAX_ID_CHARS - 9]}-{_short_hash(relative)}"
    return name


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def _with_ids(pairs: list[tuple[str, str]]) -> list[SvgSource]:
    seen: set[str] = set()
    out = []
    for uri, relative in pairs:
        row_id = example_id(relative)
        if row_id in seen:  # e.g. "a b.svg" and "a_b.svg": keep both, told apart by the source's hash
            row_id = f"{row_id[: MAX_ID_CHARS - 9]}-{_short_hash(uri)}"
        seen.add(row_id)
        out.append(SvgSource(uri=uri, relative=relative, id=row_id))
    return out
