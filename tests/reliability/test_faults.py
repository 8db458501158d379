"""Faults on a real Ray cluster: a CPU actor killed, a worker node killed, the driver killed; every input id ends
up exactly once in the index's latest view, with whole files and no half-written leftovers.

Processes are killed by pid, and only among the descendants of this test process (the session's Ray) or of the
nodes this test started itself. Every wait has a deadline, so a regression fails a test instead of hanging.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest

from layertracer.pipeline.index import ok_ids
from tests.pipeline.icons import write_jsonl
from tests.reliability.faults import (
    VECTORIZE_ACTOR,
    attempts,
    busy_first,
    check_every_row_once,
    descendants,
    finish,
    index_parts,
    kill_driver,
    start_run,
    wait_for,
)

REPO = Path(__file__).resolve().parents[2]
ROWS = 24


def grid_manifest(folder: Path, inputs: Path, frames: int = 9, rows: int = ROWS) -> tuple[str, list[str]]:
    ids = [f"icon-{i:02d}" for i in range(rows)]
    records = [{"id": row_id, "kind": "grid", "image": str(inputs / f"grid{frames}_{i % 4}.png"), "frames": frames}
               for i, row_id in enumerate(ids)]
    return str(write_jsonl(folder / "m.jsonl", records)), ids


def test_killed_cpu_actor(ray_local, tmp_path, fault_inputs):
    """SIGKILL a Vectorize actor while it runs a row: Ray restarts it and retries the task; nothing is lost."""
    manifest, ids = grid_manifest(tmp_path, fault_inputs)
    out = str(tmp_path / "out")
    run = start_run(manifest, out, ray_local, "--cpu-actors", "2")
    try:
        wait_for(lambda: index_parts(out) >= 2 and descendants(os.getpid(), VECTORIZE_ACTOR), 120, "rows and actors")
        victim = busy_first(descendants(os.getpid(), VECTORIZE_ACTOR))[0]
        parts_at_kill = index_parts(out)
        victim.send_signal(signal.SIGKILL)
        output = finish(run)
    finally:
        run.kill()
    assert parts_at_kill < ROWS, "the actor should have been killed part-way"
    assert not psutil.pid_exists(victim.pid) or victim.status() == psutil.STATUS_ZOMBIE
    assert run.returncode == 0, output[-3000:]
    assert f"layertracer run: {ROWS} ok, 0 error of {ROWS} rows" in output
    check_every_row_once(out, ids, frames=9)
    assert set(attempts(out).values()) == {1}  # a retried row still has one index row


def test_killed_driver_then_resume_redoes_nothing(ray_local, tmp_path, fault_inputs):
    """SIGKILL `layertracer run`; `--resume` finishes the rest, leaves the files of finished ids untouched and
    clears what writers killed mid-write left behind."""
    manifest, ids = grid_manifest(tmp_path, fault_inputs, frames=4)
    out = str(tmp_path / "out")
    first = start_run(manifest, out, ray_local, "--cpu-actors", "1")
    try:
        wait_for(lambda: index_parts(out) >= 4, 120, "a few index parts")
    finally:
        kill_driver(first)
    done = ok_ids(out)
    assert 0 < len(done) < ROWS, "the driver should have been killed part-way"
    stamps = {
        i: (os.stat(f"{out}/svg/{i}.svg").st_mtime_ns, os.stat(f"{out}/frames/{i}.png").st_mtime_ns) for i in done
    }

    litter = Path(out, "svg", f"{ids[-1]}.svg.tmp-0123abcd")  # what a writer killed mid-write leaves
    litter.write_bytes(b"<svg")

    again = start_run(manifest, out, ray_local, "--resume")
    output = finish(again)
    assert again.returncode == 0, output[-3000:]
    todo = ROWS - len(done)
    assert f"layertracer run: {todo} ok, 0 error of {todo} rows" in output
    check_every_row_once(out, ids, frames=4)
    assert {i: (os.stat(f"{out}/svg/{i}.svg").st_mtime_ns, os.stat(f"{out}/frames/{i}.png").st_mtime_ns)
            for i in done} == stamps
    assert all(attempts(out)[i] == 1 for i in done)


@pytest.fixture
def two_node_cluster():
    """cluster/local.sh's head + worker (1 CPU each), with node-death detection in ~2 s instead of ~30 s."""
    state = tempfile.mkdtemp(prefix="lt-rel-")  # short: Ray's socket paths must stay under 107 bytes
    env = {**os.environ, "PYTHON": sys.executable, "CPUS_PER_NODE": "1", "RAY_AUTH_MODE": "disabled",
           "RAY_health_check_period_ms": "500", "RAY_health_check_timeout_ms": "500",
           "RAY_health_check_failure_threshold": "3"}
    local_sh = str(REPO / "cluster" / "local.sh")
    try:
        started = subprocess.run([local_sh, "start", state], env=env, capture_output=True, text=True, timeout=150,
                                 stdin=subprocess.DEVNULL)
        assert started.returncode == 0, started.stdout + started.stderr
        address = dict(line.split("=", 1) for line in started.stdout.split())["RAY_ADDRESS"]
        yield address, int(Path(state, "worker", "pid").read_text()), env
    finally:
        subprocess.run([local_sh, "stop", state], env=env, timeout=120)
        shutil.rmtree(state, ignore_errors=True)


def test_killed_worker_node(two_node_cluster, tmp_path, fault_inputs):
    """SIGKILL every process of the worker node while it runs an actor: the job completes on the head."""
    address, worker_pid, env = two_node_cluster
    manifest, ids = grid_manifest(tmp_path, fault_inputs)
    out = str(tmp_path / "out")
    run = start_run(manifest, out, address, env=env)
    try:
        wait_for(lambda: index_parts(out) >= 2 and descendants(worker_pid, VECTORIZE_ACTOR), 120,
                 "rows and an actor on the worker node")
        parts_at_kill = index_parts(out)
        node = psutil.Process(worker_pid)
        for process in [*node.children(recursive=True), node]:
            try:
                process.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        output = finish(run)
    finally:
        run.kill()
    assert parts_at_kill < ROWS, "the node should have been killed part-way"
    assert run.returncode == 0, output[-3000:]
    assert " ok, 0 error of " in output  # a read task lost with the node may re-emit rows: readers take the latest
    check_every_row_once(out, ids, frames=9)
