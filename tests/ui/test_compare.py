"""The compare page: single-valued metrics as bars and a table with the best run marked (never lone
dots at step 0), metrics with many steps overlaid, parallel coordinates, params and environments
diffed with the differences highlighted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import jupyter_mlws

from .conftest import SCREENSHOTS, open_page, palette

#: six runs whose `acc` is logged once each (the field report's case): C=1 is the best
CS = ("0.1", "0.3", "1", "3", "10", "30")
ACCS = (0.81, 0.86, 0.93, 0.91, 0.88, 0.84)
LOSS_STEPS = 30




def make_older(ws, experiment: str) -> None:
    """Move an experiment's runs back 30 days: the served workspace is shared by every UI test
    module, and the runs `_fill` made (tests/ui/conftest.py) must stay the newest, on the first
    page of a table sorted newest first, where other modules look for them."""
    from sqlalchemy import text

    month = 30 * 24 * 3600 * 1000
    with ws.db.write() as conn:
        conn.execute(text(
            "UPDATE runs SET start_time = start_time - :d, end_time = end_time - :d WHERE experiment_pk = "
            "(SELECT pk FROM experiments WHERE name = :e)"), {"d": month, "e": experiment})


def vega_marks(view, chart: str, mark: str):
    """The marks of a Vega chart once JupyterLab's renderer has drawn it (as SVG)."""
    view.locator(f"{chart} .mlws-PlotHost[data-drawn='true'] svg").wait_for()
    return view.locator(f"{chart} svg g.mark-{mark}.role-mark path")


@pytest.fixture(scope="module")
def six(lab):
    """Six runs of experiment "cmp6" in the served workspace: `acc` once, `loss` at 30 steps,
    C differing, kernel the same; the last one's environment has another numpy."""
    from jupyter_mlws import Workspace

    ids = []
    with Workspace.open(lab["root"]) as ws:
        for i, (c, acc) in enumerate(zip(CS, ACCS)):
            env = lab["root"].parent / f"cmp6-env-{i}.json"
            numpy = "2.2.0" if i == 5 else "2.1.0"
            env.write_text(json.dumps({"python": "3.11.7 (main)", "platform": "Linux",
                                       "packages_hash": numpy,
                                       "packages": [f"numpy=={numpy}", "pandas==2.2.0"]}))
            with ws.experiment("cmp6").start_run(f"svm-C{c}", snapshot=False, outputs=None) as run:
                run.log_params({"C": c, "kernel": "rbf"})
                run.log_batch("loss", [1 / (1 + float(c) * 0.1 * s) for s in range(LOSS_STEPS)])
                run.log("acc", acc)
                run.upload_file("environment.json", env)
                ids.append(run.id)
        make_older(ws, "cmp6")
    return ids


def test_single_valued_metrics_are_bars_and_a_table_with_the_best_marked(page, lab, six):
    open_page(page, lab, {"kind": "compare", "ids": six})
    view = page.locator(".mlws-ComparePage[data-loaded='true']")
    view.wait_for()
    # the tab names the runs (cut to fit; all of them in its caption)
    tab = page.locator(".lm-DockPanel-tabBar .lm-mod-current")
    assert tab.inner_text().strip() == "Compare 6: svm-C0.1, svm-C0.3, svm-C1, svm…"
    assert view.locator(".mlws-BestMetric").input_value() == "acc"
    # a bar per run, best first, each with its value written
    bars = vega_marks(view, ".mlws-Bars", "rect")
    assert bars.count() == 6
    labels = view.locator(".mlws-Bars svg g.mark-text.role-mark text").evaluate_all(
        "texts => texts.map(t => [t.getBoundingClientRect().top, t.textContent])"
        ".sort((a, b) => a[0] - b[0]).map(t => t[1])")  # top to bottom, as a reader sees them
    assert labels == ["0.93", "0.91", "0.88", "0.86", "0.84", "0.81"]
    # the table of final metrics marks the best run
    best = view.locator(".mlws-CompareMetrics tr.mlws-Best")
    assert best.count() == 1
    assert "svm-C1" in best.inner_text() and "★ best" in best.inner_text() and "0.93" in best.inner_text()
    # acc is not overlaid over steps (six lone dots at x=0 was the field report): only loss is
    options = view.locator(".mlws-SteppedMetric option").all_inner_texts()
    assert options == ["loss"]
    view.locator(".mlws-CompareChart[data-series='6'] canvas").first.wait_for()
    legend = view.locator(".mlws-CompareChart .u-legend").inner_text()
    assert all(f"svm-C{c}" in legend for c in CS)
    assert view.locator(".mlws-CompareChart").get_attribute("data-points") == str(6 * LOSS_STEPS)
    page.screenshot(path=str(SCREENSHOTS / "compare.png"))
    # ranking by the lowest final loss makes another run the best
    view.locator(".mlws-BestMetric").select_option("loss")
    view.locator(".mlws-BestDirection").select_option("min")
    assert "svm-C30" in view.locator(".mlws-CompareMetrics tr.mlws-Best").inner_text()


