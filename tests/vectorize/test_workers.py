"""Steps traced in worker processes: the same SVG as in one process, and a dead worker loses no icon."""

import os
import signal

import cv2
import psutil
import pytest

from benchmarks.common import load_icons
from layertracer.errors import UserError
from layertracer.metrics import count_layers
from layertracer.pipeline.run import RunOptions
from layertracer.vectorize import TraceOptions, vectorize_frames
from layertracer.vectorize.workers import map_in_workers, worker_pool
from tests.vectorize.shapes import square_disc_recolour

ICONS = ["noto__tooth", "twemoji__floppy-disk", "fluent-emoji-flat__baby"]


@pytest.mark.parametrize("frames", [4, 9])
def test_worker_processes_write_the_same_svg(bench_dir, frames):
    icons = [icon for icon in load_icons(bench_dir, frames) if icon.name in ICONS]
    assert len(icons) == len(ICONS)
    for icon in icons:
        alone = vectorize_frames(icon.frames)
        shared = vectorize_frames(icon.frames, TraceOptions(workers=2))
        assert shared.svg == alone.svg, icon.name
        assert count_layers(shared.svg) == frames

    # With the background kept and covered regions dropped (every mask is made before any step is traced).
    synthetic = square_disc_recolour()
    options = TraceOptions(keep_background=True, drop_covered=True)
    shared = vectorize_frames(synthetic, TraceOptions(keep_background=True, drop_covered=True, workers=2))
    assert shared.svg == vectorize_frames(synthetic, options).svg


def _opencv_threads_in_worker(_: int) -> int:
    return cv2.getNumThreads()


def test_opencv_runs_single_threaded_while_workers_trace_and_is_put_back_after():
    """The workers are the parallelism: OpenCV's own threads, in them or in this process while it hands them
    work, would only contend with them for the cores."""
    before = cv2.getNumThreads()
    seen_here = []

    def items():
        for k in range(4):
            seen_here.append(cv2.getNumThreads())
            yield k

    assert map_in_workers(_opencv_threads_in_worker, items(), 2) == [1, 1, 1, 1]
    assert seen_here == [1, 1, 1, 1]
    assert cv2.getNumThreads() == before


def test_a_killed_worker_costs_no_icon():
    frames = square_disc_recolour()
    expected = vectorize_frames(frames).svg
    pool = worker_pool(2)
    assert vectorize_frames(frames, TraceOptions(workers=2)).svg == expected  # the pool's workers are up
    # The pool's own processes only (other tests' Ray processes are children of this one too).
    workers = [psutil.Process(pid) for pid in pool._processes]
    assert len(workers) == 2
    for worker in workers:
        os.kill(worker.pid, signal.SIGKILL)
    psutil.wait_procs(workers, timeout=10)
    # The broken pool is noticed, this icon is traced here, and the next call gets a fresh pool.
    assert vectorize_frames(frames, TraceOptions(workers=2)).svg == expected
    assert worker_pool(2) is not pool
    assert vectorize_frames(frames, TraceOptions(workers=2)).svg == expected


def test_workers_must_be_positive():
    with pytest.raises(ValueError, match="workers must be at least 1"):
        TraceOptions(workers=0)


def test_batch_jobs_refuse_worker_processes_per_icon(tmp_path):
    with pytest.raises(UserError, match="trace workers must be 1 in a batch job"):
        RunOptions(manifests=("m.jsonl",), out_uri=str(tmp_path), trace=TraceOptions(workers=2))
