"""Automated ML with its trials on a real Dask cluster (a ``dask scheduler`` and two ``dask
worker`` processes on 127.0.0.1, the session's shared fixture): one Dask task per trial, FLAML's
searcher asked and told here, each trial recorded once as a child run by the runner alone.

A search on ``load_breast_cancer``: its children recorded once each (distinct configurations,
numbers 1..N), two of them running at the same time on the workers (their recorded start and
end, from the workers, overlap), the budget kept (the deadline cancels the trials running
then, and the run says so), no "database is locked" anywhere in its logs; the workers holding
the search's prepared data killed mid-search (Dask cannot compute it again: it is sent again, the
trials that were lost run again) record nothing twice; a resumed search keeps its finished
trials.  Budgets are a few seconds.
"""

from __future__ import annotations

import json
import os
import signal

import pytest

pytest.importorskip("flaml")
pytest.importorskip("lightgbm")
pytest.importorskip("sklearn")

from mlws_testing import wait_for  # noqa: E402
from test_automl import bc_workspace  # noqa: E402

from jupyter_mlws.automl.trials import TRIAL_TAG, Trial  # noqa: E402

pytestmark = pytest.mark.timeout(300)
CLUSTER = "cluster"


@pytest.fixture(scope="module")
def ws(tmp_path_factory, dask_cluster):
    with bc_workspace(tmp_path_factory.mktemp("automl-dask")) as ws:
        ws.compute.create(CLUSTER, "dask", address=dask_cluster.address, check_actor=False)
        yield ws


def _trials(ws, run_id) -> dict[str, Trial]:
    return {c.id: Trial.from_tag(c.tags[TRIAL_TAG]) for c in ws.runs.children(run_id)}


def _overlapping(children) -> bool:
    spans = sorted((c.start_time, c.end_time) for c in children)
    return any(b[0] < a[1] for a, b in zip(spans, spans[1:]))


def _logs(ws, run_id) -> str:
    return "\n".join(v.decode(errors="replace") for v in ws.run_logs(run_id).values())


def _check_once(ws, run_id) -> dict[str, Trial]:
    """Every child holds one trial, numbered 1..N, no configuration recorded twice."""
    children = ws.runs.children(run_id)
    trials = _trials(ws, run_id)
    assert len(trials) == len(children) and all(c.status == "completed" for c in children)
    assert sorted(t.number for t in trials.values()) == list(range(1, len(trials) + 1))
    keys = [t.key() for t in trials.values()]
    assert len(keys) == len(set(keys)), "a trial was recorded twice"
    return trials


def test_trials_run_in_parallel_on_dask_each_recorded_once_within_the_budget(ws):
    run = ws.automl("bc", "target", "classification", time_budget=12, compute=CLUSTER,
                    estimators=["lgbm", "rf", "extra_tree"], register=False, wait=True)
    assert run.status == "completed", run.record.error
    parent = ws.runs.get(run.id)
    assert parent.params["compute"] == CLUSTER
    trials = _check_once(ws, run.id)
    assert len(trials) >= 4
    children = ws.runs.children(run.id)
    assert _overlapping(children), "no two trials ran at the same time on the two workers"
    # each trial's run records the target it ran on, and the search the target it was given
    # (its runner is this process: the run page and `run list -f "compute = ..."` say where)
    assert set(ws.compute.targets_of([run.id, *(c.id for c in children)]).values()) == {CLUSTER}
    for child in children:  # the child's times are the task's on the worker, inside the parent's
        assert parent.start_time <= child.start_time < child.end_time <= parent.end_time
        assert child.params["estimator"] in ("lgbm", "rf", "extra_tree")
        assert set(child.metrics) == {"roc_auc", "val_loss", "train_time_s"}
    shown = ws.automl_service.show(run.id)
    assert shown["budget"]["time_spent_s"] <= 12 * 1.05, shown["budget"]
    assert shown["best"]["metric"] > 0.95
    log = _logs(ws, run.id)
    assert f"the search runs its trials on dask {ws.compute.get(CLUSTER)['address']}" in log
    assert "database is locked" not in log
    if shown["stopped"]:  # the deadline came with trials running: canceled, said so
        assert "canceled on dask" in shown["stopped"] and "not recorded" in shown["stopped"]
        assert "the budget's deadline stopped the search" in log


