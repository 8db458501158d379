"""Model-free image -> layered SVG against plain vtracer, on the dev icons, measured in the same run.

For every icon's 512 px render (`frames/dev/f4/NAME/final.png`): full-render MSE, path count, drawn layers and
wall time of (a) plain vtracer with the LayerTracer paper's settings and (b) `decompose_image` + the layer-wise
vectorizer. Order agreement: Spearman correlation, over the icon's pixels, between the step at which a pixel
reaches its final colour in the designer's frames (f4 and f9) and in ours.

    .venv/bin/python -m benchmarks.image_quality [--bench ../shared/bench] [--limit N] [--upscale 1 2] [--workers N]

Each upscale is also timed with the vectorizer's steps on N processes (this one and N-1 helpers; default: all
cores). The default for these 512 px images is 1x (`TraceOptions.upscale_for`).
"""

from __future__ import annotations

import argparse
import os
import statistics
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from tqdm import tqdm

from benchmarks.common import DEFAULT_BENCH, best_time, count_fill_runs, plain_vtracer_png
from benchmarks.plots import plot_quality_vs_paths, plot_time_per_icon
from layertracer.decompose import DecomposeOptions, decompose_image
from layertracer.images import decode_image
from layertracer.metrics import count_drawn_layers, count_paths, mse, render_svg
from layertracer.vectorize import TraceOptions, vectorize_frames

REACH_TOLERANCE = 16  # max channel difference at which a pixel counts as showing its final colour


def reach_steps(frames: list[np.ndarray]) -> np.ndarray:
    """Per pixel, the first frame from which it stays at its final colour."""
    final = frames[-1].astype(np.int16)
    steps = np.zeros(final.shape[:2], np.int64)
    for k, frame in enumerate(frames[:-1]):
        off = np.abs(frame[..., :3].astype(np.int16) - final[..., :3]).max(axis=-1) > REACH_TOLERANCE
        steps[off] = k + 1
    return steps


def order_agreement(truth: list[np.ndarray], ours: list[np.ndarray]) -> float:
    """Spearman correlation of reach steps over the icon's (non-white) pixels; 0 when either is constant."""
    icon = np.abs(truth[-1][..., :3].astype(np.int16) - 255).max(axis=-1) > REACH_TOLERANCE
    a, b = reach_steps(truth)[icon], reach_steps(ours)[icon]
    if a.min() == a.max() or b.min() == b.max():
        return 0.0
    return float(spearmanr(a, b).statistic)


def load(path: Path) -> np.ndarray:
    return decode_image(path.read_bytes(), name=str(path))


def layered(data: bytes, trace: TraceOptions) -> str:
    """Ours from the PNG's bytes, as `layertracer vectorize` runs: decode, decompose, vectorize."""
    frames = decompose_image(decode_image(data), 4, DecomposeOptions())
    return vectorize_frames(frames, trace.for_exact_frames()).svg


