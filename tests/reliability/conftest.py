"""Fixtures of the reliability tests: one real job over every hostile input (its outputs are checked by several
tests), and the pieces the fault tests share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from layertracer.pipeline.run import RunOptions, RunSummary, run_job
from tests.pipeline.icons import build_inputs
from tests.reliability.hostile import (
    HostileImage,
    exif_rotated_grid,
    hostile_images,
    hostile_rows,
    not_a_manifest,
    write_images,
    write_manifest,
)


@dataclass(frozen=True)
class HostileRun:
    """A finished `run_job` over the hostile manifests: where things are and what each row must show."""

    out: str
    manifest: str
    summary: RunSummary
    images: dict[str, HostileImage]  # row id -> image of that image row
    row_errors: dict[int, str]  # row of `manifest` -> text its error must contain
    other_manifests: dict[str, str]  # manifest that is no manifest -> text of its rows' errors
    good_grids: dict[str, int]  # row id -> variant drawn (4-frame grid rows that must succeed)


@pytest.fixture(scope="session")
def hostile_run(ray_local, tmp_path_factory: pytest.TempPathFactory) -> HostileRun:
    root = tmp_path_factory.mktemp("hostile")
    (root / "icons").mkdir()
    inputs = build_inputs(root / "icons")
    images = {f"img-{image.name}": image for image in hostile_images()}
    paths = write_images(root / "images", list(images.values()))
    rotated_grid, _ = exif_rotated_grid()
    (root / "images" / "rotated-grid.jpg").write_bytes(rotated_grid)

    rows: list[dict] = [{"id": row_id, "image": paths[image.name], "frames": 4} for row_id, image in images.items()]
    good_grids = {"grid-ok": 1, "grid-exif-rotated": 0, "dup": 2}
    rows += [
        {"id": "grid-ok", "kind": "grid", "image": str(inputs.grid(1, 4)), "frames": 4},
        {"id": "grid-exif-rotated", "kind": "grid", "image": str(root / "images" / "rotated-grid.jpg"), "frames": 4},
        {"id": "grid-bomb", "kind": "grid", "image": paths["bomb-png"], "frames": 4},
        {"id": "dup", "kind": "grid", "image": str(inputs.grid(2, 4)), "frames": 4},
    ]
    row_errors = {len(rows) - 2: "exceeds the limit of"}
    rows.append({"id": "dup", "kind": "grid", "image": str(inputs.grid(3, 4)), "frames": 4})
    row_errors[len(rows) - 1] = "duplicate id 'dup' (first used by row"
    for row, message in hostile_rows(str(inputs.image(0))):
        row_errors[len(rows)] = message
        rows.append(row)
    manifest = write_manifest(root / "hostile.jsonl", rows)
    others = not_a_manifest(root)

    out = str(root / "out")
    summary = run_job(RunOptions(manifests=(manifest, *others), out_uri=out, progress=False, batch_size=4))
    return HostileRun(out, manifest, summary, images, row_errors, others, good_grids)


@pytest.fixture(scope="session")
def fault_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pipeline tests' icons (grids and images), for the fault tests' manifests."""
    return build_inputs(tmp_path_factory.mktemp("fault-inputs")).root
