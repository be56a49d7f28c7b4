"""A run's page in the main area, section by section, in Chromium on real runs (made through the
SDK in the served workspace: tests/ui/run_page_fill.py)."""

from __future__ import annotations

import json
import re
import time
import urllib.request

import pytest

from jupyter_mlws import Workspace

from .conftest import SCREENSHOTS, lab_api
from .run_page_fill import BIG_POINTS, PWNED_TITLE, fill


@pytest.fixture(scope="module")
def runs(lab, tmp_path_factory):
    with Workspace.open(lab["root"]) as ws:
        return fill(ws, lab["root"], tmp_path_factory.mktemp("run-page"))


def open_pages(browser, lab, *run_ids: str, name: str):
    """A fresh browser page at a JupyterLab workspace whose saved layout holds these runs' pages
    (the layout restorer opens them, as after a reload): one page load, the first run's tab shown."""
    keys = [f"mlws-pages:run:{run_id}" for run_id in run_ids]
    layout = {"main": {"dock": {"type": "tab-area", "currentIndex": 0, "widgets": keys}, "current": keys[0]},
              "left": {"collapsed": True, "visible": True, "widgets": []},
              "right": {"collapsed": True, "visible": True, "widgets": []}}
    data = {"layout-restorer:data": layout, **{key: {"data": {"kind": "run", "id": run_id}}
                                              for key, run_id in zip(keys, run_ids)}}
    body = json.dumps({"data": data, "metadata": {"id": name}}).encode()
    request = urllib.request.Request(f"{lab['url']}lab/api/workspaces/{name}", data=body, method="PUT",
                                     headers={"Authorization": f"token {lab['token']}",
                                              "Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=30).close()
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{lab['url']}lab/workspaces/{name}?token={lab['token']}")
    page.locator(f".mlws-RunPage[data-run-id='{run_ids[0]}'] .mlws-RunTitle").wait_for()
    return context, page


def run_page(page, run_id: str):
    return page.locator(f".mlws-RunPage[data-run-id='{run_id}']")


def tab(view, name: str):
    view.locator(f".mlws-RunTab[data-tab='{name}']").click()
    return view.locator(f".mlws-RunSection[data-tab='{name}']")


def test_overview_edits_and_lineage(browser, lab, runs):
    rich = runs["rich"]
    context, page = open_pages(browser, lab, rich, name="run-page-overview")
    try:
        view = run_page(page, rich)
        # a run with children opens on its Sweep tab (its children first); Overview is a click away
        view.locator(".mlws-RunTab.mlws-mod-active[data-tab='sweep']").wait_for()
        tab(view, "overview")
        assert view.locator(".mlws-RunPageHeader .mlws-Status").inner_text() == "completed"
        overview = view.locator(".mlws-Overview")
        git = overview.locator(".mlws-Git").inner_text()
        assert re.search(r"[0-9a-f]{10} on main", git) and "uncommitted changes" in git
        assert overview.locator(".mlws-Duration dd").inner_text().strip()
        assert overview.locator(".mlws-Params tr[data-key='lr'] td").inner_text() == "0.01"
        assert overview.locator(".mlws-Metrics tr[data-key='final_score'] td").inner_text() == "0.8750"
        lineage = overview.locator(".mlws-Lineage")
        lineage.locator(".mlws-Children .mlws-RunLink", has_text="rich-child-1").wait_for()
        assert lineage.locator(".mlws-LineageModels").inner_text().endswith("rich-model:1")
        page.screenshot(path=str(SCREENSHOTS / "run-page.png"))

        # description and tags are saved on the server
        assert overview.locator(".mlws-DescriptionText").inner_text() == "A run with everything"
        overview.locator(".mlws-EditDescription").click()
        overview.locator(".mlws-DescriptionInput").fill("Edited on its page")
        overview.locator(".mlws-SaveDescription").click()
        overview.locator(".mlws-DescriptionText", has_text="Edited on its page").wait_for()
        assert lab_api(lab, "GET", f"runs/{rich}")[1]["description"] == "Edited on its page"
        tags = overview.locator(".mlws-Tags")
        tags.locator(".mlws-TagKey").fill("stage")
        tags.locator(".mlws-TagValue").fill("prod")
        tags.locator(".mlws-AddTag").click()
        tags.locator(".mlws-Tag[data-tag='stage']", has_text="stage=prod").wait_for()
        tags.locator(".mlws-Tag[data-tag='team'] .mlws-TagRemove").click()
        tags.locator(".mlws-Tag[data-tag='team']").wait_for(state="detached")
        assert lab_api(lab, "GET", f"runs/{rich}/tags")[1]["tags"] == {"stage": "prod"}
        # a refusal is shown as the server words it, and nothing changes
        too_long = "k" * 1000
        status, refusal = lab_api(lab, "PATCH", f"runs/{rich}/tags", {"set": {too_long: "x"}})
        assert status == 400
        tags.locator(".mlws-TagKey").fill(too_long)
        tags.locator(".mlws-AddTag").click()
        assert tags.locator(".mlws-Error").inner_text() == refusal["message"]
        assert lab_api(lab, "GET", f"runs/{rich}/tags")[1]["tags"] == {"stage": "prod"}

        # lineage links open the pages they name; the parent's page is focused, not opened twice
        lineage.locator(".mlws-Children .mlws-RunLink", has_text="rich-child-0").click()
        child = page.locator(".mlws-RunPage", has=page.locator(".mlws-RunTitle", has_text="rich-child-0"))
        child.locator(".mlws-Parent .mlws-RunLink", has_text="rich-run").click()
        page.wait_for_function("document.querySelector('.lm-DockPanel-tabBar .lm-mod-current').textContent.includes('rich-run')")
        assert page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="rich-run").count() == 1
    finally:
        context.close()


def test_charts_numbers_smoothing_axes_overlays_and_zoom(browser, lab, runs):
    rich = runs["rich"]
    context, page = open_pages(browser, lab, rich, name="run-page-charts")
    try:
        charts = tab(run_page(page, rich), "charts")
        loss = charts.locator(".mlws-ChartCard[data-metric='loss']")
        loss.locator("canvas").wait_for()
        # a single value is a number, never a chart of one dot
        assert charts.locator(".mlws-Single[data-metric='final_score'] .mlws-SingleValue").inner_text() == "0.8750"
        assert charts.locator(".mlws-ChartCard[data-metric='final_score']").count() == 0
        # a million points arrive downsampled by the server (extremes kept) and draw at once
        big = charts.locator(".mlws-ChartCard[data-metric='big']")
        big.locator("canvas").wait_for()
        assert f"{BIG_POINTS} points" in big.locator(".mlws-ChartInfo").inner_text()
        assert 0 < int(big.locator(".mlws-Plot").get_attribute("data-points")) <= 2000
        # smoothing keeps the raw points faint behind the average
        charts.locator(".mlws-Smoothing input").fill("0.9")
        plot = loss.locator(".mlws-Plot")
        loss.locator(".mlws-Plot[data-smoothing='0.9'][data-lines='2'] canvas").wait_for()
        # several series on one chart
        loss.locator(".mlws-AddSeries").select_option("val_loss")
        loss.locator(".mlws-Plot[data-series='2'] canvas").wait_for()
        assert "val_loss" in loss.locator(".u-legend").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "run-page-charts.png"))
        # drag to zoom into steps; a double click zooms out
        full = plot.get_attribute("data-range")
        box = loss.locator(".u-over").bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2, steps=5)
        page.mouse.up()
        zoomed = [float(v) for v in plot.get_attribute("data-range").split(",")]
        low, high = (float(v) for v in full.split(","))
        assert low < zoomed[0] < zoomed[1] < high
        loss.locator(".u-over").dblclick()
        assert plot.get_attribute("data-range") == full
        # x as the time since the first point, y on a log scale
        charts.locator(".mlws-XAxis").select_option("time")
        charts.locator(".mlws-LogScale").check()
        loss.locator(".mlws-Plot[data-x='time'][data-log='true'] canvas").wait_for()
        # points logged within a second: ticks in ms, each its own label (not every one "0s")
        ticks = loss.locator(".mlws-Plot[data-x='time']").get_attribute("data-x-ticks").split()
        assert len(ticks) >= 3 and len(set(ticks)) == len(ticks), ticks
    finally:
        context.close()


