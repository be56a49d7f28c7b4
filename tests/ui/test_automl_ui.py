"""An automated-ML search where users look, in Chromium: the ``AutoMLDetails`` widget rendered by a
real kernel in JupyterLab, and the search's run page (its leaderboard: the trials by the service's
rank, the best the search's, by the search's metric and direction; its overview: the budget line
and the way to the leaderboard).  Two real FLAML searches on load_breast_cancer, shared by the
module: one by roc_auc (higher is better), one by log_loss (lower is better)."""

from __future__ import annotations

import re

import nbformat
import pytest

pytest.importorskip("flaml")
pytest.importorskip("lightgbm")
pytest.importorskip("sklearn")

from .conftest import SCREENSHOTS, open_page  # noqa: E402
from .test_compare import make_older, vega_marks  # noqa: E402
from .test_sweep_page import _theme  # noqa: E402

EXPERIMENT = "automl-ui"
#: an ended search's budget line, as both faces word it
BUDGET_LINE = re.compile(r"[\d.]+ s of 6 s used \(search [\d.]+ s, refit [\d.]+ s; setup [\d.]+ s apart\)")


@pytest.fixture(scope="module")
def searches(lab):
    """Two ended searches in the served workspace, and what the service shows of each."""
    from sklearn.datasets import load_breast_cancer

    from jupyter_mlws import Workspace

    csv = lab["root"].parent / "bc.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(csv, index=False)
    with Workspace.open(lab["root"]) as ws:
        ws.datasets.register("bc", csv, tabular=True)
        auc = ws.automl("bc", "target", "classification", time_budget=6, estimators=["lgbm", "lrl1"],
                        experiment=EXPERIMENT, wait=True)
        loss = ws.automl("bc", "target", "classification", metric="log_loss", time_budget=60,
                         max_trials=4, estimators=["lgbm"], experiment=EXPERIMENT, register=False,
                         wait=True)
        shown = {name: ws.automl_service.show(run.id) for name, run in (("auc", auc), ("loss", loss))}
        make_older(ws, EXPERIMENT)
    for item in shown.values():
        assert item["run"]["status"] == "completed", item["run"]["error"]
    return shown


def test_the_automl_details_widget_shows_the_leaderboard_in_a_notebook(page, lab, searches):
    shown = searches["auc"]
    board = shown["leaderboard"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        f"from jupyter_mlws.widgets import AutoMLDetails\nAutoMLDetails({shown['run']['id']!r})")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, lab["root"] / "automl.ipynb")
    # in this test's own JupyterLab workspace: the default one's layout (this notebook open) would
    # reopen in every module that opens lab/tree/...
    page.goto(f"{lab['url']}{lab['home']}/tree/automl.ipynb?token={lab['token']}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    page.locator(".jp-StatusBar-Widget", has_text="| Idle").wait_for(timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.get_by_text("Run All Cells", exact=True).click()

    details = page.locator(".mlws-AutoMLDetails")
    details.locator(".mlws-AutoMLTable").wait_for(timeout=60_000)
    assert "completed" in details.locator(".mlws-WidgetStatus").inner_text()
    assert "automated ML on bc:1: predict target (classification)" in details.inner_text()
    summary = details.locator(".mlws-AutoMLSummary")
    assert summary.locator("tr[data-field='metric'] td").inner_text() == "roc_auc (higher is better)"
    budget = summary.locator("tr[data-field='budget'] td").inner_text()
    assert BUDGET_LINE.match(budget)
    assert summary.locator("tr[data-field='trials'] td").inner_text() == f"{len(board)} done"
    assert summary.locator("tr[data-field='model'] td").inner_text() == "bc-target:1 registered"
    # the leaderboard: the service's rows, best first and marked
    header = details.locator(".mlws-AutoMLTable thead th").all_inner_texts()
    assert header == ["", "rank", "trial", "estimator", "roc_auc", "train time (s)", "run"]
    rows = details.locator(".mlws-AutoMLTable tbody tr")
    assert rows.count() == min(len(board), 20)
    best = details.locator(".mlws-AutoMLTable tr.mlws-AutoMLBest")
    assert best.count() == 1
    top = board[0]
    assert best.locator("td").all_inner_texts() == [
        "★ best", "1", str(top["trial"]), top["estimator"], f"{top['metric']:.5g}",
        f"{top['train_time_s']:.2f}", top["run_id"]]
    assert rows.nth(0).get_attribute("class") == "mlws-AutoMLBest"
    assert [rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())] == \
        [str(r["rank"]) for r in board[:20]]
    details.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "automl-widget.png"))


def _spent(budget: str) -> float:
    """The seconds spent, from a budget line ("5.84 s of 6 s used ...")."""
    match = re.match(r"([\d.]+) s of [\d.]+ s used", budget)
    assert match, budget
    return float(match[1])


