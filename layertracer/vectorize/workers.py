"""Helper processes that trace the steps of one icon alongside this process.

vtracer holds the GIL while it traces, so threads cannot overlap it; processes can. Each helper gets one step
cut to its changed box (see coverage.StepCrop) and sends back path data. Work goes over one pipe per helper,
written and read by the calling thread itself: an executor's feeder and result threads would need the GIL
that this thread holds while it diffs the next frames, and handing a step over waited on Python's 5 ms
thread switch interval. Helpers live as long as the process that started them (starting one costs far more
than tracing an icon); they are forked by a fork server, which is safe from a process that already runs
threads (Ray, tqdm, OpenCV's own pool).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

import cv2

from layertracer.opencv import process_context

T = TypeVar("T")
R = TypeVar("R")

_IDLE: list[Helper] = []  # started helpers no call is using
_LOCK = threading.Lock()


@dataclass
class Helper:
    """A helper process and this process's end of the pipe to it."""

    process: multiprocessing.process.BaseProcess
    conn: Connection
    owner: int  # the pid that started it: a forked child must not share its pipe

    def stop(self) -> None:
        self.conn.close()
        self.process.kill()
        self.process.join(timeout=5)


def take_helpers(count: int) -> list[Helper]:
    """Up to `count` helpers for one call's exclusive use: idle ones, then new ones.

    Fewer if no more can be started (out of processes, or in a child forked from a process that started the
    fork server, which only its parent may use): this process then does more of the work itself.
    """
    with _LOCK:
        _IDLE[:] = [helper for helper in _IDLE if helper.owner == os.getpid()]
        taken = [_IDLE.pop() for _ in range(min(count, len(_IDLE)))]
    while len(taken) < count:
        try:
            taken.append(_start())
        except OSError:
            break
    return taken


def give_back(helpers: list[Helper]) -> None:
    """Helpers that `take_helpers` gave out, idle and fit for the next call."""
    with _LOCK:
        _IDLE.extend(helpers)


def _start() -> Helper:
    context = process_context()
    if context.get_start_method() == "forkserver":
        # Helpers forked from a server that has the tracer imported start in milliseconds.
        context.set_forkserver_preload(["layertracer.vectorize.layered"])
    here, there = context.Pipe()
    process = context.Process(target=_serve, args=(there,), daemon=True, name="layertracer-helper")
    process.start()
    there.close()
    return Helper(process, here, os.getpid())


def _serve(conn: Connection) -> None:
    """A helper's life: run each (fn, item) it is sent and send back ("ok", result) or ("error", (exception,
    its traceback as text)).

    It is one core's worth of tracing: OpenCV runs on one thread (see layertracer.opencv).
    """
    cv2.setNumThreads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the calling process's to handle
    while True:
        try:
            fn, item = conn.recv()
        except EOFError:
            return  # the calling process is gone
        try:
            reply: tuple[str, Any] = ("ok", fn(item))
        except Exception as error:  # noqa: BLE001 - handed to the caller, which raises it
            reply = ("error", (error, traceback.format_exc()))
        conn.send(reply)


class HelperTraceback(Exception):
    """Where in a helper an exception was raised: the cause of the same exception raised in the caller."""


def map_in_workers(
    fn: Callable[[T], R], items: Iterable[T], workers: int, cost: Callable[[T], float] = lambda item: 0.0
) -> list[R]:
    """`fn` over `items`, in order, on `workers` processes: this one and `workers` - 1 helpers.

    This process produces the items (the serial part) and hands each to an idle helper as it comes; once
    all are produced it runs waiting items itself too. Whoever comes free takes the costliest waiting item
    (by `cost`): longest first balances the processes best, and measured better than this process taking the
    cheapest ones to be back soon to hand out the next.

    An exception `fn` raises in a helper is raised here, once every item has run, caused by a HelperTraceback
    that shows where in the helper it was raised. If a helper dies (killed for memory, say), its item is run
    here and the helper is replaced next time: the icon is still traced.
    """
    if workers <= 1:
        return [fn(item) for item in items]
    run = _Run(fn, cost, take_helpers(workers - 1))
    try:
        for item in items:
            run.add(item)
        return run.finish()
    finally:
        give_back(run.drain())


class _Run:
    """One call's items, in order, spread over this process and its helpers."""

    def __init__(self, fn: Callable[[T], R], cost: Callable[[T], float], helpers: list[Helper]) -> None:
        self.fn, self.cost = fn, cost
        self.idle = list(helpers)
        self.busy: dict[Connection, tuple[Helper, int, T]] = {}
        self.waiting: list[tuple[float, int, T]] = []
        self.results: dict[int, R] = {}
        self.errors: list[Exception] = []
        self.count = 0

    def add(self, item: T) -> None:
        """Queue the next item and keep the helpers busy."""
        self.waiting.append((self.cost(item), self.count, item))
        self.count += 1
        self._collect(timeout=0)
        self._hand_out()

    def finish(self) -> list[R]:
        """Every item's result, in order: waiting items run here while the helpers run theirs."""
        while self.waiting or self.busy:
            if self.waiting and not self.idle:
                k, item = self._costliest()
                self.results[k] = self.fn(item)
                self._collect(timeout=0)
            else:
                self._collect(timeout=None)
            self._hand_out()
        if self.errors:
            raise self.errors[0]
        return [self.results[k] for k in range(self.count)]

    def drain(self) -> list[Helper]:
        """The helpers that are fit to use again, once those still busy (after an error here) are done."""
        while self.busy:
            self._collect(timeout=None)
        return self.idle

    def _hand_out(self) -> None:
        while self.waiting and self.idle:
            helper = self.idle.pop()
            k, item = self._costliest()
            try:
                helper.conn.send((self.fn, item))
            except OSError:  # the helper died
                self._lost(helper, k, item)
                continue
            self.busy[helper.conn] = (helper, k, item)

    def _costliest(self) -> tuple[int, T]:
        """The waiting item that costs most, taken off the queue: longest first balances the processes best."""
        _, k, item = self.waiting.pop(max(range(len(self.waiting)), key=lambda i: self.waiting[i][0]))
        return k, item

    def _collect(self, timeout: float | None) -> None:
        for conn in wait(list(self.busy), timeout):
            helper, k, item = self.busy.pop(conn)  # type: ignore[arg-type]
            try:
                status, value = conn.recv()  # type: ignore[union-attr]
            except (EOFError, OSError):  # the helper died
                self._lost(helper, k, item)
                continue
            self.idle.append(helper)
            if status == "error":
                error, where = value
                error.__cause__ = HelperTraceback(where)
                self.errors.append(error)
            else:
                self.results[k] = value

    def _lost(self, helper: Helper, k: int, item: T) -> None:
        helper.stop()
        self.results[k] = self.fn(item)
