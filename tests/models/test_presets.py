"""Presets resolve to the authors' released settings, flags override them, and the grid is split in their order."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from layertracer.cli import main
from layertracer.errors import UserError
from layertracer.grid import GridSpec
from layertracer.images import decode_image
from layertracer.metrics import count_layers
from layertracer.models import FluxSampler, GridSettings, ModelConfig, SampleRequest
from layertracer.models.image2layers import denoise_image2layers, encode_cells, prepare_reference
from layertracer.models.latents import cell_token_indices
from layertracer.models.presets import PRESETS
from layertracer.models.sampler import settings_for

IMAGE = np.full((40, 40, 3), 255, np.uint8)


@pytest.fixture(scope="module")
def emoji_sampler(tiny_flux_dir: str) -> FluxSampler:
    return FluxSampler(ModelConfig(tiny_flux_dir, preset="emoji4"))


def test_presets_resolve_to_the_authors_settings() -> None:
    icon = settings_for(SampleRequest(kind="text", prompt="a cat", preset="icon9"))
    assert icon == GridSettings(frames=9, cell_px=256, steps=25, guidance=3.5, order="rowmajor",
                                template=PRESETS["icon9"].template, reference="clean")
    assert icon.canvas_px == 768 and icon.template.startswith("sks, This is a nine square grid image")
    emoji = settings_for(SampleRequest(kind="text", prompt="a cat"), preset="emoji4")  # the sampler's preset
    assert (emoji.frames, emoji.canvas_px, emoji.order, emoji.steps) == (4, 1024, "serpentine", 25)
    recraft = settings_for(SampleRequest(kind="image", image=IMAGE, preset="icon9"))
    assert (recraft.canvas_px, recraft.steps, recraft.guidance, recraft.reference) == (1056, 20, 1.0, "clean")
    plain = settings_for(SampleRequest(kind="image", image=IMAGE))
    assert (plain.frames, plain.canvas_px, plain.order, plain.reference) == (9, 1056, "serpentine", "noised")


def test_explicit_settings_override_the_preset() -> None:
    request = SampleRequest(kind="image", image=IMAGE, preset="icon9", steps=2, guidance=2.0, cell_px=48,
                            order="serpentine", template="my {prompt}")
    settings = settings_for(request, preset="emoji4", template="run {prompt}", reference="noised")
    assert settings == GridSettings(frames=9, cell_px=48, steps=2, guidance=2.0, order="serpentine",
                                    template="my {prompt}", reference="noised")
    assert settings_for(SampleRequest(kind="text", prompt="x", preset="icon9"), template="run {prompt}").template \
        == "run {prompt}"  # the run's --prompt-template beats the preset's


@pytest.mark.parametrize(
    "request_,message",
    [
        (SampleRequest(kind="text", prompt="x", preset="icon9", frames=4), "preset icon9 draws 9 frames"),
        (SampleRequest(kind="text", prompt="x", preset="icon12"), "unknown preset 'icon12' (choices: icon9, emoji4)"),
        (SampleRequest(kind="text", prompt="x", order="diagonal"), "order must be one of serpentine, rowmajor"),
    ],
)
def test_bad_preset_requests_are_refused(request_: SampleRequest, message: str) -> None:
    with pytest.raises(UserError, match=re.escape(message)):
        settings_for(request_)


@pytest.mark.parametrize("preset,frames,order,canvas", [("icon9", 9, "rowmajor", 144), ("emoji4", 4, "serpentine", 96)])
def test_generate_with_a_preset_splits_the_grid_in_its_order(
    tiny_flux_dir: str, tmp_path: Path, preset: str, frames: int, order: str, canvas: int
) -> None:
    cell = canvas // GridSpec(frames=frames).side
    svg, grid_png = tmp_path / "g.svg", tmp_path / "g.png"
    argv = ["generate", "a red cat", "--model", tiny_flux_dir, "--preset", preset, "--steps", "2",
            "--cell-px", str(cell), "-o", str(svg), "--frames-out", str(grid_png)]
    assert main(argv) == 0
    assert decode_image(grid_png.read_bytes()).shape == (canvas, canvas, 3)
    assert count_layers(svg.read_text()) == frames
    # The same grid traced in the preset's order gives the same SVG; in the other order, another one.
    for grid_order in ("rowmajor", "serpentine"):
        again = tmp_path / f"{grid_order}.svg"
        argv = ["vectorize-grid", str(grid_png), "--frames", str(frames), "--order", grid_order, "-o", str(again)]
        assert main(argv) == 0
        assert (again.read_text() == svg.read_text()) == (grid_order == order)


@pytest.mark.slow
def test_icon9_at_its_true_size(tiny_flux_dir: str, tmp_path: Path) -> None:
    svg, grid_png = tmp_path / "g.svg", tmp_path / "g.png"
    argv = ["generate", "a red cat", "--model", tiny_flux_dir, "--preset", "icon9", "--steps", "1", "-o", str(svg),
            "--frames-out", str(grid_png)]
    assert main(argv) == 0
    assert decode_image(grid_png.read_bytes()).shape == (768, 768, 3) and count_layers(svg.read_text()) == 9


def test_help_lists_the_presets_and_their_source(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "icon9: flux_lora_icon_blackline, 3x3 rowmajor, 768 px, 25 steps, guidance 3.5" in text
    assert "emoji4: flux_lora_emoji, 2x2 serpentine, 1024 px" in text and "showlab/LayerTracer" in text


@pytest.mark.parametrize("order,last", [("rowmajor", [10, 11, 14, 15]), ("serpentine", [8, 9, 12, 13])])
def test_image2layers_with_a_preset_pins_the_last_cell_clean_before_every_call(
    emoji_sampler: FluxSampler, red_disc: np.ndarray, order: str, last: list
) -> None:
    """emoji4's default reference is clean; the last cell follows the cell order (2x2: bottom-right in row-major,
    bottom-left in serpentine)."""
    sampler = emoji_sampler
    request = SampleRequest(kind="image", image=red_disc, seed=3, steps=3, cell_px=32, order=order)
    settings = sampler.settings_for(request)
    assert (settings.reference, settings.frames, settings.order) == ("clean", 4, order)
    indices = cell_token_indices(64, 64, settings.spec, -1)
    assert indices.tolist() == last
    pipe = sampler.pipe
    encoded = encode_cells(pipe, [prepare_reference(red_disc, 32)])[0]
    seen = []
    hook = pipe.transformer.register_forward_pre_hook(
        lambda _, args, kwargs: seen.append(kwargs["hidden_states"][0, indices].clone()), with_kwargs=True
    )
    try:
        denoise_image2layers(pipe, [red_disc], [None], [3], settings)
    finally:
        hook.remove()
    assert len(seen) == 3 and all(torch.equal(cell, encoded) for cell in seen)
    result = sampler.sample([request])[0]
    assert result.error is None and result.settings == settings


def test_a_manifest_row_with_a_preset_is_sampled_split_and_recorded_in_its_settings(
    emoji_sampler: FluxSampler,
) -> None:
    """The job's path without Ray: normalize -> sample_rows -> creation_frames, for a row naming icon9 (the
    sampler's own preset, emoji4, is only the default)."""
    from layertracer.pipeline.frames import InputOptions, creation_frames
    from layertracer.pipeline.manifest import ManifestOptions, normalize_row
    from layertracer.pipeline.stages import SampleOptions, sample_rows

    manifest = ManifestOptions(has_model=True)
    row = normalize_row({"id": "cat", "prompt": "a red cat", "preset": "icon9", "steps": 1}, "m.jsonl", 0, manifest)
    assert (row["frames"], row["preset"], row["status"]) == (9, "icon9", "pending")
    bad = normalize_row({"prompt": "x", "preset": "icon12"}, "m.jsonl", 1, manifest)
    assert bad["status"] == "error" and "unknown preset 'icon12' (choices: icon9, emoji4)" in bad["error"]
    options = SampleOptions(emoji_sampler.config, InputOptions(), cell_px=32)
    sample_rows([row], emoji_sampler, options)
    assert row["error"] is None and row["order"] == "rowmajor"
    assert json.loads(row["extra"])["_sampling"] == {
        "preset": "icon9", "order": "rowmajor", "template": PRESETS["icon9"].template, "steps": 1,
        "guidance": 3.5, "cell_px": 32,
    }
    grid = decode_image(row["grid_png"])
    frames = creation_frames(row, InputOptions()).frames
    assert grid.shape == (96, 96, 3) and len(frames) == 9
    assert np.array_equal(frames[3], grid[32:64, :32])  # frame 4 of a row-major grid: row 1, column 0


def test_run_takes_the_preset_and_stacked_loras_into_its_options() -> None:
    """`layertracer run --preset`: rows without frames get the preset's; the model config holds preset and LoRAs."""
    import argparse

    from layertracer.commands.run import register, run_options
    from layertracer.models import LoraWeights

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["run", "m.jsonl", "--out", "o", "--model", "flux", "--preset", "emoji4",
                              "--lora", "a.safetensors", "--lora", "b.safetensors:0.5"])
    options = run_options(args, {})
    assert options.default_frames == 4 and options.prompt_template is None
    assert options.model.preset == "emoji4"
    assert options.model.loras == (LoraWeights("a.safetensors"), LoraWeights("b.safetensors", 0.5))
    assert options.model.lora_label() == "a.safetensors, b.safetensors:0.5"
    assert run_options(parser.parse_args(["run", "m.jsonl", "--out", "o"]), {}).default_frames == 9
    with pytest.raises(UserError, match="--transformer needs --model"):
        run_options(parser.parse_args(["run", "m.jsonl", "--out", "o", "--transformer", "f.safetensors"]), {})
