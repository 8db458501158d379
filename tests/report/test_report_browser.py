"""The report in a real headless Chromium, opened from disk (file://) the way a person opens it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from layertracer.images import decode_image
from layertracer.metrics import layer_renders, mse
from layertracer.report import ReportOptions, write_report
from tests.report.conftest import XSS_ID, XSS_PROMPT, OutFolder, build_out

ICON_BLUE = np.array([40, 90, 200])


class ReportPage:
    """One browser tab on a report, recording any dialog (alert) or script error the page raises."""

    def __init__(self, browser, out: Path, shots: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1200, "height": 900})
        self.url = (out / "report" / "index.html").as_uri()
        self.shots = shots
        self.dialogs: list[str] = []
        self.page_errors: list[str] = []
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def open(self, fragment: str = "") -> None:
        self.page.goto(self.url + fragment)
        self.settle()

    def settle(self) -> None:
        """Wait until the page has drawn what the last action asked for (its data files load asynchronously)."""
        self.page.wait_for_function("() => document.body.dataset.loading === '0'")
        self.page.evaluate("() => new Promise(requestAnimationFrame)")

    def act(self, action: str, selector: str, *args: str) -> None:
        getattr(self.page, action)(selector, *args)
        self.settle()

    def screenshot(self, selector: str, name: str) -> np.ndarray:
        png = self.page.locator(selector).screenshot(path=str(self.shots / f"{name}.png"))
        return decode_image(png)[..., :3]


@pytest.fixture(scope="module")
def report_dir(out_folder: OutFolder) -> Path:
    write_report(str(out_folder.path))
    return out_folder.path


@pytest.fixture()
def tab(browser, report_dir: Path, tmp_path: Path):
    report_page = ReportPage(browser, report_dir, tmp_path)
    yield report_page
    report_page.page.close()
    assert report_page.page_errors == []


def _color_fraction(image: np.ndarray, color: np.ndarray, tolerance: int = 12) -> float:
    return float(np.mean(np.all(np.abs(image.astype(int) - color) <= tolerance, axis=-1)))


def test_gallery_shows_one_loaded_thumbnail_per_ok_row(tab: ReportPage, out_folder: OutFolder) -> None:
    tab.open()
    thumbs = tab.page.locator("#gallery img.thumb")
    assert thumbs.count() == len(out_folder.ok_rows)
    sources = [thumbs.nth(i).get_attribute("src") for i in range(thumbs.count())]
    assert sorted(sources) == sorted(f"../svg/{r['id']}.svg" for r in out_folder.ok_rows)
    tab.page.wait_for_function(
        "() => [...document.querySelectorAll('#gallery img.thumb')].every(i => i.complete && i.naturalWidth > 0)"
    )
    gallery = tab.screenshot("#gallery", "gallery")
    assert gallery.std() > 20, "the gallery screenshot is blank"
    assert _color_fraction(gallery, ICON_BLUE) > 0.02, "no icon colours in the gallery"


def test_layer_slider_changes_rendered_layers(tab: ReportPage, out_folder: OutFolder) -> None:
    row = out_folder.rows[0]
    tab.open("#icon=0")
    tab.page.wait_for_selector("#layer-stage svg [data-layer]")
    stage = "#layer-stage svg"
    visible = tab.page.locator('#layer-stage [data-layer]:not([display="none"])')
    assert visible.count() == row["n_layers"]
    full = tab.screenshot(stage, "layers-all")

    tab.page.locator("#layer-slider").focus()
    tab.page.keyboard.press("Home")  # real key events: the slider fires `input` as a person's drag does
    assert visible.count() == 1
    assert tab.page.locator("#layer-label").text_content().startswith(f"layers 1–1 of {row['n_layers']}")
    first = tab.screenshot(stage, "layers-1")
    tab.page.keyboard.press("ArrowRight")
    assert visible.count() == 2
    second = tab.screenshot(stage, "layers-2")

    svg = (out_folder.path / "svg" / f"{row['id']}.svg").read_bytes()
    height, width = full.shape[:2]
    renders = layer_renders(svg, width, height)  # resvg's layers 1..K on white: the reference
    for shot, k in ((first, 0), (second, 1), (full, len(renders) - 1)):
        errors = [mse(shot, render) for render in renders]
        assert errors[k] < 0.01
        assert errors[k] == pytest.approx(min(errors)), f"slider at {k + 1} renders like layer {np.argmin(errors) + 1}"
    assert mse(first, full) > 0.01, "moving the slider did not change the picture"


def test_each_layer_alone_strip(tab: ReportPage, out_folder: OutFolder) -> None:
    tab.open("#icon=1")
    tab.page.wait_for_selector("#layer-strip figure svg")
    tiles = tab.page.locator("#layer-strip figure")
    n_layers = out_folder.rows[1]["n_layers"]
    assert tiles.count() == n_layers
    for k in range(1, n_layers + 1):
        groups = tiles.nth(k - 1).locator("[data-layer]")
        assert [groups.nth(i).get_attribute("data-layer") for i in range(groups.count())] == [str(k)]
    tab.screenshot("#icon-view", "icon-view")
    assert tab.page.locator("#icon-grid").evaluate("img => img.naturalWidth") > 0


def test_untrusted_strings_show_as_text_and_never_run(tab: ReportPage) -> None:
    tab.open("#icon=0")
    tab.page.wait_for_selector("#layer-stage svg")
    assert tab.page.locator("#icon-source").text_content() == XSS_PROMPT
    tab.open("#errors")
    error_ids = tab.page.locator("#errors-body tr td:first-child").all_text_contents()
    assert XSS_ID in error_ids
    assert "invalid id: <b>not allowed</b>" in tab.page.locator("#errors-body td.message").all_text_contents()
    tab.page.locator("#errors-body a", has_text=XSS_ID).click()
    # The link changes the location's hash; the icon is shown when the page handles the hashchange event.
    tab.page.wait_for_function("id => document.getElementById('icon-title').textContent === id", arg=XSS_ID)
    assert tab.page.locator("#icon-title").text_content() == XSS_ID
    tab.open()
    tab.act("select_option", "#filter-status", "all")
    tab.act("fill", "#filter-search", "alert(")
    assert tab.page.locator("#gallery .card").count() == 2
    tab.screenshot("body", "escaped")
    assert tab.page.locator("img[src='x'], #gallery script, #gallery b").count() == 0
    assert tab.dialogs == []


def test_filters_and_search(tab: ReportPage) -> None:
    tab.open()
    cards = tab.page.locator("#gallery .card")
    tab.act("select_option", "#filter-status", "error")
    assert cards.count() == 2
    assert tab.page.locator("#gallery .card.error").count() == 2
    tab.act("select_option", "#filter-status", "all")
    tab.act("select_option", "#filter-kind", "image")
    assert cards.count() == 2
    tab.act("select_option", "#filter-kind", "all")
    tab.act("fill", "#filter-search", "HOUSE")
    assert cards.count() == 1
    assert tab.page.locator("#gallery .card .id").text_content() == "house-2"
    tab.act("fill", "#filter-search", "yellow ico")  # every word must begin a word of the id or prompt
    assert cards.count() == 1
    tab.act("fill", "#filter-search", "yellow star")
    assert cards.count() == 0


def test_gallery_pages_and_searches_across_shards(browser, tmp_path: Path) -> None:
    """250 more rows in shards of 100 rows and a search index of tiny blocks: paging, search and the icon view
    load the files they need, and a too-broad word says so."""
    out = build_out(tmp_path, extra_ok_rows=250)
    write_report(str(out.path), options=ReportOptions(shard_rows=100, layer_group_rows=10, search_block_bytes=64))
    tab = ReportPage(browser, out.path, tmp_path)
    tab.open()
    thumbs = tab.page.locator("#gallery img.thumb")
    assert thumbs.count() == 120
    assert all(thumbs.nth(i).get_attribute("loading") == "lazy" for i in (0, 119))
    tab.act("click", "#page-next")
    tab.act("click", "#page-next")
    assert tab.page.locator("#page-label").text_content() == "page 3 of 3"
    assert thumbs.count() == len(out.ok_rows) - 240
    assert tab.page.locator("#page-next").is_disabled()
    tab.act("fill", "#filter-search", "bulk-0217")
    assert [thumbs.nth(i).get_attribute("alt") for i in range(thumbs.count())] == ["bulk-0217"]
    tab.act("click", "#gallery a.card")
    tab.page.wait_for_selector("#layer-strip figure svg")
    assert tab.page.locator("#icon-title").text_content() == "bulk-0217"
    assert tab.page.locator("#layer-strip figure").count() == 4
    tab.open()
    tab.act("fill", "#filter-search", "bulk 2")  # words starting with "2" span many of these small blocks
    assert tab.page.locator("#search-note").is_visible()
    assert '"2"' in tab.page.locator("#search-note").text_content()
    assert tab.page.locator("#gallery-count").text_content() == "250 of 256 rows match"
    assert tab.page_errors == [] and tab.dialogs == []
