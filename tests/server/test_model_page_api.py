"""What a model's page and an endpoint's page read and change over the REST API: versions with
the endpoints serving them, a version's description and tags, its training data's statistics;
an endpoint's timeline of requests, its drift per feature, and a second deployment with a
traffic split.  One real endpoint serves a real sklearn model registered with its training data."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest
from mlws_testing import iris_model

from jupyter_mlws.endpoints.serving.monitor import BUCKET_MS

pytest.importorskip("sklearn")
pytest.importorskip("uvicorn")

SCRIPT = Path(__file__).parent.parent / "endpoint_scripts" / "score.py"
SAMPLE = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def iris(mlws_ws, jp_root_dir, tmp_path):
    """iris:1 registered from a run (params, metrics) with its training data, iris:2 without;
    the scoring script in the server's folder; endpoints left behind are removed."""
    _, X = iris_model(tmp_path / "model")
    with mlws_ws.experiment("train").start_run("fit", snapshot=False, outputs=None) as run:
        run.log_params({"C": 1.0, "solver": "lbfgs"})
        run.log("acc", 0.97)
        run.upload_file("model.pkl", tmp_path / "model" / "model.pkl")
    mlws_ws.models.register("iris", run=run.id, artifact="model.pkl", training_data=X.tolist(),
                            description="first fit", tags={"stage": "dev"})
    mlws_ws.register_model("iris", tmp_path / "model")
    shutil.copy(SCRIPT, jp_root_dir / "score.py")
    yield run.id
    for item in mlws_ws.endpoints.list():
        mlws_ws.endpoints.delete(item["name"])


async def test_a_versions_description_tags_and_training_data(api, iris, mlws_ws):
    shown = (await api("GET", "models", "iris")).json
    assert [v["version"] for v in shown["versions"]] == [2, 1]
    first = shown["versions"][1]
    assert first["served_by"] == [] and first["lineage"]["run_id"] == iris
    assert first["lineage"]["params"] == {"C": "1.0", "solver": "lbfgs"}
    assert first["description"] == "first fit" and first["tags"] == {"stage": "dev"}

    r = await api("PATCH", "models", "iris:1", body={"description": "the first fit, C=1",
                                                      "set": {"owner": "rita"}, "delete": ["stage"]})
    assert r.code == 200, r
    assert r.json["description"] == "the first fit, C=1" and r.json["tags"] == {"owner": "rita"}
    assert r.json["served_by"] == []
    # all or nothing: a tag it does not have refuses the whole change
    r = await api("PATCH", "models", "iris:1", body={"description": "changed", "delete": ["nope"]})
    assert r.code == 404 and "has no tag 'nope'" in r.json["message"]
    assert mlws_ws.models.resolve("iris:1").description == "the first fit, C=1"
    for ref, body, code, words in (
            ("iris", {"description": "x"}, 400, "names a whole model"),
            ("iris:1", {"description": 3}, 400, "description"),
            ("iris:1", {"colour": "red"}, 400, "colour"),
            ("iris:1", {"set": {"": "x"}}, 400, "tag"),
            ("iris:9", {"description": "x"}, 404, "no version 9"),
            ("nope:1", {"description": "x"}, 404, "no model named 'nope'")):
        r = await api("PATCH", "models", ref, body=body)
        assert r.code == code and words in r.json["message"], (ref, body, r)

    stats = (await api("GET", "models", "iris:1", "training-data")).json
    assert stats["rows"] == 150 and [f["name"] for f in stats["features"]] == ["0", "1", "2", "3"]
    assert stats["features"][0]["kind"] == "numeric" and 4.3 <= stats["features"][0]["mean"] <= 7.9
    none = (await api("GET", "models", "iris:2", "training-data")).json
    assert none["rows"] is None and "registered without training data" in none["message"]
    assert (await api("GET", "models", "iris:7", "training-data")).code == 404


async def _until(api, name, check, timeout=90.0, what="metrics", params=None):
    deadline = time.monotonic() + timeout
    while True:
        r = await api("GET", "endpoints", name, *([what] if what else []), params=params)
        assert r.code == 200, r
        if check(r.json):
            return r.json
        assert time.monotonic() < deadline, r.json
        await asyncio.sleep(0.3)


