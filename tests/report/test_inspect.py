"""`inspect` figures against the rows the test wrote into the index."""

from __future__ import annotations

import collections
import json

import numpy as np
import pytest

from layertracer.cli import main
from layertracer.inspect import summarize_index
from layertracer.pipeline.index import read_index
from tests.report.conftest import OutFolder


def test_summary_matches_the_index(out_folder: OutFolder) -> None:
    summary = summarize_index(read_index(str(out_folder.path)))
    ok, rows = out_folder.ok_rows, out_folder.rows
    assert (summary["rows"], summary["ok"], summary["error"]) == (len(rows), len(ok), len(rows) - len(ok))
    assert summary["by_kind"] == {
        "grid": {"ok": 1, "error": 0}, "image": {"ok": 1, "error": 1}, "text": {"ok": 2, "error": 1},
    }
    # The superseded "sampler out of memory" row is not the latest for its (manifest, row): not counted.
    assert sorted((e["message"], e["count"]) for e in summary["top_errors"]) == sorted(
        (r["error"], 1) for r in rows if r["status"] == "error"
    )
    assert summary["layers_histogram"] == {str(k): c for k, c in collections.Counter(r["n_layers"] for r in ok).items()}
    paths = np.array([r["n_paths"] for r in ok])
    assert summary["paths"]["median"] == np.median(paths) and summary["paths"]["max"] == paths.max()
    assert summary["svg_bytes"]["total"] == sum(r["svg_bytes"] for r in ok)
    assert summary["sample_s"]["count"] == 2  # grid and image rows are not sampled
    assert summary["vectorize_s"]["mean"] == pytest.approx(np.mean([r["vectorize_s"] for r in ok]))
    span_s = (max(r["created_at"] for r in ok) - min(r["created_at"] for r in ok)).total_seconds()
    assert summary["throughput"]["span_s"] == span_s
    assert summary["throughput"]["icons_per_s"] == pytest.approx(len(ok) / span_s)


def test_inspect_command_text_and_json(out_folder: OutFolder, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(out_folder.path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(summarize_index(read_index(str(out_folder.path)))))
    assert main(["inspect", str(out_folder.path)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("rows 6: ok 4, error 2\n")
    assert "images/missing.png: no such file" in text and "throughput   0.4 icons/s" in text


def test_inspect_without_index_is_one_line(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(tmp_path)]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    with pytest.raises(SystemExit) as usage_error:
        main(["inspect", str(tmp_path), "--storage-options", "[1]"])
    assert usage_error.value.code == 2
    assert "--storage-options: must be a JSON object" in capsys.readouterr().err
