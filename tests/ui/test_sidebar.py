"""The ML workspace in a real JupyterLab and a real browser: the navigator in the sidebar, the
runs table page it opens (paging, filter, sort, errors) and what quickstart's URL shows."""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path

from .conftest import SCREENSHOTS, lab_api, palette

PAGE_SIZE = 50  # labextension/src/tokens.ts
TABLE = "#jp-main-dock-panel .mlws-RunsPage"


def _rows(page):
    return page.locator(f"{TABLE} .mlws-RunRow")


def _search(page, text: str) -> None:
    box = page.locator(f"{TABLE} .mlws-Filter")
    box.fill(text)
    box.press("Enter")


def _ids(page) -> list[str]:
    return _rows(page).evaluate_all("rows => rows.map(r => r.dataset.runId)")


def _api_ids(lab, **params) -> list[str]:
    return [r["id"] for r in lab_api(lab, "GET", "runs?" + urllib.parse.urlencode(params, doseq=True))[1]["runs"]]


def test_runs_table_pages_searches_sorts_and_shows_errors(page, lab):
    palette(page, "Runs table")
    page.locator(f"{TABLE} .mlws-RunRow").first.wait_for()
    page.locator(f"{TABLE} .mlws-Experiment").select_option("")  # every experiment
    page.wait_for_function(f"document.querySelectorAll('{TABLE} .mlws-RunRow').length === {PAGE_SIZE}")
    page.wait_for_selector(f"{TABLE} .mlws-PageInfo:has-text('page 1 · 50 runs')")
    # newest first by default, top-level runs (sweep children sit under their parent)
    first = _api_ids(lab, filter="parent_id IS NULL", max_results=PAGE_SIZE)
    page.wait_for_selector(f"{TABLE} .mlws-RunRow[data-run-id='{first[0]}']")
    assert _ids(page) == first
    assert lab["long_id"] in first
    page.screenshot(path=str(SCREENSHOTS / "runs.png"))

    # server-side paging: the next page holds other runs, and back again
    page.locator(f"{TABLE} .mlws-Next").click()
    page.wait_for_selector(f"{TABLE} .mlws-PageInfo:has-text('page 2')")
    second_page = _ids(page)
    assert len(second_page) == PAGE_SIZE and not set(first) & set(second_page)
    page.locator(f"{TABLE} .mlws-Prev").click()
    page.wait_for_selector(f"{TABLE} .mlws-PageInfo:has-text('page 1')")

    # the filter language, evaluated by the server: fewer rows
    _search(page, "params.lr = '0.05' and metrics.acc < 0.5")
    expected = lab_api(lab, "GET", "runs?" + urllib.parse.urlencode(
        {"filter": "params.lr = '0.05' and metrics.acc < 0.5", "max_results": 1000}))[1]["runs"]
    assert 0 < len(expected) < PAGE_SIZE
    page.wait_for_function(f"document.querySelectorAll('{TABLE} .mlws-RunRow').length === {len(expected)}")
    assert _ids(page) == [r["id"] for r in expected]
    page.screenshot(path=str(SCREENSHOTS / "search.png"))

    # sorting by a metric column is server-side order_by: the best acc first
    page.locator(f"{TABLE} th[data-column='metric:last:acc'] button").click()
    best = max(expected, key=lambda r: r["metrics"]["acc"])
    page.wait_for_function(
        f"document.querySelector('{TABLE} .mlws-RunRow')?.dataset.runId === {json.dumps(best['id'])}")

    # the server's error message, verbatim
    bad = "metrics.acc >>> 1"
    status, error = lab_api(lab, "GET", "runs?" + urllib.parse.urlencode({"filter": bad}))
    assert status == 400
    _search(page, bad)
    alert = page.locator(f"{TABLE} .mlws-RunsError")
    alert.wait_for()
    assert alert.inner_text() == error["message"]
    assert _rows(page).count() == 0

    # the experiment filter
    _search(page, "")
    page.locator(f"{TABLE} .mlws-Experiment").select_option("long")
    page.wait_for_function(f"document.querySelectorAll('{TABLE} .mlws-RunRow').length === 1")


