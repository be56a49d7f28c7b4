"""Pipelines over REST on a team server: a contributor runs one from a pipeline.yaml in the
server's folder (detached), a reader reads its steps, edges, states and why each ran or was
reused; a bad definition is a 400 that records nothing."""

from __future__ import annotations

import asyncio
import time

from test_roles import CONTRIBUTOR, READER
from test_secrets_api import mlws_config, team  # noqa: F401  (a team server: roles enforced)

SCRIPT = "import pathlib\npathlib.Path('outputs').mkdir()\npathlib.Path('outputs/o.txt').write_text('x')\n"
YAML = """name: api
steps:
  - {name: make, script: steps/make.py, outputs: [o.txt]}
  - {name: use, script: steps/use.py, inputs: {data: make/o.txt}}
"""


async def _ended(api, run_id):
    deadline = time.monotonic() + 90
    while True:
        r = await api("GET", "runs", run_id, "pipeline", user=READER)
        assert r.code == 200
        if r.json["run"]["status"] not in ("queued", "running"):
            return r.json
        assert time.monotonic() < deadline, r.json
        await asyncio.sleep(0.2)


async def test_a_pipeline_run_over_rest(api, team, mlws_ws, jp_root_dir,
        contributors_run_locally):
    (jp_root_dir / "steps").mkdir()
    (jp_root_dir / "steps" / "make.py").write_text(SCRIPT)
    (jp_root_dir / "steps" / "use.py").write_text(
        "import jupyter_mlws, pathlib\nassert pathlib.Path(jupyter_mlws.parameters()['data'])"
        ".read_text() == 'x'\n")
    (jp_root_dir / "pipeline.yaml").write_text(YAML)
    r = await api("POST", "pipelines", body={"path": "pipeline.yaml"}, user=READER)
    assert r.code == 403
    r = await api("POST", "pipelines", body={"path": "pipeline.yaml"}, user=CONTRIBUTOR)
    assert r.code == 201, r.json
    run_id = r.json["run"]["id"]
    assert r.json["edges"] == [["make", "use"]]
    described = await _ended(api, run_id)
    assert described["run"]["status"] == "completed", described
    assert [(s["name"], s["state"], s["changed"]) for s in described["steps"]] == [
        ("make", "completed", ["no earlier run"]), ("use", "completed", ["no earlier run"])]
    assert described["steps"][0]["files"]["o.txt"]["size"] == 1
    # the pipeline's run and its steps' runs are the contributor's
    assert {r.user for r in (mlws_ws.runs.get(run_id), *mlws_ws.runs.children(run_id))} == \
        {CONTRIBUTOR}
    r = await api("POST", "pipelines", body={"path": "pipeline.yaml"}, user=CONTRIBUTOR)
    again = await _ended(api, r.json["run"]["id"])
    assert [s["state"] for s in again["steps"]] == ["reused", "reused"]
    assert again["steps"][1]["reused_from"] == described["steps"][1]["run_id"]
    r = await api("GET", "pipelines", user=READER)
    assert r.json["pipelines"][0]["name"] == "api" and r.json["pipelines"][0]["runs"] == 2
    r = await api("GET", "pipelines", "api", "runs", user=READER)
    assert [x["id"] for x in r.json["runs"]] == [again["run"]["id"], run_id]
    r = await api("GET", "pipelines", "api", user=READER)
    assert r.json["definition"]["steps"][1]["inputs"] == {"data": "make/o.txt"}
    r = await api("GET", "pipelines", "nope", user=READER)
    assert r.code == 404
    # the same steps as JSON, relative to the server's folder, then to a project folder in it
    definition = {"name": "api-json", "steps": [
        {"name": "make", "script": "steps/make.py", "outputs": ["o.txt"]}]}
    r = await api("POST", "pipelines", body={"definition": definition}, user=CONTRIBUTOR)
    assert r.code == 201, r.json
    assert (await _ended(api, r.json["run"]["id"]))["run"]["status"] == "completed"
    definition["steps"][0]["script"] = "make.py"
    r = await api("POST", "pipelines", body={"definition": definition, "project_dir": "steps"},
                  user=CONTRIBUTOR)
    assert r.code == 201, r.json
    reused = await _ended(api, r.json["run"]["id"])
    assert reused["steps"][0]["state"] == "reused"  # the same script's bytes, wherever it lives


async def test_bad_pipelines_over_rest_are_400s_that_record_nothing(api, team, mlws_ws, jp_root_dir,
        contributors_run_locally):
    (jp_root_dir / "cycle.yaml").write_text(
        "steps:\n  - {name: a, script: a.py, inputs: {x: b/o}, outputs: [o]}\n"
        "  - {name: b, script: a.py, inputs: {y: a/o}, outputs: [o]}\n")
    before = len(mlws_ws.search_runs())
    for body, code, message in [
        ({"path": "cycle.yaml"}, 400, "has a cycle"),
        ({"path": "../etc/x.yaml"}, 400, "not a path inside the server's folder"),
        ({"path": "missing.yaml"}, 404, "no pipeline 'missing.yaml'"),
        ({"path": "train.ipynb"}, 400, "not a pipeline definition"),
        ({}, 400, 'give the pipeline as "path"'),
        ({"definition": {"name": "x", "steps": [{"name": "a", "script": "../a.py"}]}}, 400,
         "not a path inside"),
        ({"definition": {"steps": [{"name": "a", "script": "a.py"}]}}, 400, "has no name"),
    ]:
        r = await api("POST", "pipelines", body=body, user=CONTRIBUTOR)
        assert r.code == code and message in r.json["message"], (body, r.json)
        assert str(jp_root_dir) not in r.json["message"]
    assert len(mlws_ws.search_runs()) == before
