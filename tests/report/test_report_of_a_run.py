"""The report of a real `layertracer run` output (Ray Data job on the session's local Ray), in Chromium."""

from __future__ import annotations

import json
from pathlib import Path

from layertracer.pipeline.index import read_index
from layertracer.pipeline.run import RunOptions, run_job
from layertracer.report import write_report
from tests.report.conftest import XSS_PROMPT, vectorized
from tests.report.test_report_browser import ReportPage


def test_report_of_a_pipeline_run(ray_local, browser, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for variant in (0, 1):
        (inputs / f"grid{variant}.png").write_bytes(vectorized(variant)[1])
    rows = [
        {"id": "blue", "kind": "grid", "image": "grid0.png", "frames": 4},
        {"id": "yellow", "kind": "grid", "image": "grid1.png", "frames": 4},
        {"id": "gone", "kind": "grid", "image": "nope.png", "frames": 4},
        {"id": "needs-model", "prompt": XSS_PROMPT, "frames": 4},
    ]
    manifest = inputs / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    summary = run_job(RunOptions(manifests=(str(manifest),), out_uri=str(out), progress=False))
    assert (summary.ok, summary.error) == (2, 2)
    index = {r["id"]: r for r in read_index(str(out)).to_pylist()}

    write_report(str(out))
    tab = ReportPage(browser, out, tmp_path)
    tab.open()
    thumbs = tab.page.locator("#gallery img.thumb")
    assert sorted(thumbs.nth(i).get_attribute("alt") for i in range(thumbs.count())) == ["blue", "yellow"]
    tab.page.wait_for_function(
        "() => [...document.querySelectorAll('#gallery img.thumb')].every(i => i.complete && i.naturalWidth > 0)"
    )
    tab.page.locator("#gallery a.card", has_text="blue").click()
    tab.page.wait_for_selector("#layer-strip figure svg")
    assert tab.page.locator("#layer-strip figure").count() == index["blue"]["n_layers"]
    assert tab.page.locator("#icon-grid").evaluate("img => img.naturalWidth") > 0
    tab.screenshot("#icon-view", "run-icon")
    tab.open("#errors")
    messages = dict(zip(
        tab.page.locator("#errors-body tr td:first-child").all_text_contents(),
        tab.page.locator("#errors-body td.message").all_text_contents(),
    ))
    assert messages == {"gone": index["gone"]["error"], "needs-model": index["needs-model"]["error"]}
    assert XSS_PROMPT in tab.page.locator("#errors-body").text_content()
    assert tab.dialogs == [] and tab.page_errors == []