def test_the_deadline_cancels_the_trials_running_on_the_cluster(ws):
    # rf and extra_tree trials grow to seconds each: the deadline comes with two running
    run = ws.automl("bc", "target", "classification", time_budget=6, compute=CLUSTER,
                    estimators=["rf", "extra_tree"], register=False, wait=True)
    assert run.status == "completed", run.record.error
    shown = ws.automl_service.show(run.id)
    assert shown["budget"]["time_spent_s"] <= 6 * 1.05, shown["budget"]
    stopped_text = shown["stopped"] or ""
    assert "canceled on dask" in stopped_text and "not recorded" in stopped_text, _logs(ws, run.id)
    with ws.artifacts.open(run.id, "automl/summary.json") as f:
        stopped = json.load(f)["stopped_trial"]
    assert stopped["where"].startswith("dask tcp://127.0.0.1:") and stopped["running"] >= 1
    recorded = [(t.estimator, t.config) for t in _trials(ws, run.id).values()]
    assert (stopped["estimator"], stopped["config"]) not in recorded
    _check_once(ws, run.id)


def _holders(address: str) -> list[str]:
    """The names of the workers holding a search's prepared data (FLAML's ``AutoMLState``,
    scattered) on the cluster at ``address``."""
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        names = {a: w["name"] for a, w in client.scheduler_info()["workers"].items()}
        return sorted({names[a] for key, where in client.who_has().items()
                       if str(key).startswith("AutoMLState-") for a in where if a in names})


def test_the_workers_holding_the_data_killed_mid_search_record_nothing_twice(ws, dask_cluster):
    run_id = ws.automl_service.start("bc", "target", "classification", time_budget=60,
                                     max_trials=40, seed=2, compute=CLUSTER,
                                     estimators=["lgbm", "rf"], register=False)
    wait_for(lambda: len(ws.runs.children(run_id)) >= 2, "two trials recorded", 120)
    holders = _holders(dask_cluster.address)
    assert holders, "the search's data is on no worker"
    dask_cluster.add_worker(wait=False)  # a worker that never held the search's data
    for name in holders:  # their running trials, and the data every trial reads, are lost
        dask_cluster.kill_worker(name)
    wait_for(lambda: ws.runs.get(run_id).status not in ("queued", "running"), "the search ended",
             180)
    while len(dask_cluster.workers) < 2:
        dask_cluster.add_worker()
    parent = ws.runs.get(run_id)
    assert parent.status == "completed", parent.error  # not "10 trials in a row failed"
    trials = _check_once(ws, run_id)
    assert len(trials) <= 40
    log = ws.run_logs(run_id)["automl.log"].decode()
    assert "the worker holding the search's data left dask" in log, log
    assert "database is locked" not in _logs(ws, run_id)


def test_a_search_on_dask_resumes_keeping_its_trials(ws):
    run_id = ws.automl_service.start("bc", "target", "classification", time_budget=25, seed=4,
                                     compute=CLUSTER, estimators=["lgbm"], register=False)
    wait_for(lambda: len(ws.runs.children(run_id)) >= 3, "three trials recorded", 120)
    process = wait_for(lambda: ws.runs.process_of(run_id), "the runner's process")
    os.kill(process.pid, signal.SIGKILL)  # the runner dies as a kernel restart would leave it
    wait_for(lambda: not process.is_mine(), "the runner gone")
    before = _trials(ws, run_id)
    assert ws.automl_service.resume(run_id, wait=True) == run_id
    parent = ws.runs.get(run_id)
    assert parent.status == "completed", parent.error
    after = _check_once(ws, run_id)
    assert set(before) <= set(after) and all(after[k] == v for k, v in before.items())
    assert f"resumed with {len(before)} finished trials" in _logs(ws, run_id)


def test_a_cluster_out_of_reach_fails_the_search_saying_where(ws):
    from mlws_testing import free_port

    ws.compute.create("gone", "dask", address=f"tcp://127.0.0.1:{free_port()}", check_actor=False)
    run = ws.automl("bc", "target", "classification", time_budget=6, compute="gone",
                    register=False, wait=True)
    assert run.status == "failed"
    assert "tcp" in run.record.error and "127.0.0.1" in run.record.error
    assert not ws.runs.children(run.id)
