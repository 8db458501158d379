"""Soak: thousands of mixed rows through `layertracer run` on local Ray, undisturbed and with a CPU actor killed
every N seconds; every row must come out exactly once.

Rows: good grids (../shared/bench/frames/dev, 4 and 9 frames), good images (the dev icons' final renders) and
every hostile kind of tests/reliability/hostile.py (broken, fake, bomb and awkward images; unsafe ids, wrong
types, empty prompts, duplicates), plus files that are no manifest at all. Each run is `layertracer run` in its
own process with its own local Ray, as a user starts it. Printed per run: rows in, ok, error, missing (must be 0),
duplicates (must be 0), error kinds by count, peak RSS of the driver and of the Ray workers, rows/s; the run
with kills is compared with the undisturbed one (the baseline).

    .venv/bin/python benchmarks/soak.py [--rows 5000] [--kill-every 20] [--cpu-actors 2] [--bench DIR]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # tests.reliability.hostile: the same hostile inputs as the tests

import psutil  # noqa: E402

from layertracer.pipeline.index import latest_rows, read_parts  # noqa: E402
from layertracer.pipeline.manifest import ManifestOptions, is_valid_id, plan_sources, read_records  # noqa: E402
from tests.reliability.faults import VECTORIZE_ACTOR, busy_first, descendants  # noqa: E402
from tests.reliability.hostile import hostile_images, hostile_rows, not_a_manifest, write_images  # noqa: E402

SUMMARY = re.compile(r"layertracer run: (\d+) ok, (\d+) error of (\d+) rows in ([\d.]+) s \(([\d.]+) rows/s\)")
ERROR_KINDS = (  # message fragment -> kind, first match wins
    "duplicate id", "unsafe id", "id must be a string", "frames must be 4 or 9", "must be an integer",
    "must be at least", "unknown kind", "neither 'prompt' nor 'image'", "row needs 'image'", "must be a string",
    "non-empty 'prompt'", "no model configured", "cannot read the manifest", "invalid JSON",
    "expected a JSON object", "empty file", "corrupt or truncated image", "not a readable image",
    "exceeds the limit of", "too small", "no such file", "is a directory", "unsupported storage", "cannot read",
    "internal error",
)


def build_manifests(bench: Path, rows: int, root: Path) -> list[str]:
    """A main JSONL manifest of `rows` mixed rows, plus the files that are no manifest; returns their paths."""
    grids = sorted((bench / "frames" / "dev").glob("f*/*/grid.png"))
    finals = sorted((bench / "frames" / "dev").glob("f4/*/final.png"))
    if not grids or not finals:
        raise SystemExit(f"no bench frames under {bench}/frames/dev")
    images = hostile_images()
    paths = write_images(root / "hostile", images)
    bad_rows = [row for row, _ in hostile_rows(str(finals[0]))]
    records: list[dict] = []
    i = 0
    while len(records) < rows:
        kind = i % 20
        if kind < 10:  # half: good grids
            grid = grids[i % len(grids)]
            records.append({"id": f"g{i:05d}", "kind": "grid", "image": str(grid),
                            "frames": 4 if grid.parts[-3] == "f4" else 9})
        elif kind < 13:  # good images, decomposed on the CPU
            records.append({"id": f"i{i:05d}", "image": str(finals[i % len(finals)]), "frames": 4 + 5 * (i % 2)})
        elif kind < 16:  # hostile images (some decode fine and must come out right)
            image = images[i % len(images)]
            records.append({"id": f"h{i:05d}-{image.name}", "image": paths[image.name], "frames": 4})
        elif kind < 19:  # hostile manifest rows; their valid ids made unique so each keeps its own error
            row = dict(bad_rows[i % len(bad_rows)])
            if isinstance(row.get("id"), str) and is_valid_id(row["id"]):
                row["id"] = f"{row['id']}-{i}"
            records.append(row)
        else:  # a duplicate of an earlier id: the first row wins
            records.append({"id": f"g{i - 19:05d}", "kind": "grid", "image": str(grids[0]), "frames": 4})
        i += 1
    main = root / "soak.jsonl"
    main.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return [str(main), *not_a_manifest(root)]


def rows_in(manifests: list[str]) -> set[tuple[str, int]]:
    """(manifest, row) of every row the job must account for, counted by the job's own reader."""
    keys = set()
    for source in plan_sources(manifests, ManifestOptions()):
        keys.update((source.uri, row) for row, _ in enumerate(read_records(source, {})))
    return keys


def error_kind(message: str) -> str:
    return next((kind for kind in ERROR_KINDS if kind in message), "other: " + message[:50])