def test_parallel_coordinates_and_diffs_show_where_the_runs_differ(page, lab, six):
    open_page(page, lab, {"kind": "compare", "ids": six})
    view = page.locator(".mlws-ComparePage[data-loaded='true']")
    view.wait_for()
    # a line per run across the params that differ (C) and the metric
    assert vega_marks(view, ".mlws-Parallel", "line").count() == 6
    params = view.locator(".mlws-ParamsDiff")
    assert "mlws-Differs" in params.locator("tr[data-key='C']").get_attribute("class")
    assert params.locator("tr[data-key='C']").inner_text().split() == ["≠", "C", *CS]
    assert "mlws-Differs" not in (params.locator("tr[data-key='kernel']").get_attribute("class") or "")
    env = view.locator(".mlws-EnvDiff")
    assert "mlws-Differs" in env.locator("tr[data-key='numpy']").get_attribute("class")
    assert env.locator("tr[data-key='numpy'] td").all_inner_texts() == ["2.1.0"] * 5 + ["2.2.0"]
    assert "mlws-Differs" not in (env.locator("tr[data-key='pandas']").get_attribute("class") or "")
    # only the differences
    view.locator(".mlws-OnlyDifferences").check()
    assert params.locator("tr[data-key='kernel']").count() == 0
    assert env.locator("tr[data-key='pandas']").count() == 0
    assert env.locator("tr[data-key='numpy']").count() == 1
    assert params.locator("tr[data-key='C']").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "compare-diff.png"), full_page=True)


def test_a_run_that_is_not_there_is_named(page, lab, six):
    open_page(page, lab, {"kind": "compare", "ids": [six[0], "0123456789abcdef"]})
    alert = page.locator(".mlws-ComparePage .mlws-Error")
    alert.wait_for()
    assert alert.inner_text() == "No run 0123456789abcdef in this workspace."
    assert page.locator(".mlws-ComparePage .mlws-CompareMetrics tr.mlws-ResultRow").count() == 1


def _our_scripts(page) -> set[str]:
    """The files of our lab extension the page has loaded so far."""
    return set(page.evaluate("""performance.getEntriesByType('resource').map(e => e.name)
        .filter(n => n.includes('/jupyter-mlws/static/')).map(n => n.split('?')[0].split('/').pop())"""))


#: a string only each lazily loaded view's chunk holds (as bench/bundle.py knows them)
LAZY_VIEWS = {"compare": "Only differences", "sweep": "read off the children",
              "model": "Training data", "endpoint": "Latency p50 / p95 / p99"}


def test_the_heavy_views_load_only_when_opened(page, lab, six):
    static = Path(jupyter_mlws.__file__).parent / "labextension" / "static"  # the build under test
    chunks = {name: {p.name for p in static.glob("*.js") if text in p.read_text()}
              for name, text in LAZY_VIEWS.items()}
    assert all(chunks.values()), chunks
    page.locator(".lm-TabBar-tab[title='ML workspace']").wait_for()  # our plugin has started
    page.wait_for_load_state("networkidle")
    at_start = _our_scripts(page)
    assert at_start and not set().union(*chunks.values()) & at_start
    open_page(page, lab, {"kind": "compare", "ids": six})
    page.locator(".mlws-ComparePage[data-loaded='true']").wait_for()
    assert chunks["compare"] <= _our_scripts(page)
    # the models and endpoints pages: their modules come when one is opened, and the page works
    open_page(page, lab, {"kind": "model", "id": "iris"})
    page.locator(".mlws-ModelPage[data-model='iris'] .mlws-VersionsTable").wait_for()
    assert chunks["model"] <= _our_scripts(page)
    palette(page, "Endpoints")
    page.locator("#jp-main-dock-panel .mlws-EndpointsPage").wait_for()
    assert chunks["endpoint"] <= _our_scripts(page) and not chunks["endpoint"] & at_start


def test_over_steps_starts_on_the_ranking_metric(page, lab):
    """Two runs logging acc and val_loss at every step, in the same environment: ranked by
    val_loss (a loss), which "Over steps" shows first; nothing of the environment differs."""
    from jupyter_mlws import Workspace

    ids = []
    with Workspace.open(lab["root"]) as ws:
        env = lab["root"].parent / "steps2-env.json"
        env.write_text(json.dumps({"python": "3.11.7 (main)", "packages_hash": "same",
                                   "packages": ["numpy==2.1.0"]}))
        for i in (1, 2):
            with ws.experiment("steps2").start_run(f"steps2-{i}", snapshot=False, outputs=None) as run:
                run.log_params({"seed": i})
                run.log_batch("acc", [0.5 + 0.1 * s / i for s in range(4)])
                run.log_batch("val_loss", [0.4 / (1 + s * i) for s in range(4)])
                run.upload_file("environment.json", env)
                ids.append(run.id)
        make_older(ws, "steps2")
    view = page.locator(".mlws-ComparePage[data-loaded='true']")
    open_page(page, lab, {"kind": "compare", "ids": ids})
    view.wait_for()
    assert view.locator(".mlws-BestMetric").input_value() == "val_loss"
    assert view.locator(".mlws-SteppedMetric").input_value() == "val_loss"
    view.locator(".mlws-OnlyDifferences").check()
    assert view.locator(".mlws-EnvDiff-none").inner_text() == "No package differs."


def test_bar_axis_labels_do_not_overlap(page, lab, six):
    view = page.locator(".mlws-ComparePage[data-loaded='true']")
    # the six runs' bars: their axis labels side by side, none over the next
    open_page(page, lab, {"kind": "compare", "ids": six})
    view.wait_for()
    vega_marks(view, ".mlws-Bars", "rect").first.wait_for()
    boxes = view.locator(".mlws-Bars svg g.role-axis-label text").evaluate_all(
        "ts => ts.map(t => t.getBoundingClientRect()).filter(b => b.width > 0)"
        ".map(b => [b.left, b.right, b.top])")
    rows = {}
    for left, right, top in boxes:
        rows.setdefault(round(top), []).append((left, right))
    for row in rows.values():
        row.sort()
        assert all(a[1] <= b[0] for a, b in zip(row, row[1:])), row
