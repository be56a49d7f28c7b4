"""The runs table page in a real JupyterLab and browser: chosen columns (remembered per
experiment), nesting of sweep children, the best run marked, server-side sort and filter (the
caret error verbatim), keyboard, compare; the launcher and the palette; tabs restored on reload."""

from __future__ import annotations

import json
import re
import urllib.parse

import pytest

from .conftest import SCREENSHOTS, lab_api
from .conftest import palette

GRID = "grid"


@pytest.fixture(scope="module")
def grid(lab):
    """Experiment 'grid': two sweep parents with children (lr x batch; loss dips, then rises) and
    a lone run.  Returns the run ids by name."""
    from jupyter_mlws import Workspace

    ids = {}
    with Workspace.open(lab["root"]) as ws:
        exp = ws.experiment(GRID)
        for sweep, lrs in (("sweep-a", (0.1, 0.3)), ("sweep-b", (0.01, 0.03, 0.05))):
            with exp.start_run(sweep, snapshot=False, outputs=None) as parent:
                parent.set_tag("kind", "sweep")
                for lr in lrs:
                    for batch in (16, 32):
                        name = f"{sweep}-lr{lr}-b{batch}"
                        with parent.child(name) as child:
                            child.log_params({"lr": lr, "batch": batch})
                            low = abs(lr - 0.03) + batch / 1000  # sweep-b-lr0.03-b16 dips lowest
                            child.log_batch("loss", [1.0, low, low + 0.2])
                            child.log("acc", 1 - low)
                            ids[name] = child.id
                ids[sweep] = parent.id
        with exp.start_run("lone", snapshot=False, outputs=None) as run:
            run.log_params({"lr": 0.5, "batch": 8})
            run.log_batch("loss", [0.9, 0.8])
            run.log("acc", 0.4)
            ids["lone"] = run.id
    return ids


def _open_table(page, experiment: str = GRID):
    palette(page, "Runs table")
    table = page.locator("#jp-main-dock-panel .mlws-RunsPage")
    table.locator(".mlws-Experiment").wait_for()
    table.locator(".mlws-RunRow").first.wait_for()  # the first page of the latest experiment
    table.locator(".mlws-Experiment").select_option(experiment)
    return table


def _row_names(table, depth=None):
    rows = table.locator(".mlws-RunRow" + ("" if depth is None else f"[data-depth='{depth}']"))
    return rows.evaluate_all("rows => rows.map(r => r.querySelector('.mlws-RunName').textContent)")


def _headers(table):
    return table.locator("thead th[data-column]").evaluate_all("ths => ths.map(t => t.dataset.column)")


