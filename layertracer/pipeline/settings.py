"""The settings that shape a row's output, recorded in every index row so an archive says how each row was made,
and compared by --resume so a job never mixes settings by accident.

`settings` (one JSON per job) is read off the job's frozen options dataclasses field by field, leaving out only
what changes how or where the job runs (RUNTIME_FIELDS): a field added to an options class is recorded without
touching this module. A row's `fingerprint` hashes the job's settings with the row's own (ROW_SETTINGS).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from enum import Enum
from typing import Any

from layertracer import __version__
from layertracer.errors import UserError
from layertracer.pipeline.rows import ROW_SETTINGS, JobRow

# Fields, at any depth, that decide where data lives or how the work is spread, never what a row's outputs are.
RUNTIME_FIELDS = frozenset({
    "manifests", "out_uri", "format", "storage_options", "default_frames", "resume", "overwrite", "redo_changed",
    "skip_errors", "embed_svg", "address", "gpu_actors", "cpu_actors", "batch_size", "index_rows_per_file",
    "actor_start_timeout_s", "progress", "store_failures", "workers", "max_batch", "device", "offload",
    "vae_tiling", "allow_download", "compile_transformer",
})
FINGERPRINT_CHARS = 16
SHOWN_CHANGES = 6


def job_settings(options: Any) -> str:
    """Canonical JSON of an options dataclass without its RUNTIME_FIELDS, plus this release's version."""
    value = _plain(options)
    value["version"] = __version__
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.name not in RUNTIME_FIELDS}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, frozenset, set)):
        items = [_plain(item) for item in value]
        return sorted(items, key=json.dumps) if isinstance(value, (set, frozenset)) else items
    return value


def row_fingerprint(settings: str, row: JobRow | Mapping[str, Any]) -> str:
    """Short hash of the job's settings and the row's own settings (frames, seed, steps, guidance as given)."""
    own = json.dumps([row.get(name) for name in ROW_SETTINGS], separators=(",", ":"), default=str)
    return hashlib.sha256(f"{settings}\n{own}".encode()).hexdigest()[:FINGERPRINT_CHARS]


def settings_id(settings: str | None) -> str:
    """A short name for one job's settings (what `inspect` lists)."""
    return "unrecorded" if settings is None else hashlib.sha256(settings.encode()).hexdigest()[:FINGERPRINT_CHARS]


def changes(recorded: str | None, current: str) -> list[str]:
    """`name: old -> new` for each setting that differs (dotted names for nested options)."""
    if recorded is None:
        return ["settings: not recorded (rows written by an earlier layertracer)"]
    old, new = _flatten(json.loads(recorded)), _flatten(json.loads(current))
    return [f"{name}: {_show(old.get(name))} -> {_show(new.get(name))}"
            for name in sorted(old.keys() | new.keys()) if old.get(name) != new.get(name)]


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        flat.update(_flatten(item, f"{prefix}.{key}" if prefix else key))
    return flat


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def check_resume(recorded: Mapping[str | None, int], current: str) -> None:
    """Refuse a --resume whose settings differ from those of the rows it would keep (`recorded`: settings ->
    rows), naming what changed; --redo-changed redoes those rows instead."""
    differing = {settings: count for settings, count in recorded.items() if settings != current}
    if not differing:
        return
    settings, count = max(differing.items(), key=lambda item: item[1])
    listed = changes(settings, current)
    shown = "; ".join(listed[:SHOWN_CHANGES]) + (f"; and {len(listed) - SHOWN_CHANGES} more"
                                                   if len(listed) > SHOWN_CHANGES else "")
    rows = sum(differing.values())
    raise UserError(
        f"--resume with different settings: {rows} finished rows were made with other settings ({shown}); pass "
        "--redo-changed to redo exactly those rows, or run with the settings they were made with"
    )
