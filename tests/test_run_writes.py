"""What the REST write API calls, on each store: refused as the SDK refuses, written all or nothing."""

from __future__ import annotations

import math

import pytest

from jupyter_mlws.errors import Conflict, InvalidInput, PermissionDenied

TS = 1_700_000_000_000
BAD_POINTS = [("", 1.0, 0, TS), ("k\n", 1.0, 0, TS), ("k" * 251, 1.0, 0, TS), (None, 1.0, 0, TS),
              ("loss", "abc", 0, TS), ("loss", None, 0, TS), ("loss", [1], 0, TS),
              ("loss", 1.0, "3", TS), ("loss", 1.0, 1.5, TS), ("loss", 1.0, True, TS),
              ("loss", 1.0, 2**63, TS), ("loss", 1.0, -(2**63) - 1, TS),
              ("loss", 1.0, 0, -1), ("loss", 1.0, 0, 253402300800000), ("loss", 1.0, 0, "now"),
              ("loss", 1.0, 0, float("nan"))]


def _refusal(call) -> str:
    with pytest.raises(InvalidInput) as refused:
        call()
    return str(refused.value)


def test_a_point_is_refused_over_http_exactly_as_run_log_refuses_it(ws):
    run = ws.experiment("same").start_run(snapshot=False, outputs=None)
    for key, value, step, ts in BAD_POINTS:
        local = _refusal(lambda: run.log(key, value, step=step, timestamp=ts))
        remote = _refusal(lambda: ws.run_writes.batch(run.id, metrics=[["ok", 1.0, 0, TS],
                                                                       [key, value, step, ts]]))
        assert remote == f"metrics[1]: {local}", (key, value, step, ts)
    # what run.log takes, a batch takes too, converted alike (bools, ints, float steps and stamps)
    good = [["a", True, 0, TS], ["a", 2, 1.0, float(TS)], ["b", "1e-3", 2, TS], ["c", -0.0, 3, 0]]
    assert ws.run_writes.batch(run.id, metrics=good) == 4
    run.end()
    stored = {k: ws.runs.metric_history(run.id, k) for k in ("a", "b", "c")}
    assert stored["a"] == [(0, TS, 1.0), (1, TS, 2.0)] and stored["b"] == [(2, TS, 0.001)]
    assert math.copysign(1, stored["c"][0][2]) == -1


def test_a_batch_is_one_transaction_on_each_store(any_ws):
    ws = any_ws
    run = ws.experiment("batch").start_run(snapshot=False, outputs=None)
    run.log_param("lr", 0.1)
    run.flush()
    for kwargs, error in (
            (dict(params={"p": 1}, tags={"t": "x"}, metrics=[["m", 1.0, 0, TS], ["m", 2.0, "x", TS]]),
             InvalidInput),
            (dict(params={"lr": 0.2, "p": 1}, tags={"t": "x"}, metrics=[["m", 1.0, 0, TS]]), Conflict),
            (dict(tags={"t" * 300: "x"}, metrics=[["m", 1.0, 0, TS]]), InvalidInput),
            (dict(metrics=[["m", 1.0, 0, TS]], cells=[[1, TS, "not a record"]]), InvalidInput)):
        with pytest.raises(error):
            ws.run_writes.batch(run.id, **kwargs)
    record = ws.runs.get(run.id)
    assert record.params == {"lr": "0.1"} and record.tags == {} and record.metrics == {}
    nan = float("nan")
    assert ws.run_writes.batch(run.id, params={"p": [1, 2]}, tags={"t": "x"},
                               metrics=[["m", nan, 0, TS], ["m", 1.5, 1, TS]],
                               cells=[[1, TS, {"source": "x = 1"}]]) == 2
    record = ws.runs.get(run.id)
    assert record.params == {"lr": "0.1", "p": "[1, 2]"} and record.tags == {"t": "x"}
    assert record.metrics == {"m": 1.5} and math.isnan(ws.runs.metric_history(run.id, "m")[0][2])
    run.end()
    with pytest.raises(Conflict, match="only a running run takes"):
        ws.run_writes.batch(run.id, metrics=[["m", 1.0, 2, TS]])
    assert ws.runs.get(run.id).metric_counts == {"m": 2}


def test_a_run_tokens_scope_decides_where_it_starts_runs(any_ws):
    ws = any_ws
    top = ws.experiment("scope").start_run(snapshot=False, outputs=None)
    other = ws.experiment("scope").start_run(snapshot=False, outputs=None)
    kid = ws.run_writes.create("scope", name="kid", parent_id=top.id[:6], scope=top.id, host="node-1")
    grandkid = ws.run_writes.create("scope", parent_id=kid.id, scope=top.id)
    assert kid.parent_id == top.id and grandkid.parent_id == kid.id and kid.host == "node-1"
    assert ws.runs.process_of(kid.id) is None
    for parent in (None, other.id, "feedfacefeedface"):
        with pytest.raises(PermissionDenied, match=f"its own run \\({top.id}\\) only"):
            ws.run_writes.create("scope", parent_id=parent, scope=top.id)
    with pytest.raises(InvalidInput, match="source_type 'sweep'"):
        ws.run_writes.create("scope", source_type="sweep")
    assert [r.name for r in ws.runs.children(top.id)] == ["kid"]
    for run in (ws.runs.get(grandkid.id), ws.runs.get(kid.id)):
        ws.runs.end(run.id, "completed")
    top.end()
    other.end()
