"""Summary figures of an output index: what `layertracer inspect` prints and the report's header shows.

Figures are computed from `pipeline.index.read_index` (the latest row per (manifest, row)), so a resumed job
counts each input once.
"""

from __future__ import annotations

import collections
from typing import Any

import numpy as np
import pyarrow as pa

TOP_ERRORS = 10


def summarize_index(table: pa.Table) -> dict[str, Any]:
    """Counts, error messages, layer/path distributions and throughput of one index, as plain JSON values."""
    rows = table.to_pylist()
    ok = [r for r in rows if r["status"] == "ok"]
    errors = [r for r in rows if r["status"] != "ok"]
    by_kind: dict[str, dict[str, int]] = {}
    for r in rows:
        counts = by_kind.setdefault(str(r["kind"]), {"ok": 0, "error": 0})
        counts["ok" if r["status"] == "ok" else "error"] += 1
    messages = collections.Counter(str(r["error"]) for r in errors)
    return {
        "rows": len(rows),
        "ok": len(ok),
        "error": len(errors),
        "by_kind": dict(sorted(by_kind.items())),
        "top_errors": [{"message": m, "count": c} for m, c in messages.most_common(TOP_ERRORS)],
        "layers_histogram": _histogram([r["n_layers"] for r in ok]),
        "layers": _distribution([r["n_layers"] for r in ok]),
        "paths": _distribution([r["n_paths"] for r in ok]),
        "svg_bytes": _distribution([r["svg_bytes"] for r in ok]),
        "sample_s": _distribution([r["sample_s"] for r in ok]),
        "vectorize_s": _distribution([r["vectorize_s"] for r in ok]),
        "throughput": _throughput(ok),
    }


def _values(values: list[Any]) -> np.ndarray:
    return np.asarray([v for v in values if v is not None], dtype=np.float64)


def _distribution(values: list[Any]) -> dict[str, float | int] | None:
    """min / median / mean / p90 / max / total over the non-null values; None when there are none."""
    array = _values(values)
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


def _histogram(values: list[Any]) -> dict[str, int]:
    counts = collections.Counter(int(v) for v in values if v is not None)
    return {str(k): counts[k] for k in sorted(counts)}


def _throughput(ok: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Icons per second over the span of `created_at` (first to last ok row written)."""
    stamps = sorted(r["created_at"] for r in ok if r["created_at"] is not None)
    if not stamps:
        return None
    span_s = (stamps[-1] - stamps[0]).total_seconds()
    return {
        "first_created_at": stamps[0].isoformat(),
        "last_created_at": stamps[-1].isoformat(),
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
    return "\n".join(lines)


def _one_line(message: str, limit: int = 160) -> str:
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
