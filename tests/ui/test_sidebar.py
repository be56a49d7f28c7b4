"""The "ML workspace" sidebar in a real JupyterLab and a real browser."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from pathlib import Path

from .conftest import SCREENSHOTS, lab_api

PAGE_SIZE = 50  # labextension/src/tokens.ts


def _rows(page):
    return page.locator(".mlws-Sidebar .mlws-RunRow")


def _search(page, text: str) -> None:
    box = page.locator(".mlws-Filter")
    box.fill(text)
    box.press("Enter")


def _open_sidebar(page) -> None:
    page.locator('.jp-SideBar.jp-mod-left [data-id="mlws-sidebar"]').click()
    page.wait_for_selector(".mlws-Sidebar .mlws-RunRow")


def test_runs_table_pages_searches_sorts_and_shows_errors(page, lab):
    _open_sidebar(page)
    page.wait_for_function(f"document.querySelectorAll('.mlws-RunRow').length === {PAGE_SIZE}")
    page.wait_for_selector(".mlws-PageInfo:has-text('page 1 · 50 runs')")
    # newest first by default (other test modules may have added runs since the long run)
    newest = lab_api(lab, "GET", "runs?max_results=1")[1]["runs"][0]["id"]
    assert _rows(page).first.get_attribute("data-run-id") == newest
    page.screenshot(path=str(SCREENSHOTS / "runs.png"))
    first_page = _rows(page).evaluate_all("rows => rows.map(r => r.dataset.runId)")

    # server-side paging: the next page holds other runs, and back again
    page.locator(".mlws-Next").click()
    page.wait_for_selector(".mlws-PageInfo:has-text('page 2')")
    second_page = _rows(page).evaluate_all("rows => rows.map(r => r.dataset.runId)")
    assert len(second_page) == PAGE_SIZE and not set(first_page) & set(second_page)
    page.locator(".mlws-Prev").click()
    page.wait_for_selector(".mlws-PageInfo:has-text('page 1')")

    # the filter language, evaluated by the server: fewer rows
    _search(page, "params.lr = '0.05' and metrics.acc < 0.5")
    expected = lab_api(lab, "GET", "runs?" + urllib.parse.urlencode(
        {"filter": "params.lr = '0.05' and metrics.acc < 0.5", "max_results": 1000}))[1]["runs"]
    assert 0 < len(expected) < PAGE_SIZE
    page.wait_for_function(f"document.querySelectorAll('.mlws-RunRow').length === {len(expected)}")
    assert _rows(page).evaluate_all("rows => rows.map(r => r.dataset.runId)") == [r["id"] for r in expected]
    page.screenshot(path=str(SCREENSHOTS / "search.png"))

    # sorting by a metric column is server-side order_by: the best acc first
    page.locator(".mlws-Table th", has_text="acc").click()
    best = max(expected, key=lambda r: r["metrics"]["acc"])
    page.wait_for_function(
        f"document.querySelector('.mlws-RunRow')?.dataset.runId === {json.dumps(best['id'])}")

    # the server's error message, verbatim
    bad = "metrics.acc >>> 1"
    status, error = lab_api(lab, "GET", "runs?" + urllib.parse.urlencode({"filter": bad}))
    assert status == 400
    _search(page, bad)
    alert = page.locator(".mlws-Runs .mlws-Error")
    alert.wait_for()
    assert alert.inner_text().strip() == error["message"]
    assert _rows(page).count() == 0

    # the experiment filter
    _search(page, "")
    page.locator(".mlws-Experiment").select_option("long")
    page.wait_for_function("document.querySelectorAll('.mlws-RunRow').length === 1")


def _printed_url(lab) -> str:
    """The URL Jupyter printed for the server (started with quickstart's default URL)."""
    import re

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = re.findall(r"http://127\.0\.0\.1:\d+/\S+", Path(lab["log"]).read_text(errors="replace"))
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError("jupyter printed no URL")


def test_run_view_draws_the_metric_chart(page, lab):
    # the URL Jupyter prints for quickstart's server: its query must still carry the token
    # (a configured token prints as "..."), and it opens the sidebar without a click
    printed = urllib.parse.urlsplit(_printed_url(lab))
    assert urllib.parse.parse_qs(printed.query) == {"token": ["..."]}, printed
    page.goto(urllib.parse.urlunsplit(printed._replace(query=f"token={lab['token']}")))
    page.wait_for_selector(".mlws-Sidebar .mlws-RunRow")  # opened without a click
    page.locator(f'.mlws-RunRow[data-run-id="{lab["long_id"]}"]').click()
    view = page.locator(".mlws-RunView")
    view.locator(".mlws-RunTitle", has_text="long-run").wait_for()
    assert "completed" in view.locator(".mlws-Status").inner_text()
    assert view.locator(".mlws-Params", has_text="0.001").count() == 1

    canvas = view.locator(".mlws-Chart canvas")
    canvas.wait_for()
    info = view.locator(".mlws-ChartInfo").inner_text()
    assert info.startswith("10000 points") and "shown" in info  # downsampled by the server
    # the canvas really holds a drawn line: some pixel of the series' colour
    drawn = canvas.evaluate("""c => {
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < data.length; i += 4) {
            if (data[i + 3] > 0 && data[i + 2] > 150 && data[i] < 100) n++;
        }
        return n;
    }""")
    assert drawn > 100
    # a second metric overlaid: both series on one chart, each with its own count
    view.locator(".mlws-MetricToggle[data-metric='val_loss']").click()
    page.wait_for_selector(".mlws-RunView .mlws-Chart[data-series='2'] canvas")
    assert view.locator(".mlws-MetricToggle[aria-pressed='true']").all_inner_texts() == ["loss", "val_loss"]
    info = view.locator(".mlws-ChartInfo").inner_text()
    assert info.startswith("loss: 10000 points") and "val_loss: 100 points" in info, info
    assert view.locator(".mlws-Chart .u-legend").inner_text().count("loss") == 2
    # files download through the API with the browser's own session
    link = view.locator(".mlws-Files a", has_text="summary.json")
    assert page.request.get(link.get_attribute("href")).text() == '{"loss": 0.0099}'
    page.screenshot(path=str(SCREENSHOTS / "run.png"))  # the README's docs/sidebar.png (conftest.py)

    view.locator(".mlws-Back").click()
    page.wait_for_selector(".mlws-RunRow")
