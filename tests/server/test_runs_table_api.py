"""GET /runs for a runs table: child counts, metric ranges, keys, several filters, sorting by a
metric's smallest value; bad input is a 400 that says what is wrong (with the filter's caret)."""

from __future__ import annotations

import pytest

from test_roles import READER, TokenPerUser


def _query(params: dict) -> list[tuple[str, str]]:
    """Query pairs, a list value repeating its key (filter=...&filter=...)."""
    return [(k, item) for k, v in params.items() for item in (v if isinstance(v, list) else [v])]


@pytest.fixture
def mlws_config():
    return {"ServerApp": {"identity_provider_class": TokenPerUser}, "MlwsApp": {"enforce_roles": True}}


@pytest.fixture
def sweep(mlws_ws):
    """A reader, and a parent with two children whose loss dips (a: 0.9 0.1 0.5, b: 0.4 0.3)."""
    from jupyter_mlws.access import os_user

    mlws_ws.access.grant(os_user(), READER, "reader")
    with mlws_ws.experiment("sweep").start_run("parent", snapshot=False, outputs=None) as parent:
        ids = {"parent": parent.id}
        for name, series in (("a", [0.9, 0.1, 0.5]), ("b", [0.4, 0.3])):
            with parent.child(name) as child:
                child.log_param("lr", len(series))
                child.log_batch("loss", series)
                ids[name] = child.id
    with mlws_ws.experiment("sweep").start_run("lone", snapshot=False, outputs=None) as run:
        run.set_tag("note", "x")
        ids["lone"] = run.id
    return ids


async def test_a_runs_table_page(api, sweep):
    r = await api("GET", "runs", user=READER, params=_query({
        "experiment": "sweep", "filter": ["", "parent_id IS NULL"], "children": "true", "keys": "1"}))
    assert r.code == 200, r
    assert [(run["name"], run["children"]) for run in r.json["runs"]] == [("lone", 0), ("parent", 2)]
    assert r.json["keys"] == {"params": ["lr"], "metrics": ["loss"], "tags": ["note"]}
    assert "ranges" not in r.json["runs"][0]

    r = await api("GET", "runs", user=READER, params={
        "filter": f"parent_id = '{sweep['parent']}'", "order_by": "min(metrics.loss)", "ranges": "loss"})
    assert r.code == 200, r
    assert [(run["name"], run["metrics"]["loss"], run["ranges"]["loss"]) for run in r.json["runs"]] == [
        ("a", 0.5, {"min": 0.1, "max": 0.9}), ("b", 0.3, {"min": 0.3, "max": 0.4})]
    assert "keys" not in r.json and "children" not in r.json["runs"][0]


@pytest.mark.parametrize("params, message", [
    # the caret points into the filter the error is in, not into a joined string
    ({"filter": ["parent_id IS NULL", "metrics.loss <"]},
     "invalid filter: expected a value after '<' at position 14\n  metrics.loss <\n  " + " " * 14 + "^"),
    ({"order_by": "min(params.lr)"}, "min() takes a metric"),
    ({"children": "yes"}, "children must be true or false, got 'yes'"),
    ({"keys": "2"}, "keys must be true or false"),
    ({"ranges": ""}, "metric name must be a non-empty string"),
    ({"ranges": [f"m{i}" for i in range(51)]}, "at most 50 metrics"),
])
async def test_bad_input_is_a_400_saying_what_is_wrong(api, sweep, params, message):
    r = await api("GET", "runs", user=READER, params=_query(params))
    assert r.code == 400 and r.json["reason"] == "invalid_input", r
    assert message in r.json["message"]
    assert "Traceback" not in r.raw.decode()


async def test_no_role_no_runs(api, sweep):
    assert (await api("GET", "runs", user="stranger", params={"children": "true"})).code == 403
