"""The frame grid kept beside an image row's SVG: square cells even for a non-square icon, readable back."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from layertracer.cli import main
from layertracer.decompose import DecomposeOptions
from layertracer.grid import GridSpec, compose_grid, split_grid, square_box, square_frame
from layertracer.images import decode_image, encode_png
from layertracer.metrics import count_layers
from layertracer.pipeline.frames import InputOptions, creation_frames
from layertracer.pipeline.rows import Status, empty_row
from layertracer.pipeline.stages import VectorizeOptions, vectorize_row
from tests.vectorize.random_icons import check_layered_svg


def test_square_frame_centres_on_white_or_transparent() -> None:
    rgb = np.zeros((4, 2, 3), np.uint8)
    square = square_frame(rgb)
    assert square.shape == (4, 4, 3)
    assert (square[:, 1:3] == 0).all() and (square[:, [0, 3]] == 255).all()
    rgba = np.full((2, 6, 4), 9, np.uint8)
    square = square_frame(rgba)
    assert square.shape == (6, 6, 4)
    assert (square[2:4] == 9).all() and (square[[0, 1, 4, 5]] == 0).all()
    assert square_frame(square) is square


def test_a_non_square_image_row_keeps_a_grid_that_vectorize_grid_reads(tmp_path: Path) -> None:
    yy, xx = np.mgrid[0:100, 0:80]
    icon = np.full((100, 80, 3), 255, np.uint8)
    icon[10:90, 10:70] = (30, 90, 200)
    icon[(yy - 50) ** 2 + (xx - 40) ** 2 < 20**2] = (220, 40, 40)
    source = tmp_path / "tall.png"
    source.write_bytes(encode_png(icon))
    row = empty_row(str(tmp_path / "m.jsonl"), 0) | {"id": "tall", "kind": "image", "image": str(source), "frames": 4}

    frames, grid_png, exact, size, box = creation_frames(row, InputOptions())
    assert exact  # decomposed frames are traced as exact renders
    assert size == (80, 100) and box is None
    assert {f.shape for f in frames} == {(100, 80, 3)}  # the SVG keeps the icon's size
    cells = split_grid(decode_image(grid_png), GridSpec(4))
    assert [c.shape for c in cells] == [(100, 100, 3)] * 4
    for cell, frame in zip(cells, frames):
        assert np.array_equal(cell[:, 10:90], frame) and (cell[:, :10] == 255).all()

    grid = tmp_path / "grid.png"
    grid.write_bytes(grid_png)
    assert main(["vectorize-grid", str(grid), "--frames", "4", "-o", str(tmp_path / "out.svg")]) == 0
    assert count_layers((tmp_path / "out.svg").read_text()) >= 2


def test_an_image_row_traced_smaller_than_it_came_keeps_its_size_in_the_svg(tmp_path: Path) -> None:
    icon = np.full((1200, 1600, 3), 255, np.uint8)
    icon[200:1000, 400:1200] = (30, 90, 200)
    icon = cv2.GaussianBlur(icon, (3, 3), 0)  # anti-aliased: hard edges on a 200 px grid would be pixel art
    source = tmp_path / "wide.png"
    source.write_bytes(encode_png(icon))
    row = empty_row(str(tmp_path / "m.jsonl"), 0) | {"id": "wide", "kind": "image", "image": str(source), "frames": 4}
    inputs = InputOptions(decompose=DecomposeOptions(trace_px=800))
    indexed = vectorize_row(row, VectorizeOptions(out_uri=str(tmp_path / "out"), inputs=inputs))
    assert indexed["status"] == Status.OK and indexed["n_paths"] == 1
    svg = Path(indexed["svg_uri"]).read_text()
    check_layered_svg(svg, 4, 1600, 1200)
    assert 'viewBox="0 0 800 600"' in svg


def test_square_box_is_where_square_frame_puts_an_image_in_a_cell() -> None:
    assert square_box(600, 400, 300) == (0.0, 50.0, 300.0, 200.0)
    assert square_box(80, 100, 48) == (4.8, 0.0, 38.4, 48.0)
    assert square_box(64, 64, 32) == (0.0, 0.0, 32.0, 32.0)


def test_an_image2layers_row_is_drawn_at_its_reference_size(tmp_path: Path) -> None:
    """A sampled grid of an image row: the SVG shows the reference's part of each cell at the reference's size
    (the Sample stage records it), not the padded square cell."""
    cell = np.full((96, 96, 3), 255, np.uint8)
    cell[30:66, 10:86] = (30, 90, 200)  # a 160 x 80 reference, letterboxed into the cell: rows 24..72
    grid_png = encode_png(compose_grid([cell] * 4, GridSpec(4)))
    row = empty_row(str(tmp_path / "m.jsonl"), 0) | {
        "id": "wide", "kind": "image", "image": "unused.png", "frames": 4, "grid_png": grid_png,
        "extra": '{"_sampling": {"reference_px": [160, 80]}}',
    }
    options = VectorizeOptions(out_uri=str(tmp_path / "out"), inputs=InputOptions())
    indexed = vectorize_row(row, options)
    assert indexed["status"] == Status.OK
    svg = Path(indexed["svg_uri"]).read_text()
    check_layered_svg(svg, 4, 160, 80)
    assert 'viewBox="0 48 192 96"' in svg  # the cell's rows 24..72, traced at 2x
    text = empty_row(str(tmp_path / "m.jsonl"), 1) | {"id": "text", "kind": "text", "frames": 4, "grid_png": grid_png}
    check_layered_svg(Path(vectorize_row(text, options)["svg_uri"]).read_text(), 4, 96, 96)
