"""Worker processes that trace the steps of one icon while this process diffs its next frames.

vtracer holds the GIL while it traces, so threads cannot overlap it; processes can. Each gets one step cut to
its changed box (see coverage.StepCrop) and sends back path data. A pool lives as long as the process that
asked for it (starting one costs far more than tracing an icon), and it is started by a fork server, which is
safe from a process that already runs threads (Ray, tqdm, OpenCV's own pool).
"""

from __future__ import annotations

import itertools
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, TypeVar

import cv2

T = TypeVar("T")
R = TypeVar("R")

_POOLS: dict[int, ProcessPoolExecutor] = {}
_LOCK = threading.Lock()


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """This process's pool of `workers` processes, started on first use."""
    with _LOCK:
        if workers not in _POOLS:
            method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            context = multiprocessing.get_context(method)
            if method == "forkserver":
                # Workers forked from a server that has the tracer imported start in milliseconds.
                context.set_forkserver_preload(["layertracer.vectorize.layered"])
            _POOLS[workers] = ProcessPoolExecutor(workers, mp_context=context, initializer=_one_thread)
        return _POOLS[workers]


def _one_thread() -> None:
    """A worker is one core's worth of tracing: OpenCV's own threads would only contend with the other
    workers and the calling process for the same cores (~5% of an icon's time on two cores)."""
    cv2.setNumThreads(1)


def _discard(workers: int) -> None:
    with _LOCK:
        pool = _POOLS.pop(workers, None)
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def map_in_workers(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """`fn` over `items`, in order, on `workers` processes (1: in this process).

    Items are handed out as they are produced, so producing the next one overlaps with work on the last.
    If a worker dies (killed for memory, say), the pool is replaced next time and this call finishes in
    this process: the icon is still traced. Meanwhile OpenCV runs single-threaded in this process too (the
    setting is process-wide; other threads' OpenCV calls are then single-threaded until this returns): the
    workers are the parallelism, and OpenCV's threads here only woke up to contend with them for the cores
    (~5% of a 9-frame icon's time on two cores).
    """
    if workers <= 1:
        return [fn(item) for item in items]
    items = iter(items)
    produced: list[T] = []
    with _opencv_threads(1):
        try:
            pool = worker_pool(workers)
            futures = []
            for item in items:
                produced.append(item)
                futures.append(pool.submit(fn, item))
            return [future.result() for future in futures]
        except BrokenProcessPool:
            _discard(workers)
            return [fn(item) for item in itertools.chain(produced, items)]


@contextmanager
def _opencv_threads(count: int) -> Iterator[None]:
    """OpenCV's thread count set to `count` for a while, then put back."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(count)
    try:
        yield
    finally:
        cv2.setNumThreads(before)