def test_values_artifacts_snapshot_and_environment(browser, lab, runs):
    rich = runs["rich"]
    context, page = open_pages(browser, lab, rich, name="run-page-files")
    try:
        view = run_page(page, rich)
        values = tab(view, "values")
        table = values.locator(".mlws-Value[data-key='errors'] table")
        table.wait_for()
        counts = lambda: table.locator("tbody tr td:nth-child(2)").all_inner_texts()  # noqa: E731
        assert counts() == ["12", "3", "40", "7"]
        table.locator("th button", has_text="count").click()
        assert counts() == ["3", "7", "12", "40"]
        table.locator("th button", has_text="count").click()
        assert counts() == ["40", "12", "7", "3"]
        assert values.locator(".mlws-Value[data-key='per_class'] li").all_inner_texts() == ["0.9", "0.8", "0.95"]
        images = values.locator(".mlws-Value[data-key='samples'] .mlws-GalleryItem img")
        assert images.count() == 2
        page.wait_for_function("[...document.querySelectorAll('.mlws-GalleryItem img')].every(i => i.naturalWidth === 24)")

        artifacts = tab(view, "artifacts")
        preview = artifacts.locator(".mlws-Preview")

        def show(path: str):
            artifacts.locator(f".mlws-TreeFile[data-path='{path}']").click()
            preview.locator(".mlws-PreviewPath", has_text=path).wait_for()
            return preview

        show("data.csv").locator(".mlws-CsvTable tbody tr").nth(99).wait_for()
        assert preview.locator(".mlws-CsvTable tbody tr").count() == 100
        assert preview.locator(".mlws-CsvTable thead").inner_text().split() == ["name", "score"]
        show("config.json").locator(".mlws-tok-key", has_text='"layers"').wait_for()
        assert preview.locator(".mlws-tok-string", has_text='"rich"').count() == 1
        show("notes.txt").locator("pre", has_text="second line").wait_for()
        show("sample.png").locator("img.mlws-ImagePreview").wait_for()
        page.wait_for_function("document.querySelector('.mlws-ImagePreview').naturalWidth === 40")
        notebook = show("executed.ipynb").locator(".mlws-Notebook")
        notebook.locator(".mlws-NbStream", has_text="epoch 1 done").wait_for()
        assert notebook.locator(".mlws-NbText", has_text="42").count() == 1
        page.wait_for_function("document.querySelector('.mlws-NbImage').naturalWidth === 8")
        assert "text/html, application/javascript" in notebook.locator(".mlws-NbLeftOut").inner_text()
        assert notebook.locator("b, script").count() == 0
        page.screenshot(path=str(SCREENSHOTS / "run-page-artifacts.png"))
        # markup is shown as its source; neither its preview nor its download runs its script
        for path in ("report.html", "chart.svg"):
            show(path).locator(".mlws-MarkupText", has_text="<script>").wait_for()
            assert preview.locator("script, svg script, iframe").count() == 0
            link = preview.locator(".mlws-Download")
            with page.expect_download():
                link.click()
            head = page.request.get(link.get_attribute("href"))
            assert head.headers["content-disposition"].startswith("attachment")
            assert "sandbox" in head.headers["content-security-policy"]
        page.wait_for_timeout(500)
        assert page.evaluate("document.title") != PWNED_TITLE
        assert page.evaluate("window.__mlwsPwned") is None

        snapshot = tab(view, "snapshot")
        snapshot.locator(".mlws-Tree summary[data-folder='conf']").wait_for()
        snapshot.locator(".mlws-TreeFile[data-path='train.py']").click()
        snapshot.locator(".mlws-Preview pre", has_text="LR = 0.02").wait_for()

        env = tab(view, "environment")
        env.locator(".mlws-Packages li", has_text="torch==2.3.0").wait_for()
        env.locator(".mlws-DiffLink[data-with='previous run'] .mlws-Button").click()
        rows = env.locator(".mlws-EnvDiff tbody tr")
        rows.first.wait_for()
        assert {r.get_attribute("data-package"): r.get_attribute("class") for r in rows.all()} == {
            "numpy": "mlws-Changed", "scipy": "mlws-Removed", "torch": "mlws-Added"}
        assert env.locator(".mlws-EnvDiff tr[data-package='numpy']").inner_text().split() == ["numpy", "2.1.0", "2.2.0"]
    finally:
        context.close()