def _leaderboard(page, lab, run_id: str):
    open_page(page, lab, {"kind": "run", "id": run_id})
    view = page.locator(".mlws-Sweep[data-loaded='true']")
    view.wait_for()
    return view


def _drawn(view) -> None:
    """Wait for the parallel coordinates to be drawn (Vega takes its time on a loaded machine)."""
    view.locator(".mlws-Parallel .mlws-PlotHost[data-drawn='true'] svg").wait_for(timeout=90_000)


def _rows(view) -> list[str]:
    """The leaderboard's rows' run ids, top to bottom."""
    return view.locator(".mlws-Leaderboard tr.mlws-ResultRow").evaluate_all(
        "rows => rows.map(r => r.dataset.runId)")


def test_a_search_opens_on_its_leaderboard_ranked_by_its_metric(page, lab, searches):
    shown = searches["auc"]
    board = shown["leaderboard"]
    view = _leaderboard(page, lab, shown["run"]["id"])
    tab = page.locator(".mlws-RunTab[data-tab='sweep']")
    assert tab.inner_text() == "Leaderboard" and tab.get_attribute("aria-selected") == "true"
    # judged as the search judges: roc_auc, highest first; the best is the service's best trial
    assert view.locator(".mlws-BestMetric").input_value() == "roc_auc"
    assert view.locator(".mlws-BestDirection").input_value() == "max"
    marked = view.locator(".mlws-Leaderboard tr.mlws-Best")
    assert marked.count() == 1 and marked.get_attribute("data-run-id") == board[0]["run_id"]
    assert "★ best" in marked.inner_text()
    # the trials by the service's rank
    assert _rows(view) == [r["run_id"] for r in board]
    header = [h.strip(" ▼▲") for h in view.locator(".mlws-Leaderboard thead th").all_inner_texts()]
    assert header == ["Run", "Rank", "Status", "estimator", "roc_auc", "train_time_s", "val_loss",
                      "Hyper-parameters"]
    ranks = view.locator(".mlws-Leaderboard tr.mlws-ResultRow td.mlws-Col-attribute").all_inner_texts()
    assert ranks[::3] == [str(r["rank"]) for r in board]
    first = view.locator(".mlws-Leaderboard tr.mlws-ResultRow").first.locator("td").all_inner_texts()
    assert first[3] == board[0]["estimator"] and float(first[4]) == pytest.approx(board[0]["metric"], rel=1e-3)
    assert "=" in first[7]  # its hyper-parameters, name=value
    # the search in brief above it: the budget line, trials, the model
    summary = view.locator(".mlws-AutoMLSummary")
    assert summary.locator("[data-field='metric'] dd").inner_text() == "roc_auc (higher is better)"
    budget = summary.locator(".mlws-BudgetText").inner_text()
    assert BUDGET_LINE.match(budget)
    assert summary.locator("[data-field='trials'] dd").inner_text() == f"{len(board)} done"
    assert summary.locator(".mlws-AutoMLModel").inner_text() == "bc-target:1"
    assert view.locator(".mlws-GridTable").count() == 0  # a search has no grid
    # parallel coordinates: a line per trial of the best trial's estimator, on its own
    # hyper-parameters (another estimator's are other axes, or the same names meaning else)
    _drawn(view)
    same = [r for r in board if r["estimator"] == board[0]["estimator"]]
    assert vega_marks(view, ".mlws-Parallel", "line").count() == len(same)
    assert view.locator(".mlws-ChartRow h3").first.inner_text() == \
        f"Parallel coordinates of the {board[0]['estimator']} trials (the best trial's estimator)"
    page.screenshot(path=str(SCREENSHOTS / "automl-leaderboard.png"))
    view.locator(".mlws-ChartRow").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "automl-leaderboard-charts.png"))
    # another metric ranks by its own rule, and back to the search's is the search's best again
    view.locator(".mlws-BestMetric").select_option("train_time_s")
    assert view.locator(".mlws-BestDirection").input_value() == "min"
    fastest = min(board, key=lambda r: r["train_time_s"])["train_time_s"]
    marked_time = float(view.locator(".mlws-Leaderboard tr.mlws-Best td").nth(5).inner_text())
    assert marked_time == pytest.approx(fastest, rel=1e-3, abs=1e-4)
    view.locator(".mlws-BestMetric").select_option("roc_auc")
    assert view.locator(".mlws-BestDirection").input_value() == "max"
    assert view.locator(".mlws-Leaderboard tr.mlws-Best").get_attribute("data-run-id") == board[0]["run_id"]
    # a click on a model opens its page
    summary.locator(".mlws-AutoMLModel").click()
    page.locator(".lm-DockPanel-tabBar .lm-mod-current", has_text="bc-target").wait_for()


