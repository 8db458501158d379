"""Summary figures of an output index: what `layertracer inspect` prints and the report's header shows.

Figures are computed from `pipeline.index.read_index` (the latest row per (manifest, row)), so a resumed job
counts each input once.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from layertracer.pipeline.settings import changes, settings_id

TOP_ERRORS = 10


SUMMARY_COLUMNS = ["status", "kind", "error", "n_layers", "n_paths", "svg_bytes", "sample_s", "vectorize_s",
                   "created_at"]


def summarize_index(table: pa.Table) -> dict[str, Any]:
    """Counts, error messages, layer/path distributions and throughput of one index, as plain JSON values.

    Columnar (pyarrow compute), so a million-row index costs its columns, not a million dicts. With the
    `settings` column, also the job settings present (`summarize_settings`)."""
    is_ok = pc.fill_null(pc.equal(table["status"], "ok"), False)
    ok, errors = table.filter(is_ok), table.filter(pc.invert(is_ok))
    by_kind: dict[str, dict[str, int]] = {}
    for part, name in ((ok, "ok"), (errors, "error")):
        for entry in pc.value_counts(pc.cast(part["kind"], pa.string())).to_pylist():
            by_kind.setdefault(str(entry["values"]), {"ok": 0, "error": 0})[name] += entry["counts"]
    messages = pc.value_counts(pc.fill_null(errors["error"], "None")).to_pylist()
    messages.sort(key=lambda e: -e["counts"])  # stable: ties keep their first-seen order, as Counter does
    summary = {
        "rows": table.num_rows,
        "ok": ok.num_rows,
        "error": errors.num_rows,
        "by_kind": dict(sorted(by_kind.items())),
        "top_errors": [{"message": e["values"], "count": e["counts"]} for e in messages[:TOP_ERRORS]],
        "layers_histogram": _histogram(ok["n_layers"]),
        "layers": _distribution(ok["n_layers"]),
        "paths": _distribution(ok["n_paths"]),
        "svg_bytes": _distribution(ok["svg_bytes"]),
        "sample_s": _distribution(ok["sample_s"]),
        "vectorize_s": _distribution(ok["vectorize_s"]),
        "throughput": _throughput(ok["created_at"]),
    }
    if "settings" in table.column_names:
        summary["settings"] = summarize_settings(table)
    return summary


def _values(column: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.drop_null(column).to_numpy(), dtype=np.float64)


def _distribution(column: pa.ChunkedArray) -> dict[str, float | int] | None:
    """min / median / mean / p90 / max / total over the non-null values; None when there are none."""
    array = _values(column)
    if array.size == 0:
        return None
    return {
        "count": int(array.size),
        "min": float(array.min()),
        "median": float(np.median(array)),
        "mean": float(array.mean()),
        "p90": float(np.percentile(array, 90)),
        "max": float(array.max()),
        "total": float(array.sum()),
    }


def _histogram(column: pa.ChunkedArray) -> dict[str, int]:
    counts = {int(e["values"]): e["counts"] for e in pc.value_counts(pc.drop_null(column)).to_pylist()}
    return {str(k): counts[k] for k in sorted(counts)}


def _throughput(created_at: pa.ChunkedArray) -> dict[str, Any] | None:
    """Icons per second over the span of `created_at` (first to last ok row written)."""
    stamps = pc.drop_null(created_at)
    if len(stamps) == 0:
        return None
    first, last = pc.min(stamps).as_py(), pc.max(stamps).as_py()
    span_s = (last - first).total_seconds()
    return {
        "first_created_at": first.isoformat(),
        "last_created_at": last.isoformat(),
        "span_s": span_s,
        "icons_per_s": len(stamps) / span_s if span_s > 0 else None,
    }


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as aligned terminal text."""
    lines = [f"rows {summary['rows']}: ok {summary['ok']}, error {summary['error']}"]
    for kind, counts in summary["by_kind"].items():
        lines.append(f"  {kind:<8} ok {counts['ok']:>7}  error {counts['error']:>7}")
    if summary["top_errors"]:
        lines.append("top errors:")
        lines += [f"  {e['count']:>7}  {_one_line(e['message'])}" for e in summary["top_errors"]]
    if summary["layers_histogram"]:
        lines.append("layers per icon:")
        peak = max(summary["layers_histogram"].values())
        for layers, count in summary["layers_histogram"].items():
            lines.append(f"  {layers:>3}  {count:>7}  {'#' * max(1, round(30 * count / peak))}")
    for name, unit in (("paths", ""), ("svg_bytes", " B"), ("sample_s", " s"), ("vectorize_s", " s")):
        dist = summary[name]
        if dist is not None:
            lines.append(
                f"{name:<12} median {dist['median']:.4g}{unit}  mean {dist['mean']:.4g}{unit}  "
                f"p90 {dist['p90']:.4g}{unit}  min {dist['min']:.4g}  max {dist['max']:.4g}  (n={dist['count']})"
            )
    throughput = summary["throughput"]
    if throughput is not None:
        rate = throughput["icons_per_s"]
        rate_text = f"{rate:.3g} icons/s" if rate is not None else "n/a (one timestamp)"
        lines.append(
            f"throughput   {rate_text} over {throughput['span_s']:.1f} s "
            f"({throughput['first_created_at']} .. {throughput['last_created_at']})"
        )
    if summary.get("settings"):
        lines.append("settings (a row's fingerprint adds its own frames, seed, steps, guidance, preset):")
        for entry in summary["settings"]:
            differs = "; ".join(entry["differs"]) or "(most rows)"
            lines.append(f"  {entry['id']:<16}  {entry['rows']:>7} rows  {entry['fingerprints']:>7} fingerprints  "
                         f"{_one_line(differs)}")
    return "\n".join(lines)


def summarize_settings(table: pa.Table) -> list[dict[str, Any]]:
    """The job settings present (id, rows, distinct row fingerprints, the settings, what differs from the most
    common set), most rows first: an archive made with two settings says so."""
    counts = pc.value_counts(table["settings"]).to_pylist()
    counts.sort(key=lambda e: -e["counts"])
    common = counts[0]["values"] if counts else None
    summary = []
    for entry in counts:
        settings = entry["values"]
        mask = pc.is_null(table["settings"]) if settings is None else pc.equal(table["settings"], settings)
        fingerprints = pc.count_distinct(table.filter(pc.fill_null(mask, False))["fingerprint"]).as_py()
        summary.append({
            "id": settings_id(settings), "rows": entry["counts"], "fingerprints": fingerprints,
            "settings": None if settings is None else json.loads(settings),
            "differs": [] if settings == common or common is None else changes(common, settings),
        })
    return summary


def _one_line(message: str, limit: int = 160) -> str:
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
