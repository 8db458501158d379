"""Fail fast on a dead store: a circuit breaker per store endpoint, shared by every actor of a job.

A request that never reached its store (storage.StoreUnreachable, raised after the client's own retries) is
reported at once to one small Ray actor, `CircuitBreaker`; rows that reached a store reset its count (reported
once per batch). After `limit` failures in a row on one endpoint the breaker trips: the stage that saw the last
one raises StoreDown, which fails the job (recovery: max_errored_blocks=0), and the driver exits with the
breaker's one-line message. Index parts already written stay; --resume does the rest once the store is back.
A missing or forbidden key is an answer from the store, so it never counts.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from layertracer.errors import UserError
from layertracer.storage import StoreUnreachable


class StoreDown(UserError):
    """The job stopped because a store stopped answering."""


class CircuitBreaker:
    """Consecutive connection failures per endpoint, across the job's actors (run as a Ray actor)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.failures: Counter[str] = Counter()
        self.message: str | None = None

    def report(self, endpoint: str, reached: bool, failures: int, last_error: str = "") -> str | None:
        """Record a stage's outcomes on `endpoint` (`reached`: a request got through first); returns the trip
        message once the breaker has tripped."""
        self.failures[endpoint] = (0 if reached else self.failures[endpoint]) + failures
        if self.message is None and self.failures[endpoint] >= self.limit:
            self.message = (
                f"stopped: the store at {endpoint} did not answer {self.failures[endpoint]} requests in a row "
                f"(last: {last_error}); the rows done so far are in the index, rerun with --resume once it is back"
            )
        return self.message

    def tripped(self) -> str | None:
        return self.message


class StoreWatch:
    """One stage actor's side of the breaker: failures are reported as they happen, successes per batch."""

    def __init__(self, breaker: Any) -> None:
        self.breaker = breaker  # a CircuitBreaker actor handle
        self.reached: set[str] = set()

    def reached_stores(self, endpoints: set[str | None]) -> None:
        self.reached |= {endpoint for endpoint in endpoints if endpoint is not None}

    def unreachable(self, error: StoreUnreachable) -> None:
        """Report a request that never reached its store; raises StoreDown once the breaker has tripped."""
        import ray

        if error.endpoint is None:
            return
        reached = error.endpoint in self.reached
        self.reached.discard(error.endpoint)
        message = ray.get(self.breaker.report.remote(error.endpoint, reached, 1, str(error)))
        if message is not None:
            raise StoreDown(message)

    def flush(self) -> None:
        """Tell the breaker which stores this batch reached (fire and forget: nothing waits on it)."""
        for endpoint in self.reached:
            self.breaker.report.remote(endpoint, True, 0)
        self.reached.clear()


def start_breaker(limit: int) -> Any:
    """The job's CircuitBreaker actor (no CPU: it only counts), owned by the driver."""
    import ray

    return ray.remote(num_cpus=0)(CircuitBreaker).remote(limit)


def tripped(breaker: Any) -> str | None:
    import ray

    return ray.get(breaker.tripped.remote())