def test_a_search_by_a_lower_is_better_metric_marks_the_lowest_in_the_dark_theme(page, lab, searches):
    shown = searches["loss"]
    board = shown["leaderboard"]
    assert shown["direction"] == "min" and len(board) == 4
    _theme(lab, "JupyterLab Dark")
    try:
        view = _leaderboard(page, lab, shown["run"]["id"])
        page.wait_for_selector("body[data-jp-theme-light='false']", state="attached")
        _drawn(view)
        page.screenshot(path=str(SCREENSHOTS / "automl-leaderboard-dark.png"))
        # the summary's text is the theme's (light on dark)
        color = page.evaluate("getComputedStyle(document.body).getPropertyValue('--jp-ui-font-color1').trim()")
        shade = page.evaluate(
            "c => { const x = document.createElement('canvas').getContext('2d'); x.fillStyle = c; return x.fillStyle; }",
            color)
        text = view.locator(".mlws-AutoMLSummary [data-field='metric'] dd").evaluate(
            "el => { const x = document.createElement('canvas').getContext('2d');"
            " x.fillStyle = getComputedStyle(el).color; return x.fillStyle; }")
        assert text == shade
    finally:
        _theme(lab, None)
    assert view.locator(".mlws-BestMetric").input_value() == "log_loss"
    assert view.locator(".mlws-BestDirection").input_value() == "min"
    assert view.locator(".mlws-Leaderboard tr.mlws-Best").get_attribute("data-run-id") == board[0]["run_id"]
    assert _rows(view) == [r["run_id"] for r in board]
    values = [float(v) for v in view.locator(".mlws-Leaderboard td.mlws-Col-metric").all_inner_texts()[::3]]
    assert values == sorted(values)  # lowest first
    assert view.locator(".mlws-AutoMLSummary [data-field='metric'] dd").inner_text() == "log_loss (lower is better)"
    assert view.locator(".mlws-AutoMLSummary [data-field='model'] dd").inner_text() == \
        "not registered (the search was asked not to)"


def test_a_searchs_overview_has_its_budget_and_the_way_to_its_leaderboard(page, lab, searches):
    shown = searches["auc"]
    open_page(page, lab, {"kind": "run", "id": shown["run"]["id"], "tab": "overview"})
    section = page.locator(".mlws-AutoMLSection")
    section.wait_for()
    spent = shown["budget"]["time_spent_s"]
    budget = section.locator(".mlws-BudgetText").inner_text()
    assert _spent(budget) == pytest.approx(spent, abs=0.06), budget
    assert re.match(r"[\d.]+ s of 6 s used \(search ", budget)
    meter = section.locator("meter.mlws-BudgetMeter")
    assert float(meter.get_attribute("value")) == pytest.approx(min(spent, 6), rel=1e-3)
    assert meter.get_attribute("max") == "6"
    link = section.locator(".mlws-OpenLeaderboard")
    assert link.inner_text() == f"Open the leaderboard ({len(shown['leaderboard'])} trials)"
    link.click()
    assert page.locator(".mlws-RunTab[data-tab='sweep']").get_attribute("aria-selected") == "true"
    page.locator(".mlws-Sweep[data-loaded='true'] .mlws-Leaderboard").wait_for()


def test_a_running_searchs_leaderboard_grows_while_it_runs(page, lab, searches):
    from jupyter_mlws import Workspace

    with Workspace.open(lab["root"]) as ws:  # detached, with time to spare: canceled below
        run = ws.automl("bc", "target", "classification", time_budget=120, estimators=["lgbm"],
                        experiment="automl-live", register=False)
    # asked for its leaderboard: the overview until its first trial, then the leaderboard
    open_page(page, lab, {"kind": "run", "id": run.id, "tab": "sweep"})
    rows = page.locator(".mlws-Sweep[data-loaded='true'] .mlws-Leaderboard tr.mlws-ResultRow")
    rows.first.wait_for(timeout=90_000)
    # new trials appear as they end (their events name the parent), the search still running
    page.wait_for_function(
        """n => document.querySelectorAll('.mlws-Leaderboard tr.mlws-ResultRow').length > n
               && document.querySelector('.mlws-Sweep .mlws-BudgetText').textContent.endsWith('so far')""",
        arg=rows.count(), timeout=90_000)
    with Workspace.open(lab["root"]) as ws:
        ws.cancel_run(run.id)
    page.locator(".mlws-RunPageHeader .mlws-Status", has_text="canceled").wait_for(timeout=60_000)
    with Workspace.open(lab["root"]) as ws:
        shown = ws.automl_service.show(run.id)
        make_older(ws, "automl-live")
    board = shown["leaderboard"]
    page.wait_for_function("n => document.querySelectorAll('.mlws-Leaderboard tr.mlws-ResultRow').length == n",
                           arg=len(board))
    assert page.locator(".mlws-Leaderboard tr.mlws-Best").get_attribute("data-run-id") == board[0]["run_id"]
    budget = page.locator(".mlws-Sweep .mlws-BudgetText").inner_text()
    assert re.fullmatch(r"[\d.]+ s of 120 s used", budget), budget


