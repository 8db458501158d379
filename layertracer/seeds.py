"""Sampling seeds, one rule for every command: the range a seed may take and a row's default seed."""

from __future__ import annotations

import hashlib

MAX_SEED = 2**63 - 1  # fits the index's int64 `seed` column


def stable_seed(row_id: str) -> int:
    """The default seed of a model row: derived from its id, so a rerun draws the same grid."""
    return int.from_bytes(hashlib.sha256(row_id.encode("utf-8")).digest()[:4], "big")
