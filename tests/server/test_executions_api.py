"""The routes an executor on another machine reports through, on a real Jupyter server: what
they record, what they refuse (4xx, nothing changed), a token of another run refused, and the
attempt fence (a superseded attempt's writes refused, its results cleared)."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
TS = 1_700_000_000_000


def _auth(token: str, attempt: str | None = None) -> dict:
    headers = {"Authorization": f"token {token}"}
    if attempt is not None:
        headers["X-Mlws-Attempt"] = attempt
    return headers


@pytest.fixture
def queued(mlws_ws, jp_root_dir):
    """A notebook run submitted but not executed (what a remote target is handed), in a
    project with a data file; its id and token."""
    project = jp_root_dir / "project"
    project.mkdir()
    shutil.copy(NOTEBOOKS / "train.ipynb", project / "train.ipynb")
    (project / "data.txt").write_text("42\n")
    sub = mlws_ws.notebooks.submit(project / "train.ipynb", {"lr": 0.5}, detach=False)
    return sub.run_id, mlws_ws.run_tokens.issue(sub.run_id)


async def _start(api, run_id, token, attempt="A", host="gpu-box"):
    r = await api("POST", "runs", run_id, "execution", body={"attempt": attempt, "host": host},
                  headers=_auth(token, attempt))
    assert r.code == 201, r
    return r.json


async def test_the_job_and_bundle_are_what_a_local_executor_runs(api, mlws_ws, queued):
    run_id, token = queued
    r = await api("GET", "runs", run_id, "job", headers=_auth(token))
    assert r.code == 200, r
    assert r.json == {"kind": "notebook", "run_id": run_id, "notebook": "train.ipynb", "kernel": "python3",
                      "parameters": {"lr": 0.5}, "timeout": None, "retries": 0, "secret_env": []}
    r = await api("GET", "runs", run_id, "bundle", headers=_auth(token))
    assert r.code == 200 and r.headers["Content-Type"] == "application/x-tar", r
    with tarfile.open(fileobj=io.BytesIO(r.raw)) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}
    assert set(files) == {"train.ipynb", "data.txt"} and files["data.txt"] == b"42\n"
    assert json.loads(files["train.ipynb"])["cells"][1]["metadata"]["tags"] == ["parameters"]


async def test_an_attempt_starts_the_run_and_records_what_it_executes(api, mlws_ws, queued):
    run_id, token = queued
    started = await _start(api, run_id, token)
    assert started["attempt"] == "A" and started["attempts"] == 1
    record = mlws_ws.runs.get(run_id)
    assert record.status == "running" and record.host == "gpu-box"
    assert mlws_ws.runs.process_of(run_id) is None  # nothing of this machine to signal
    auth = _auth(token, "A")
    r = await api("POST", "runs", run_id, "progress", body={"attempt": 1, "done": 2, "total": 5},
                  headers=auth)
    assert r.code == 201, r
    assert mlws_ws.notebooks.progress(run_id)["done"] == 2
    r = await api("POST", "runs", run_id, "attempts",
                  body={"attempt": 1, "status": "failed", "error": "cell 2 raised ValueError"},
                  headers=auth)
    assert r.code == 201, r
    env = {"python": "3.11.7 (main)", "packages_hash": "ab" * 32, "packages": ["numpy==1.26.4"]}
    r = await api("PUT", "runs", run_id, "environment", body={"kernel": "python3", "captured": env},
                  headers=auth)
    assert r.code == 200, r
    r = await api("PUT", "runs", run_id, "cell-records",
                  body={"cells": [{"index": 0, "number": 1, "status": "ok"}]}, headers=auth)
    assert r.code == 200, r
    record = mlws_ws.runs.get(run_id)
    assert record.tags["env_hash"] == "ab" * 8 and record.tags["python"] == "3.11.7"
    assert [f["path"] for f in mlws_ws.runs.files(run_id, "artifact")] == ["environment.json"]
    assert mlws_ws.notebooks.cells(run_id) == [{"index": 0, "number": 1, "status": "ok"}]
    attempts = mlws_ws.runs.values(run_id, "attempts")
    assert json.loads(attempts[0]["data"])["error"] == "cell 2 raised ValueError"
    # live logs: appended by offset, a resent piece is not written twice
    for offset, piece in ((0, b"hello "), (0, b"hello "), (6, b"world\n"), (3, b"lo world\nmore")):
        r = await api("POST", "runs", run_id, "logs", "stdout.log", params={"offset": offset},
                      body=piece, headers=auth)
        assert r.code == 200, r
    assert r.json == {"name": "stdout.log", "size": 16}
    assert mlws_ws.run_logs(run_id)["stdout.log"] == b"hello world\nmore"
    r = await api("PUT", "runs", run_id, "live-notebook", body=b'{"cells": []}', headers=auth)
    assert r.code == 204, r
    r = await api("POST", "runs", run_id, "heartbeat", headers=auth)
    assert r.code == 200 and r.json == {"status": "running", "cancel": False,
                                        "heartbeat_timeout": 60.0}, r
    assert mlws_ws.executions.request_cancel(run_id)
    r = await api("POST", "runs", run_id, "heartbeat", headers=auth)
    assert r.json == {"status": "running", "cancel": True, "heartbeat_timeout": 60.0}, r
    # the end stores the live logs; the live copy of the notebook is not one of them
    r = await api("POST", "runs", run_id, "end", body={"status": "canceled", "error": "canceled"},
                  headers=auth)
    assert r.code == 200, r
    logs = {f["path"]: f for f in mlws_ws.runs.files(run_id, "log")}
    assert set(logs) == {"stdout.log"} and logs["stdout.log"]["size"] == 16
    assert not (mlws_ws.artifacts.live_root / run_id).exists()


@pytest.mark.parametrize("path, body, params, fragment", [
    (("execution",), {"attempt": "x" * 201}, None, "attempt"),
    (("execution",), {"attempt": "bad\x00id"}, None, "attempt"),
    (("progress",), {"attempt": 0, "done": 1, "total": 2}, None, "attempt"),
    (("progress",), {"attempt": 1, "done": -1, "total": 2}, None, "done"),
    (("progress",), {"attempt": 1, "done": 1}, None, "total"),
    (("attempts",), {"attempt": 1, "status": "exploded"}, None, "status"),
    (("environment",), {"kernel": "python3", "captured": {"python": "3"}}, None, "packages_hash"),
    (("environment",), {"kernel": "python3", "captured": {"python": "3", "packages_hash": "x",
                                                          "packages": [1]}}, None, "packages"),
    (("cell-records",), {"cells": "all"}, None, "cells"),
    (("logs", "stdout.log"), b"x", None, "offset"),
    (("logs", "notes.txt"), b"x", {"offset": 0}, "NAME.log"),
    (("logs", "stdout.log"), b"x" * ((1 << 20) + 1), {"offset": 0}, "at most"),
    (("live-notebook",), b"not json", None, "not JSON"),
])
async def test_bad_input_is_a_400_and_changes_nothing(api, mlws_ws, queued, path, body, params,
                                                      fragment):
    run_id, token = queued
    if path[0] != "execution":
        await _start(api, run_id, token)
    before = (mlws_ws.runs.get(run_id).status, mlws_ws.notebooks.progress(run_id),
              mlws_ws.runs.files(run_id), mlws_ws.runs.values(run_id),
              mlws_ws.artifacts.live_log_sizes(run_id))
    method = "PUT" if path[0] in ("environment", "cell-records", "live-notebook") else "POST"
    r = await api(method, "runs", run_id, *path, body=body, params=params,
                  headers=_auth(token, "A"))
    assert r.code == 400 and fragment in r.json["message"], r
    after = (mlws_ws.runs.get(run_id).status, mlws_ws.notebooks.progress(run_id),
             mlws_ws.runs.files(run_id), mlws_ws.runs.values(run_id),
             mlws_ws.artifacts.live_log_sizes(run_id))
    assert after == before


async def test_a_gap_in_a_live_log_is_a_409_that_says_where_to_resume(api, mlws_ws, queued):
    run_id, token = queued
    await _start(api, run_id, token)
    auth = _auth(token, "A")
    await api("POST", "runs", run_id, "logs", "stderr.log", params={"offset": 0}, body=b"abc",
              headers=auth)
    r = await api("POST", "runs", run_id, "logs", "stderr.log", params={"offset": 10}, body=b"x",
                  headers=auth)
    assert r.code == 409 and "send from byte 3" in r.json["message"], r
    assert mlws_ws.run_logs(run_id)["stderr.log"] == b"abc"


async def test_a_token_of_another_run_is_refused_on_every_route(api, mlws_ws, queued, jp_root_dir):
    run_id, _ = queued
    other = mlws_ws.notebooks.submit(jp_root_dir / "project" / "train.ipynb", detach=False).run_id
    theirs = mlws_ws.run_tokens.issue(other)
    calls = [("GET", ("job",), None), ("GET", ("bundle",), None),
             ("POST", ("execution",), {"attempt": "A"}),
             ("POST", ("progress",), {"attempt": 1, "done": 0, "total": 1}),
             ("POST", ("attempts",), {"attempt": 1, "status": "failed"}),
             ("PUT", ("environment",), {"kernel": "k", "captured": {"python": "3", "packages_hash": "x"}}),
             ("PUT", ("cell-records",), {"cells": []}), ("POST", ("output-copy",), None),
             ("POST", ("logs", "stdout.log"), b"x"), ("PUT", ("live-notebook",), b"{}")]
    for method, path, body in calls:
        r = await api(method, "runs", run_id, *path, body=body, params={"offset": 0},
                      headers=_auth(theirs))
        assert r.code == 403 and f"belongs to run {other}" in r.json["message"], (path, r)
    assert mlws_ws.runs.get(run_id).status == "queued"
    assert mlws_ws.executions.current_attempt(run_id) is None


async def test_a_newer_attempt_fences_off_the_older_one(api, mlws_ws, queued):
    run_id, token = queued
    await _start(api, run_id, token, "A")
    r = await api("POST", "runs", run_id, "batch",
                  body={"metrics": [["loss", 0.5, 0, TS], ["loss", 0.4, 1, TS]]},
                  headers=_auth(token, "A"))
    assert r.code == 200, r
    await api("POST", "runs", run_id, "logs", "stdout.log", params={"offset": 0}, body=b"from A\n",
              headers=_auth(token, "A"))
    started = await _start(api, run_id, token, "B", host="other-box")
    assert started["attempts"] == 2
    # what A recorded is gone; A's late writes are refused, whatever they are
    assert mlws_ws.runs.get(run_id).metrics == {}
    assert mlws_ws.run_logs(run_id) == {}
    for method, path, body, params in (
            ("POST", ("batch",), {"metrics": [["loss", 0.3, 2, TS]]}, None),
            ("POST", ("logs", "stdout.log"), b"late\n", {"offset": 0}),
            ("POST", ("progress",), {"attempt": 1, "done": 3, "total": 5}, None),
            ("POST", ("heartbeat",), None, None), ("POST", ("end",), {"status": "completed"}, None)):
        r = await api(method, "runs", run_id, *path, body=body, params=params,
                      headers=_auth(token, "A"))
        assert r.code == 409 and "superseded by attempt 'B'" in r.json["message"], (path, r)
    r = await api("POST", "runs", run_id, "batch", body={"metrics": [["loss", 0.3, 2, TS]]},
                  headers=_auth(token))
    assert r.code == 409 and "names no attempt" in r.json["message"], r
    assert mlws_ws.runs.get(run_id).metrics == {}
    # the job is still readable (an attempt reads it before it starts)
    assert (await api("GET", "runs", run_id, "job", headers=_auth(token, "A"))).code == 200
    r = await api("POST", "runs", run_id, "batch", body={"metrics": [["loss", 0.3, 0, TS]]},
                  headers=_auth(token, "B"))
    assert r.code == 200, r
    r = await api("POST", "runs", run_id, "end", body={"status": "completed"},
                  headers=_auth(token, "B"))
    assert r.code == 200 and r.json["status"] == "completed", r
    assert mlws_ws.runs.metric_history(run_id, "loss") == [(0, TS, 0.3)]
    assert mlws_ws.runs.get(run_id).host == "other-box"


async def test_an_ended_run_is_not_executed_again(api, mlws_ws, queued):
    run_id, token = queued
    mlws_ws.runs.end(run_id, "canceled", "canceled by the user")
    r = await api("POST", "runs", run_id, "execution", body={"attempt": "A"})
    assert r.code == 409 and "has ended (canceled)" in r.json["message"], r
    r = await api("POST", "runs", run_id, "execution", body={"attempt": "A"},
                  headers=_auth(token, "A"))
    assert r.code == 403 and "has ended (canceled)" in r.json["message"], r
    assert mlws_ws.executions.current_attempt(run_id) is None


async def test_a_notebook_submitted_over_rest_executes_on_the_target_it_names(
        api, mlws_ws, jp_root_dir, monkeypatch):
    """The REST submit body's ``compute``: the run is recorded on that target and its executor
    (a process of its own here: tests/remote_target.py) reports back to this server."""
    import remote_target
    from jupyter_mlws.compute import registry

    monkeypatch.setitem(registry.BACKENDS, "dask", "remote_target:ProcessTarget")
    mlws_ws.compute.create("box", "dask", address="tcp://127.0.0.1:1", check_actor=False)
    (jp_root_dir / "nb").mkdir()
    shutil.copy(NOTEBOOKS / "train.ipynb", jp_root_dir / "nb" / "train.ipynb")
    r = await api("POST", "runs", body={"notebook": "nb/train.ipynb", "compute": "nowhere"})
    assert r.code == 404 and "no compute target 'nowhere'" in r.json["message"], r
    assert mlws_ws.search_runs().next_page_token is None and len(mlws_ws.search_runs()) == 0
    r = await api("POST", "runs", body={"notebook": "nb/train.ipynb", "parameters": {"lr": 0.5},
                                        "compute": "box"})
    assert r.code == 201, r
    run_id = r.json["id"]
    try:
        for _ in range(1200):
            if mlws_ws.runs.get(run_id).status not in ("queued", "running"):
                break
            await asyncio.sleep(0.1)
    finally:
        remote_target.reap()
    record = mlws_ws.runs.get(run_id)
    assert record.status == "completed", record.error
    assert record.metrics["loss"] == pytest.approx(0.5 ** 5)
    r = await api("GET", "runs", run_id)
    assert r.json["compute"] == "box" and r.json["status"] == "completed"