@dataclass
class Watch:
    """Peak RSS of a driver process and of its Ray workers, sampled twice a second; optional actor killer."""

    driver: psutil.Process
    kill_every_s: float | None
    driver_peak: int = 0
    worker_peak: int = 0  # the largest single Ray worker process
    workers_total_peak: int = 0
    kills: list[int] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        next_kill = time.monotonic() + (self.kill_every_s or 0)
        while not self.stop.wait(0.5):
            try:
                self.driver_peak = max(self.driver_peak, self.driver.memory_info().rss)
                workers = [p for p in self.driver.children(recursive=True) if _title(p).startswith("ray::")]
            except psutil.Error:
                return
            sizes = [_rss(p) for p in workers]
            self.worker_peak = max([self.worker_peak, *sizes])
            self.workers_total_peak = max(self.workers_total_peak, sum(sizes))
            if self.kill_every_s and time.monotonic() >= next_kill:
                actors = busy_first(descendants(self.driver.pid, VECTORIZE_ACTOR))
                if actors:
                    actors[0].send_signal(signal.SIGKILL)
                    self.kills.append(actors[0].pid)
                    next_kill = time.monotonic() + self.kill_every_s


def _title(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def _rss(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except psutil.Error:
        return 0


def soak(manifests: list[str], out: Path, cpu_actors: int, kill_every_s: float | None) -> dict:
    """One `layertracer run` (its own local Ray), watched; then the index checked against the manifests."""
    env = {**os.environ, "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"}
    started = time.perf_counter()
    run = subprocess.Popen(
        [sys.executable, "-m", "layertracer", "run", *manifests, "--out", str(out), "--no-progress",
         "--cpu-actors", str(cpu_actors)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    watch = Watch(psutil.Process(run.pid), kill_every_s)
    watcher = threading.Thread(target=watch.run, daemon=True)
    watcher.start()
    output, _ = run.communicate()
    watch.stop.set()
    watcher.join()
    wall_s = time.perf_counter() - started
    summary = SUMMARY.search(output)
    if run.returncode != 0 or summary is None:
        raise SystemExit(f"layertracer run failed ({run.returncode}):\n{output[-4000:]}")

    expected = rows_in(manifests)
    parts = read_parts(str(out))
    keys = collections.Counter(zip(parts["manifest"].to_pylist(), parts["row"].to_pylist()))
    latest = latest_rows(parts).to_pylist()
    statuses = collections.Counter(r["status"] for r in latest)
    return {
        "rows in": len(expected), "ok": statuses["ok"], "error": statuses["error"],
        "missing": len(expected - set(keys)), "duplicates": sum(n - 1 for n in keys.values()),
        "unexpected": len(set(keys) - expected),
        "error kinds": collections.Counter(error_kind(r["error"]) for r in latest if r["status"] == "error"),
        "driver peak RSS MiB": watch.driver_peak / 2**20, "worker peak RSS MiB": watch.worker_peak / 2**20,
        "all workers peak RSS MiB": watch.workers_total_peak / 2**20,
        "job rows/s": float(summary.group(5)), "job s": float(summary.group(4)), "wall s": wall_s,
        "actors killed": len(watch.kills),
    }


def print_table(runs: dict[str, dict]) -> None:
    names = list(runs)
    baseline = runs[names[0]]
    print("| | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for key in ("rows in", "ok", "error", "missing", "duplicates", "unexpected", "actors killed",
                "driver peak RSS MiB", "worker peak RSS MiB", "all workers peak RSS MiB", "job s", "wall s",
                "job rows/s"):
        cells = []
        for name in names:
            value = runs[name][key]
            text = f"{value:.1f}" if isinstance(value, float) else str(value)
            if key == "job rows/s" and name != names[0]:
                text += f" ({value / baseline[key]:.2f}x)"
            cells.append(text)
        print(f"| {key} | " + " | ".join(cells) + " |")
    print("\nerror kinds (count per run):")
    kinds = sorted(set().union(*(r["error kinds"] for r in runs.values())), key=lambda k: -baseline["error kinds"][k])
    for kind in kinds:
        print(f"  {kind:<32} " + "  ".join(f"{runs[n]['error kinds'][kind]:>6}" for n in names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--kill-every", type=float, default=20.0, metavar="S")
    parser.add_argument("--cpu-actors", type=int, default=2)
    parser.add_argument("--bench", type=Path, default=REPO.parent / "shared" / "bench")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="lt-soak-"))
    try:
        manifests = build_manifests(args.bench, args.rows, root)
        runs = {}
        for name, kill_every in (("undisturbed", None), (f"actor killed every {args.kill_every:g} s", args.kill_every)):
            runs[name] = soak(manifests, root / f"out-{len(runs)}", args.cpu_actors, kill_every)
            print(f"{name}: {json.dumps(runs[name], default=dict)}", flush=True)
        print()
        print_table(runs)
        bad = {n: r for n, r in runs.items() if r["missing"] or r["duplicates"] or r["unexpected"]}
        if bad:
            raise SystemExit(f"rows lost or doubled: {list(bad)}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
