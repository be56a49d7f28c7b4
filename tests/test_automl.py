"""Automated ML for real: FLAML searches over load_breast_cancer registered as a tabular dataset.

A parent run with a child run per trial, the best model registered (lineage, env hash, drift
statistics) and served by an endpoint with its generated score.py; bad input refused with
nothing recorded; the budget kept with the stopped trial named; an interrupted search resumed
(kill -9 of its runner) without running or recording a finished trial twice; the same seed and
max_trials giving the same best configuration.  Budgets are a few seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from pathlib import Path

import pytest

pytest.importorskip("flaml")
pytest.importorskip("lightgbm")
pytest.importorskip("sklearn")

from click.testing import CliRunner  # noqa: E402
from mlws_testing import wait_for  # noqa: E402

from jupyter_mlws import Workspace  # noqa: E402
from jupyter_mlws.automl import spec as S  # noqa: E402
from jupyter_mlws.automl.runner import SPENT_TAG  # noqa: E402
from jupyter_mlws.automl.trials import TRIAL_TAG, Trial  # noqa: E402
from jupyter_mlws.cli import main as cli  # noqa: E402
from jupyter_mlws.errors import Conflict, InvalidInput  # noqa: E402

pytestmark = pytest.mark.timeout(300)


@contextlib.contextmanager
def bc_workspace(root: Path):
    """A new workspace in ``root`` with load_breast_cancer registered as the tabular dataset
    ``bc`` (its CSV in ``root/data``), MLWS_WORKSPACE set aside meanwhile; closed at the end
    (what every automated-ML test module searches)."""
    from sklearn.datasets import load_breast_cancer

    old = os.environ.pop("MLWS_WORKSPACE", None)
    ws = Workspace.create(root / "ws")
    try:
        data = root / "data"
        data.mkdir()
        load_breast_cancer(as_frame=True).frame.to_csv(data / "bc.csv", index=False)
        ws.datasets.register("bc", data / "bc.csv", tabular=True)
        yield ws
    finally:
        ws.close()
        if old is not None:
            os.environ["MLWS_WORKSPACE"] = old


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("automl")
    with bc_workspace(root) as ws:
        data = root / "data"
        (data / "one.csv").write_text("x,y\n1,a\n2,a\n3,a\n")
        (data / "text.csv").write_text("x,y\n1,a\n2,b\n3,a\n")
        (data / "empty.csv").write_text("x,y\n")
        (data / "notes.txt").write_text("hello")
        (data / "three.csv").write_text("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(30)))
        (data / "price.csv").write_text("x,y\n" + "".join(f"{i},{i * 1.37 + 0.5}\n" for i in range(60)))
        for name in ("one", "text", "empty", "three", "price"):
            ws.datasets.register(name, data / f"{name}.csv", tabular=True)
        ws.datasets.register("notes", data / "notes.txt")
        try:
            yield ws
        finally:
            for item in ws.endpoints.list():
                ws.endpoints.delete(item["name"])


def _children(ws, run_id):
    return ws.runs.children(run_id)


def _run_count(ws) -> int:
    """Every run of the workspace, children included."""
    return len(ws.runs.search(None, max_results=50_000).runs)


def test_estimator_and_metric_names_are_flamls():
    from flaml.automl.ml import sklearn_metric_name_set
    from flaml.automl.task.generic_task import GenericTask

    known = set(GenericTask("classification").estimators)
    for task in S.TASKS:
        assert set(S.ESTIMATORS[task]) <= known, set(S.ESTIMATORS[task]) - known
        assert set(S.METRICS[task]) <= sklearn_metric_name_set


def test_a_search_records_trials_registers_a_model_that_serves(ws, tmp_path):
    run = ws.automl("bc", "target", "classification", time_budget=8, wait=True)
    assert run.status == "completed", run.record.error
    parent = ws.runs.get(run.id)
    assert parent.source_type == "automl"
    assert parent.source_name == "bc:1: predict target (classification)"
    assert parent.params["data"] == "bc:1" and parent.params["metric"] == "roc_auc"
    children = _children(ws, run.id)
    assert children and all(c.status == "completed" for c in children)
    for child in children:
        trial = Trial.from_tag(child.tags[TRIAL_TAG])
        assert child.params["estimator"] == trial.estimator
        assert set(child.metrics) == {"roc_auc", "val_loss", "train_time_s"}
        assert abs(child.metrics["roc_auc"] - (1 - trial.val_loss)) < 1e-9
        # its run lasts as long as the trial did (what the runs table's Duration shows)
        assert abs(child.end_time - child.start_time - trial.train_time_s * 1000) <= 1
    shown = ws.automl_service.show(run.id)
    board = shown["leaderboard"]
    assert len(board) == len(children) and [r["rank"] for r in board] == list(range(1, len(board) + 1))
    assert [r["best"] for r in board] == [True] + [False] * (len(board) - 1)
    assert board == sorted(board, key=lambda r: -r["metric"])
    assert parent.metrics["best_roc_auc"] == board[0]["metric"]
    assert json.loads(parent.tags["automl.best_config"]) == board[0]["config"]
    budget = shown["budget"]
    assert budget["time_budget_s"] == 8  # (kept within 5 %: test_the_budget_is_kept_..., not timed here)
    assert abs(budget["search_s"] + budget["refit_s"] - budget["time_spent_s"]) < 0.01
    # lineage: parent -> dataset version; model -> run and dataset version
    assert [(d["ref"], d["how"]) for d in ws.datasets.of_run(run.id)] == [("bc:1", "input")]
    model = ws.models.resolve(shown["model"])
    assert model.run_id == run.id and model.tags["env_hash"] == ws.runs.get(run.id).tags["env_hash"]
    # its lineage has the search's params and its score (recorded before it was registered)
    assert model.lineage["metrics"]["best_roc_auc"] == board[0]["metric"]
    assert model.lineage["params"]["data"] == "bc:1"
    assert ("bc:1", "training") in [(d["ref"], d["how"]) for d in model.datasets]
    assert sorted(f["path"] for f in model.files) == ["automl.json", "model.pkl", "score.py"]
    stats = ws.models.training_stats(model)
    assert stats["rows"] == 569 and len(stats["features"]) == 30
    assert "target" not in [f["name"] for f in stats["features"]]
    # the CLI's leaderboard: the best marked, the budget used
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "automl", "show", run.id, "-n", "3"])
    assert res.exit_code == 0, res.output
    assert "of 8 s used" in res.output and f"model:   {model.ref}" in res.output
    best_line = next(line for line in res.output.splitlines() if line.startswith("★"))
    assert board[0]["run_id"] in best_line and board[0]["estimator"] in best_line
    # deploy in two commands: download the version, create the endpoint with its score.py
    ws.models.download(model.ref, tmp_path / "model")
    info = ws.deploy(model.ref, "bc-api", tmp_path / "model" / "score.py")
    assert info["state"] == "healthy"
    from sklearn.datasets import load_breast_cancer

    bc = load_breast_cancer(as_frame=True)
    rows = bc.data.iloc[:20].values.tolist()
    out = ws.endpoints.invoke("bc-api", {"data": rows})
    assert len(out["predictions"]) == 20 and set(out["predictions"]) <= {0, 1}
    accuracy = sum(p == t for p, t in zip(out["predictions"], bc.target[:20])) / 20
    assert accuracy >= 0.8, out
    assert len(out["probabilities"][0]) == 2
    named = ws.endpoints.invoke("bc-api", {"data": [dict(zip(bc.feature_names, rows[0]))]})
    assert named["predictions"] == out["predictions"][:1]
    # a row of another length, or an object missing a feature, is the client's mistake: a 400
    # that says what the row needs, never a 500 or a score made of missing values
    for bad, says in (([1, 2, 3], "at least 30 items"), ({"mean radius": 13.0}, "mean texture"),
                      (["x"] * 30,
                       r"data\[0\]\[0\] \(mean radius\) must be number or null, got string"),
                      ({**dict(zip(bc.feature_names, rows[0])), "mean area": "big"},
                       r"data\[0\]\.mean area must be number or null, got string")):
        with pytest.raises(InvalidInput, match=says):
            ws.endpoints.invoke("bc-api", {"data": [bad]})
    ws.endpoints.delete("bc-api")


@pytest.mark.parametrize("data, target, task, options, message", [
    ("bc", "nope", "classification", {}, "dataset bc:1 has no column 'nope': its columns are "
                                         "mean radius, mean texture"),
    ("one", "y", "classification", {}, "target column 'y' holds a single value"),
    ("text", "y", "regression", {}, "target column 'y' holds text (e.g. 'a', 'b'): regression "
                                    "needs numbers; use --task classification"),
    ("empty", "y", "classification", {}, "dataset empty:1 is empty (no rows)"),
    ("bc", "target", "classification", {"time_budget": "3s"}, "time budget 3 s is under 5 s"),
    ("bc", "target", "classification", {"estimators": ["lgbm", "magic"]},
     "unknown estimator 'magic' for classification: FLAML knows lgbm, rf, xgboost"),
    ("bc", "target", "regression", {"metric": "roc_auc"}, "metric 'roc_auc' is not one of FLAML's "
                                                          "regression metrics: r2"),
    ("notes", "y", "classification", {}, "dataset notes:1 is not tabular"),
    ("bc", "target", "clustering", {}, "task 'clustering' is not one of classification, regression"),
    ("three", "y", "classification", {"metric": "roc_auc"},
     "metric 'roc_auc' needs a two-class target; this one has 3 classes: use accuracy"),
    ("price", "y", "classification", {}, "target column 'y' holds 60 different numbers in 60 rows: "
                                         "a class needs rows to learn from; use --task regression"),
    ("bc", "target", "classification", {"max_trials": 0},
     "max trials (--max-trials) must be a whole number from 1 to 100000, got 0"),
])
def test_bad_input_is_refused_and_nothing_recorded(ws, data, target, task, options, message):
    before = _run_count(ws)
    with pytest.raises(InvalidInput) as err:
        ws.automl(data, target, task, **options)
    assert message in str(err.value)
    assert _run_count(ws) == before


def test_bad_input_from_the_cli(ws):
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "automl", "run", "--data", "bc",
                                   "--target", "target", "--task", "classification",
                                   "--time-budget", "2s"])
    assert res.exit_code == 2 and "time budget 2 s is under 5 s" in res.output


def test_the_budget_is_kept_and_the_stopped_trial_named(ws):
    import re

    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "automl", "run", "--data", "bc",
                                   "--target", "target", "--task", "classification",
                                   "--time-budget", "6s", "--estimator", "rf", "--estimator",
                                   "extra_tree", "--no-register", "--wait"])
    assert res.exit_code == 0, res.output
    run = ws.get_run(re.search(r"search (\w+) started", res.stderr).group(1))
    # --wait says how the search goes while it runs (trials, the best so far, the budget used)
    assert re.search(r"^  \d+ trials?, best roc_auc [\d.]+ \((rf|extra_tree)\), [\d.]+ s of 6 s$",
                     res.stderr, re.M), res.stderr
    assert not re.search(r"^  1 trials", res.stderr, re.M), res.stderr
    assert run.status == "completed", run.record.error
    shown = ws.automl_service.show(run.id)
    assert shown["budget"]["time_spent_s"] <= 6 * 1.05, shown["budget"]
    assert shown["model"] is None  # --no-register
    # and `automl show` says so (no model line left a reader guessing whether it failed); its
    # trials stay out of `run list --top-level`, which lists the search
    said = CliRunner().invoke(cli, ["--workspace", str(ws.root), "automl", "show", run.id])
    assert re.search(r"^model: +not registered \(--no-register\)$", said.output, re.M), said.output
    listed = CliRunner().invoke(cli, ["--workspace", str(ws.root), "run", "list", "--top-level",
                                      "-f", f"experiment = '{run.record.experiment}'"])
    assert run.id in listed.output and "trial-" not in listed.output, listed.output
    assert "trial-" in CliRunner().invoke(cli, ["--workspace", str(ws.root), "run", "list", "-f",
                                                f"experiment = '{run.record.experiment}'"]).output
    assert shown["stopped"].startswith("the trial running then (")
    assert "was stopped and is not recorded" in shown["stopped"]
    log = ws.run_logs(run.id)["automl.log"].decode()
    assert "the budget's deadline stopped the search: the trial running then" in log
    with ws.artifacts.open(run.id, "automl/summary.json") as f:
        summary = json.load(f)
    stopped = summary["stopped_trial"]
    recorded = [json.loads(c.tags[TRIAL_TAG]) for c in _children(ws, run.id)]
    assert stopped["estimator"] in ("rf", "extra_tree")
    # (rf and extra_tree start from the same configuration: the estimator tells them apart)
    assert all((t["estimator"], t["config"]) != (stopped["estimator"], stopped["config"])
               for t in recorded)


def test_an_interrupted_search_resumes_keeping_its_trials(ws):
    # 100 trials take several seconds even on a quiet machine: the search cannot end before
    # the kill below
    run_id = ws.automl_service.start("bc", "target", "classification", time_budget=120,
                                     max_trials=100, seed=3, estimators=["lgbm", "sgd"],
                                     register=False)
    wait_for(lambda: len(_children(ws, run_id)) >= 3, "three trials recorded", 120)
    # the budget spent is kept each second: killed before the first, a quiet machine's
    # attempt (3 trials in 0.2 s) would leave none to show as the earlier attempts' below
    wait_for(lambda: SPENT_TAG in ws.runs.get(run_id).tags, "the budget spent kept", 30)
    process = wait_for(lambda: ws.runs.process_of(run_id), "the runner's process")
    os.kill(process.pid, signal.SIGKILL)  # the runner dies as a kernel restart would leave it
    wait_for(lambda: not process.is_mine(), "the runner gone")
    before = {c.id: Trial.from_tag(c.tags[TRIAL_TAG]) for c in _children(ws, run_id)}
    # shown at once as what it is (not "running" until the heartbeat's timeout), with what to do
    shown = CliRunner().invoke(cli, ["--workspace", str(ws.root), "automl", "show", run_id])
    assert f"{run_id} (killed)" in shown.output.splitlines()[0], shown.output
    assert shown.output.count(f"mlws automl resume {run_id}") == 1, shown.output  # said once
    trial = next(iter(before))
    with pytest.raises(InvalidInput, match=f"a trial of automated-ML search {run_id}"):
        ws.automl_service.resume(trial)
    with pytest.raises(Conflict):
        ws.runs.reopen(run_id, ("completed",))
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "automl", "resume", run_id,
                                   "--wait"])
    assert res.exit_code == 0, res.output
    # --wait says how the resumed search goes, as `automl run --wait` does
    assert f"search {run_id} resumed (a line every 5 s" in res.stderr, res.stderr
    parent = ws.runs.get(run_id)
    assert parent.status == "completed", parent.error
    after = {c.id: Trial.from_tag(c.tags[TRIAL_TAG]) for c in _children(ws, run_id)}
    assert set(before) <= set(after)  # the finished trials are kept, as they were
    assert all(after[k] == v for k, v in before.items())
    keys = [t.key() for t in after.values()]
    assert len(keys) == len(set(keys))  # no trial run or recorded twice
    assert sorted(t.number for t in after.values()) == list(range(1, len(after) + 1))
    assert len(before) < len(after) <= 100
    log = ws.run_logs(run_id)["automl.log"].decode()
    assert f"resumed with {len(before)} finished trials" in log
    shown = CliRunner().invoke(cli, ["--workspace", str(ws.root), "automl", "show", run_id])
    assert "(earlier attempts " in shown.output, shown.output  # the parts add up to the total
    from jupyter_mlws.widgets.automl_details import budget_text

    searched = ws.automl_service.show(run_id)
    budget = searched["budget"]
    assert budget["earlier_s"] > 0
    assert budget["earlier_s"] + budget["search_s"] + budget["refit_s"] == pytest.approx(
        budget["time_spent_s"], abs=0.01)
    assert "(earlier attempts " in budget_text(searched)  # the widget's line, as the CLI's
    with pytest.raises(Conflict, match="completed: start a new one"):
        ws.automl_service.resume(run_id)


def test_max_trials_with_a_seed_gives_the_same_best_twice(ws):
    best = []
    for _ in range(2):
        run = ws.automl("bc", "target", "classification", time_budget=120, max_trials=6, seed=7,
                        estimators=["lgbm", "sgd"], register=False, wait=True)
        assert run.status == "completed", run.record.error
        shown = ws.automl_service.show(run.id)
        assert len(shown["leaderboard"]) <= 6
        best.append((shown["best"]["estimator"], shown["best"]["config"]))
    assert best[0] == best[1]


def test_the_refit_reserve_is_one_fit_on_every_row_of_the_best_trial():
    """A 5-fold cross-validated trial trains five models on 80 % of the rows: its refit on every
    row takes about a quarter of its time, not more than all of it (the reserve kept back)."""
    import types

    from flaml import AutoML
    from sklearn.datasets import load_breast_cancer

    from jupyter_mlws.automl.runner import Runner
    from jupyter_mlws.automl.search import validation

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    automl = AutoML()
    automl.fit(X, y, task="classification", time_budget=10, max_iter=0, retrain_full=False,
               keep_search_state=True, verbose=0)
    assert validation(automl._state) == {"method": "cv", "fits": 5, "fit_share": 0.8,
                                         "data_size": len(y)}
    trial = Trial(number=1, estimator="lgbm", config={}, val_loss=0.01, train_time_s=2.0,
                  wall_clock_s=3.0, sample_size=len(y))
    runner = types.SimpleNamespace(validation=validation(automl._state), rows=len(y),
                                   trials=[trial])
    assert Runner.refit_scale(runner, trial) == pytest.approx(0.25)
    holdout = dict(method="holdout", fits=1, fit_share=1.0)
    runner.validation = holdout
    sampled = Trial(**{**trial.__dict__, "sample_size": len(y) // 2})
    assert Runner.refit_scale(runner, sampled) == pytest.approx(len(y) / (len(y) // 2))


def test_the_refit_reserve_of_many_rare_classes_is_reckoned_on_the_rows_flaml_searched():
    """A target of many rare classes (diabetes' progression as classes: 214 values in 442 rows):
    FLAML repeats their rows so that each fold has them, and its trials train on many more rows
    than the table has.  The reserve is one fit of the best trial on those rows (a quarter of a
    5-fold trial), not that scaled down to the table's rows (which left a 14 s refit 1.35 s:
    the budget overran by 22 %)."""
    import types

    from flaml import AutoML
    from sklearn.datasets import load_diabetes

    from jupyter_mlws.automl.runner import Runner
    from jupyter_mlws.automl.search import validation

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    automl = AutoML()
    automl.fit(X, y.astype(int), task="classification", time_budget=10, max_iter=0,
               retrain_full=False, keep_search_state=True, verbose=0)
    shown = validation(automl._state)
    assert shown["data_size"] > 5 * len(y)  # the rare classes' rows repeated
    trial = Trial(number=1, estimator="lgbm", config={}, val_loss=0.2, train_time_s=34.0,
                  wall_clock_s=40.0, sample_size=shown["data_size"])
    runner = types.SimpleNamespace(validation=shown, rows=len(y), trials=[trial])
    assert Runner.refit_scale(runner, trial) == pytest.approx(
        1 / (shown["fits"] * shown["fit_share"]))


def test_a_long_set_up_keeps_the_search_alive(ws):
    """Reading the table, importing FLAML, connecting to a host or preparing a search on Dask
    beat the search's heartbeat (a newcomer's search on a loaded machine took 98 s to set up and
    was ended killed, "no heartbeat for 60 s", while its process was alive)."""
    import time
    import types

    from jupyter_mlws import run_records as R
    from jupyter_mlws.automl.runner import Runner

    record = ws.runs.create("beating", source_type="automl", status=R.QUEUED)
    ws.runs.mark_started(record.id)
    timeout, interval = ws.runs.heartbeat_timeout, ws.automl_service.heartbeat_interval
    ws.runs.heartbeat_timeout, ws.automl_service.heartbeat_interval = 1.0, 0.2
    try:
        runner = types.SimpleNamespace(svc=ws.automl_service, run_id=record.id)
        with Runner.beating(runner):
            time.sleep(2.5)  # a set-up longer than the timeout
            assert ws.runs.reap_stale(force=True) == 0
        assert ws.runs.get(record.id).status == "running"
        time.sleep(1.5)  # and without a beat, the same wait ends it
        assert ws.runs.reap_stale(force=True) == 1
        assert ws.runs.get(record.id).status == "killed"
    finally:
        ws.runs.heartbeat_timeout, ws.automl_service.heartbeat_interval = timeout, interval


def test_a_refit_process_nobody_asks_ends_after_the_budget_and_a_grace(tmp_path, monkeypatch):
    """The refit process a search on a host starts beside it waits for the best trial; when its
    runner lost the host for good (nobody will ask, nor come back to stop it), it ends once the
    search's budget and ORPHAN_GRACE_S have passed (a newcomer found one still waiting 14
    minutes later)."""
    import subprocess
    import sys
    import time

    from sklearn.datasets import load_breast_cancer

    load_breast_cancer(as_frame=True).frame.to_csv(tmp_path / "bc.csv", index=False)
    job = {"files": [["bc.csv", str(tmp_path / "bc.csv")]], "target": "target",
           "time_left_s": 1.0}
    (tmp_path / "job.json").write_text(json.dumps(job))
    script = ("import sys; from jupyter_mlws.automl import model; model.ORPHAN_GRACE_S = 1.0; "
              "sys.exit(model.main(sys.argv[1:]))")
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script, "job.json", "refit.json"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    assert "mlws refit: ready" in done.stdout
    assert "nobody asked within the search's budget: ended" in done.stdout
    assert time.monotonic() - began >= 2.0  # not before the budget and the grace
    assert not (tmp_path / "model").exists()