def test_columns_nesting_best_sort_filter_and_compare(page, lab, grid):
    table = _open_table(page)
    # the top level: runs without a parent, newest first, each parent with its child count
    page.wait_for_function("document.querySelector('.mlws-RunsPage .mlws-RunRow .mlws-RunName')?.textContent === 'lone'")
    assert _row_names(table, 0) == ["lone", "sweep-b", "sweep-a"]
    assert table.locator(f".mlws-RunRow[data-run-id='{grid['sweep-b']}'] .mlws-ChildCount").inner_text() == "6"
    assert table.locator(f".mlws-RunRow[data-run-id='{grid['lone']}'] .mlws-Expand").count() == 0

    # the best run by loss (lowest, as for a loss), among children too: its parent opened by itself
    best = table.locator(".mlws-RunRow.mlws-mod-best")
    best.wait_for()
    assert best.get_attribute("data-run-id") == grid["sweep-b-lr0.03-b16"]
    assert best.get_attribute("data-depth") == "1"
    assert table.locator(".mlws-BestMetric").input_value() == "loss"
    assert table.locator(".mlws-BestDirection").inner_text() == "lowest"
    assert "in children" in table.locator(f".mlws-RunRow[data-run-id='{grid['sweep-b']}']").inner_text()
    # switched to highest: the worst final loss (lone's 0.8)
    table.locator(".mlws-BestDirection").click()
    page.wait_for_function(f"document.querySelector('.mlws-BestRun')?.dataset.runId === {json.dumps(grid['lone'])}")
    table.locator(".mlws-BestDirection").click()
    page.wait_for_function(f"document.querySelector('.mlws-BestRun')?.dataset.runId === {json.dumps(grid['sweep-b-lr0.03-b16'])}")

    # expand the other sweep: its children below it, indented
    table.locator(f".mlws-RunRow[data-run-id='{grid['sweep-a']}'] .mlws-Expand").click()
    page.wait_for_function("document.querySelectorAll('.mlws-RunsPage .mlws-RunRow[data-depth=\"1\"]').length === 10")
    assert table.locator(f".mlws-RunRow[data-run-id='{grid['sweep-a']}'] .mlws-Expand").get_attribute("aria-expanded") == "true"
    # the footer counts the page's runs and the children shown under them
    assert table.locator(".mlws-PageInfo").inner_text() == "page 1 · 3 runs + 10 children shown"

    # the column chooser: the experiment's keys; loss as its smallest value, a tag, the user
    table.locator(".mlws-ColumnsButton").click()
    chooser = table.locator(".mlws-ColumnChooser")
    assert "batch" in chooser.locator("fieldset", has_text="Params").inner_text()
    chooser.locator("[data-column='metric:min:loss'] input").check()
    # a metric's last/min/max boxes are named for the metric, not only "min"
    assert chooser.get_by_role("checkbox", name="loss: min", exact=True).is_checked()
    chooser.locator("[data-column='tag::kind'] input").check()
    chooser.locator("[data-column='attribute::user'] input").check()
    chooser.locator("[data-column='attribute::duration'] input").uncheck()
    chooser.locator("button", has_text="Done").click()
    assert _headers(table) == ["attribute::status", "attribute::start_time", "param::batch", "param::lr",
                               "metric:last:acc", "metric:last:loss", "metric:min:loss", "tag::kind", "attribute::user"]
    # a child's smallest loss, from every point (the server's ranges), beside its last
    child = table.locator(f".mlws-RunRow[data-run-id='{grid['sweep-b-lr0.03-b16']}']")
    page.wait_for_function(
        f"document.querySelector(\".mlws-RunRow[data-run-id='{grid['sweep-b-lr0.03-b16']}'] td:nth-child(9)\")?.textContent === '0.01600'")
    assert child.locator("td").nth(7).inner_text() == "0.2160"  # the last loss
    assert "completed" in child.locator("td").nth(2).inner_text()  # the status in full, with its dot
    page.locator('.jp-SideBar.jp-mod-left [data-id="mlws-sidebar"]').click()  # the navigator beside it
    page.locator(".mlws-Sidebar .mlws-NavRun").first.wait_for()
    page.mouse.move(0, 880)
    page.screenshot(path=str(SCREENSHOTS / "runs-table.png"))

    # sort by the smallest loss, on the server: the children of an expanded parent follow it;
    # the first click sorts best first (a loss: lowest first), the next one flips it
    table.locator("th[data-column='metric:last:acc'] button").click()
    table.locator("th[data-column='metric:last:acc'][aria-sort='descending']").wait_for()
    table.locator("th[data-column='metric:min:loss'] button").click()
    table.locator("th[data-column='metric:min:loss'][aria-sort='ascending']").wait_for()
    table.locator("th[data-column='metric:min:loss'] button").click()
    table.locator("th[data-column='metric:min:loss'][aria-sort='descending']").wait_for()
    table.locator("th[data-column='metric:min:loss'] button").click()
    table.locator("th[data-column='metric:min:loss'][aria-sort='ascending']").wait_for()
    expected = lab_api(lab, "GET", "runs?" + urllib.parse.urlencode(
        {"filter": f"parent_id = '{grid['sweep-b']}'", "order_by": "min(metrics.loss) ASC"}))[1]["runs"]
    page.wait_for_function(
        "ids => JSON.stringify([...document.querySelectorAll('.mlws-RunsPage .mlws-RunRow[data-depth=\"1\"]')]"
        ".map(r => r.dataset.runId).filter(id => ids.includes(id))) === JSON.stringify(ids)",
        arg=[r["id"] for r in expected])

    # the filter language, evaluated by the server; its error verbatim, caret under the mistake
    bad = "params.lr >> 0.1"
    status, error = lab_api(lab, "GET", "runs?" + urllib.parse.urlencode({"filter": bad}))
    assert status == 400 and "^" in error["message"]
    table.locator(".mlws-Filter").fill(bad)
    table.locator(".mlws-Filter").press("Enter")
    alert = table.locator(".mlws-RunsError")
    alert.wait_for()
    assert alert.inner_text() == error["message"]
    assert alert.evaluate("e => getComputedStyle(e).whiteSpace") == "pre"
    # only the error speaks: no "page 1 · 0 runs", no "no run has loss" beside it
    page.wait_for_function("document.querySelector('.mlws-RunsPage .mlws-PageInfo').textContent === ''")
    assert table.locator(".mlws-BestRun").inner_text() == ""
    # a filter on what only children have: none at the top level, all of them flat
    table.locator(".mlws-Filter").fill("metrics.acc > 0.5")
    table.locator(".mlws-Filter").press("Enter")
    alert.wait_for(state="detached")
    table.locator(".mlws-Empty", has_text="untick").wait_for()
    table.locator(".mlws-Nested input").uncheck()
    page.wait_for_function("document.querySelectorAll('.mlws-RunsPage .mlws-RunRow').length === 10")
    assert table.locator(f".mlws-RunRow[data-run-id='{grid['lone']}']").count() == 0
    table.locator(".mlws-Nested input").check()

    # tick two runs: "Compare selected (2)" opens the compare page with them
    table.locator(".mlws-Filter").fill("")
    table.locator(".mlws-Filter").press("Enter")
    table.locator(f".mlws-RunRow[data-run-id='{grid['lone']}']").wait_for()
    for name in ("lone", "sweep-b-lr0.03-b16"):
        table.locator(f".mlws-RunRow[data-run-id='{grid[name]}'] .mlws-Select").check()
    table.locator(".mlws-Compare-open", has_text="Compare selected (2)").click()
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Compare 2: ").wait_for()  # and the names


