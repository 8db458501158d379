"""The manifests as a Ray Dataset: one read task streams every manifest in order, in small blocks.

One task (not one per file) so that ids are claimed in manifest order ("the first row with an id wins") with
no shuffle and no driver-side pass; parsing is cheap next to sampling and tracing, and Ray splits its output
blocks so the stages downstream run in parallel. With --resume the task loads the ok ids from the index itself.
"""

from __future__ import annotations

import functools
import itertools
from typing import Iterator

import pyarrow as pa
from ray.data import Datasource, ReadTask
from ray.data.block import BlockMetadata

from layertracer.pipeline.index import ok_ids
from layertracer.pipeline.manifest import ROW_SCHEMA, ManifestOptions, ManifestSource, manifest_rows


class ManifestDatasource(Datasource):
    """Rows of `sources` (ROW_SCHEMA); with `resume_from` (an OUT URI) the ids already ok there are skipped."""

    def __init__(
        self, sources: list[ManifestSource], options: ManifestOptions, resume_from: str | None = None,
        block_rows: int = 1024,
    ) -> None:
        super().__init__()
        self.sources = sources
        self.options = options
        self.resume_from = resume_from
        self.block_rows = block_rows

    def estimate_inmemory_data_size(self) -> int | None:
        return None

    def get_read_tasks(
        self, parallelism: int, per_task_row_limit: int | None = None, data_context=None
    ) -> list[ReadTask]:
        metadata = BlockMetadata(num_rows=None, size_bytes=None, input_files=None, exec_stats=None)
        read = functools.partial(read_blocks, self.sources, self.options, self.resume_from, self.block_rows)
        return [ReadTask(read, metadata, schema=ROW_SCHEMA, per_task_row_limit=per_task_row_limit)]


def read_blocks(
    sources: list[ManifestSource], options: ManifestOptions, resume_from: str | None, block_rows: int
) -> Iterator[pa.Table]:
    skip = ok_ids(resume_from, options.storage_options) if resume_from else frozenset()
    rows = manifest_rows(sources, options, skip)
    while chunk := list(itertools.islice(rows, block_rows)):
        yield pa.Table.from_pylist(chunk, schema=ROW_SCHEMA)
