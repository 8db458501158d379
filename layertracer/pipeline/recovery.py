"""How `layertracer run` survives killed workers, lost nodes and a flaky object store: the Ray settings, in one
place, and the clean-up after writers that died mid-write (README, "Reliability").

Every setting serves one promise: every manifest row gets exactly one index row. Rows are idempotent (outputs
have fixed names and are published atomically), so re-running a row after a crash is always safe; dropping
one never is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from layertracer import storage

if TYPE_CHECKING:
    from ray.data import DataContext

# Actor stages: a dead actor process (killed, OOM, lost node) is restarted and its task retried, without limit.
# That is Ray Data's own default for actor pools (max_restarts=-1, max_task_retries=-1), and Ray 2.60 deprecates
# passing them to map_batches (removed in 2.64), so they are not set here; the fault tests
# (tests/reliability/test_faults.py) hold Ray to it whenever Ray is upgraded.

# Messages of transient store errors (s3fs/botocore, as pyarrow passes them on) that Ray Data's Parquet writer
# retries with backoff, after botocore's own retries (storage.S3_CLIENT_DEFAULTS) gave up. Plain text without regex
# metacharacters: Ray 2.60 tries a pattern as a substring, then as a regex, and from December 2026 as a regex only
# (re.search), which matches the same messages (Ray warns about the change whenever the list is edited).
RETRIED_STORE_ERRORS = (
    "Could not connect to the endpoint URL",
    "Connect timeout on endpoint URL",
    "Read timeout on endpoint URL",
    "Connection was closed before we received a valid response",
    "SlowDown",
)


def configure(context: DataContext) -> None:
    """The execution settings of the job (see the module docstring for why each holds)."""
    # A failed block is never dropped: with max_errored_blocks > 0 Ray Data would lose its rows silently.
    # Stages turn every bad row into an error row, so a block only fails on a bug or when retries ran out.
    context.max_errored_blocks = 0
    # Application errors are row errors already (caught at the row boundary); retrying them would only repeat them.
    context.actor_task_retry_on_errors = False
    context.retried_io_errors = [*context.retried_io_errors,
                                 *(e for e in RETRIED_STORE_ERRORS if e not in context.retried_io_errors)]


def remove_partial_writes(out_uri: str, folders: tuple[str, ...],
                          storage_options: storage.StorageOptions | None = None) -> int:
    """After a run (nothing writes any more): delete the temporaries of writers killed mid-write in this or an
    earlier run. Their rows were retried or are left for --resume; the final names only ever hold whole files."""
    return sum(storage.remove_temporaries(storage.join(out_uri, folder), storage_options) for folder in folders)