def test_columns_are_remembered_per_experiment_and_rows_open_with_the_keyboard(page, lab, grid):
    table = _open_table(page)
    table.locator(f".mlws-RunRow[data-run-id='{grid['lone']}']").wait_for()
    table.locator(".mlws-ColumnsButton").click()
    table.locator(".mlws-ColumnChooser [data-column='metric:max:loss'] input").check()
    page.keyboard.press("Escape")  # closes the chooser
    table.locator(".mlws-ColumnChooser").wait_for(state="detached")
    assert "metric:max:loss" in _headers(table)
    # another experiment has its own columns; back on this one, the choice is still there
    table.locator(".mlws-Experiment").select_option("long")
    page.wait_for_function("!document.querySelector(\".mlws-RunsPage th[data-column='metric:max:loss']\")")
    table.locator(".mlws-Experiment").select_option(GRID)
    table.locator("th[data-column='metric:max:loss']").wait_for()
    stored = page.evaluate("() => JSON.parse(localStorage.getItem('jupyter-mlws:runs-table:grid'))")
    assert {"kind": "metric", "key": "loss", "agg": "max"} in stored["columns"]
    page.wait_for_function(
        f"document.querySelector(\".mlws-RunRow[data-run-id='{grid['lone']}'] td:last-child\")?.textContent === '0.9000'")

    # keyboard: rows take the focus (visibly) and Enter opens the run's page
    row = table.locator(f".mlws-RunRow[data-run-id='{grid['lone']}']")
    row.focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")  # focus moved by the keyboard: :focus-visible applies
    assert row.evaluate("r => document.activeElement === r && getComputedStyle(r).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="lone").wait_for()
    page.locator(f"#jp-main-dock-panel .mlws-RunPage[data-run-id='{grid['lone']}'] .mlws-RunTitle").wait_for()


def test_palette_launcher_and_restored_tabs(page, lab, grid):
    # the launcher offers the pages and the comparison (disabled with fewer than 2 runs ticked)
    page.locator(".jp-LauncherCard", has_text="Runs table").first.wait_for()
    section = page.locator(".jp-Launcher-section", has_text="ML workspace")
    assert {c.strip() for c in section.locator(".jp-LauncherCard-label").all_inner_texts()} >= {
        "Runs table", "Models", "Endpoints", "Compare selected runs"}
    page.keyboard.press("Control+Shift+C")
    page.locator(".lm-CommandPalette-input").fill("Compare selected runs")
    item = page.locator(".lm-CommandPalette-item", has_text="Compare selected runs").first
    assert "lm-mod-disabled" in item.get_attribute("class")
    page.keyboard.press("Escape")

    section.locator(".jp-LauncherCard", has_text="Runs table").click()
    table = page.locator("#jp-main-dock-panel .mlws-RunsPage")
    table.locator(".mlws-RunRow").first.wait_for()
    table.locator(".mlws-Experiment").select_option(GRID)
    table.locator(f".mlws-RunRow[data-run-id='{grid['lone']}'] .mlws-Select").check()
    table.locator(f".mlws-RunRow[data-run-id='{grid['sweep-a']}'] .mlws-Select").check()
    palette(page, "Compare selected runs")  # the ticked runs of the runs table
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Compare 2: ").wait_for()  # and the names
    palette(page, "Models")
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Models").wait_for()

    # reload: the open pages come back
    page.wait_for_timeout(1000)  # the layout is saved a moment after a change
    page.reload()
    page.wait_for_selector("#jp-main-dock-panel")
    for label in ("^Runs · grid$", "^Compare 2: ", "^Models$"):
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=re.compile(label)).wait_for()
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=re.compile("^Runs")).click()
    page.locator("#jp-main-dock-panel .mlws-RunsPage .mlws-RunRow").first.wait_for()


