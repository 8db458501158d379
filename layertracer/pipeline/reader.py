"""The manifests as a Ray Dataset: one read task streams every manifest in order, in small blocks.

One task (not one per file) so that ids are claimed in manifest order ("the first row with an id wins") with
no shuffle and no driver-side pass; parsing is cheap next to sampling and tracing, and Ray splits its output
blocks so the stages downstream run in parallel. With --resume the task loads the ok ids itself, from the index
parts listed when the job was planned: a replayed task (Ray retries it after a failure and expects the same
blocks) sees the same rows, whatever this run has written meanwhile. A row is skipped only if it was done with the
same fingerprint (settings), so a row whose manifest entry changed its frames, seed, steps or guidance is redone.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator

import pyarrow as pa
from ray.data import Datasource, ReadTask
from ray.data.block import BlockMetadata

from layertracer.pipeline.index import IndexSnapshot
from layertracer.pipeline.manifest import ManifestOptions, ManifestSource, manifest_rows
from layertracer.pipeline.rows import ROW_SCHEMA


class ManifestDatasource(Datasource):
    """Rows of `sources` (ROW_SCHEMA); with `resume`, the rows that index snapshot holds as done are skipped."""

    def __init__(
        self, sources: list[ManifestSource], options: ManifestOptions, resume: IndexSnapshot | None = None,
        block_rows: int = 1024,
    ) -> None:
        super().__init__()
        self.sources = sources
        self.options = options
        self.resume = resume
        self.block_rows = block_rows

    def estimate_inmemory_data_size(self) -> int | None:
        return None

    def get_read_tasks(
        self, parallelism: int, per_task_row_limit: int | None = None, data_context=None
    ) -> list[ReadTask]:
        metadata = BlockMetadata(num_rows=None, size_bytes=None, input_files=None, exec_stats=None)
        read = functools.partial(read_blocks, self.sources, self.options, self.resume, self.block_rows)
        return [ReadTask(read, metadata, schema=ROW_SCHEMA, per_task_row_limit=per_task_row_limit)]


def read_blocks(
    sources: list[ManifestSource], options: ManifestOptions, resume: IndexSnapshot | None, block_rows: int
) -> Iterator[pa.Table]:
    finished = resume.finished(options.storage_options) if resume else None
    rows = manifest_rows(sources, options, finished)
    while chunk := list(itertools.islice(rows, block_rows)):
        yield pa.Table.from_pylist(chunk, schema=ROW_SCHEMA)
