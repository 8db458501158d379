"""The static report: OUT/report/index.html plus its assets, readable from disk or straight from a bucket.

No server and no fetch(): everything the page reads is a script it adds with <script src>, which file://
pages may do. `data.js` holds what the first paint needs (the summary, each row's status and kind run-length
encoded, the search blocks' first words); rows come in shards `rows/S.js` of `shard_rows` rows, an icon's
layer data in `layers/G.js` (groups of `layer_group_rows` rows) and the search index in `search/B.js`, each
loaded when a page needs it. The index is streamed part by part (`report.rows`), so writing the report of a
million-row index holds key columns and one shard, not a million rows. Every string from the index or an
SVG is JSON data that the page puts into the DOM with textContent/setAttribute, never as markup.
"""

from __future__ import annotations

import datetime as dt
import json
import posixpath
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import quote

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from layertracer import layout, storage
from layertracer.errors import UserError
from layertracer.inspect import SUMMARY_COLUMNS, summarize_index
from layertracer.report.layers import icon_layers
from layertracer.report.rows import iter_shards, row_order
from layertracer.report.search import SearchIndexWriter

ASSETS = ("index.html", "report.css", "report.js")
# Index columns the page shows (svg_uri and grid_uri become relative links instead).
SHOWN_COLUMNS = (
    "id", "manifest", "row", "kind", "source", "status", "error", "extra", "frames", "n_layers", "n_paths",
    "svg_bytes", "seed", "model", "lora", "sample_s", "vectorize_s", "created_at", "version",
)
READ_COLUMNS = list(dict.fromkeys([*SHOWN_COLUMNS, "svg_uri", "grid_uri", *SUMMARY_COLUMNS]))