async def test_an_endpoints_timeline_drift_and_second_deployment(api, iris, mlws_ws):
    await asyncio.to_thread(mlws_ws.deploy, "iris:1", "page", str(SCRIPT),
                            sample_rate=1.0, flush_interval=0.2)
    # served versions cannot be deleted: the refusal names the endpoint, nothing is deleted
    r = await api("DELETE", "models", "iris:1")
    assert r.code == 409 and "served by endpoint page" in r.json["message"]
    assert (await api("GET", "models", "iris:1")).json["served_by"] == ["page"]
    assert (await api("GET", "models")).json["models"][0]["served_by"] == ["page"]

    # 120 rows from the training data's range: enough for a drift verdict per feature
    rows = [[5.0 + i % 20 / 10, 3.0, 1.5 + i % 40 / 10, 0.2 + i % 20 / 10] for i in range(120)]
    for _ in range(3):
        assert (await api("POST", "endpoints", "page", "invoke", body={"data": rows})).code == 200
    m = await _until(api, "page", lambda m: m["total"]["count"] >= 3,
                     params={"since": "600", "buckets": "60"})
    line = m["timeline"]
    assert line["bucket_s"] == 10 and list(line["deployments"]) == ["blue"]
    points = line["deployments"]["blue"]
    assert len(points) == 60 and sum(p["count"] for p in points) == m["total"]["count"]
    assert all(b["t"] - a["t"] == 10_000 for a, b in zip(points, points[1:]))
    assert points[-1]["t"] <= time.time() * 1000 < points[-1]["t"] + 2 * BUCKET_MS
    busy = [p for p in points if p["count"]]
    assert busy and all(p["p50"] <= p["p95"] <= p["p99"] for p in busy)
    assert all(p["p50"] is None for p in points if not p["count"])
    wide = (await api("GET", "endpoints", "page", "metrics", params={"since": "3600", "buckets": "7"})).json
    assert wide["timeline"]["bucket_s"] == 520 and len(wide["timeline"]["deployments"]["blue"]) == 7
    for bad in ("0", "1001", "many"):
        r = await api("GET", "endpoints", "page", "metrics", params={"buckets": bad})
        assert r.code == 400 and "buckets must be" in r.json["message"], (bad, r)

    drift = await _until(api, "page", lambda d: d["deployments"]["blue"]["samples"] >= 100,
                         what="drift", params={"since": "600"})
    blue = drift["deployments"]["blue"]
    assert blue["model"] == "iris:1" and blue["verdict"] in ("ok", "watch", "drift")
    assert [f["name"] for f in blue["features"]] == ["0", "1", "2", "3"]
    assert all(f["psi"] is not None for f in blue["features"])
    r = await api("GET", "endpoints", "page", "drift", params={"since": "-5"})
    assert r.code == 400 and "since must be" in r.json["message"]

    # a second deployment (no traffic at first), then 90/10 between them
    r = await api("PUT", "endpoints", "page", "deployments", "green", body={"model": "iris:2",
                                                                            "script": "score.py"})
    assert r.code == 202, r
    assert {d["name"]: d["traffic"] for d in r.json["deployments"]} == {"blue": 100, "green": 0}
    await _until(api, "page", lambda e: {d["name"]: d["state"] for d in e["deployments"]}
                 == {"blue": "healthy", "green": "healthy"}, what=None)
    r = await api("PUT", "endpoints", "page", "traffic", body={"blue": 90, "green": 10})
    assert r.code == 200 and {d["name"]: d["traffic"] for d in r.json["deployments"]} == {"blue": 90, "green": 10}
    r = await api("DELETE", "endpoints", "page", "deployments", "green")
    assert r.code == 409 and "takes 10 % of the traffic" in r.json["message"]
    assert (await api("GET", "models", "iris:2")).json["served_by"] == ["page"]
    for body, code, words in (({"model": "iris:1"}, 400, "script"),
                              ({"model": "iris:1", "script": "../score.py"}, 400, "not a path inside"),
                              ({"model": "iris:5", "script": "score.py"}, 404, "no version 5")):
        r = await api("PUT", "endpoints", "page", "deployments", "red", body=body)
        assert r.code == code and words in r.json["message"], (body, r)
    r = await api("PUT", "endpoints", "page", "deployments", "no spaces", body={"model": "iris:1",
                                                                               "script": "score.py"})
    assert r.code == 400 and "deployment name" in r.json["message"]
    assert [d["name"] for d in (await api("GET", "endpoints", "page")).json["deployments"]] == ["blue", "green"]
