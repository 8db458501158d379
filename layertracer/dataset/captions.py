"""Captions for training grids: the LoRA's trigger template (the one sampling uses) around a description.

The description comes, in order of preference, from a sidecar captions CSV, the SVG's `<title>`/`<desc>`, or
the file name (`twemoji__red-apple.svg` -> "red apple"; a `SET__` prefix names the icon set, not the icon).
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass

from layertracer import storage
from layertracer.dataset.sanitize import ParsedSvg, is_svg_element, local_name
from layertracer.errors import UserError
from layertracer.models.prompts import DEFAULT_PROMPT_TEMPLATE, check_template, format_prompt

MAX_DESCRIPTION_CHARS = 300


@dataclass(frozen=True)
class CaptionOptions:
    """`template`: the sampler's prompt template (`models.prompts`), so captions and prompts use one wording."""

    template: str = DEFAULT_PROMPT_TEMPLATE

    def __post_init__(self) -> None:
        check_template(self.template)

    def caption(self, description: str, frames: int) -> str:
        return format_prompt(description, frames, self.template)


def description_from_name(source: str) -> str:
    """`.../twemoji__red_apple.svg` -> "red apple"."""
    stem = posixpath.basename(source.replace("\\", "/"))
    stem = re.sub(r"\.svgz?$", "", stem, flags=re.I)
    if "__" in stem:
        stem = stem.split("__", 1)[1]
    words = re.sub(r"[-_.\s]+", " ", stem).strip()
    return words or "icon"


def description_from_svg(svg: ParsedSvg) -> str | None:
    """The root's own `<title>` (or `<desc>`) text, if any."""
    for wanted in ("title", "desc"):
        for child in svg.root:
            if is_svg_element(child) and local_name(child.tag) == wanted:
                text = " ".join("".join(child.itertext()).split())
                if text:
                    return text[:MAX_DESCRIPTION_CHARS]
    return None


def describe(source: str, svg: ParsedSvg, sidecar: str | None) -> str:
    if sidecar and sidecar.strip():
        return " ".join(sidecar.split())[:MAX_DESCRIPTION_CHARS]
    return description_from_svg(svg) or description_from_name(source)


def read_captions_csv(
    uri: str, file_column: str = "file", caption_column: str = "caption", storage_options=None
) -> dict[str, str]:
    """Sidecar descriptions keyed by the file column as written (a name, relative path or full URI)."""
    text = storage.read_bytes(uri, storage_options).decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in (file_column, caption_column) if c not in (reader.fieldnames or [])]
    if missing:
        raise UserError(f"{uri}: captions CSV has no column {', '.join(map(repr, missing))}")
    return {row[file_column].strip(): row[caption_column] or "" for row in reader if row[file_column]}


def lookup_caption(captions: Mapping[str, str], source: str, relative: str) -> str | None:
    """The sidecar entry for a file, matched by full URI, path relative to the input, or file name."""
    for key in (source, relative, posixpath.basename(relative)):
        if key in captions:
            return captions[key]
    return None
