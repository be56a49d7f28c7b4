"""The tracking write API on a real Jupyter server: what it records, what it refuses (and then
changes nothing), and what a run's token may do: its run and the runs below it, nothing else."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import pytest

PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)
TS = 1_700_000_000_000


def _token(token: str) -> dict:
    return {"Authorization": f"token {token}"}


def _history(ws, run_id, key):
    return [(s, t, v) for s, t, v in ws.runs.metric_history(run_id, key)]


async def test_a_run_written_over_rest_reads_back_as_the_sdk_wrote_it(api, mlws_ws):
    r = await api("POST", "experiments", "http", "runs", body={
        "name": "r1", "tags": {"team": "a"}, "description": "first", "source_name": "train.py",
        "host": "gpu-box", "git": {"commit": "abc123", "branch": "main", "dirty": False}})
    assert r.code == 201, r
    run_id = r.json["id"]
    assert r.json["status"] == "running" and r.json["experiment"] == "http"
    points = [["loss", 0.5, 0, TS], ["loss", float("nan"), 1, TS + 1], ["loss", -0.0, 2, TS + 2],
              ["acc", float("inf"), 0, TS], ["acc", 1e308, 7, TS + 3], ["big", 5, 2**63 - 1, 0]]
    r = await api("POST", "runs", run_id, "batch", body={
        "params": {"lr": 0.1, "model": "rf", "layers": [64, 32]}, "tags": {"stage": "dev"},
        "metrics": points})
    assert r.code == 200 and r.json == {"points": 6}, r
    r = await api("POST", "runs", run_id, "values", body={
        "key": "per_class", "kind": "list", "step": 0, "value": [0.9, 0.8]})
    assert r.code == 201 and r.json == {"key": "per_class", "kind": "list", "step": 0}, r
    r = await api("POST", "runs", run_id, "values", body={
        "key": "confusion", "kind": "table", "step": 3, "timestamp": TS, "value": {"a": [1, 2], "b": [3, 4]}})
    assert r.code == 201, r
    r = await api("POST", "runs", run_id, "images", "roc", params={"step": 4}, body=PNG)
    assert r.code == 201 and r.json["format"] == "png", r
    r = await api("PUT", "runs", run_id, "files", "out", "model.pkl", body=b"\x00model bytes\xff")
    assert r.code == 201 and r.json == {"path": "out/model.pkl", "kind": "artifact", "size": 13}, r
    r = await api("PUT", "runs", run_id, "files", "train.log", params={"kind": "log"}, body=b"line\n")
    assert r.code == 201, r
    assert (await api("PATCH", "runs", run_id, body={"description": "second"})).code == 200
    r = await api("POST", "runs", run_id, "heartbeat")
    assert r.code == 200 and r.json == {"status": "running", "cancel": False,
                                        "heartbeat_timeout": 60.0}, r
    r = await api("POST", "runs", run_id, "end", body={"status": "failed", "error": "boom"})
    assert r.code == 200 and r.json["status"] == "failed" and r.json["error"] == "boom"

    record = mlws_ws.runs.get(run_id)
    assert record.name == "r1" and record.host == "gpu-box" and record.description == "second"
    assert record.git_commit == "abc123" and record.git_branch == "main" and record.git_dirty is False
    assert mlws_ws.runs.process_of(run_id) is None  # nothing of the server's to signal
    assert record.params == {"lr": "0.1", "model": "rf", "layers": "[64, 32]"}
    assert record.tags == {"team": "a", "stage": "dev"}
    loss = _history(mlws_ws, run_id, "loss")
    assert [s for s, _, _ in loss] == [0, 1, 2] and loss[0][2] == 0.5 and math.isnan(loss[1][2])
    assert math.copysign(1, loss[2][2]) == -1.0  # -0.0 kept
    assert _history(mlws_ws, run_id, "acc") == [(0, TS, math.inf), (7, TS + 3, 1e308)]
    assert _history(mlws_ws, run_id, "big") == [(2**63 - 1, 0, 5.0)]
    values = {v["key"]: v for v in mlws_ws.runs.values(run_id)}
    assert values["per_class"]["data"] == "[0.9, 0.8]"
    assert values["confusion"]["data"] == '{"a": [1, 2], "b": [3, 4]}' and values["confusion"]["ts"] == TS
    assert json.loads(values["roc"]["data"]) == {"size": len(PNG), "format": "png"}
    files = {f["path"]: f for f in mlws_ws.runs.files(run_id)}
    assert files["out/model.pkl"]["size"] == 13 and files["train.log"]["kind"] == "log"
    assert mlws_ws.runs.files(run_id, "artifact")[0]["path"] == "out/model.pkl"
    # nothing left behind while the upload arrived
    uploads = mlws_ws.config.artifact_root / "uploads"
    assert uploads.is_dir() and not any(uploads.iterdir())


async def test_a_batch_is_all_or_nothing_and_bad_bodies_are_400s(api, mlws_ws):
    run = mlws_ws.experiment("bad").start_run(snapshot=False, outputs=None)
    run.log_param("lr", 0.1)
    bad = [
        ({"params": {"p": 1}, "metrics": [["loss", 0.1, 0, TS], ["loss", 0.2, "x", TS]]},
         "metrics[1]: metric 'loss': step must be an integer"),
        ({"metrics": [["loss", "abc", 0, TS]]}, "metrics[0]: metric 'loss' needs a number"),
        ({"metrics": [["loss", 1.0, 0]]}, "metrics[0]: a point is [key, value, step, timestamp"),
        ({"metrics": [["", 1.0, 0, TS]]}, "metrics[0]: a metric name must be a non-empty string"),
        ({"metrics": [[["k"], 1.0, 0, TS]]}, "a metric name must be a non-empty string"),
        ({"metrics": [["loss", 1.0, 0, -1]]}, "timestamp -1 ms is outside"),
        ({"metrics": [["loss", 1.0, 2**63, TS]]}, "outside the 64-bit range"),
        ({"metrics": "loss"}, "body.metrics must be array"),
        ({"tags": ["a"]}, "body.tags must be object"),
        ({"params": {"x": 1}, "unknown": 1}, "unknown"),
        ({"cells": [[1, TS]]}, "cells[0] must be [ordinal"),
    ]
    for body, message in bad:
        r = await api("POST", "runs", run.id, "batch", body=body)
        assert r.code == 400 and r.json["reason"] == "invalid_input", (body, r)
        assert message in r.json["message"], (message, r.json["message"])
    for raw in (b"not json", b"[1, 2]", b'{"metrics": [' + b"[" * 40 + b"]}"):
        assert (await api("POST", "runs", run.id, "batch", body=raw)).code == 400, raw
    # a param that would change: 409, and the points beside it are not written either
    r = await api("POST", "runs", run.id, "batch", body={"params": {"lr": 0.2},
                                                         "metrics": [["loss", 1.0, 0, TS]]})
    assert r.code == 409 and "param 'lr' is already '0.1'" in r.json["message"]
    record = mlws_ws.runs.get(run.id)
    assert record.params == {"lr": "0.1"} and record.metrics == {} and record.tags == {}

    for body, message in (({"key": "k", "kind": "image", "step": 0, "value": []}, "body.kind"),
                          ({"key": "t", "kind": "table", "step": 0, "value": {"a": [1], "b": []}},
                           "columns have different lengths"),
                          ({"key": "l", "kind": "list", "value": []}, "required property 'step'"),
                          ({"key": "l", "kind": "list", "step": 0, "value": {"a": 1}},
                           "must be an array")):
        r = await api("POST", "runs", run.id, "values", body=body)
        assert r.code == 400 and message in r.json["message"], (body, r)
    r = await api("POST", "runs", run.id, "images", "roc", params={"step": 0}, body=b"GIF? no")
    assert r.code == 400 and "not an image" in r.json["message"]
    r = await api("POST", "runs", run.id, "images", "roc", body=PNG)
    assert r.code == 400 and "?step=N" in r.json["message"]
    r = await api("POST", "runs", run.id, "end", body={"status": "done"})
    assert r.code == 400 and "body.status" in r.json["message"]
    r = await api("POST", "experiments", "bad", "runs", body={"source_type": "sweep"})
    assert r.code == 400
    r = await api("PUT", "runs", run.id, "files", "..", "x", body=b"x")
    assert r.code in (400, 404)
    r = await api("PUT", "runs", run.id, "files", "x", params={"kind": "model"}, body=b"x")
    assert r.code == 400 and "unknown file kind" in r.json["message"]
    assert mlws_ws.runs.values(run.id) == [] and mlws_ws.runs.files(run.id) == []
    assert mlws_ws.runs.get(run.id).status == "running"

    run.end()
    for parts, body in ((("batch",), {"metrics": [["loss", 1.0, 0, TS]]}),
                        (("values",), {"key": "l", "kind": "list", "step": 0, "value": [1]})):
        r = await api("POST", "runs", run.id, *parts, body=body)
        assert r.code == 409 and "completed" in r.json["message"], r
    r = await api("POST", "runs", run.id, "images", "roc", params={"step": 0}, body=PNG)
    assert r.code == 409
    assert mlws_ws.runs.get(run.id).metrics == {} and mlws_ws.runs.values(run.id) == []


async def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(api, mlws_ws, mlws_app):
    run = mlws_ws.experiment("up").start_run(snapshot=False, outputs=None)
    served = await asyncio.to_thread(mlws_app.open_workspace)
    served.artifacts.max_file_bytes = 1000
    r = await api("PUT", "runs", run.id, "files", "big.bin", body=b"x" * 1001)
    assert r.code == 400 and "over the workspace's limit of 1,000 bytes" in r.json["message"], r
    r = await api("PUT", "runs", run.id, "files", "ok.bin", body=b"x" * 1000)
    assert r.code == 201
    assert [f["path"] for f in mlws_ws.runs.files(run.id)] == ["ok.bin"]
    uploads = mlws_ws.config.artifact_root / "uploads"
    assert uploads.is_dir() and not any(uploads.iterdir())
    run.end()


@pytest.fixture
def scoped(mlws_ws):
    """A running run with a token, another running run, a secret: what a token must not reach."""
    from jupyter_mlws.access import os_user

    mine = mlws_ws.experiment("scope").start_run("mine", snapshot=False, outputs=None)
    other = mlws_ws.experiment("scope").start_run("other", snapshot=False, outputs=None)
    other.log("acc", 0.5)
    other.flush()
    mlws_ws.secrets.set(os_user(), "db-pass", "a-value-1")
    token = mlws_ws.run_tokens.issue(mine.id)
    yield mine, other, token
    for run in (other, mine):
        if run.is_active:
            run.end()


async def test_a_run_token_writes_its_run_and_the_runs_it_starts(api, mlws_ws, scoped):
    mine, _other, token = scoped
    auth = _token(token)
    r = await api("GET", "tracking", headers=auth)
    assert r.code == 200 and r.json["run_id"] == mine.id and r.json["heartbeat_interval"] == 5.0
    r = await api("POST", "runs", mine.id, "batch", headers=auth,
                  body={"params": {"lr": 0.1}, "metrics": [["loss", 0.25, 0, TS]]})
    assert r.code == 200, r
    r = await api("POST", "experiments", "scope", "runs", headers=auth,
                  body={"name": "kid", "parent_id": mine.id})
    assert r.code == 201 and r.json["parent_id"] == mine.id
    kid = r.json["id"]
    r = await api("POST", "experiments", "scope", "runs", headers=auth,
                  body={"name": "grandkid", "parent_id": kid[:8]})
    assert r.code == 201 and r.json["parent_id"] == kid
    assert (await api("POST", "runs", kid, "batch", headers=auth,
                      body={"metrics": [["acc", 1, 0, TS]]})).code == 200
    for parts in ((mine.id,), (mine.id, "metrics", "loss"), (kid, "children"), (mine.id, "files")):
        assert (await api("GET", "runs", *parts, headers=auth)).code == 200, parts
    assert (await api("PATCH", "runs", mine.id, "tags", headers=auth, body={"set": {"t": "1"}})).code == 200
    assert (await api("POST", "runs", kid, "end", headers=auth, body={"status": "completed"})).code == 200
    assert mlws_ws.runs.get(mine.id).params == {"lr": "0.1"}
    assert mlws_ws.runs.get(kid).metrics == {"acc": 1.0}


async def test_a_run_token_is_refused_everywhere_else_and_changes_nothing(
        api, jp_fetch, mlws_ws, scoped, workspace_state, server_log):
    mine, other, token = scoped
    auth = _token(token)
    before = (workspace_state(mlws_ws), mlws_ws.runs.metric_history(other.id, "acc"))
    refused = [
        ("GET", ("runs", other.id), None), ("GET", ("runs", other.id[:6]), None),
        ("GET", ("runs", other.id, "metrics", "acc"), None), ("GET", ("runs", other.id, "files"), None),
        ("POST", ("runs", other.id, "batch"), {"metrics": [["acc", 9, 9, TS]]}),
        ("PATCH", ("runs", other.id, "tags"), {"set": {"x": "1"}}),
        ("PATCH", ("runs", other.id), {"description": "mine now"}),
        ("POST", ("runs", other.id, "end"), {"status": "failed"}),
        ("POST", ("runs", other.id, "values"), {"key": "l", "kind": "list", "step": 0, "value": [1]}),
        ("GET", ("runs", "feedfacefeedface"), None),
        ("GET", ("runs",), None), ("GET", ("experiments",), None), ("GET", ("workspace",), None),
        ("POST", ("experiments", "scope", "runs"), {"name": "top-level"}),
        ("POST", ("experiments", "scope", "runs"), {"name": "adopted", "parent_id": other.id}),
        ("POST", ("runs", mine.id, "cancel"), None), ("GET", ("runs", mine.id, "logs"), None),
        ("GET", ("secrets",), None), ("GET", ("secrets", "db-pass"), None),
        ("PUT", ("secrets", "db-pass"), {"value": "stolen-1"}),
        ("GET", ("endpoints",), None), ("GET", ("endpoints", "ep", "keys"), None),
        ("GET", ("access",), None), ("PUT", ("access", "mallory"), {"role": "owner"}),
        ("GET", ("models",), None), ("POST", ("runs",), {"notebook": "x.ipynb"}),
    ]
    for method, parts, body in refused:
        r = await api(method, *parts, headers=auth, body=body)
        assert r.code == 403 and r.json["reason"] == "permission_denied", (method, parts, r)
        assert token not in r.raw.decode()
    r = await api("PUT", "runs", other.id, "files", "x.txt", headers=auth, body=b"x")
    assert r.code == 403
    # nor any of Jupyter's own APIs: a run's token is no Jupyter token
    for parts in (("api", "contents"), ("api", "kernels"), ("api", "me")):
        r = await jp_fetch(*parts, headers=auth, raise_error=False)
        assert r.code == 403, (parts, r.code)
    assert (workspace_state(mlws_ws), mlws_ws.runs.metric_history(other.id, "acc")) == before
    assert mlws_ws.access.assignments()[0]["user"] != "mallory"

    mine.end()
    r = await api("POST", "runs", mine.id, "batch", headers=auth, body={"metrics": [["x", 1, 0, TS]]})
    assert r.code == 403 and f"run {mine.id} has ended (completed)" in r.json["message"], r
    assert (await api("GET", "runs", mine.id, headers=auth)).code == 403
    assert mlws_ws.runs.get(mine.id).metrics == {}

    # the token is nowhere: not in the server's log, not in any file of the workspace
    log = server_log.getvalue()
    assert "POST" in log or "GET" in log  # the log was captured
    assert token not in log
    for path in Path(mlws_ws.root).rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