def test_failed_notebook_run_and_session_cells(browser, lab, runs):
    failed, session = runs["failed"], runs["session"]
    context, page = open_pages(browser, lab, failed, session, name="run-page-failed")
    try:
        view = run_page(page, failed)
        overview = view.locator(".mlws-Overview")
        failure = overview.locator(".mlws-Failure .mlws-Error").inner_text()
        assert "ValueError: bad value 2" in failure and re.search(r"[Cc]ell \d", failure)
        assert overview.locator(".mlws-EnvHash code").inner_text().strip()
        # the re-run form starts from the run's parameters
        view.locator(".mlws-RerunRun").click()
        dialog = page.locator(".jp-Dialog")
        assert dialog.locator(".mlws-SubmitParam[data-param='x']").input_value() == "1"
        assert dialog.locator(".mlws-Hint").inner_text().endswith("the others keep this run's values.")
        dialog.locator(".jp-mod-reject").click()
        # the source notebook opens in JupyterLab
        overview.locator(".mlws-OpenNotebook").click()
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="fails.ipynb").wait_for()

        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="analysis").first.click()
        view = run_page(page, session)
        cells = tab(view, "cells")
        items = cells.locator(".mlws-Cell")
        items.nth(2).wait_for()
        assert items.count() == 3
        second = cells.locator(".mlws-Cell[data-number='2']")
        assert "failed" in second.locator(".mlws-CellHead").inner_text()
        assert second.locator(".mlws-CellError").inner_text() == "KeyError: 'label'"
        assert second.locator(".mlws-CellDuration").inner_text() == "1.5 s"
        assert cells.locator(".mlws-Cell[data-number='3'] .mlws-CellMetric[data-metric='cell_acc']").inner_text() == "cell_acc 0.7500"
        assert "train(df)" in second.locator(".mlws-CellSource").inner_text()
        # promoted: a new notebook run of these cells opens, linked back to the session
        cells.locator(".mlws-PromoteRun").click()
        promoted = page.locator(".mlws-RunPage", has=page.locator(".mlws-PromotedFrom"))
        promoted.locator(".mlws-PromotedFrom .mlws-RunLink[data-run-id='%s']" % session).wait_for(timeout=30_000)
    finally:
        context.close()


