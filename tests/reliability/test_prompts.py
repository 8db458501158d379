"""Prompts the job's sampling stage must take in its stride (the tiny random-weight Flux, on the CPU): a
20,000-character prompt is truncated to the text encoders' limits (CLIP 77 tokens, T5 512), non-Latin scripts
work; empty and blank prompts are refused at normalization (tests/reliability/hostile.py, HOSTILE_ROWS)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from layertracer.images import decode_image
from layertracer.models import FluxSampler, ModelConfig
from layertracer.pipeline.frames import InputOptions
from layertracer.pipeline.rows import empty_row
from layertracer.pipeline.stages import SampleOptions, sample_rows

LONG = ("a red star with a thin blue outline, " * 600)[:20_000]
PREFIX = LONG[:6_000]  # already past both encoders' limits: the rest is cut off anyway
SCRIPTS = {
    "cjk": "一颗红色的星星，蓝色的边框",
    "arabic": "نجمة حمراء بإطار أزرق",
    "cyrillic": "красная звезда с синей обводкой",
    "emoji-combining": "⭐️ étoile rouge, e\u0301toile, 🇫🇷",
}


@pytest.fixture(scope="module")
def sampler(tiny_flux_dir: str) -> tuple[FluxSampler, SampleOptions]:
    options = SampleOptions(ModelConfig(model=tiny_flux_dir), InputOptions(), max_batch=4, cell_px=32)
    return FluxSampler(options.config, max_batch=4, prompt_template=options.prompt_template), options


def text_row(row_id: str, prompt: str) -> dict:
    row = empty_row("m.jsonl", 0)
    row.update(id=row_id, kind="text", prompt=prompt, frames=4, seed=11, steps=2)
    return row


def test_long_prompt_is_truncated_not_refused(sampler):
    flux, options = sampler
    tokens = flux.pipe.tokenizer_2(LONG).input_ids
    assert len(tokens) > 512 and len(flux.pipe.tokenizer(PREFIX).input_ids) > 77
    rows = sample_rows([text_row("long", LONG), text_row("prefix", PREFIX), text_row("other", "a blue moon")],
                       flux, options)
    assert rows[0]["status"] == "pending" and rows[0]["error"] is None  # ready for the vectorize stage
    note = json.loads(rows[0]["extra"])["_notes"]  # the index row says what happened
    assert len(note) == 1 and note[0].startswith("prompt truncated to 512 of its")
    assert "_notes" not in json.loads(rows[2]["extra"])
    long_grid, prefix_grid, other_grid = (decode_image(r["grid_png"]) for r in rows)
    assert long_grid.shape == (64, 64, 3)
    assert np.array_equal(long_grid, prefix_grid)  # only the first tokens count: the rest was cut, not an error
    assert not np.array_equal(long_grid, other_grid)  # (the prompt does steer this model)


def test_non_latin_prompts_sample(sampler):
    flux, options = sampler
    rows = sample_rows([text_row(name, prompt) for name, prompt in SCRIPTS.items()], flux, options)
    for row in rows:
        assert row["error"] is None and decode_image(row["grid_png"]).shape == (64, 64, 3), row["id"]
