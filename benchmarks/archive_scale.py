"""Archive scale: planning, resuming and reporting million-row jobs on this machine, and a 3-node local cluster
run with a worker node killed and restarted midway.

Default mode, per size (10k / 100k / 1M rows): a JSONL manifest of grid rows (8 small grids reused, every 100th
row naming a missing file); its planning (the driver's checks, then the read task's normalising and id claims,
run in one process as the read task runs them) timed with the process's peak RSS; an index synthesised from
those planned rows with the real schema and `index_row` (8 real layered SVGs reused; no 1M vectorizations),
in parts of max(256, rows / 200) rows as the job writes them; resume planning against it (every ok row
skipped); `layertracer run --resume` end to end on a local Ray (the driver's own peak RSS). For the largest
size, `layertracer report` (time, peak RSS) and the report in headless Chromium: first paint and searches.

`--cluster`: cluster/local.sh with a head and 2 workers (1 CPU each), `layertracer run` of --cluster-rows tiny
grid rows; one worker node is SIGKILLed after a third of the rows and started again; then every manifest row
must be in the index exactly once (latest rows), and the raw index is checked for rows written twice.

    .venv/bin/python benchmarks/archive_scale.py [--rows 10000 100000 1000000] [--no-report] [--no-run]
    .venv/bin/python benchmarks/archive_scale.py --cluster [--cluster-rows 20000]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
COLORS = ("red", "blue", "green", "gold")
SHAPES = ("star", "house")
PEAK = """
import json, resource
def peak():  # VmHWM, this process's own peak: ru_maxrss would start from the parent's size at the fork
    return next(int(line.split()[1]) / 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))
def cpu():  # CPU seconds: the machine is shared, so wall time alone says little
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
"""
PLAN_SCRIPT = PEAK + """
import sys, time
from benchmarks.archive_scale import run_options
from layertracer.pipeline.manifest import plan_sources
from layertracer.pipeline.reader import read_blocks
from layertracer.pipeline.run import manifest_options, plan_resume
from layertracer.pipeline.settings import job_settings
manifest, out, resume = sys.argv[1], sys.argv[2], sys.argv[3] == "resume"
floor, cpu0 = peak(), cpu()
started = time.perf_counter()
options = run_options(manifest, out, resume)
settings = job_settings(options)
planned = manifest_options(options, settings)
sources = plan_sources([manifest], planned)
snapshot = plan_resume(options, settings) if resume else None
driver_s, driver_mib, driver_cpu = time.perf_counter() - started, peak(), cpu() - cpu0
rows = sum(block.num_rows for block in read_blocks(sources, planned, snapshot, 1024))
print(json.dumps({"floor": floor, "driver_s": driver_s, "driver_mib": driver_mib, "driver_cpu": driver_cpu,
                  "rows": rows, "total_s": time.perf_counter() - started, "total_mib": peak(),
                  "total_cpu": cpu() - cpu0}))
"""
RUN_SCRIPT = PEAK + """
import sys, time
from benchmarks.archive_scale import run_options
from layertracer.pipeline.run import run_job
started = time.perf_counter()
summary = run_job(run_options(sys.argv[1], sys.argv[2], True))
print(json.dumps({"wall_s": time.perf_counter() - started, "driver_mib": peak(), "driver_cpu": cpu(),
                  "line": summary.line()}))