def test_live_log_tail_appends_and_keeps_its_first_lines(browser, lab, runs):
    with Workspace.open(lab["root"]) as ws:
        run = ws.submit_notebook(lab["root"] / "live.ipynb", experiment="page")
    context, page = open_pages(browser, lab, run.id, name="run-page-live")
    try:
        # a log's new bytes arrive 1.5 s late, as from a loaded server: later events and the
        # status refresh overtake them (the old rule then showed only the last second's lines)
        page.route(lambda url: "since_bytes" in url, lambda route: (page.wait_for_timeout(1500), route.continue_()))
        view = run_page(page, run.id)
        logs = tab(view, "logs")
        text = logs.locator(".mlws-LogText[data-log='stdout.log']")
        text.wait_for(timeout=60_000)
        page.wait_for_function("(document.querySelector(\".mlws-LogText[data-log='stdout.log']\")?.textContent ?? '').includes('line 005')",
                               timeout=60_000)
        samples = []
        for _ in range(6):  # sampled once a second while the run prints five lines a second
            samples.append(text.inner_text())
            time.sleep(1)
        first = "line 000 of the live run"
        for earlier, later in zip(samples, samples[1:]):
            assert later.startswith(earlier), (earlier[-200:], later[:200])
        assert samples[0].startswith(first) and len(samples[-1]) > len(samples[0])
        lines = samples[-1].strip().splitlines()
        assert lines == [f"line {i:03d} of the live run" for i in range(len(lines))]
        assert view.locator(".mlws-RunPageHeader .mlws-Status").inner_text() == "running"
        # cancelled from its page: the status follows, and what was shown stays
        view.locator(".mlws-CancelRun").click()
        page.locator(".jp-Dialog .jp-mod-warn").click()
        view.locator(".mlws-RunPageHeader .mlws-Status", has_text="canceled").wait_for(timeout=30_000)
        assert text.inner_text().startswith(samples[-1])
    finally:
        page.unroute_all(behavior="ignoreErrors")  # a delayed reply must not outlive the page
        context.close()


def test_a_page_open_as_its_run_ends_keeps_the_end_and_lists_logs_stored_after_it(browser, lab):
    """A record fetched while the run ran but answered after a newer one (a loaded server) does
    not put the page back to "running"; a log the run's target stores after the end (an ssh
    runner's own) appears in the open Logs tab."""
    ws = Workspace.open(lab["root"])  # open until the end: closing it ends its live runs
    run = ws.experiment("page").start_run("ends-while-shown", snapshot=False, outputs=None)
    context, page = open_pages(browser, lab, run.id, name="run-page-ends")
    held = []

    def hold_one(route):  # the record as it is now, answered only when the test says
        if held:
            return route.continue_()
        held.append((route, route.fetch()))

    try:
        view = run_page(page, run.id)
        logs = tab(view, "logs")
        logs.locator(".mlws-Empty", has_text="No output yet.").wait_for()
        page.route(lambda url: url.split("?")[0].endswith(f"/mlws/api/runs/{run.id}"), hold_one)
        run.log("loss", 0.5)
        run.flush()  # a metrics event: the page fetches the record (running), held
        for _ in range(600):  # at most a minute
            if held:
                break
            page.wait_for_timeout(100)
        assert held, "the page did not fetch the run's record after its metrics event"
        run.end()  # a status event: the page fetches it again (completed), answered at once
        header = view.locator(".mlws-RunPageHeader .mlws-Status")
        header.filter(has_text="completed").wait_for(timeout=30_000)
        route, response = held[0]
        assert response.json()["status"] == "running"
        route.fulfill(response=response)  # the older answer arrives last
        page.wait_for_timeout(1500)
        assert header.inner_text() == "completed"
        ws.artifacts.attach_log(run.id, "ssh-runner.log", b"mlws ssh runner: exit 0\n")
        stored = logs.locator(".mlws-Log[data-log='ssh-runner.log']")
        stored.wait_for(timeout=30_000)
        assert stored.locator(".mlws-LogText").inner_text().strip() == "mlws ssh runner: exit 0"
        stored.locator("a.mlws-Download").filter(has_text=re.compile(r"^Download$")).wait_for()
    finally:
        page.unroute_all(behavior="ignoreErrors")
        context.close()
        ws.close()
