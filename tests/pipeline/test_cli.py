"""`layertracer run` as users start it: one-line errors and refusing an existing index. A run killed part-way and
finished with --resume is tested in tests/reliability/test_faults.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from layertracer.cli import main
from layertracer.cliopts import storage_options_from_env
from layertracer.pipeline.index import part_files
from tests.pipeline.icons import write_jsonl


def test_existing_index_is_refused_without_resume(ray_local, tmp_path, inputs, capsys):
    manifest = str(write_jsonl(tmp_path / "m.jsonl", [{"id": "a", "kind": "grid", "image": str(inputs.grid(0, 4)),
                                                       "frames": 4}]))
    out = str(tmp_path / "out")
    assert main(["run", manifest, "--out", out, "--no-progress"]) == 0
    assert "layertracer run: 1 ok, 0 error of 1 rows" in capsys.readouterr().out
    assert main(["run", manifest, "--out", out]) == 1
    assert capsys.readouterr().err.strip() == (
        f"layertracer run: error: {out} already has an index; pass --resume to finish that job, "
        "or --overwrite to start over")
    assert main(["run", manifest, "--out", out, "--resume", "--no-progress"]) == 0
    assert "0 ok, 0 error of 0 rows" in capsys.readouterr().out  # nothing left to do
    assert main(["run", manifest, "--out", out, "--overwrite", "--no-progress"]) == 0
    assert "1 ok, 0 error of 1 rows" in capsys.readouterr().out
    assert len(part_files(out)) == 1  # --overwrite started the index over


@pytest.mark.parametrize("argv, message", [
    (["missing.jsonl", "--out", "o"], "missing.jsonl: no such manifest"),
    (["m.txt", "--out", "o"], "cannot tell the manifest format from its name; pass --format"),
    (["m.jsonl", "--out", "o", "--lora", "x.safetensors"], "--lora needs --model"),
    (["m.jsonl", "--out", "o", "--cpu-actors", "0"], "--cpu-actors must be at least 1, got 0"),
])
def test_bad_arguments_are_one_line_errors(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    Path("m.jsonl").write_text('{"prompt": "x"}\n')
    Path("m.txt").write_text("x")
    assert main(["run", *argv]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_aws_environment_becomes_explicit_storage_options():
    env = {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
           "AWS_REGION": "eu-west-1"}
    assert storage_options_from_env(env, ["s3://b/m.jsonl", "out"]) == {
        "key": "k", "secret": "s", "endpoint_url": "http://127.0.0.1:9000",
        "client_kwargs": {"region_name": "eu-west-1"},
    }
    s3_specific = storage_options_from_env({**env, "AWS_ENDPOINT_URL_S3": "http://s3"}, ["s3://b/o"])
    assert s3_specific["endpoint_url"] == "http://s3"
    assert storage_options_from_env(env, ["m.jsonl", "gs://b/out"]) == {}