"""
REPORT_SCRIPT = PEAK + """
import sys, time
from layertracer.report import write_report
started = time.perf_counter()
result = write_report(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - started, "mib": peak(), "cpu": cpu(), "rows": result.rows}))
"""


def run_options(manifest: str, out: str, resume: bool):
    """The job options every measurement shares, so the synthesised index holds the settings --resume checks."""
    from layertracer.pipeline.run import RunOptions

    return RunOptions(manifests=(manifest,), out_uri=out, resume=resume, overwrite=False, cpu_actors=1,
                      default_frames=4, progress=False)


def tiny_frames(variant: int, cell_px: int = 48) -> list[np.ndarray]:
    """Four cumulative frames: a background square, then two shapes, then an unchanged frame."""
    color = np.array([(200, 40, 40), (40, 90, 200), (40, 160, 60), (230, 180, 30)][variant % 4], np.uint8)
    frame = np.full((cell_px, cell_px, 3), 255, np.uint8)
    frames = []
    for k, (y0, y1, x0, x1) in enumerate(((4, 44, 4, 44), (10, 30, 8 + variant, 30), (30, 40, 20, 42 - variant))):
        frame = frame.copy()
        frame[y0:y1, x0:x1] = color // (k + 1)
        frames.append(frame)
    return frames + [frame.copy()]


def write_assets(folder: Path, out: Path) -> list[dict]:
    """The 8 small grids (named colour-shape.png) and, under OUT, their layered SVGs: what index rows reuse."""
    from layertracer.grid import GridSpec, compose_grid
    from layertracer.images import encode_png
    from layertracer.vectorize import vectorize_frames

    folder.mkdir(parents=True, exist_ok=True)
    (out / "svg").mkdir(parents=True, exist_ok=True)
    assets = []
    for k in range(len(COLORS) * len(SHAPES)):
        name = f"{COLORS[k % len(COLORS)]}-{SHAPES[k // len(COLORS)]}"
        frames = tiny_frames(k)
        (folder / f"{name}.png").write_bytes(encode_png(compose_grid(frames, GridSpec(frames=4))))
        layered = vectorize_frames(frames)
        (out / "svg" / f"{name}.svg").write_text(layered.svg)
        assets.append({"name": name, "svg_uri": str(out / "svg" / f"{name}.svg"), "n_layers": layered.n_layers,
                       "n_paths": layered.n_paths, "svg_bytes": len(layered.svg.encode())})
    return assets


def write_manifest(path: Path, rows: int, names: list[str]) -> None:
    """Grid rows cycling over the small grids; every 100th row names a file that does not exist."""
    with open(path, "w") as fh:
        for i in range(rows):
            image = "missing.png" if i % 100 == 99 else f"{names[i % len(names)]}.png"
            fh.write(f'{{"id": "a{i:07d}", "kind": "grid", "image": "{image}", "frames": 4}}\n')


def synthesise_index(manifest: Path, out: Path, assets: list[dict], part_rows: int) -> None:
    """Index parts as a finished run writes them: the planned rows through `index_row`, ok with a reused SVG, or
    an error row for the missing file."""
    from layertracer.pipeline.index import INDEX_SCHEMA, index_row
    from layertracer.pipeline.manifest import manifest_rows, plan_sources
    from layertracer.pipeline.run import manifest_options
    from layertracer.pipeline.settings import job_settings

    options = run_options(str(manifest), str(out), False)
    settings = job_settings(options)
    planned = manifest_options(options, settings)
    rows = manifest_rows(plan_sources([str(manifest)], planned), planned)
    (out / "index").mkdir(parents=True, exist_ok=True)
    part, batch = 0, []
    for row in rows:
        if row["image"].endswith("missing.png"):
            row.update(status="error", error=f"{row['image']}: no such file", error_kind="input")
            batch.append(index_row(row, settings=settings))
        else:
            asset = assets[row["row"] % len(assets)]
            row["status"] = "ok"
            batch.append(index_row(row, svg_uri=asset["svg_uri"], n_layers=asset["n_layers"], settings=settings,
                                   n_paths=asset["n_paths"], svg_bytes=asset["svg_bytes"], vectorize_s=0.012))
        if len(batch) == part_rows:
            part = write_part(out, part, batch, INDEX_SCHEMA)
            batch = []
    if batch:
        write_part(out, part, batch, INDEX_SCHEMA)


def write_part(out: Path, part: int, rows: list[dict], schema: pa.Schema) -> int:
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), out / "index" / f"synth_{part:06d}.parquet")
    return part + 1


def measure(script: str, *argv: str) -> dict:
    done = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO), "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"})
    if done.returncode != 0:
        raise SystemExit(f"measurement failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def browse(report: Path) -> dict:
    """First paint and search answers of the report in headless Chromium (Debian's, driven by Playwright)."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        return {}
    figures = {}
    idle = "() => document.body.dataset.loading === '0'"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        started = time.perf_counter()
        page.goto((report / "index.html").as_uri())
        page.wait_for_function(idle, timeout=60_000)
        figures["first paint s (wall, from goto)"] = time.perf_counter() - started
        figures["first paint ms (page clock)"] = page.evaluate("() => window.layertracerFirstPaintMs")
        figures["cards on first page"] = page.locator("#gallery .card").count()
        for query in ("a0500001", "blue", "blue star", "red house png", "a05", "zzz"):
            started = time.perf_counter()
            page.fill("#filter-search", query)
            page.wait_for_function(idle, timeout=60_000)
            figures[f"search {query!r} s"] = time.perf_counter() - started
            figures[f"search {query!r} matches"] = page.locator("#gallery-count").text_content()
            if page.locator("#search-note").is_visible():
                figures[f"search {query!r} note"] = page.locator("#search-note").text_content()
        started = time.perf_counter()
        page.goto((report / "index.html").as_uri() + "#icon=999990")
        page.wait_for_function(idle, timeout=60_000)
        figures["icon view of row 999,990 s"] = time.perf_counter() - started
        browser.close()
    return figures


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def scale(sizes: list[int], work: Path, report: bool, run: bool) -> None:
    table = []
    for rows in sizes:
        root = work / f"n{rows}"
        out = root / "out"
        assets = write_assets(root / "in", out)
        manifest = root / "in" / "manifest.jsonl"
        write_manifest(manifest, rows, [a["name"] for a in assets])
        plan = measure(PLAN_SCRIPT, str(manifest), str(out), "plan")
        started = time.perf_counter()
        synthesise_index(manifest, out, assets, max(256, rows // 200))
        synth_s = time.perf_counter() - started
        resume = measure(PLAN_SCRIPT, str(manifest), str(out), "resume")
        index_bytes = folder_bytes(out / "index")
        line = {"rows": rows, "manifest MB": manifest.stat().st_size / 1e6, "plan": plan, "resume": resume,
                "index bytes/row": index_bytes / rows, "index parts": len(list((out / "index").iterdir())),
                "synthesis s": synth_s}
        print(json.dumps(line), flush=True)
        if report and rows == max(sizes):
            line["report"] = measure(REPORT_SCRIPT, str(out))
            line["report MB"] = folder_bytes(out / "report") / 1e6
            line["report parts MB"] = {path.name: (folder_bytes(path) if path.is_dir() else path.stat().st_size) / 1e6
                                       for path in sorted((out / "report").iterdir())}
            line["browser"] = browse(out / "report")
            print(json.dumps({k: line[k] for k in ("report", "report MB", "report parts MB", "browser")}), flush=True)
        if run:
            line["run"] = measure(RUN_SCRIPT, str(manifest), str(out))
            print(json.dumps(line["run"]), flush=True)
        table.append(line)
        shutil.rmtree(root, ignore_errors=True)
    print_scale_table(table)


def print_scale_table(table: list[dict]) -> None:
    first = table[0]
    print("\n| rows | plan: driver s | plan: read task s (CPU s) | plan peak RSS MiB (vs first) | "
          "resume: driver s (CPU s) | resume: read task s (CPU s) | resume peak RSS MiB (vs first) | "
          "rows left to do | index bytes/row | run --resume s | run driver peak RSS MiB (vs first) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for line in table:
        plan, resume, run = line["plan"], line["resume"], line.get("run")
        cells = [
            f"{line['rows']:,}", f"{plan['driver_s']:.2f}",
            f"{plan['total_s'] - plan['driver_s']:.1f} ({plan['total_cpu'] - plan['driver_cpu']:.1f})",
            f"{plan['total_mib']:.0f} ({plan['total_mib'] / first['plan']['total_mib']:.2f}x)",
            f"{resume['driver_s']:.2f} ({resume['driver_cpu']:.1f})",
            f"{resume['total_s'] - resume['driver_s']:.1f} ({resume['total_cpu'] - resume['driver_cpu']:.1f})",
            f"{resume['total_mib']:.0f} ({resume['total_mib'] / first['resume']['total_mib']:.2f}x)",
            f"{resume['rows']:,}", f"{line['index bytes/row']:.0f}",
            f"{run['wall_s']:.1f}" if run else "",
            f"{run['driver_mib']:.0f} ({run['driver_mib'] / first['run']['driver_mib']:.2f}x)" if run else "",
        ]
        print("| " + " | ".join(cells) + " |")
    print(f"(import floor of the planning process: {first['plan']['floor']:.0f} MiB; driver-only planning peak: "
          + ", ".join(f"{line['plan']['driver_mib']:.0f}" for line in table) + " MiB)")


def cluster(rows: int, work: Path) -> None:
    """3-node local cluster, a worker node killed and restarted midway; rows missing or doubled must be 0."""
    from layertracer.pipeline.index import latest_rows, read_parts

    state = Path(tempfile.mkdtemp(prefix="lt-arc-"))  # short: Ray's socket paths must stay under 107 bytes
    env = {**os.environ, "PYTHON": sys.executable, "CPUS_PER_NODE": "1", "WORKERS": "2", "RAY_AUTH_MODE": "disabled",
           "RAY_health_check_period_ms": "500", "RAY_health_check_timeout_ms": "500",
           "RAY_health_check_failure_threshold": "3", "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",
           "JOIN_TIMEOUT_S": "300"}
    local_sh = str(REPO / "cluster" / "local.sh")
    out = work / "cluster-out"
    assets = write_assets(work / "cluster-in", work / "unused")
    manifest = work / "cluster-in" / "manifest.jsonl"
    with open(manifest, "w") as fh:
        for i in range(rows):
            fh.write(json.dumps({"id": f"c{i:06d}", "kind": "grid", "image": f"{assets[i % 8]['name']}.png",
                                 "frames": 4}) + "\n")
    try:
        started = local_cluster(local_sh, "start", str(state), env=env)
        address = dict(line.split("=", 1) for line in started.stdout.split())["RAY_ADDRESS"]
        began = time.perf_counter()
        job = subprocess.Popen(
            [sys.executable, "-m", "layertracer", "run", str(manifest), "--out", str(out), "--address", address,
             "--no-progress", "--cpu-actors", "3", "--batch-size", "16", "--index-rows-per-file", "256"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        while indexed_rows(out) < rows // 3:
            if job.poll() is not None:
                raise SystemExit(f"the job ended before the kill:\n{job.stdout.read()[-3000:]}")
            time.sleep(0.5)
        killed_at = indexed_rows(out)
        node = psutil.Process(int((state / "worker2" / "pid").read_text()))
        for process in [*node.children(recursive=True), node]:
            try:
                process.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        kill_s = time.perf_counter() - began
        time.sleep(5)  # Ray marks the node dead after ~1.5 s of failed health checks
        local_cluster(local_sh, "join", "worker2", str(state), env=env)
        rejoined_s = time.perf_counter() - began
        output, _ = job.communicate(timeout=3600)
        job_s = time.perf_counter() - began
    finally:
        subprocess.run([local_sh, "stop", str(state)], env=env, timeout=180)
        shutil.rmtree(state, ignore_errors=True)
    parts = read_parts(str(out), columns=["manifest", "row", "status", "created_at"])
    written = collections.Counter(zip(parts["manifest"].to_pylist(), parts["row"].to_pylist()))
    latest = latest_rows(parts)
    expected = {(str(manifest), i) for i in range(rows)}
    statuses = collections.Counter(latest["status"].to_pylist())
    summary = [line for line in output.splitlines() if " rows in " in line and "; index: " in line]
    print(summary[-1] if summary else f"(no summary line; the job said:)\n{output[-3000:]}")
    print("\n| rows in | ok | error | missing | duplicates (latest rows) | rows written twice (raw index) | "
          "killed after rows | kill at s | rejoined at s | job s | exit |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {rows:,} | {statuses['ok']:,} | {statuses['error']:,} | {len(expected - set(written))} | "
          f"{latest.num_rows - len(set(zip(latest['manifest'].to_pylist(), latest['row'].to_pylist())))} | "
          f"{sum(n - 1 for n in written.values())} | {killed_at:,} | {kill_s:.0f} | {rejoined_s:.0f} | {job_s:.0f} | "
          f"{job.returncode} |")


def local_cluster(*argv: str, env: dict) -> subprocess.CompletedProcess:
    """cluster/local.sh `argv`; a failure ends the benchmark with what the script and the nodes said."""
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        logs = "".join(f"\n--- {log}\n{log.read_text()[-2000:]}" for log in Path(argv[-1]).glob("*/log"))
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}{logs}")
    return done


def indexed_rows(out: Path) -> int:
    total = 0
    for part in (out / "index").glob("*.parquet") if (out / "index").is_dir() else []:
        try:
            total += pq.read_metadata(part).num_rows
        except (OSError, pa.ArrowInvalid):
            pass  # being written
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--no-report", action="store_true", help="skip the report of the largest index")
    parser.add_argument("--no-run", action="store_true", help="skip `layertracer run --resume` on local Ray")
    parser.add_argument("--cluster", action="store_true", help="the 3-node cluster run instead")
    parser.add_argument("--cluster-rows", type=int, default=20_000)
    args = parser.parse_args()
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    work = Path(tempfile.mkdtemp(prefix="lt-archive-"))
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}; work dir {work}", flush=True)
    try:
        if args.cluster:
            cluster(args.cluster_rows, work)
        else:
            scale(sorted(args.rows), work, not args.no_report, not args.no_run)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
