"""PNG plots that benchmark scripts write next to their tables (matplotlib, no pyplot state).

    from benchmarks.plots import plot_class_ratios, plot_quality_vs_paths, plot_time_per_icon
    plot_quality_vs_paths({"vtracer": {"paths": [...], "mse": [...]}, "layertracer": {...}}, "out/quality.png")
    plot_time_per_icon({"vtracer": [0.03, ...], "layertracer": [0.12, ...]}, "out/time.png")
    plot_class_ratios({"jpeg": {"mse_ratio": 0.8, "paths_ratio": 0.3, "time_ratio": 1.9}, ...}, "out/ratios.png")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure


def _save(figure: Figure, out_path: str | Path) -> Path:
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120, bbox_inches="tight")
    return path


def plot_quality_vs_paths(
    results: Mapping[str, Mapping[str, Sequence[float]]],
    out_path: str | Path,
    metric: str = "mse",
    title: str = "Reconstruction error vs. SVG paths",
) -> Path:
    """One point per icon and a large marker at each method's medians: the quality/complexity trade-off.

    `results[method]` holds equal-length lists `paths` and `metric` (e.g. `mse`), one entry per icon.
    """
    figure = Figure(figsize=(6.4, 4.4))
    axes = figure.add_subplot()
    for method, values in results.items():
        paths = np.asarray(values["paths"], dtype=float)
        errors = np.asarray(values[metric], dtype=float)
        if paths.shape != errors.shape:
            raise ValueError(f"{method}: {paths.size} path counts but {errors.size} {metric} values")
        points = axes.scatter(paths, errors, s=14, alpha=0.45, label=f"{method} (n={paths.size})")
        axes.scatter(
            [np.median(paths)], [np.median(errors)], s=140, marker="*", color=points.get_facecolor()[0][:3],
            edgecolors="black", linewidths=0.8, zorder=3,
        )
    if metric.lower() == "mse":
        axes.set_yscale("log")
    axes.set_xlabel("paths per icon")
    axes.set_ylabel(metric.upper() if metric.lower() == "mse" else metric)
    axes.set_title(f"{title} (stars: medians)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="best", fontsize="small")
    return _save(figure, out_path)


def plot_time_per_icon(
    times_s: Mapping[str, Sequence[float]],
    out_path: str | Path,
    title: str = "Time per icon",
) -> Path:
    """Box plot of seconds per icon for each method, with the median written right of each box."""
    methods = list(times_s)
    figure = Figure(figsize=(6.4, 0.9 + 0.7 * len(methods)))
    axes = figure.add_subplot()
    data = [np.asarray(times_s[m], dtype=float) for m in methods]
    axes.boxplot(data, orientation="horizontal", tick_labels=methods, showfliers=True, widths=0.5)
    for row, values in enumerate(data, start=1):
        median = float(np.median(values))
        axes.annotate(
            f"median {median * 1000:.0f} ms" if median < 1 else f"median {median:.2f} s",
            (float(values.max()), row), xytext=(8, 0), textcoords="offset points", va="center", fontsize="small",
        )
    axes.margins(x=0.25)
    axes.set_xlabel("seconds per icon")
    axes.set_title(title)
    axes.grid(True, axis="x", alpha=0.3)
    return _save(figure, out_path)


def plot_class_ratios(
    summaries: Mapping[str, Mapping[str, float]],
    out_path: str | Path,
    title: str = "Against plain vtracer, per input class",
) -> Path:
    """Grouped bars of each class's median ratios to the baseline (`mse_ratio`, `paths_ratio`, `time_ratio`),
    on a log scale with the baseline's 1.0 marked: below the line is better."""
    classes = list(summaries)
    keys = {"mse_ratio": "MSE", "paths_ratio": "paths", "time_ratio": "time"}
    figure = Figure(figsize=(max(6.4, 0.8 * len(classes) + 1.5), 4.4))
    axes = figure.add_subplot()
    positions = np.arange(len(classes))
    width = 0.8 / len(keys)
    for k, (key, label) in enumerate(keys.items()):
        values = [summaries[c][key] for c in classes]
        axes.bar(positions + (k - (len(keys) - 1) / 2) * width, values, width, label=label)
    axes.axhline(1.0, color="black", linewidth=0.8)
    axes.set_yscale("log")
    axes.set_xticks(positions, classes, rotation=30, ha="right")
    axes.set_ylabel("layertracer / plain vtracer (median)")
    axes.set_title(title)
    axes.grid(True, axis="y", which="both", alpha=0.3)
    axes.legend(loc="best", fontsize="small")
    return _save(figure, out_path)