def test_the_navigator_lists_runs_models_and_opens_their_pages(browser, lab):
    """At 1440x900 with the sidebar at its default width: nothing cut, rows open pages (also
    with the keyboard), ticked runs compare."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(f"{lab['url']}lab/workspaces/navigator?mlws=open&token={lab['token']}")
        nav = page.locator(".mlws-Sidebar")
        nav.locator(".mlws-NavRun").first.wait_for()
        nav.locator(".mlws-NavExperiment").select_option("sweep")
        page.wait_for_function("document.querySelector('.mlws-NavRun .mlws-NavName')?.textContent.startsWith('sweep-')")
        # the latest runs first, each with its status as a dot and its experiment's metric
        latest = _api_ids(lab, experiment="sweep", filter="parent_id IS NULL", max_results=15)
        assert nav.locator(".mlws-NavRun").evaluate_all("rs => rs.map(r => r.dataset.runId)") == latest
        row = nav.locator(f".mlws-NavRun[data-run-id='{latest[0]}']")
        assert row.locator(".mlws-Dot").get_attribute("aria-label") == "completed"
        assert row.locator(".mlws-NavDetail").inner_text().startswith("acc 0.9")
        # nothing cut at the sidebar's default width: names, metrics, models and buttons in full
        cut = page.evaluate("""() => [...document.querySelectorAll(
              '.mlws-Sidebar .mlws-NavName, .mlws-Sidebar .mlws-NavDetail, .mlws-Sidebar button, .mlws-Sidebar h3')]
            .filter(e => e.offsetParent && e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)""")
        assert cut == []
        assert 200 <= nav.bounding_box()["width"] <= 320
        assert nav.locator(".mlws-NavMoreButton").is_visible()  # the rest: in the runs table
        assert nav.locator(".mlws-NavModel[data-model='iris'] .mlws-NavDetail").inner_text() == "v1"
        page.screenshot(path=str(SCREENSHOTS / "navigator.png"))

        # a row opens its run's page; Enter on a focused row too; again: the same tab
        row.locator(".mlws-NavOpen").click()
        page.locator(f"#jp-main-dock-panel .mlws-RunPage[data-run-id='{latest[0]}'] .mlws-RunTitle").wait_for()
        nav.locator(f".mlws-NavRun[data-run-id='{latest[1]}'] .mlws-NavOpen").focus()
        page.keyboard.press("Enter")
        page.locator(f"#jp-main-dock-panel .mlws-RunPage[data-run-id='{latest[1]}'] .mlws-RunTitle").wait_for()
        row.locator(".mlws-NavOpen").click()
        assert page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="sweep-").count() == 2

        # models and the list pages
        nav.locator(".mlws-NavModel[data-model='iris'] .mlws-NavOpen").click()
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Model iris").wait_for()
        nav.locator(".mlws-OpenRunsTable").click()
        page.locator(f"{TABLE} .mlws-RunRow").first.wait_for()

        # ticked runs compare ("Compare selected runs" takes the sidebar's when the table has none)
        for run_id in latest[:2]:
            nav.locator(f".mlws-NavRun[data-run-id='{run_id}'] .mlws-NavSelect").check()
        nav.locator(".mlws-NavCompareButton", has_text="Compare 2 runs").click()
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Compare 2 runs").wait_for()
    finally:
        context.close()


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


def test_run_page_draws_the_metric_chart(page, lab):
    # the URL Jupyter prints for quickstart's server: its query must still carry the token
    # (a configured token prints as "..."), and it opens the navigator without a click
    printed = urllib.parse.urlsplit(_printed_url(lab))
    assert urllib.parse.parse_qs(printed.query) == {"token": ["..."]}, printed
    page.goto(urllib.parse.urlunsplit(printed._replace(query=f"token={lab['token']}")))
    nav = page.locator(".mlws-Sidebar")
    nav.locator(".mlws-NavRun").first.wait_for()  # opened without a click
    nav.locator(".mlws-NavExperiment").select_option("long")
    nav.locator(f'.mlws-NavRun[data-run-id="{lab["long_id"]}"] .mlws-NavOpen').click()
    view = page.locator(f"#jp-main-dock-panel .mlws-RunPage[data-run-id='{lab['long_id']}']")
    view.locator(".mlws-RunTitle", has_text="long-run").wait_for()
    assert view.locator(".mlws-RunPageHeader .mlws-Status").inner_text() == "completed"
    # the first view had opened this (best) run on its Charts tab: the click focused that tab
    view.locator(".mlws-RunTab[data-tab='overview']").click()
    assert view.locator(".mlws-Params tr[data-key='lr'] td").inner_text() == "0.001"

    view.locator(".mlws-RunTab[data-tab='charts']").click()
    loss = view.locator(".mlws-RunSection[data-tab='charts'] .mlws-ChartCard[data-metric='loss']")
    canvas = loss.locator("canvas")
    canvas.wait_for()
    info = loss.locator(".mlws-ChartInfo").inner_text()
    assert info.startswith("10000 points") and "drawn" in info, info  # downsampled by the server
    # the canvas really holds a drawn line: some pixel of the series' colour (the theme's brand blue)
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
    loss.locator(".mlws-AddSeries").select_option("val_loss")
    loss.locator(".mlws-Plot[data-series='2'] canvas").wait_for()
    assert loss.locator(".mlws-Overlay").evaluate_all("os => os.map(o => o.dataset.metric)") == ["val_loss"]
    info = loss.locator(".mlws-ChartInfo").inner_text()
    assert info.startswith("loss: 10000 points") and "val_loss: 100 points" in info, info
    assert loss.locator(".u-legend").inner_text().count("loss") == 2
    page.screenshot(path=str(SCREENSHOTS / "run.png"))
    # files download through the API with the browser's own session
    view.locator(".mlws-RunTab[data-tab='artifacts']").click()
    artifacts = view.locator(".mlws-RunSection[data-tab='artifacts']")
    artifacts.locator(".mlws-TreeFile[data-path='summary.json']").click()
    artifacts.locator(".mlws-JsonText", has_text="0.0099").wait_for()
    link = artifacts.locator(".mlws-Preview .mlws-Download")
    assert page.request.get(link.get_attribute("href")).text() == '{"loss": 0.0099}'
