"""`layertracer generate` and `layertracer vectorize --model` end to end on the tiny pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from layertracer.cli import main
from layertracer.images import decode_image, encode_png
from layertracer.metrics import count_layers, count_paths, render_svg

FAST = ["--steps", "2", "--cell-px", "48"]


def test_generate_writes_a_layered_svg_and_the_grid(
    tiny_flux_dir: str, tiny_loras: dict, tmp_path: Path, capsys
) -> None:
    out, grid_png = tmp_path / "cat.svg", tmp_path / "cat.png"
    code = main([
        "generate", "a red cat", "--model", tiny_flux_dir, "--lora", tiny_loras["kohya"], "-o", str(out),
        "--frames-out", str(grid_png), "--seed", "3", *FAST,
    ])
    assert code == 0
    svg = out.read_text()
    assert count_layers(svg) == 9 and count_paths(svg) > 0
    assert f"{out}: 9 layers" in capsys.readouterr().out
    grid = decode_image(grid_png.read_bytes())
    assert grid.shape == (144, 144, 3)
    # One cell of the grid is the SVG's canvas, and it draws something (tracing fidelity is tested with the vectorizer).
    assert 'width="48"' in svg and 'height="48"' in svg
    assert render_svg(svg, 48, 48).std() > 5


@pytest.mark.parametrize(
    "args,message",
    [
        (["--model", "/nowhere/flux"], "model folder not found: /nowhere/flux"),
        (["--cell-px", "50"], "multiple of 16"),
        (["--lora", "/nowhere/lora.safetensors"], "LoRA not found"),
        (["--prompt-template", "no placeholder"], "must contain {prompt}"),
        (["--compile", "--device", "cpu"], "--compile needs a CUDA device"),
    ],
)
def test_generate_errors_are_one_line(tiny_flux_dir: str, tmp_path: Path, capsys, args: list, message: str) -> None:
    argv = ["generate", "a cat", "--model", tiny_flux_dir, "-o", str(tmp_path / "x.svg"), *FAST, *args]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("layertracer generate: error:") and message in err[-1]
    assert not any("Traceback" in line for line in err)
    assert not (tmp_path / "x.svg").exists()


def test_vectorize_with_model_runs_image2layers(tiny_flux_dir: str, red_disc: np.ndarray, tmp_path: Path) -> None:
    pytest.importorskip("layertracer.commands.vectorize", reason="the vectorize command has not landed yet")
    image, out = tmp_path / "disc.png", tmp_path / "disc.svg"
    image.write_bytes(encode_png(red_disc))
    code = main(["vectorize", str(image), "--model", tiny_flux_dir, "--frames", "9", "-o", str(out), *FAST])
    assert code == 0
    svg = out.read_text()
    assert count_layers(svg) == 9 and count_paths(svg) > 0
    # The reference (80 x 100) sits in its 48 px cell as `square_frame` centred it: the SVG shows that part, at
    # the reference's own size, as the model-free path does (traced at 2x: viewBox units are half pixels).
    assert 'width="80" height="100" viewBox="9.6 0 76.8 96"' in svg
