"""Manifest reading and row normalization, without Ray: formats, ids, kinds, defaults, duplicates, resume skips."""

from __future__ import annotations

import csv
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from layertracer.errors import UserError
from layertracer.pipeline.index import Finished
from layertracer.pipeline.manifest import (
    ManifestOptions,
    ManifestSource,
    default_id,
    format_from_name,
    image_id,
    manifest_rows,
    normalize_row,
    plan_sources,
)
from tests.pipeline.icons import write_jsonl

OPTIONS = ManifestOptions()


def normalize(record: dict, has_model: bool = False) -> dict:
    return normalize_row(record, "/data/m.jsonl", 3, ManifestOptions(has_model=has_model))


def test_good_rows_are_normalized_with_defaults_and_resolved_paths():
    row = normalize({"id": "star", "image": "icons/star.png", "style": "flat", "tags": ["a"]})
    assert (row["status"], row["kind"], row["frames"], row["image"]) == ("pending", "image", 9, "/data/icons/star.png")
    assert json.loads(row["extra"]) == {"style": "flat", "tags": ["a"]}
    assert (row["manifest"], row["row"]) == ("/data/m.jsonl", 3)
    grid = normalize({"id": 12, "kind": "grid", "image": "s3://b/g.png", "frames": "4", "seed": "5", "guidance": "1.5"})
    assert (grid["id"], grid["image"], grid["frames"]) == ("12", "s3://b/g.png", 4)
    assert (grid["seed"], grid["guidance"]) == (5, 1.5)
    text = normalize({"prompt": "a red star", "steps": 20.0}, has_model=True)
    assert (text["status"], text["kind"], text["steps"], text["extra"]) == ("pending", "text", 20, None)
    assert normalize_row({"image": "a.png"}, "s3://bucket/dir/m.jsonl", 0, OPTIONS)["image"] == "s3://bucket/dir/a.png"


def test_default_id_is_a_stable_hash_of_the_row_as_written():
    a, b = normalize({"prompt": "x", "seed": 1}), normalize({"seed": 1, "prompt": "x"})
    assert a["id"] == b["id"] == default_id({"prompt": "x", "seed": 1}) and a["id"].startswith("row-")
    assert normalize({"prompt": "y"})["id"] != a["id"]


@pytest.mark.parametrize("record, message", [
    ({"id": "../x", "image": "a.png"}, "unsafe id '../x'"),
    ({"id": "a/b", "image": "a.png"}, "unsafe id 'a/b'"),
    ({"id": "", "image": "a.png"}, "unsafe id ''"),
    ({"id": ".hidden", "image": "a.png"}, "unsafe id '.hidden'"),
    ({"id": "x" * 129, "image": "a.png"}, "unsafe id"),
    ({"id": "a b", "image": "a.png"}, "unsafe id 'a b'"),
    ({"id": ["a"], "image": "a.png"}, "id must be a string"),
    ({"id": "v", "kind": "video", "image": "a.png"}, "unknown kind 'video' (expected text, image or grid)"),
    ({"id": "n", "style": "flat"}, "neither 'prompt' nor 'image'"),
    ({"id": "g", "kind": "grid"}, "grid row needs 'image'"),
    ({"id": "i", "image": "  "}, "image row needs 'image'"),
    ({"id": "t", "prompt": " \t"}, "text row needs a non-empty 'prompt'"),
    ({"id": "t", "prompt": 5}, "'prompt' must be a string"),
    ({"id": "f", "image": "a.png", "frames": 5}, "frames must be 4 or 9, got 5"),
    ({"id": "f", "image": "a.png", "frames": "nine"}, "'frames' must be an integer, got 'nine'"),
    ({"id": "s", "image": "a.png", "seed": -1}, "'seed' must be at least 0, got -1"),
    ({"id": "s", "image": "a.png", "steps": 2.5}, "'steps' must be an integer"),
    ({"id": "s", "image": "a.png", "guidance": "nan"}, "'guidance' must be a finite number >= 0"),
    ({"id": "t", "prompt": "a star"}, "no model configured"),
])
def test_bad_rows_get_one_clear_message(record, message):
    row = normalize(record)
    assert row["status"] == "error" and message in row["error"], row["error"]
    assert "\n" not in row["error"]


