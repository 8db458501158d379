import subprocess
import sys

import numpy as np
import pytest

from layertracer.cli import main
from layertracer.grid import GridSpec, compose_grid
from layertracer.images import encode_png
from layertracer.metrics import count_layers, count_paths, mse, render_svg

from .shapes import SIZE, square_disc_recolour


@pytest.fixture
def frame_files(tmp_path):
    paths = []
    for k, frame in enumerate(square_disc_recolour()):
        path = tmp_path / f"f{k}.png"
        path.write_bytes(encode_png(frame))
        paths.append(str(path))
    return paths


def grid_png(frames: int = 4) -> bytes:
    steps = square_disc_recolour()
    steps += [steps[-1]] * (frames - len(steps))
    return encode_png(compose_grid(steps, GridSpec(frames)))


def test_vectorize_frames_writes_a_layered_svg(frame_files, tmp_path):
    out = tmp_path / "out.svg"
    assert main(["vectorize-frames", *frame_files, "-o", str(out)]) == 0
    svg = out.read_text()
    assert count_layers(svg) == 3
    assert mse(render_svg(svg, SIZE, SIZE), square_disc_recolour()[-1]) < 5e-4


def test_no_snap_keeps_the_layers_and_paths_and_leaves_edges_on_the_pixel_grid(frame_files, tmp_path):
    svgs = {}
    for flags in ([], ["--no-snap", "--upscale", "1"], ["--upscale", "1"]):
        out = tmp_path / f"{len(flags)}.svg"
        assert main(["vectorize-frames", *frame_files, "-o", str(out), *flags]) == 0
        svgs[" ".join(flags[:1])] = out.read_text()
    snapped, grid_bound = svgs["--upscale"], svgs["--no-snap"]
    assert snapped != grid_bound  # the same outlines, nodes moved: as many layers and paths, a closer render
    assert (count_layers(snapped), count_paths(snapped)) == (count_layers(grid_bound), count_paths(grid_bound))
    final = square_disc_recolour()[-1]
    assert mse(render_svg(snapped, SIZE, SIZE), final) < mse(render_svg(grid_bound, SIZE, SIZE), final)


@pytest.mark.parametrize("frames", [4, 9])
def test_vectorize_grid_file(tmp_path, frames):
    grid = tmp_path / "grid.png"
    grid.write_bytes(grid_png(frames))
    out = tmp_path / "grid.svg"
    assert main(["vectorize-grid", str(grid), "--frames", str(frames), "-o", str(out)]) == 0
    assert count_layers(out.read_text()) == frames


def test_vectorize_grid_directory_keeps_going_past_a_bad_file(tmp_path, capsys):
    src = tmp_path / "grids"
    src.mkdir()
    (src / "a.png").write_bytes(grid_png())
    (src / "b.png").write_bytes(grid_png())
    (src / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "svgs"
    code = main(["vectorize-grid", str(src), "--frames", "4", "-o", str(out), "--workers", "2"])
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["a.svg", "b.svg"]
    err = capsys.readouterr().err
    assert "broken.png: not a readable image" in err and "1 of 3 files failed" in err


@pytest.mark.parametrize(
    "args,message",
    [
        (["vectorize-grid", "{missing}", "--frames", "4"], "no such file"),
        (["vectorize-grid", "{text}", "--frames", "4"], "not a readable image"),
        (["vectorize-grid", "{wide}", "--frames", "4"], "square cells"),
        (["vectorize-frames", "{f0}"], "at least two frames"),
        (["vectorize-frames", "{f0}", "{small}"], "differ in size"),
    ],
)
def test_bad_input_is_one_line_without_traceback(tmp_path, frame_files, args, message):
    files = {
        "missing": str(tmp_path / "missing.png"),
        "text": str(tmp_path / "notes.png"),
        "wide": str(tmp_path / "wide.png"),
        "small": str(tmp_path / "small.png"),
        "f0": frame_files[0],
    }
    (tmp_path / "notes.png").write_text("hello")
    (tmp_path / "wide.png").write_bytes(encode_png(np.zeros((64, 256, 3), np.uint8)))
    (tmp_path / "small.png").write_bytes(encode_png(np.zeros((32, 32, 3), np.uint8)))
    argv = [a.format(**files) for a in args] + ["-o", str(tmp_path / "x.svg")]
    proc = subprocess.run([sys.executable, "-m", "layertracer", *argv], capture_output=True, text=True)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
