"""Scaling of the Ray Data job on this machine, against a baseline measured in the same run.

Rows/s of `layertracer run` (grid rows from ../shared/bench/frames/dev, cycled) with 1 and 2 CPU actors, and of a
plain sequential loop over the same per-row function (read grid -> vectorize -> write SVG + grid). Then the
driver's peak RSS of `layertracer run` (its own process, its own local Ray) at --rss-rows row counts.
Job times include actor start-up and the index write, not the local Ray start (reported apart).

    .venv/bin/python benchmarks/pipeline_scaling.py [--rows 500] [--rss-rows 500 5000] [--bench DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RSS_SCRIPT = """
import resource, sys
from layertracer.cli import main
code = main(sys.argv[1:])
print("peak_rss_kib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
raise SystemExit(code)
"""


def build_manifest(bench: Path, rows: int, path: Path) -> Path:
    """`rows` grid rows cycling over the dev set's 4- and 9-frame grids, each with its own id."""
    grids = sorted((bench / "frames" / "dev").glob("f*/*/grid.png"))
    if not grids:
        raise SystemExit(f"no grids under {bench}/frames/dev")
    with open(path, "w") as fh:
        for i in range(rows):
            grid = grids[i % len(grids)]
            frames = 4 if grid.parts[-3] == "f4" else 9
            fh.write(json.dumps({"id": f"b{i:05d}", "kind": "grid", "image": str(grid), "frames": frames}) + "\n")
    return path


def sequential(manifest: Path, out: str) -> float:
    """The baseline: the manifest rows through the Vectorize stage's per-row function, one after another."""
    from layertracer.pipeline.frames import InputOptions
    from layertracer.pipeline.manifest import ManifestOptions, ManifestSource, manifest_rows
    from layertracer.pipeline.stages import VectorizeOptions, vectorize_row

    options = VectorizeOptions(out, InputOptions())
    started = time.perf_counter()
    for row in manifest_rows([ManifestSource(str(manifest), "jsonl")], ManifestOptions()):
        assert vectorize_row(row, options)["status"] == "ok"
    return time.perf_counter() - started


def ray_job(manifest: Path, out: str, actors: int) -> tuple[float, float]:
    """(job seconds, steady rows/s): the steady rate runs from the first finished row to the last, so it leaves
    out the fixed start (worker processes, actors) and end (last index part) costs."""
    from layertracer.pipeline.index import read_index
    from layertracer.pipeline.run import RunOptions, run_job

    summary = run_job(RunOptions(manifests=(str(manifest),), out_uri=out, cpu_actors=actors, progress=False))
    assert summary.error == 0, summary
    done = read_index(out)["created_at"].to_pylist()
    return summary.seconds, (len(done) - 1) / (max(done) - min(done)).total_seconds()


def driver_peak_rss_mib(manifest: Path, out: str) -> float:
    """Peak RSS of the `layertracer run` process itself (the driver), with its own local Ray and 2 actors."""
    argv = ["run", str(manifest), "--out", out, "--cpu-actors", "2", "--no-progress"]
    done = subprocess.run([sys.executable, "-c", RSS_SCRIPT, *argv], capture_output=True, text=True, check=True)
    return int(done.stdout.split("peak_rss_kib")[1].split()[0]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--rss-rows", type=int, nargs="*", default=[500, 5000])
    parser.add_argument("--bench", type=Path, default=REPO.parent / "shared" / "bench")
    args = parser.parse_args()
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # loopback only (set before Ray starts)
    import ray

    work = Path(tempfile.mkdtemp(prefix="lt-bench-"))
    try:
        manifest = build_manifest(args.bench, args.rows, work / "rows.jsonl")
        print(f"{args.rows} grid rows from {args.bench}/frames/dev; {os.cpu_count()} CPUs; "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)
        seq_s = sequential(manifest, str(work / "seq"))
        started = time.perf_counter()
        ray.init(address="local", num_cpus=2, include_dashboard=False)
        init_s = time.perf_counter() - started
        jobs = {n: ray_job(manifest, str(work / f"ray{n}"), n) for n in (1, 2)}
        ray.shutdown()

        seq_rate = args.rows / seq_s
        print("\n| run | seconds | rows/s | vs sequential | steady rows/s | steady vs sequential | target |")
        print("|---|---|---|---|---|---|---|")
        print(f"| sequential loop (same per-row function) | {seq_s:.1f} | {seq_rate:.2f} | 1.00x | | | |")
        for n, (seconds, steady) in jobs.items():
            rate = args.rows / seconds
            name = f"Ray job, {n} CPU actor{'s' * (n > 1)}"
            print(f"| {name} | {seconds:.1f} | {rate:.2f} | {rate / seq_rate:.2f}x | {steady:.2f} | "
                  f"{steady / seq_rate:.2f}x | >= {0.85 * n:.2f}x |")
        print(f"\n2 actors / 1 actor: {jobs[1][0] / jobs[2][0]:.2f}x job, {jobs[2][1] / jobs[1][1]:.2f}x steady "
              f"(target >= 1.7x); local Ray start (not counted): {init_s:.1f} s")

        rss = {}
        for rows in args.rss_rows:
            rss[rows] = driver_peak_rss_mib(build_manifest(args.bench, rows, work / f"rss{rows}.jsonl"),
                                            str(work / f"rss{rows}"))
            print(f"driver peak RSS at {rows} rows: {rss[rows]:.0f} MiB", flush=True)
        if len(rss) >= 2:
            low, high = min(rss), max(rss)
            print(f"peak RSS {high} vs {low} rows: {rss[high] / rss[low]:.3f}x (target <= 1.10x)")
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
