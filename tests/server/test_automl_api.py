"""Automated ML over REST on a team server (roles enforced): a contributor starts a search
(detached), a reader reads its leaderboard and budget but may not start one; bad input is a 400
naming the mistake, with nothing recorded."""

from __future__ import annotations

import asyncio
import time

import pytest
from test_roles import CONTRIBUTOR, NOBODY, READER
from test_secrets_api import mlws_config, team  # noqa: F401  (a team server: roles enforced)

pytest.importorskip("flaml")
pytest.importorskip("sklearn")


async def _ended(api, run_id):
    deadline = time.monotonic() + 120
    while True:
        r = await api("GET", "automl", run_id, user=READER)
        assert r.code == 200, r
        if r.json["run"]["status"] not in ("queued", "running"):
            return r.json
        assert time.monotonic() < deadline, r.json
        await asyncio.sleep(0.3)


async def test_a_search_over_rest(api, team, mlws_ws, jp_root_dir):
    from sklearn.datasets import load_breast_cancer

    load_breast_cancer(as_frame=True).frame.to_csv(jp_root_dir / "bc.csv", index=False)
    mlws_ws.datasets.register("bc", jp_root_dir / "bc.csv", tabular=True)
    body = {"data": "bc", "target": "target", "task": "classification", "time_budget": "6s",
            "estimators": ["lgbm", "sgd"], "register": False}
    assert (await api("POST", "automl", body=body, user=READER)).code == 403
    assert (await api("POST", "automl", body=body, user=NOBODY)).code == 403
    for bad, code, message in (
            ({**body, "target": "nope"}, 400, "dataset bc:1 has no column 'nope'"),
            ({**body, "time_budget": 2}, 400, "time budget 2 s is under 5 s"),
            ({**body, "estimators": ["magic"]}, 400, "unknown estimator 'magic'"),
            ({**body, "task": "clustering"}, 400, "body.task must be one of"),
            ({**body, "data": "ghost"}, 404, "ghost"),
            ({**body, "extra": 1}, 400, "extra")):
        r = await api("POST", "automl", body=bad, user=CONTRIBUTOR)
        assert r.code == code and message in r.json["message"], (bad, r)
    assert mlws_ws.runs.search(None).runs == []  # nothing recorded
    r = await api("POST", "automl", body=body, user=CONTRIBUTOR)
    assert r.code == 201, r
    run_id = r.json["run"]["id"]
    assert r.json["spec"]["data"] == "bc:1" and r.json["budget"]["time_budget_s"] == 6
    shown = await _ended(api, run_id)
    assert shown["run"]["status"] == "completed", shown["run"]
    assert shown["metric"] == "roc_auc" and shown["direction"] == "max"
    assert shown["leaderboard"][0]["best"]
    assert shown["leaderboard"][0]["run_id"] in {c.id for c in mlws_ws.runs.children(run_id)}
    # the search and each trial are the contributor's (not the server's OS user's)
    assert {r.user for r in (mlws_ws.runs.get(run_id), *mlws_ws.runs.children(run_id))} == \
        {CONTRIBUTOR}
    assert shown["budget"]["time_budget_s"] == 6 and shown["budget"]["time_spent_s"] > 0
    r = await api("POST", "automl", run_id, "resume", user=READER)
    assert r.code == 403
    r = await api("POST", "automl", run_id, "resume", user=CONTRIBUTOR)
    assert r.code == 409 and "completed" in r.json["message"]
    child = shown["leaderboard"][0]["run_id"]
    r = await api("GET", "automl", child, user=READER)
    assert r.code == 400 and r.json["message"] == \
        f"run {child} is a trial of automated-ML search {run_id}: give the search's id"
