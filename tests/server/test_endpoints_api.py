"""Endpoints over the REST API: a real endpoint process serving a real sklearn model.

The healthy endpoint is started once (in the life-cycle test); the other tests refuse
bad input before anything starts, or watch a start fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from pathlib import Path

import pytest
from mlws_testing import iris_model

pytest.importorskip("sklearn")
pytest.importorskip("uvicorn")

SCRIPTS = Path(__file__).parent.parent / "endpoint_scripts"
SAMPLE = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def iris(mlws_ws, jp_root_dir, tmp_path):
    """A registered iris model (iris:1), the scoring scripts in the server's folder; endpoints
    left behind are stopped and removed."""
    model, _ = iris_model(tmp_path / "model")
    mlws_ws.register_model("iris", tmp_path / "model")
    (jp_root_dir / "serving").mkdir()
    for name in ("score.py", "score_bad_init.py"):
        shutil.copy(SCRIPTS / name, jp_root_dir / "serving" / name)
    yield model
    for item in mlws_ws.endpoints.list():
        mlws_ws.endpoints.delete(item["name"])


async def _until(api, name, states, timeout=90.0):
    """Poll GET /endpoints/{name} until its state is one of ``states``."""
    deadline = time.monotonic() + timeout
    while True:
        r = await api("GET", "endpoints", name)
        assert r.code == 200, r
        if r.json["state"] in states:
            return r.json
        assert time.monotonic() < deadline, f"endpoint {name} stayed {r.json['state']}"
        await asyncio.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")


async def test_endpoint_life_cycle(api, iris, mlws_ws):
    body = {"name": "iris", "model": "iris:1", "script": "serving/score.py", "workers": 1}
    r = await api("POST", "endpoints", body=body)
    # answered at once: the start goes on in the endpoint's own process
    assert r.code == 202, r
    assert r.json["state"] == "creating" and r.json["deployments"][0]["models"] == ["iris:1"]
    shown = await _until(api, "iris", ("healthy", "failed"))
    assert shown["state"] == "healthy", shown["error"]
    assert shown["url"].startswith("http://127.0.0.1:") and shown["restarts"] == 0
    assert [(d["name"], d["traffic"], d["state"]) for d in shown["deployments"]] == [("blue", 100, "healthy")]
    r = await api("POST", "endpoints", body=body)
    assert r.code == 409 and "exists" in r.json["message"]

    # keys only from /keys, never in list or show
    keys = (await api("GET", "endpoints", "iris", "keys")).json
    listed = await api("GET", "endpoints")
    assert [e["name"] for e in listed.json["endpoints"]] == ["iris"]
    assert listed.json["endpoints"][0]["deployments"][0]["traffic"] == 100
    for text in (listed.raw.decode(), json.dumps(shown)):
        assert keys["primary"] not in text and keys["secondary"] not in text

    # invoke: the model's own predictions; the endpoint's refusals as clear JSON errors
    r = await api("POST", "endpoints", "iris", "invoke", body={"data": SAMPLE})
    assert r.code == 200, r
    assert r.json["predictions"] == iris.predict(SAMPLE).tolist()
    r = await api("POST", "endpoints", "iris", "invoke", body={"data": [[1.0, 2.0]]})
    assert r.code == 400 and r.json["message"].startswith("endpoint iris answered 400:"), r
    r = await api("POST", "endpoints", "iris", "invoke", body="{not json")
    assert r.code == 400 and "not valid JSON" in r.json["message"]
    r = await api("POST", "endpoints", "iris", "invoke", body={"data": SAMPLE, "raise": True})
    assert r.code == 503 and "answered 500" in r.json["message"], r
    assert "secret internal detail" not in r.raw.decode()

    # metrics: the calls above, counted by the endpoint and flushed to the workspace
    deadline = time.monotonic() + 30
    while True:
        m = (await api("GET", "endpoints", "iris", "metrics", params={"since": "600"})).json
        if m["total"]["count"] >= 3 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert m["total"]["count"] >= 3 and m["total"]["errors"] >= 1, m
    assert m["total"]["latency_ms"]["p50"] is not None and "blue" in m["deployments"]
    r = await api("GET", "endpoints", "iris", "metrics", params={"since": "a while"})
    assert r.code == 400 and "since must be a number of seconds" in r.json["message"]
    logs = await api("GET", "endpoints", "iris", "logs", params={"tail": "50"})
    assert "healthy on 127.0.0.1" in logs.json["text"]

    # traffic: refused splits change nothing
    r = await api("PUT", "endpoints", "iris", "traffic", body={"blue": 50})
    assert r.code == 400 and "sum to 100" in r.json["message"]
    r = await api("PUT", "endpoints", "iris", "traffic", body={"green": 100})
    assert r.code == 404 and "no deployment 'green'" in r.json["message"]
    r = await api("PUT", "endpoints", "iris", "traffic", body={"blue": 100})
    assert r.code == 200 and r.json["deployments"][0]["traffic"] == 100

    # a regenerated secondary key; the primary (the one the server calls with) keeps working
    r = await api("POST", "endpoints", "iris", "keys", body={"key": "secondary"})
    assert r.json["primary"] == keys["primary"] and r.json["secondary"] != keys["secondary"]
    r = await api("POST", "endpoints", "iris", "keys", body={"key": "tertiary"})
    assert r.code == 400

    # stop, start (at once, 202), and delete: no process left behind
    r = await api("POST", "endpoints", "iris", "start")
    assert r.code == 409 and "is running" in r.json["message"]
    pid = shown["pid"]
    r = await api("POST", "endpoints", "iris", "stop")
    assert r.code == 200 and r.json["state"] == "stopped" and not _alive(pid)
    r = await api("POST", "endpoints", "iris", "invoke", body={"data": SAMPLE})
    assert r.code == 503 and "is stopped" in r.json["message"]
    r = await api("POST", "endpoints", "iris", "start")
    assert r.code == 202 and r.json["state"] == "creating"
    again = await _until(api, "iris", ("healthy", "failed"))
    assert again["state"] == "healthy" and again["port"] == shown["port"]
    r = await api("POST", "endpoints", "iris", "invoke", body={"data": SAMPLE})
    assert r.json["predictions"] == iris.predict(SAMPLE).tolist()
    r = await api("DELETE", "endpoints", "iris")
    assert r.code == 204 and not _alive(again["pid"])
    assert (await api("GET", "endpoints", "iris")).code == 404
    assert (await api("GET", "endpoints")).json == {"endpoints": []}


async def test_a_failed_start_shows_the_error_without_server_paths(api, iris, jp_root_dir):
    r = await api("POST", "endpoints", body={"name": "broken", "model": "iris",
                                             "script": "serving/score_bad_init.py"})
    assert r.code == 202, r
    shown = await _until(api, "broken", ("healthy", "failed"))
    assert shown["state"] == "failed"
    assert "RuntimeError: cannot load the model: weights are corrupt in endpoints/broken/" in shown["error"]
    assert str(jp_root_dir) not in json.dumps(shown) and "Traceback" not in json.dumps(shown)
    assert shown["deployments"][0]["state"] == "failed"
    r = await api("POST", "endpoints", "broken", "invoke", body={"data": SAMPLE})
    assert r.code == 503 and "broken is failed" in r.json["message"]


@pytest.mark.parametrize("body, code, message", [
    ({"name": "e", "model": "iris:1", "script": "../score.py"}, 400, "not a path inside the server's folder"),
    ({"name": "e", "model": "iris:1", "script": "/etc/passwd"}, 400, "not a path inside the server's folder"),
    ({"name": "e", "model": "iris:1", "script": "serving/../../x.py"}, 400, "not a path inside"),
    ({"name": "e", "model": "iris:1", "script": "serving/nope.py"}, 404, "no scoring script at 'serving/nope.py'"),
    ({"name": "e", "model": "iris:1", "script": "serving/norun.py"}, 400, "defines no run(data)"),
    ({"name": "e", "model": "iris:1"}, 400, "body lacks the required property 'script'"),
    ({"name": "e", "model": "iris:9", "script": "serving/score.py"}, 404, "iris"),
    ({"name": "e", "model": "iris:1", "script": "serving/score.py", "workers": "two"}, 400, "workers"),
    ({"name": "e", "model": "iris:1", "script": "serving/score.py", "workers": 0}, 400, "workers"),
    ({"name": "e", "model": "iris:1", "script": "serving/score.py", "workers": True}, 400, "workers"),
    ({"name": "no spaces", "model": "iris:1", "script": "serving/score.py"}, 400, "endpoint name"),
    ({"model": "iris:1", "script": "serving/score.py"}, 400, "body lacks the required property 'name'"),
    ("[1, 2]", 400, "must be a JSON object"),
])
async def test_bad_requests_are_refused_before_anything_starts(api, iris, jp_root_dir, body, code, message):
    (jp_root_dir / "serving" / "norun.py").write_text("def init():\n    pass\n")
    r = await api("POST", "endpoints", body=body)
    assert r.code == code, r
    assert message in r.json["message"], r.json
    assert str(jp_root_dir) not in r.raw.decode()  # no server paths
    assert (await api("GET", "endpoints")).json == {"endpoints": []}


async def test_unknown_endpoints_are_404(api, iris):
    for method, parts in (("GET", ["nope"]), ("GET", ["nope", "metrics"]), ("GET", ["nope", "logs"]),
                          ("GET", ["nope", "keys"]), ("POST", ["nope", "stop"]),
                          ("POST", ["nope", "invoke"]), ("DELETE", ["nope"])):
        r = await api(method, "endpoints", *parts, body={} if method == "POST" else None)
        assert r.code == 404 and "no endpoint named 'nope'" in r.json["message"], (method, parts, r)