def test_long_numbers_are_short_and_the_name_stays_in_view_sideways(page, lab):
    """A run with params at full float precision: cells show 4 significant digits (the full value
    in their tooltip); in a narrow tab scrolled sideways, the tick box and the name stay."""
    from jupyter_mlws import Workspace

    from .test_compare import make_older

    with Workspace.open(lab["root"]) as ws:
        with ws.experiment("wide").start_run("wide-1", snapshot=False, outputs=None) as run:
            run.log_params({"alpha": 0.6765663658770239, "l1_ratio": 1.5942394656008927e-05,
                            "penalty": "elasticnet", "solver": "saga"})
            run.log("acc", 0.5)
            run_id = run.id
        make_older(ws, "wide")  # not the latest experiment for the modules after this one
    table = _open_table(page, "wide")
    row = table.locator(f".mlws-RunRow[data-run-id='{run_id}']")
    row.wait_for()
    alpha = row.locator("td.mlws-col-param").first
    assert alpha.inner_text() == "0.6766" and alpha.get_attribute("title") == "0.6765663658770239"
    l1 = row.locator("td.mlws-col-param").nth(1)
    assert l1.inner_text() == "0.00001594" and l1.get_attribute("title") == "1.5942394656008927e-05"
    scroll = table.locator(".mlws-RunsScroll")
    scroll.evaluate("s => { s.style.width = '480px'; s.scrollLeft = s.scrollWidth; }")
    page.wait_for_function("document.querySelector('.mlws-RunsPage .mlws-RunsScroll').scrollLeft > 200")
    left = scroll.bounding_box()["x"]
    for cell in (".mlws-SelectCell", ".mlws-NameCell"):
        box = row.locator(f"td{cell}").bounding_box()
        assert left - 1 <= box["x"] <= left + 40, (cell, box, left)
    # what is under the name is hidden by it: the name is what a click there hits
    name = row.locator(".mlws-RunName").bounding_box()
    hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y)?.closest('td')?.className",
                        [name["x"] + 2, name["y"] + name["height"] / 2])
    assert "mlws-NameCell" in hit
    page.screenshot(path=str(SCREENSHOTS / "runs-table-sideways.png"))


def test_a_teams_experiment_shows_who_ran_each_run(page, lab):
    """Runs of two users (a team server's): the User column is a default column (a newcomer
    looked for who ran what and found it hidden; one user's runs keep the table narrow: see
    test_columns_nesting_best_sort_filter_and_compare)."""
    from jupyter_mlws import Workspace

    from .test_compare import make_older

    with Workspace.open(lab["root"]) as ws:
        for user in ("alice", "bob"):
            record = ws.runs.create("team-runs", name=f"{user}-1", user=user)
            ws.runs.end(record.id, "completed")
        make_older(ws, "team-runs")
    table = _open_table(page, "team-runs")
    for user in ("alice", "bob"):
        table.locator(".mlws-RunName", has_text=f"{user}-1").wait_for()
    page.wait_for_function("document.querySelectorAll('.mlws-RunsPage .mlws-RunRow').length == 2")
    headers = _headers(table)
    assert headers[:2] == ["attribute::status", "attribute::user"], headers
    cells = table.locator(".mlws-RunRow").evaluate_all(
        "rows => rows.map(r => r.querySelectorAll('td.mlws-col-attribute')[1].textContent)")
    assert sorted(cells) == ["alice", "bob"], cells