def test_jsonl_rows_keep_their_positions_duplicates_lose_and_resume_skips(tmp_path):
    rows = [{"id": "a", "image": "a.png"}, "", "[1, 2]", "{broken", {"id": "b", "image": "b.png"},
            {"id": "a", "image": "other.png"}, {"id": "c", "image": "c.png"}]
    first = str(write_jsonl(tmp_path / "one.jsonl", rows))
    second = str(write_jsonl(tmp_path / "two.jsonl", [{"id": "c", "image": "c2.png"}, {"id": "d", "image": "d.png"}]))
    sources = [ManifestSource(first, "jsonl"), ManifestSource(second, "jsonl")]
    out = list(manifest_rows(sources, OPTIONS))
    assert [(r["manifest"] == first, r["row"], r["id"], r["status"]) for r in out] == [
        (True, 0, "a", "pending"), (True, 1, None, "error"), (True, 2, None, "error"), (True, 3, "b", "pending"),
        (True, 4, "a", "error"), (True, 5, "c", "pending"), (False, 0, "c", "error"), (False, 1, "d", "pending"),
    ]  # the blank line is not a row
    assert out[1]["error"] == "expected a JSON object, got list" and out[2]["error"].startswith("invalid JSON")
    assert out[4]["error"] == f"duplicate id 'a' (first used by row 0 of {first})"
    assert out[6]["error"] == f"duplicate id 'c' (first used by row 5 of {first})"
    # --resume: ok ids are skipped, but they still claim their id, so a later duplicate stays an error.
    done = {row["id"]: row["fingerprint"] for row in out if row["id"] in ("a", "c") and row["status"] == "pending"}
    resumed = list(manifest_rows(sources, OPTIONS, Finished(ok=done)))
    assert [(r["row"], r["id"], r["status"]) for r in resumed] == [
        (1, None, "error"), (2, None, "error"), (3, "b", "pending"), (4, "a", "error"), (0, "c", "error"),
        (1, "d", "pending")]
    # An id done with other settings (another fingerprint) is redone; --skip-errors leaves permanent errors
    # (by manifest row, with the same id and fingerprint).
    failed = {(r["manifest"], r["row"]): (r["id"], r["fingerprint"]) for r in out if r["status"] == "error"}
    again = list(manifest_rows(sources, OPTIONS, Finished(ok={"a": "0" * 16, "c": done["c"]}, failed=failed)))
    assert [(r["row"], r["id"], r["status"]) for r in again] == [(0, "a", "pending"), (3, "b", "pending"),
                                                                 (1, "d", "pending")]


def test_csv_and_parquet_manifests(tmp_path):
    with open(tmp_path / "m.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerows([["id", "kind", "image", "frames", "note"], ["g", "grid", "g.png", "4", ""],
                          ["t", "", "", "", "hi"], ["x", "grid", "x.png", "4", "a", "surplus"]])
    rows = list(manifest_rows([ManifestSource(str(tmp_path / "m.csv"), "csv")], OPTIONS))
    assert (rows[0]["kind"], rows[0]["frames"], rows[0]["extra"], rows[0]["image"]) == (
        "grid", 4, None, str(tmp_path / "g.png"))  # empty cells are missing fields
    assert rows[1]["error"] == "row has neither 'prompt' nor 'image' (cannot tell its kind)"
    assert rows[2]["error"] == "more values than the header has columns"

    table = pa.table({"id": ["p", None], "prompt": ["a star", None], "image": [None, "q.png"], "seed": [3, None]})
    pq.write_table(table, tmp_path / "m.parquet")
    source = ManifestSource(str(tmp_path / "m.parquet"), "parquet")
    rows = list(manifest_rows([source], ManifestOptions(has_model=True)))
    assert [(r["kind"], r["seed"], r["status"]) for r in rows] == [("text", 3, "pending"), ("image", None, "pending")]
    assert rows[1]["id"] == default_id({"image": "q.png"})


def test_a_folder_or_glob_of_images_is_an_image_manifest(tmp_path):
    (tmp_path / "icons" / "sub").mkdir(parents=True)
    for name in ("icons/b.png", "icons/a.JPG", "icons/sub/c d.webp", "icons/notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    folder = str(tmp_path / "icons")
    rows = list(manifest_rows(plan_sources([folder], OPTIONS), OPTIONS))
    assert [(r["id"], r["kind"], r["image"]) for r in rows] == [
        ("a", "image", f"{folder}/a.JPG"), ("b", "image", f"{folder}/b.png"),
        ("sub__c_d", "image", f"{folder}/sub/c d.webp"),
    ]
    globbed = list(manifest_rows(plan_sources([f"{folder}/**/*.webp"], OPTIONS), OPTIONS))
    assert [r["id"] for r in globbed] == ["sub__c_d"]
    single = list(manifest_rows(plan_sources([f"{folder}/b.png"], OPTIONS), OPTIONS))
    assert [(r["id"], r["image"]) for r in single] == [("b", f"{folder}/b.png")]
    assert image_id(".x.png") == "x" and image_id("y" * 200 + ".png").startswith("img-")


def test_plan_sources_checks_names_and_existence(tmp_path):
    manifest = write_jsonl(tmp_path / "m.jsonl", [{"prompt": "x"}])
    (tmp_path / "m.txt").write_text("x")
    assert plan_sources([str(manifest)], OPTIONS) == [ManifestSource(str(manifest), "jsonl")]
    assert plan_sources([str(tmp_path / "m.txt")], ManifestOptions(format="csv"))[0].format == "csv"
    assert [format_from_name(n) for n in ("a.csv.gz", "a.PARQUET", "a.ndjson", "s3://b/*.png", "a.png", "a")] == [
        "csv", "parquet", "jsonl", "images", "images", None]
    with pytest.raises(UserError, match="no such manifest"):
        plan_sources([str(tmp_path / "missing.jsonl")], OPTIONS)
    with pytest.raises(UserError, match="cannot tell the manifest format"):
        plan_sources([str(tmp_path / "m.txt")], OPTIONS)
    with pytest.raises(UserError, match="is a directory; a jsonl manifest must be a file"):
        plan_sources([str(tmp_path)], ManifestOptions(format="jsonl"))
    with pytest.raises(UserError, match="memory:// lives inside one process"):
        plan_sources(["memory://m.jsonl"], OPTIONS)
    assert os.path.exists(manifest)
