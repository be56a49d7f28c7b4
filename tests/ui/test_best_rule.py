"""One rule for "best" on every page (labextension/src/ranking.ts): a loss ranks lowest first, a
score highest first, picking another metric takes that metric's direction, ties go to the run that
started first, and the choice is remembered for the experiment (the compare page's choice is the
runs table's)."""

from __future__ import annotations

import time

import pytest

from .conftest import open_page
from .test_compare import make_older

EXPERIMENT = "rank3"
#: name -> (b, loss): `b` is the first metric alphabetically (it once was the default, "highest");
#: beta and gamma tie on the lowest loss, and beta started first, so beta is the best by loss
RUNS = {"alpha": (3.0, 0.9), "beta": (1.0, 0.3), "gamma": (2.0, 0.3)}




def make_three(lab, experiment: str) -> dict[str, str]:
    """Three runs of ``experiment`` logging `b` and `loss` once each (RUNS); their ids by name."""
    from jupyter_mlws import Workspace

    ids = {}
    with Workspace.open(lab["root"]) as ws:
        for name, (b, loss) in RUNS.items():
            with ws.experiment(experiment).start_run(name, snapshot=False, outputs=None) as run:
                run.log("b", b)
                run.log("loss", loss)
                ids[name] = run.id
            time.sleep(0.01)  # distinct start times
        make_older(ws, experiment)
    return ids


@pytest.fixture(scope="module")
def three(lab):
    return make_three(lab, EXPERIMENT)


def best_row(view) -> str:
    best = view.locator(".mlws-CompareMetrics tr.mlws-Best")
    assert best.count() == 1
    return best.locator("th, td").first.inner_text()


def test_compare_ranks_a_loss_lowest_and_follows_the_metric_picked(page, lab, three):
    missing = []  # runs without environment.json: the compare page asks their files, never 404s
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 and "/mlws/" in r.url else None)
    open_page(page, lab, {"kind": "compare", "ids": [three["gamma"], three["beta"], three["alpha"]]})
    view = page.locator(".mlws-ComparePage[data-loaded='true']")
    view.wait_for()
    tab = page.locator(".lm-DockPanel-tabBar .lm-mod-current")
    assert tab.inner_text().strip() == "Compare 3: gamma, beta, alpha"
    # at first: the loss, lowest first; of the tie, the run that started first
    assert view.locator(".mlws-BestMetric").input_value() == "loss"
    assert view.locator(".mlws-BestDirection").input_value() == "min"
    assert "beta" in best_row(view)
    assert view.locator(".mlws-CompareSection", has_text="No environment recorded").count() == 1
    assert missing == []
    # the best run's highlight has a colour of its own, not another run's series colour
    view.locator(".mlws-Bars .mlws-PlotHost[data-drawn='true']").wait_for()  # drawn: under load, later
    best_fill = view.locator(".mlws-Bars svg g.mark-rect.role-mark path").evaluate_all(
        "paths => paths.map(p => p.getAttribute('fill'))")
    swatches = view.locator(".mlws-RunChips .mlws-Swatch").evaluate_all(
        "spans => spans.map(s => { const c = document.createElement('canvas').getContext('2d');"
        " c.fillStyle = getComputedStyle(s).backgroundColor; return c.fillStyle; })")
    normalized = page.evaluate(
        "fills => fills.map(f => { const c = document.createElement('canvas').getContext('2d');"
        " c.fillStyle = f; return c.fillStyle; })", best_fill)
    assert len(set(normalized)) == 2  # the best, and the others
    assert not set(normalized) & set(swatches), (normalized, swatches)
    # another metric takes its own direction; back to loss is lowest again (never the worst run)
    view.locator(".mlws-BestMetric").select_option("b")
    assert view.locator(".mlws-BestDirection").input_value() == "max"
    assert "alpha" in best_row(view)
    view.locator(".mlws-BestMetric").select_option("loss")
    assert view.locator(".mlws-BestDirection").input_value() == "min"
    assert "beta" in best_row(view)
    # the choice is the experiment's: the runs table judges by it, and names the same best run
    view.locator(".mlws-BestMetric").select_option("b")
    open_page(page, lab, {"kind": "runs", "experiment": EXPERIMENT})
    picker = page.locator(".mlws-BestPicker")
    picker.wait_for()
    assert picker.locator(".mlws-BestMetric").input_value() == "b"
    assert picker.locator(".mlws-BestDirection").inner_text() == "highest"
    page.locator(f".mlws-BestRun[data-run-id='{three['alpha']}']").wait_for()
    picker.locator(".mlws-BestMetric").select_option("loss")
    page.locator(f".mlws-BestRun[data-run-id='{three['beta']}']").wait_for()
    assert picker.locator(".mlws-BestDirection").inner_text() == "lowest"
