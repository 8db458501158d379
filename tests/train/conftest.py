"""A few small synthetic icons built into creation grids by the real dataset builder (64 px cells, 4 frames)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from layertracer.dataset.example import DatasetOptions, build_example
from layertracer.dataset.job import ROW_SCHEMA

SHAPES = [
    ("#e33", 'circle cx="5" cy="5" r="4"'),
    ("#3a3", 'rect x="1" y="1" width="8" height="8"'),
    ("#33e", 'path d="M5 1L9 9H1z"'),
    ("#fb0", 'ellipse cx="5" cy="5" rx="4" ry="2"'),
]


@pytest.fixture(scope="session")
def grid_dataset(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A build-dataset-style folder (data/*.parquet) with 4 ok grids of 128 px and one error row."""
    out = tmp_path_factory.mktemp("grids")
    options = DatasetOptions(frames=4, cell_px=64)
    rows = []
    for i in range(len(SHAPES)):
        body = "".join(f'<{shape} fill="{colour}"/>' for colour, shape in SHAPES[i:] + SHAPES[:i])
        svg = f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">{body}</svg>'.encode()
        rows.append(build_example(svg, f"shapes-{i}.svg", options, f"shapes-{i}"))
    rows.append(build_example(b"<svg", "broken.svg", options, "broken"))
    assert [r["status"] for r in rows] == ["ok"] * 4 + ["error"]
    (Path(out) / "data").mkdir()
    pq.write_table(pa.Table.from_pylist(rows, schema=ROW_SCHEMA), Path(out) / "data" / "part-0.parquet")
    return str(out)
