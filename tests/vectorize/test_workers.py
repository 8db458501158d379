"""Steps traced on helper processes: the same SVG as in one process, and a dead helper loses no icon."""

import multiprocessing
import multiprocessing.queues
import os
import signal
import threading
import time

import cv2
import psutil
import pytest

from benchmarks.common import load_icons
from layertracer.errors import UserError
from layertracer.metrics import count_layers
from layertracer.pipeline.run import RunOptions
from layertracer.vectorize import TraceOptions, vectorize_frames
from layertracer.vectorize.workers import HelperTraceback, give_back, map_in_workers, take_helpers
from tests.vectorize.shapes import square_disc_recolour

ICONS = ["noto__tooth", "twemoji__floppy-disk", "fluent-emoji-flat__baby"]


@pytest.mark.parametrize("frames", [4, 9])
def test_helper_processes_write_the_same_svg(bench_dir, frames):
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


def _opencv_threads(_: int) -> tuple[int, int]:
    return os.getpid(), cv2.getNumThreads()


def test_helpers_run_opencv_single_threaded():
    """A helper is one core's worth of work: OpenCV's own threads would contend with the other processes."""
    seen = map_in_workers(_opencv_threads, range(4), 2)
    in_helpers = [threads for pid, threads in seen if pid != os.getpid()]
    assert in_helpers and set(in_helpers) == {1}  # the first item always goes to the idle helper


def test_a_killed_helper_costs_no_icon():
    frames = square_disc_recolour()
    expected = vectorize_frames(frames).svg
    assert vectorize_frames(frames, TraceOptions(workers=2)).svg == expected  # a helper is up and idle
    helpers = take_helpers(1)
    dead = helpers[0].process.pid
    os.kill(dead, signal.SIGKILL)
    psutil.wait_procs([psutil.Process(dead)], timeout=10)
    give_back(helpers)
    # Handing the dead helper a step fails, that step is traced here, and the next call starts a new helper.
    assert vectorize_frames(frames, TraceOptions(workers=2)).svg == expected
    assert vectorize_frames(frames, TraceOptions(workers=2)).svg == expected
    helpers = take_helpers(1)
    give_back(helpers)
    assert helpers[0].process.pid != dead and helpers[0].process.is_alive()


def _die_in_helper(caller: int) -> int:
    if os.getpid() != caller:
        os._exit(1)
    return caller


def test_a_helper_that_dies_at_work_costs_no_item():
    here = os.getpid()
    assert map_in_workers(_die_in_helper, [here] * 4, 2) == [here] * 4


def _fail_on_zero(k: int) -> int:
    if k == 0:
        raise ValueError("no zeros")
    return os.getpid()


def test_an_error_in_a_helper_is_raised_here_and_the_helper_works_on():
    map_in_workers(_fail_on_zero, range(1, 3), 2)  # a helper is up and idle
    helpers = take_helpers(1)
    give_back(helpers)
    # The first item goes to the idle helper at once.
    with pytest.raises(ValueError, match="no zeros") as raised:
        map_in_workers(_fail_on_zero, range(4), 2)
    assert isinstance(raised.value.__cause__, HelperTraceback)
    assert "in _fail_on_zero" in str(raised.value.__cause__)  # where in the helper it was raised
    assert len(map_in_workers(_fail_on_zero, range(1, 6), 2)) == 5
    again = take_helpers(1)
    give_back(again)
    assert again[0].process.pid == helpers[0].process.pid


def _pid(_: int) -> int:
    return os.getpid()


def _map_in_forked_child(results: multiprocessing.queues.Queue) -> None:
    results.put(map_in_workers(_pid, range(4), 2))


def test_a_forked_child_neither_shares_nor_needs_its_parents_helpers():
    """A child forked after helpers were started must not talk to them (their pipes are the parent's), and it
    cannot start its own through the parent's fork server: it traces everything itself."""
    map_in_workers(_pid, range(4), 2)  # this process has an idle helper
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_map_in_forked_child, args=(results,))
    child.start()
    try:
        assert results.get(timeout=60) == [child.pid] * 4
    finally:
        child.join(timeout=30)
    assert child.exitcode == 0
    assert map_in_workers(_pid, range(4), 2)[0] != os.getpid()  # the first item goes to this process's helper


def _slow_square(k: int) -> int:
    time.sleep(0.002)
    return k * k


def test_threads_mapping_at_once_each_get_their_own_results():
    """Each call checks its helpers out, so calls from several threads never read each other's replies."""
    results: dict[int, list[int]] = {}

    def call(offset: int) -> None:
        results[offset] = map_in_workers(_slow_square, range(offset, offset + 20), 2)

    for _ in range(3):
        threads = [threading.Thread(target=call, args=(offset,)) for offset in (0, 100, 200)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert results == {offset: [k * k for k in range(offset, offset + 20)] for offset in (0, 100, 200)}


def test_an_error_while_producing_items_waits_for_the_helpers_and_keeps_them():
    """The items come from diffing frames, which can fail midway: the error is raised here once the helpers are
    done with what they were given, and they serve the next call."""
    map_in_workers(_slow_square, range(2), 2)  # a helper is up and idle
    helpers = take_helpers(1)
    give_back(helpers)

    def items():
        yield from range(3)
        raise RuntimeError("frame 4 is unreadable")

    with pytest.raises(RuntimeError, match="unreadable"):
        map_in_workers(_slow_square, items(), 2)
    assert map_in_workers(_slow_square, range(5), 2) == [0, 1, 4, 9, 16]
    again = take_helpers(1)
    give_back(again)
    assert again[0].process.pid == helpers[0].process.pid


def test_workers_must_be_positive():
    with pytest.raises(ValueError, match="workers must be at least 1"):
        TraceOptions(workers=0)


def test_batch_jobs_refuse_helper_processes_per_icon(tmp_path):
    with pytest.raises(UserError, match="trace workers must be 1 in a batch job"):
        RunOptions(manifests=("m.jsonl",), out_uri=str(tmp_path), trace=TraceOptions(workers=2))
