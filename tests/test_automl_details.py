"""``AutoMLDetails(run)`` over real FLAML searches on load_breast_cancer (its rendering in a
browser: tests/ui/test_automl_ui.py): live while the search runs, then its leaderboard as the
service ranks it, the best marked, the budget and the registered model."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("flaml")
pytest.importorskip("lightgbm")
pytest.importorskip("sklearn")

from test_automl import ws  # noqa: E402,F401  (a workspace with load_breast_cancer as "bc")

from jupyter_mlws.automl import spec as S  # noqa: E402
from jupyter_mlws.widgets import AutoMLDetails  # noqa: E402

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def followed(ws):
    """A widget made as a detached search starts (a 6 s budget: it is queued or running then),
    and the widget once it followed the search to its end."""
    run = ws.automl("bc", "target", "classification", time_budget=6, estimators=["lgbm", "lrl1"])
    details = AutoMLDetails(run.id, workspace=ws, refresh=0.2)
    first = {"status": details.status, "summary": details.summary.value,
             "leaderboard": details.leaderboard.value}
    status = details.wait(180)
    return {"run_id": run.id, "details": details, "first": first, "status": status}


def _rows(html: str) -> list[list[str]]:
    """The leaderboard's body rows as cell texts."""
    body = html.split("<tbody>", 1)[1]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr[^>]*>.*?</tr>", body)]


def test_the_widget_follows_a_running_search_to_its_end(followed):
    first = followed["first"]
    assert first["status"] in ("queued", "running")
    assert re.search(r"6 s budget, not started yet|s of 6 s used so far", first["summary"])
    assert "no trial finished yet" in first["leaderboard"] or "mlws-AutoMLTable" in first["leaderboard"]
    # the end and the leaderboard arrive without a call
    details = followed["details"]
    assert followed["status"] == "completed", details.shown["run"]["error"]
    assert "completed" in details.header.value and "bc:1" in details.header.value
    assert "mlws-AutoMLTable" in details.leaderboard.value
    assert details._thread is not None and not details._thread.is_alive()  # stopped following


def test_the_leaderboard_is_the_services_best_marked(ws, followed):
    details = followed["details"]
    shown = ws.automl_service.show(followed["run_id"])
    board = shown["leaderboard"]
    rows = _rows(details.leaderboard.value)
    assert len(rows) == min(len(board), 20)
    # rank, trial, estimator, metric, train time, child run id: the service's rows in its order
    assert [r[1:] for r in rows] == [[str(b["rank"]), str(b["trial"]), b["estimator"], f'{b["metric"]:.5g}',
                                      f'{b["train_time_s"]:.2f}', b["run_id"]] for b in board[:20]]
    assert [r[0] for r in rows] == ["★ best"] + [""] * (len(rows) - 1)
    assert details.leaderboard.value.count('class="mlws-AutoMLBest"') == 1
    assert "<th" in details.leaderboard.value and ">roc_auc</th>" in details.leaderboard.value
    summary = details.summary.value
    assert "roc_auc (higher is better)" in summary
    spent = shown["budget"]["time_spent_s"]
    assert re.search(rf"{spent:.3g} s of 6 s used \(search [\d.]+ s, refit [\d.]+ s; setup [\d.]+ s apart\)",
                     summary)
    assert f"{len(board)} done" in summary
    assert shown["model"] == "bc-target:1" and '<b class="mlws-AutoMLModel">bc-target:1</b> registered' in summary


def test_a_search_by_a_lower_is_better_metric_and_rows_cut(ws):
    run = ws.automl("bc", "target", "classification", metric="log_loss", time_budget=60,
                    max_trials=4, estimators=["lgbm"], register=False, wait=True)
    details = AutoMLDetails(run, refresh=0)
    assert details.status == "completed" and details._thread is None
    assert "log_loss (lower is better)" in details.summary.value
    assert "not registered (register=False)" in details.summary.value
    values = [float(r[4]) for r in _rows(details.leaderboard.value)]
    assert values == sorted(values) and len(values) == 4  # lowest first
    cut = AutoMLDetails(run, refresh=0, max_rows=3)
    assert len(_rows(cut.leaderboard.value)) == 3
    assert f"… 1 more trial (AutoMLDetails(run, max_rows=N), or mlws automl show {run.id} -n N)" \
        in cut.leaderboard.value
    assert S.direction("log_loss") == "min" and S.direction("r2") == "max"


def test_a_run_that_is_not_a_search_says_so(ws, followed):
    child = ws.runs.children(followed["run_id"])[0]
    details = AutoMLDetails(child.id, workspace=ws)
    assert f"is a trial of automated-ML search {followed['run_id']}: give the search" in \
        details.error.value and "Traceback" not in details.error.value
    assert details.shown is None and details.leaderboard.value == ""
    missing = AutoMLDetails("ffffffffffffffff", workspace=ws)
    assert "no run" in missing.error.value.lower()
