"""What the fault tests share: `layertracer run` as a subprocess, waiting with a deadline, finding the processes
of one Ray stage among our own descendants, and checking that a finished OUT holds every row exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from layertracer.grid import GridSpec, split_grid
from layertracer.images import decode_image
from layertracer.metrics import count_layers
from layertracer.pipeline.index import read_index, read_parts

LAYERTRACER = [sys.executable, "-m", "layertracer"]
VECTORIZE_ACTOR = "MapBatches(Vectorize)"  # in the process title Ray gives the CPU stage's actors


def start_run(manifest: str, out: str, address: str, *flags: str, env: dict | None = None) -> subprocess.Popen:
    """`layertracer run` in its own process (a driver that can be killed), joining the cluster at `address`.

    One row per batch and per index part, so the job is observably part-way for a while.
    """
    return subprocess.Popen(
        [*LAYERTRACER, "run", manifest, "--out", out, "--address", address, "--no-progress", "--batch-size", "1",
         "--index-rows-per-file", "1", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll until `condition()`; a deadline so a broken fault test fails instead of hanging the suite."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


def finish(run: subprocess.Popen, timeout_s: float = 240) -> str:
    """The run's output once it ends (killed if it outlives the deadline: the test fails, the suite goes on)."""
    try:
        output, _ = run.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        run.kill()
        output, _ = run.communicate()
        raise AssertionError(f"`layertracer run` did not finish within {timeout_s} s:\n{output[-4000:]}") from None
    return output


def descendants(root_pid: int, marker: str) -> list[psutil.Process]:
    """Live descendants of `root_pid` whose command line contains `marker` (only processes we started)."""
    found = []
    for process in psutil.Process(root_pid).children(recursive=True):
        try:
            if marker in " ".join(process.cmdline()) and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except psutil.Error:
            continue
    return found


def busy_first(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Actors running a task first (Ray appends the method name to the title while one runs)."""
    def busy(process: psutil.Process) -> bool:
        try:
            return ".submit" in " ".join(process.cmdline())
        except psutil.Error:
            return False
    return sorted(processes, key=lambda p: not busy(p))


def kill_driver(run: subprocess.Popen, timeout_s: float = 60) -> None:
    """SIGKILL a `layertracer run` driver and wait until the processes it had writing into OUT are gone.

    Ray kills a dead driver's workers only once it notices the death, and a write in flight can still finish in
    that window; reading OUT before then races with it.
    """
    writers = [p for p in descendants(os.getpid(), "ray::") if _writes_out(_title(p))]
    run.send_signal(signal.SIGKILL)
    run.wait()
    wait_for(lambda: not any(_title(p) for p in writers), timeout_s, "the killed driver's writers to be stopped")


def _writes_out(title: str) -> bool:
    """A process of the job that writes into OUT: a Vectorize actor (SVGs, frames) or a Write task (index parts);
    not Ray's cluster-lived actors and agents, which outlive every job."""
    return VECTORIZE_ACTOR in title or title.startswith("ray::Write")


def _title(process: psutil.Process) -> str:
    """The title Ray gives a worker (`ray::IDLE`, `ray::Write`, ...); empty once the process has exited."""
    try:
        return "" if process.status() == psutil.STATUS_ZOMBIE else process.cmdline()[0]
    except (psutil.Error, IndexError):
        return ""


def index_parts(out: str) -> int:
    index = Path(out) / "index"
    return len(list(index.glob("*.parquet"))) if index.is_dir() else 0


def check_every_row_once(out: str, ids: list[str], frames: int) -> list[dict]:
    """The latest view holds each id once and ok; its files are whole; nothing half-written is left anywhere."""
    latest = read_index(out).to_pylist()
    assert sorted(r["id"] for r in latest) == sorted(ids)
    assert [r["status"] for r in latest] == ["ok"] * len(ids), [r["error"] for r in latest if r["error"]][:3]
    for row in latest:
        svg = Path(row["svg_uri"]).read_bytes()
        assert len(svg) == row["svg_bytes"] and count_layers(svg) == frames == row["n_layers"]
        assert len(split_grid(decode_image(Path(row["grid_uri"]).read_bytes()), GridSpec(frames=frames))) == frames
    leftovers = [name for folder in ("svg", "frames") for name in os.listdir(Path(out) / folder) if ".tmp-" in name]
    assert leftovers == []
    assert sorted(os.listdir(Path(out) / "svg")) == sorted(f"{i}.svg" for i in ids)
    return latest


def attempts(out: str) -> dict[str, int]:
    """Index rows per id over every run (a resumed id that was redone would count twice)."""
    counts: dict[str, int] = {}
    for row_id in read_parts(out, columns=["id"])["id"].to_pylist():
        counts[row_id] = counts.get(row_id, 0) + 1
    return counts