@dataclass(frozen=True)
class ReportOptions:
    """How the report is written: parallel reads/writes (object stores are latency-bound), an SVG size cap,
    and the sizes of its data files (rows per shard, rows per layer-data group, bytes per search block)."""

    workers: int = 8
    max_svg_bytes: int = 16 * 2**20
    shard_rows: int = 1000
    layer_group_rows: int = 100
    search_block_bytes: int = 256 * 1024

    def __post_init__(self) -> None:
        if self.shard_rows < 1 or self.layer_group_rows < 1 or self.shard_rows % self.layer_group_rows:
            raise UserError(f"shard rows ({self.shard_rows}) must be a positive multiple of the layer group rows "
                            f"({self.layer_group_rows})")


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
    order = row_order(out_uri, storage_options)
    if order.rows == 0:
        raise UserError(f"{out_uri}: the index has no rows")
    report_uri = layout.report_uri(out_uri)
    links = OutLinks(out_uri, storage.filesystem(out_uri, storage_options)[1], storage_options)
    search = SearchIndexWriter(options.search_block_bytes)
    summary_tables = []
    missing = 0
    shards = iter_shards(out_uri, storage_options, order, READ_COLUMNS, options.shard_rows)
    total = -(-order.rows // options.shard_rows)
    with ThreadPoolExecutor(max_workers=options.workers) as pool:
        for shard, table in tqdm(shards, total=total, desc="report", unit="shard"):
            entries = [_entry(row, links) for row in table.to_pylist()]
            missing += _write_layer_data(entries, report_uri, storage_options, options, pool)
            rows = [{k: v for k, v in e.items() if v is not None and not k.startswith("_")} for e in entries]
            _write_script(report_uri, f"rows/{shard}.js", f"window.layertracerRows({shard}, ", rows, storage_options)
            search.add(table.select(["id", "source", "n"]))
            summary_tables.append(table.select([*SUMMARY_COLUMNS, "n"]))
        first_words = search.finish(
            lambda block, text: storage.write_bytes_atomic(
                storage.join(report_uri, "search", f"{block}.js"),
                f"window.layertracerSearch({block}, {text});\n".encode("ascii"), storage_options,
            )
        )
    everything = pa.concat_tables(summary_tables)
    summary = summarize_index(everything)
    data = {
        "out": out_uri,
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "summary": summary,
        "rows": order.rows,
        "shardRows": options.shard_rows,
        "layerGroupRows": options.layer_group_rows,
        "facets": _facets(everything, order.rows),
        "searchBlocks": first_words,
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


def _facets(table: pa.Table, rows: int) -> dict[str, Any]:
    """Each position's (status, kind) as run-length-encoded codes: the page filters and pages a million rows
    with it before loading any shard. A position with no row (its part became unreadable) has the code of
    (null, null)."""
    pairs = pc.binary_join_element_wise(pc.fill_null(table["status"], ""), pc.fill_null(table["kind"], ""), "\t")
    encoded = pc.dictionary_encode(pairs).combine_chunks()
    combos = [value.split("\t") for value in encoded.dictionary.to_pylist()] + [["", ""]]
    codes = np.full(rows, len(combos) - 1, np.int64)
    codes[table["n"].to_numpy()] = encoded.indices.to_numpy()
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if rows else np.array([], np.int64)
    lengths = np.diff(np.r_[starts, rows])
    return {
        "combos": [[status or None, kind or None] for status, kind in combos],
        "runs": np.column_stack([codes[starts], lengths]).ravel().tolist(),
    }


def _entry(row: dict[str, Any], links: OutLinks) -> dict[str, Any]:
    """One index row as the page sees it; keys starting with `_` stay in Python, None values are left out."""
    ok = row["status"] == "ok"
    return {
        "n": row["n"],
        **{k: _plain(row.get(k)) for k in SHOWN_COLUMNS},
        "svg": links.href(row.get("svg_uri")) if ok else None,
        "grid": links.href(row.get("grid_uri")) if ok else None,
        "_svg_uri": row.get("svg_uri") if ok else None,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class OutLinks:
    """Links from OUT/report/ to files under OUT, relative so the report works wherever OUT is opened."""

    out_uri: str
    out_path: str  # OUT inside its filesystem
    storage_options: storage.StorageOptions | None

    def href(self, uri: str | None) -> str | None:
        if not uri:
            return None
        if uri.startswith(self.out_uri.rstrip("/") + "/"):  # as the job wrote it: no filesystem lookup per row
            relative = uri[len(self.out_uri.rstrip("/")) + 1:]
        else:
            path = storage.filesystem(uri, self.storage_options)[1]
            prefix = self.out_path.rstrip("/") + "/"
            if not path.startswith(prefix):
                return None
            relative = path[len(prefix):]
        relative = posixpath.normpath(relative)
        if relative.startswith(".."):
            return None
        return "../" + "/".join(quote(part) for part in relative.split("/"))


def _write_layer_data(
    entries: list[dict[str, Any]],
    report_uri: str,
    storage_options: storage.StorageOptions | None,
    options: ReportOptions,
    pool: Executor,
) -> int:
    """layers/G.js for each group of `layer_group_rows` rows with ok rows; an ok row whose SVG cannot be read
    gets a `layerDataError` message instead of `layers`. Returns how many such rows there are."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for entry in entries:
        if entry["_svg_uri"]:
            groups.setdefault(entry["n"] // options.layer_group_rows, []).append(entry)

    def layer_data(entry: dict[str, Any]) -> dict[str, Any] | str:
        try:
            svg = storage.read_bytes(entry["_svg_uri"], storage_options, max_bytes=options.max_svg_bytes)
            return icon_layers(svg).to_json()
        except UserError as exc:
            return str(exc)

    def write_group(group: int) -> None:
        loaded = {}
        for entry, data in zip(groups[group], map(layer_data, groups[group])):
            if isinstance(data, str):
                entry["layerDataError"] = data
            else:
                loaded[str(entry["n"])] = data
                entry["layers"] = True
        if loaded:
            _write_script(report_uri, f"layers/{group}.js", f"window.layertracerLayers({group}, ", loaded,
                          storage_options)

    list(pool.map(write_group, groups))
    return sum("layerDataError" in entry for entry in entries)


def _write_script(
    report_uri: str, name: str, before: str, value: Any, storage_options: storage.StorageOptions | None
) -> None:
    """report/`name`: a script that hands `value` to the page's loader function (`before` names the call)."""
    storage.write_bytes_atomic(storage.join(report_uri, *name.split("/")), _script(before, value, ");\n"),
                               storage_options)


def _script(before: str, value: Any, after: str) -> bytes:
    """JSON as a JS expression, with <, > and & escaped so no string can close or open a tag."""
    text = json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"{before}{text}{after}".encode("ascii")
