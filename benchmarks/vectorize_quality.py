"""Layer-wise vectorization against plain vtracer on the designers' creation frames, in one run.

For every icon of `bench/frames/dev/f4` and `f9`: our layered SVG from the frames vs plain vtracer (paper
settings) on `final.png` — full-render MSE at cell size on white, paths, layers, time; the designer's
own element count; and per step K, our layers 1..K vs frame K against plain vtracer traced on frame K.

    .venv/bin/python -m benchmarks.vectorize_quality [--bench ../shared/bench] [--limit N] [--plots DIR] [--upscale K]
        [--workers N]

Time is measured twice: in one process (the CPU cost, what a batch job pays per icon) and with the steps on
N processes (`TraceOptions(workers=N)`: this one and N-1 helpers, default: all cores; the latency of one icon
on idle cores).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from benchmarks.common import (
    DEFAULT_BENCH,
    BenchIcon,
    best_time,
    count_fill_runs,
    load_icons,
    mean,
    median,
    plain_vtracer,
    plain_vtracer_png,
)
from benchmarks.plots import plot_quality_vs_paths, plot_time_per_icon
from layertracer.metrics import count_drawn_layers, count_paths, layer_renders, mse, render_svg
from layertracer.vectorize import TraceOptions, vectorize_frames

TARGETS = "targets: MSE <= 0.7x vtracer, paths <= 1.2x vtracer and <= 1.5x designer, steps <= vtracer, time <= 2x"


def measure(icon: BenchIcon, options: TraceOptions, workers: int) -> dict:
    height, width = icon.final.shape[:2]
    # Ours from the frames in memory (as the batch job has them from the model); vtracer from final.png's
    # bytes, as it is run on a file, and from the same pixels we get (PNG-encoded first, as vtracer takes
    # bytes: PIL's default level). Each is timed as the best of 3 runs.
    ours, ours_s = best_time(lambda: vectorize_frames(icon.frames, options))
    parallel, parallel_s = best_time(lambda: vectorize_frames(icon.frames, replace(options, workers=workers)))
    assert parallel.svg == ours.svg, f"{icon.name}: helper processes changed the SVG"
    plain, plain_s = best_time(lambda: plain_vtracer_png(icon.final_png))
    plain_pixels_s = best_time(lambda: plain_vtracer(icon.final))[1]
    steps = layer_renders(ours.svg, width, height)
    return {
        "ours_mse": mse(render_svg(ours.svg, width, height), icon.final),
        "plain_mse": mse(render_svg(plain, width, height), icon.final),
        "ours_paths": ours.n_paths,
        "plain_paths": count_paths(plain),
        "plain_runs": count_fill_runs(plain),
        "designer": icon.n_elements,
        "layers": count_drawn_layers(ours.svg),
        "ours_s": ours_s,
        "parallel_s": parallel_s,
        "plain_s": plain_s,
        "plain_pixels_s": plain_pixels_s,
        "step_ours": [mse(render, frame) for render, frame in zip(steps, icon.frames)],
        "step_plain": [mse(render_svg(plain_vtracer(f), width, height), f) for f in icon.frames],
    }


def report(frames: int, rows: list[dict], workers: int) -> list[str]:
    col = lambda key: [r[key] for r in rows]  # noqa: E731
    ours_mse, plain_mse = median(col("ours_mse")), median(col("plain_mse"))
    ours_paths, plain_paths, designer = median(col("ours_paths")), median(col("plain_paths")), median(col("designer"))
    ours_s, plain_s = median(col("ours_s")), median(col("plain_s"))
    lines = [
        f"### {frames} frames ({len(rows)} icons)",
        "| measure | layertracer | plain vtracer | ratio |",
        "|---|---|---|---|",
        f"| median MSE | {ours_mse:.2e} | {plain_mse:.2e} | {ours_mse / plain_mse:.2f} |",
        f"| mean MSE | {mean(col('ours_mse')):.2e} | {mean(col('plain_mse')):.2e} | "
        f"{mean(col('ours_mse')) / mean(col('plain_mse')):.2f} |",
        f"| median paths | {ours_paths:.1f} | {plain_paths:.1f} | {ours_paths / plain_paths:.2f} |",
        f"| median paths vs vtracer's with same-fill runs merged | {ours_paths:.1f} | "
        f"{median(col('plain_runs')):.1f} | {ours_paths / median(col('plain_runs')):.2f} |",
        f"| median paths vs designer's elements ({designer:.1f}) | {ours_paths:.1f} | | {ours_paths / designer:.2f} |",
        f"| median layers drawn | {median(col('layers')):.1f} | 1 | |",
        f"| median time per icon (vtracer on the file) | {ours_s * 1000:.0f} ms | {plain_s * 1000:.0f} ms | "
        f"{ours_s / plain_s:.2f} |",
        f"| median time per icon (vtracer on the same pixels) | {ours_s * 1000:.0f} ms | "
        f"{median(col('plain_pixels_s')) * 1000:.0f} ms | {ours_s / median(col('plain_pixels_s')):.2f} |",
        f"| median time per icon, steps on {workers} processes (vtracer on the file) | "
        f"{median(col('parallel_s')) * 1000:.0f} ms | {plain_s * 1000:.0f} ms | "
        f"{median(col('parallel_s')) / plain_s:.2f} |",
    ]
    for k in range(frames):
        ours_k = median([r["step_ours"][k] for r in rows])
        plain_k = median([r["step_plain"][k] for r in rows])
        lines.append(f"| step {k + 1}: layers 1..{k + 1} vs frame {k + 1} (median MSE) | {ours_k:.2e} | "
                     f"{plain_k:.2e} | {ours_k / plain_k:.2f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--limit", type=int, default=None, help="first N icons per set (quick runs)")
    parser.add_argument("--plots", type=Path, default=Path("out/benchmarks"), help="where PNG plots go")
    parser.add_argument("--upscale", type=int, default=TraceOptions().upscale, help="tracing resolution multiple")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes for the second timing, this one included (default: all cores)")
    args = parser.parse_args()
    options = TraceOptions().with_upscale(args.upscale)
    print(f"layer-wise vectorization vs plain vtracer, {TARGETS}")
    for frames in (4, 9):
        icons = tqdm(load_icons(args.bench, frames, args.limit), desc=f"f{frames}")
        rows = [measure(icon, options, args.workers) for icon in icons]
        print("\n".join(report(frames, rows, args.workers)))
        plot_quality_vs_paths(
            {"layertracer": {"paths": [r["ours_paths"] for r in rows], "mse": [r["ours_mse"] for r in rows]},
             "plain vtracer": {"paths": [r["plain_paths"] for r in rows], "mse": [r["plain_mse"] for r in rows]}},
            args.plots / f"vectorize_quality_f{frames}.png",
        )
        plot_time_per_icon(
            {"layertracer": [r["ours_s"] for r in rows],
             f"layertracer, {args.workers} processes": [r["parallel_s"] for r in rows],
             "plain vtracer": [r["plain_s"] for r in rows]},
            args.plots / f"vectorize_time_f{frames}.png",
        )
    print(f"plots in {args.plots}/")


if __name__ == "__main__":
    main()
