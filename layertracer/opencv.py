"""OpenCV on one thread while layertracer works.

OpenCV keeps a pool of one thread per core and splits its larger calls over it. An icon's calls work on crops
of a few hundred pixels, where splitting buys no time, only CPU (README, "Layer-wise vectorization" has the
figures). The CPU the pool spends is taken from whatever shares the cores: the helper processes of a parallel
trace, Ray's other CPU actors, a folder's other processes.
"""

from __future__ import annotations

import functools
import multiprocessing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import cv2

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def opencv_threads(count: int) -> Iterator[None]:
    """OpenCV's thread count set to `count` for a while, then put back.

    The setting is process-wide: other threads' OpenCV calls run on `count` threads meanwhile too.
    """
    before = cv2.getNumThreads()
    cv2.setNumThreads(count)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def process_context() -> multiprocessing.context.BaseContext:
    """Where to start worker processes from: a fork server (spawn where there is none), never a fork of this
    process, since a child forked after OpenCV's thread pool ran hangs in its first OpenCV call."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def single_threaded(fn: Callable[P, R]) -> Callable[P, R]:
    """`fn` with OpenCV on one thread while it runs (see the module's docstring)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with opencv_threads(1):
            return fn(*args, **kwargs)

    return wrapper
