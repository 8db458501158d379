"""The static report: OUT/report/index.html plus its assets, readable from disk or straight from a bucket.

No server and no fetch(): the index rows go into `data.js` and each icon's layer data into `icons/N.js`,
both loaded with <script src>, which file:// pages may do. Every string from the index or an SVG is JSON
data that the page puts into the DOM with textContent/setAttribute, never as markup.
"""

from __future__ import annotations

import datetime as dt
import json
import posixpath
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import quote

import pyarrow as pa
from tqdm import tqdm

from layertracer import storage
from layertracer.errors import UserError
from layertracer.inspect import summarize_index
from layertracer.pipeline.index import read_index
from layertracer.report.layers import icon_layers

ASSETS = ("index.html", "report.css", "report.js")
# Index columns the page shows (svg_uri and grid_uri become relative links instead).
SHOWN_COLUMNS = (
    "id", "manifest", "row", "kind", "source", "status", "error", "extra", "frames", "n_layers", "n_paths",
    "svg_bytes", "seed", "model", "lora", "sample_s", "vectorize_s", "created_at", "version",
)


@dataclass(frozen=True)
class ReportOptions:
    """How the report is written: parallel reads/writes (object stores are latency-bound) and an SVG size cap."""

    workers: int = 8
    max_svg_bytes: int = 16 * 2**20


@dataclass(frozen=True)
class ReportResult:
    index_uri: str
    rows: int
    ok: int
    errors: int
    layer_data_missing: int


def write_report(
    out_uri: str, storage_options: storage.StorageOptions | None = None, options: ReportOptions = ReportOptions()
) -> ReportResult:
    """Write OUT/report/ for the output folder `out_uri` (index.html last, so it only links complete data)."""
    table = read_index(out_uri, storage_options)
    if table.num_rows == 0:
        raise UserError(f"{out_uri}: the index has no rows")
    report_uri = storage.join(out_uri, "report")
    _, out_path = storage.filesystem(out_uri, storage_options)
    entries = [_entry(n, row, out_path, storage_options) for n, row in enumerate(_sorted_rows(table))]
    missing = _write_layer_data(entries, report_uri, storage_options, options)
    summary = summarize_index(table)
    data = {
        "out": out_uri,
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "summary": summary,
        "rows": [{k: v for k, v in e.items() if not k.startswith("_")} for e in entries],
    }
    storage.write_bytes_atomic(
        storage.join(report_uri, "data.js"), _script("window.LAYERTRACER_REPORT = ", data, ";\n"), storage_options
    )
    for name in ASSETS:
        storage.write_bytes_atomic(
            storage.join(report_uri, name),
            resources.files("layertracer.report").joinpath("assets", name).read_bytes(),
            storage_options,
        )
    return ReportResult(
        index_uri=storage.join(report_uri, "index.html"),
        rows=summary["rows"],
        ok=summary["ok"],
        errors=summary["error"],
        layer_data_missing=missing,
    )


def _sorted_rows(table: pa.Table) -> list[dict[str, Any]]:
    return sorted(table.to_pylist(), key=lambda r: (str(r["manifest"]), r["row"] if r["row"] is not None else -1))


def _entry(
    n: int, row: dict[str, Any], out_path: str, storage_options: storage.StorageOptions | None
) -> dict[str, Any]:
    """One index row as the page sees it; keys starting with `_` stay in Python."""
    ok = row["status"] == "ok"
    return {
        "n": n,
        **{k: _plain(row.get(k)) for k in SHOWN_COLUMNS},
        "svg": _href(row.get("svg_uri"), out_path, storage_options) if ok else None,
        "grid": _href(row.get("grid_uri"), out_path, storage_options) if ok else None,
        "layerData": None,
        "_svg_uri": row.get("svg_uri") if ok else None,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def _href(uri: str | None, out_path: str, storage_options: storage.StorageOptions | None) -> str | None:
    """Link from OUT/report/ to a file under OUT (`out_path`: OUT inside its filesystem), relative so the
    report works wherever OUT is opened."""
    if not uri:
        return None
    _, path = storage.filesystem(uri, storage_options)
    prefix = out_path.rstrip("/") + "/"
    if not path.startswith(prefix):
        return None
    relative = posixpath.normpath(path[len(prefix):])
    if relative.startswith(".."):
        return None
    return "../" + "/".join(quote(part) for part in relative.split("/"))


def _write_layer_data(
    entries: list[dict[str, Any]],
    report_uri: str,
    storage_options: storage.StorageOptions | None,
    options: ReportOptions,
) -> int:
    """icons/N.js for every ok row; a row whose SVG cannot be read keeps a message instead. Returns that count."""
    todo = [e for e in entries if e["_svg_uri"]]

    def write_one(entry: dict[str, Any]) -> str | None:
        try:
            svg = storage.read_bytes(entry["_svg_uri"], storage_options, max_bytes=options.max_svg_bytes)
            layers = icon_layers(svg)
        except UserError as exc:
            return str(exc)
        name = f"icons/{entry['n']}.js"
        payload = _script(f"window.layertracerIconLoaded({entry['n']}, ", layers.to_json(), ");\n")
        storage.write_bytes_atomic(storage.join(report_uri, *name.split("/")), payload, storage_options)
        entry["layerData"] = name
        return None

    missing = 0
    with ThreadPoolExecutor(max_workers=options.workers) as pool:
        results = pool.map(write_one, todo)
        for entry, problem in tqdm(zip(todo, results), total=len(todo), desc="report", unit="icon"):
            if problem is not None:
                entry["layerDataError"] = problem
                missing += 1
    return missing


def _script(before: str, value: Any, after: str) -> bytes:
    """JSON as a JS expression, with <, > and & escaped so no string can close or open a tag."""
    text = json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"{before}{text}{after}".encode("ascii")