def test_the_navigator_shows_each_search_by_its_own_metric(page, lab, searches):
    """Searches by different metrics in one experiment: each navigator row shows a value, the
    experiment's metric where the run has it, else its own (a newcomer saw a roc_auc search's
    row blank beside a log_loss one's, and a regression's beside a classification's)."""
    page.goto(f"{lab['url']}lab/workspaces/automl-nav?mlws=open&token={lab['token']}")
    nav = page.locator(".mlws-Sidebar")
    nav.locator(".mlws-NavRun").first.wait_for()
    nav.locator(".mlws-NavExperiment").select_option(EXPERIMENT)
    for key, metric in (("auc", "best_roc_auc"), ("loss", "best_log_loss")):
        row = nav.locator(f".mlws-NavRun[data-run-id='{searches[key]['run']['id']}']")
        row.wait_for()
        assert row.locator(".mlws-NavDetailText").inner_text() == metric
        value = searches[key]["leaderboard"][0]["metric"]
        assert float(row.locator(".mlws-NavValue").inner_text()) == pytest.approx(value, rel=1e-3)
    page.screenshot(path=str(SCREENSHOTS / "automl-navigator.png"))


def test_the_runs_table_marks_the_best_trial_by_the_searchs_metric(page, lab, searches):
    """An experiment of searches (parents and their trials): the runs table judges by the latest
    search's metric and direction, as its leaderboard does; it once guessed a loss first
    (`best_log_loss`, a parent's) and marked a parent."""
    shown = searches["loss"]  # the experiment's latest search
    best = shown["leaderboard"][0]["run_id"]
    open_page(page, lab, {"kind": "runs", "experiment": EXPERIMENT})
    table = page.locator("#jp-main-dock-panel .mlws-RunsPage")
    table.locator(f".mlws-BestRun[data-run-id='{best}']").wait_for()
    assert table.locator(".mlws-BestMetric").input_value() == shown["metric"] == "log_loss"
    assert table.locator(".mlws-BestDirection").inner_text() == "lowest"
    # the search's best trial, under its parent (opened by itself), which says it holds it
    marked = table.locator(".mlws-RunRow.mlws-mod-best")
    marked.wait_for()
    assert marked.get_attribute("data-run-id") == best and marked.get_attribute("data-depth") == "1"
    assert "in children" in table.locator(f".mlws-RunRow[data-run-id='{shown['run']['id']}']").inner_text()
    # the other search's trials have no log_loss: none of them is marked
    assert table.locator(".mlws-RunRow.mlws-mod-best").count() == 1
    # its columns: the trials' estimator and the search's metrics, not every estimator's
    # hyper-parameters (a newcomer found the metrics pushed off the page by them)
    headers = table.locator("thead th[data-column]").evaluate_all("ths => ths.map(t => t.dataset.column)")
    assert [h for h in headers if not h.startswith("attribute:")] == [
        "param::estimator", "metric:last:log_loss", "metric:last:best_log_loss", "metric:last:trials",
        "metric:last:train_time_s"], headers


def test_a_search_that_ended_early_says_why_and_how_it_goes_on(page, lab, searches):
    """A canceled (or failed, or killed) search's page opens on its leaderboard as any search's
    does, and says there why it ended and the command that goes on from its finished trials (a
    newcomer's failed search showed only a red 'failed')."""
    from mlws_testing import wait_for

    from jupyter_mlws import Workspace

    with Workspace.open(lab["root"]) as ws:
        run_id = ws.automl_service.start("bc", "target", "classification", time_budget=120,
                                         estimators=["lgbm"], experiment=EXPERIMENT,
                                         register=False)
        wait_for(lambda: ws.runs.children(run_id), "a trial recorded", 120)
        ws.cancel_run(run_id)
    view = _leaderboard(page, lab, run_id)
    note = view.locator(".mlws-AutoMLEnded")
    assert note.inner_text() == (f"The search canceled: canceled by the user. Its finished trials "
                                 f"are kept: mlws automl resume {run_id} goes on from them.")
    assert view.locator(".mlws-Leaderboard tr.mlws-ResultRow").count() >= 1
    page.screenshot(path=str(SCREENSHOTS / "automl-ended.png"))
