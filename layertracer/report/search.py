"""The report's search index: every word of each row's id and source (prompt or image URI), with the report
positions of the rows that hold it, in sorted blocks the page loads by word prefix.

A word is a run of letters and digits, lower-cased (the page splits a query the same way). Blocks are
`search/B.js` of about `block_bytes` each; the page keeps only each block's first word, so a query loads the one
or few blocks whose range can hold words starting with what was typed. Positions are delta-encoded.
Words are spilled to local Parquet files by first letter while the shards stream by, so memory holds one
letter's postings at a time.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

WORD_SEPARATORS = r"[^\pL\pN]+"
POSTING_SCHEMA = pa.schema([("word", pa.string()), ("n", pa.int64()), ("letter", pa.string())])


def row_words(table: pa.Table) -> pa.Table:
    """(word, n, letter) for every distinct word of each row's id and source; `table` has id, source and n."""
    text = pc.binary_join_element_wise(pc.fill_null(table["id"], ""), pc.fill_null(table["source"], ""), " ")
    words = pc.split_pattern_regex(pc.utf8_lower(text), WORD_SEPARATORS)
    flat = pc.list_flatten(words)
    n = pc.take(table["n"], pc.list_parent_indices(words))
    pairs = pa.table({"word": flat, "n": n}).filter(pc.not_equal(flat, ""))
    pairs = pairs.group_by(["word", "n"], use_threads=False).aggregate([])
    return pairs.append_column("letter", pc.utf8_slice_codeunits(pairs["word"], 0, 1))


class SearchIndexWriter:
    """Collects words shard by shard (`add`), then writes the blocks (`finish`) through `write_block(b, text)`."""

    def __init__(self, block_bytes: int = 256 * 1024) -> None:
        self.block_bytes = block_bytes
        self._spill = tempfile.TemporaryDirectory(prefix="lt-search-")
        self._batches = 0

    def add(self, table: pa.Table) -> None:
        words = row_words(table)
        if words.num_rows:
            ds.write_dataset(
                words, self._spill.name, format="parquet", partitioning=["letter"], partitioning_flavor="hive",
                basename_template=f"b{self._batches}-{{i}}.parquet", existing_data_behavior="overwrite_or_ignore",
            )
            self._batches += 1

    def finish(self, write_block: Callable[[int, str], None]) -> list[str]:
        """Write every block; returns each block's first word (what the page searches to pick blocks)."""
        firsts: list[str] = []
        pending: list[str] = []
        size = 0

        def flush() -> None:
            nonlocal size
            write_block(len(firsts) - 1, "[" + ",".join(pending) + "]")
            pending.clear()
            size = 0

        try:
            folders = sorted(Path(self._spill.name).glob("letter=*"), key=lambda p: _letter(p).encode())
            for folder in folders:
                table = ds.dataset(folder, format="parquet").to_table(columns=["word", "n"])
                table = table.take(pc.sort_indices(table, [("word", "ascending"), ("n", "ascending")]))
                for word, positions in _postings(table):
                    if not pending:
                        firsts.append(word)
                    entry = _entry(word, positions)
                    pending.append(entry)
                    size += len(entry)
                    if size >= self.block_bytes:
                        flush()
            if pending:
                flush()
        finally:
            self._spill.cleanup()
        return firsts


def _letter(folder: Path) -> str:
    """The first letter a spill folder holds (`letter=...`, URI-encoded by the dataset writer)."""
    return unquote(folder.name.split("=", 1)[1])


def _postings(table: pa.Table) -> Iterator[tuple[str, np.ndarray]]:
    """(word, sorted positions) per distinct word of a table sorted by (word, n)."""
    words = table["word"].combine_chunks()
    n = table["n"].to_numpy()
    if len(n) == 0:
        return
    starts = np.flatnonzero(np.r_[True, pc.not_equal(words[1:], words[:-1]).to_numpy(zero_copy_only=False)])
    ends = np.r_[starts[1:], len(n)]
    for start, end in zip(starts, ends):
        yield words[int(start)].as_py(), n[start:end]


def _entry(word: str, positions: np.ndarray) -> str:
    """`["word",first,delta,...]` as JSON text (ASCII: words hold only letters and digits, escaped as JSON)."""
    deltas = positions.tolist() if len(positions) == 1 else np.diff(positions, prepend=0).tolist()
    return "[" + json.dumps(word) + "," + ",".join(map(str, deltas)) + "]"
