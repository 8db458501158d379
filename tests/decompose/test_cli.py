"""`layertracer vectorize` without a model: a file, a directory, and bad input as one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from layertracer.cli import main
from layertracer.decompose import decompose_image
from layertracer.images import decode_image, encode_png
from layertracer.metrics import count_layers, mse, render_svg
from layertracer.vectorize import TraceOptions, vectorize_frames
from tests.decompose.scenes import disc_on_square_on_background, square_hole_filled_later


def test_file_in_writes_a_layered_svg_and_its_frames(tmp_path: Path, capsys) -> None:
    image = square_hole_filled_later()
    source, out, frames_dir = tmp_path / "icon.png", tmp_path / "icon.svg", tmp_path / "frames"
    source.write_bytes(encode_png(image))
    assert main(["vectorize", str(source), "-o", str(out), "--frames", "4", "--frames-out", str(frames_dir)]) == 0
    svg = out.read_text()
    assert count_layers(svg) == 4
    assert mse(render_svg(svg, 128, 128), image) < 3e-4
    frames = [decode_image((frames_dir / f"frame_{k:02d}.png").read_bytes()) for k in range(4)]
    assert np.array_equal(frames[-1], image) and not np.array_equal(frames[0], image)
    assert f"{out}: 4 layers, 2 paths, 128x128 px" in capsys.readouterr().out


def test_directory_in_gives_svgs_with_the_same_stems_and_reports_bad_files(tmp_path: Path, capsys) -> None:
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    (source / "a.png").write_bytes(encode_png(square_hole_filled_later()))
    (source / "b.png").write_bytes(encode_png(disc_on_square_on_background()))
    (source / "broken.png").write_bytes(b"not an image")
    code = main(["vectorize", str(source), "-o", str(out), "--workers", "2", "--frames-out", str(tmp_path / "f")])
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["a.svg", "b.svg"]
    assert count_layers((out / "b.svg").read_text()) == 9
    assert (tmp_path / "f" / "b" / "frame_08.png").is_file()
    err = capsys.readouterr().err
    assert "broken.png: not a readable image" in err and "1 of 3 files failed" in err
    assert "Traceback" not in err


def test_small_images_are_traced_upscaled_unless_an_upscale_is_given(tmp_path: Path) -> None:
    """A 128 px image is traced at 4x by default (as many pixels as a 512 px icon at 1x), `--upscale 1` at its own
    size. Either way the disc's edge lands near its sub-pixel position (vectorize/edges.py snaps the traced nodes
    onto the anti-aliasing's iso-line), and the finer trace comes closer still: its curves follow the coverage,
    not a 1x pixel staircase."""
    image = disc_on_square_on_background()
    source = tmp_path / "icon.png"
    source.write_bytes(encode_png(image))
    renders = {}
    for flags, scale in (([], 4), (["--upscale", "1"], 1)):
        out = tmp_path / f"{scale}.svg"
        assert main(["vectorize", str(source), "-o", str(out), *flags]) == 0
        svg = out.read_text()
        assert f'viewBox="0 0 {128 * scale} {128 * scale}"' in svg and 'width="128"' in svg
        renders[scale] = mse(render_svg(svg, 128, 128), image)
    one_x_unsnapped = TraceOptions(snap_edges=False).with_upscale(1).for_exact_frames()
    unsnapped = vectorize_frames(decompose_image(image, 9), one_x_unsnapped)
    pixel_grid = mse(render_svg(unsnapped.svg, 128, 128), image)
    assert renders[4] < renders[1] < 0.25 * pixel_grid


def test_missing_or_unreadable_image_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    for source in (tmp_path / "missing.png", junk):
        assert main(["vectorize", str(source), "-o", str(tmp_path / "x.svg")]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("layertracer vectorize: error:") and str(source) in err[0]
    assert not (tmp_path / "x.svg").exists()