def measure_icon(icon_dir: Path, upscales: list[int], workers: int) -> dict[str, float]:
    # Both sides start from final.png's bytes; each is timed as the best of 3 runs.
    data = (icon_dir / "final.png").read_bytes()
    image = decode_image(data)
    height, width = image.shape[:2]
    row: dict[str, float] = {}
    svg, seconds = best_time(lambda: plain_vtracer_png(data))
    row.update(vt_mse=mse(render_svg(svg, width, height), image), vt_paths=count_paths(svg), vt_s=seconds,
               vt_runs=count_fill_runs(svg))
    row["decompose_s"] = best_time(lambda: decompose_image(image, 4, DecomposeOptions()))[1]
    for up in upscales:
        trace = TraceOptions().with_upscale(up)
        svg, seconds = best_time(partial(layered, data, trace))
        parallel, parallel_s = best_time(partial(layered, data, replace(trace, workers=workers)))
        assert parallel == svg, f"{icon_dir.name}: helper processes changed the SVG"
        row.update({
            f"up{up}_mse": mse(render_svg(svg, width, height), image), f"up{up}_paths": count_paths(svg),
            f"up{up}_layers": count_drawn_layers(svg), f"up{up}_s": seconds, f"up{up}_parallel_s": parallel_s,
        })
    for frames in (4, 9):
        truth_dir = icon_dir.parent.parent / f"f{frames}" / icon_dir.name
        truth = [load(p) for p in sorted(truth_dir.glob("frame_*.png"))]
        row[f"order_f{frames}"] = order_agreement(truth, decompose_image(truth[-1], frames))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--upscale", type=int, nargs="+", default=[1, 2], help="vectorizer upscales to compare")
    parser.add_argument("--plots", type=Path, default=Path("out/benchmarks"), help="where PNG plots go")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes for the parallel timing, this one included (default: all cores)")
    args = parser.parse_args()
    icons = sorted((args.bench / "frames" / "dev" / "f4").iterdir())[: args.limit]
    rows = [measure_icon(d, args.upscale, args.workers) for d in tqdm(icons, desc="icons")]
    med = {key: statistics.median(r[key] for r in rows) for key in rows[0]}

    print(f"\n{len(rows)} dev icons, 512 px, 4 frames (medians; ratios against plain vtracer in this run)\n")
    print("| method | MSE | paths | layers | time/icon | MSE ratio | paths ratio | time ratio |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| plain vtracer (paper settings) | {med['vt_mse']:.2e} | {med['vt_paths']:.1f} | 1 | "
          f"{med['vt_s'] * 1000:.0f} ms | 1.00 | 1.00 | 1.00 |")
    for up in args.upscale:
        default = " (default)" if up == TraceOptions().for_exact_frames().upscale_for(512, 512) else ""
        print(f"| decompose + vectorize (upscale {up}{default}) | {med[f'up{up}_mse']:.2e} | "
              f"{med[f'up{up}_paths']:.1f} | {med[f'up{up}_layers']:.0f} | {med[f'up{up}_s'] * 1000:.0f} ms | "
              f"{med[f'up{up}_mse'] / med['vt_mse']:.2f} | {med[f'up{up}_paths'] / med['vt_paths']:.2f} | "
              f"{med[f'up{up}_s'] / med['vt_s']:.2f} |")
        print(f"| the same, steps on {args.workers} processes | | | | {med[f'up{up}_parallel_s'] * 1000:.0f} ms "
              f"| | | {med[f'up{up}_parallel_s'] / med['vt_s']:.2f} |")
    print(f"\nplain vtracer's paths with consecutive same-fill paths merged (as in our output): "
          f"{med['vt_runs']:.1f}; ours / that: " + ", ".join(
              f"{med[f'up{up}_paths'] / med['vt_runs']:.2f} (upscale {up})" for up in args.upscale))
    print(f"decompose alone: {med['decompose_s'] * 1000:.0f} ms/icon "
          f"({med['decompose_s'] / med['vt_s']:.2f} x plain vtracer)")
    print(f"order agreement (Spearman, median over icons): f4 {med['order_f4']:.2f}, f9 {med['order_f9']:.2f}; "
          f"mean f4 {statistics.mean(r['order_f4'] for r in rows):.2f}, "
          f"f9 {statistics.mean(r['order_f9'] for r in rows):.2f}")

    methods = {"plain vtracer": "vt"} | {f"decompose+vectorize x{up}": f"up{up}" for up in args.upscale}
    plot_quality_vs_paths(
        {name: {"paths": [r[f"{key}_paths"] for r in rows], "mse": [r[f"{key}_mse"] for r in rows]}
         for name, key in methods.items()},
        args.plots / "image_quality.png",
    )
    plot_time_per_icon({name: [r[f"{key}_s"] for r in rows] for name, key in methods.items()},
                       args.plots / "image_time.png")
    print(f"plots in {args.plots}/")


if __name__ == "__main__":
    main()
