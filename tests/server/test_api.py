"""The REST API per route family, against real runs made through the SDK."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from pathlib import Path

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


def _runs(ws, n=5, experiment="exp"):
    ids = []
    for i in range(n):
        with ws.experiment(experiment).start_run(snapshot=False, outputs=None) as run:
            run.log_params({"i": i, "model": "rf" if i % 2 else "lr"})
            run.log("acc", i / 10)
            ids.append(run.id)
    return ids


def _no_traceback(reply):
    assert set(reply.json) == {"message", "reason"}, reply
    assert "Traceback" not in reply.raw.decode()


async def test_workspace_and_experiments(api, mlws_ws):
    _runs(mlws_ws, 2)
    r = await api("GET", "workspace")
    assert r.code == 200
    assert r.json["name"] == "ws" and r.json["runs"] == 2
    assert r.json["you"]["role"] == "owner" and r.json["roles_enforced"] is False
    assert str(mlws_ws.root) not in r.raw.decode()  # no server paths
    r = await api("GET", "experiments")
    assert [e["name"] for e in r.json["experiments"]] == ["exp"]


async def test_search_pages_in_order(api, mlws_ws):
    _runs(mlws_ws, 5)
    seen, token = [], None
    while True:
        params = {"filter": "metrics.acc >= 0.1", "order_by": "metrics.acc DESC", "max_results": "2"}
        if token:
            params["page_token"] = token
        r = await api("GET", "runs", params=params)
        assert r.code == 200, r
        assert len(r.json["runs"]) <= 2
        seen += [run["metrics"]["acc"] for run in r.json["runs"]]
        token = r.json["next_page_token"]
        if token is None:
            break
    assert seen == [0.4, 0.3, 0.2, 0.1]
    r = await api("GET", "runs", params={"filter": "params.model = 'rf'"})
    assert sorted(run["params"]["i"] for run in r.json["runs"]) == ["1", "3"]


async def test_client_mistakes_are_json_errors(api, mlws_ws):
    ids = _runs(mlws_ws, 1)
    r = await api("GET", "runs", params={"filter": "metrics.acc > and x"})
    assert r.code == 400 and r.json["reason"] == "invalid_input"
    assert "position" in r.json["message"]
    _no_traceback(r)
    for params in ({"page_token": "garbage!"}, {"max_results": "many"}, {"max_results": "0"}):
        r = await api("GET", "runs", params=params)
        assert r.code == 400, (params, r)
        _no_traceback(r)
    r = await api("GET", "runs", "ffffffffffffffff")
    assert r.code == 404 and r.json["reason"] == "not_found"
    _no_traceback(r)
    r = await api("POST", "runs", ids[0], "cancel")  # it has ended
    assert r.code == 409 and r.json["reason"] == "conflict"
    _no_traceback(r)
    r = await api("PATCH", "runs", ids[0], "tags", body="{not json")
    assert r.code == 400
    _no_traceback(r)
    r = await api("GET", "no", "such", "route")
    assert r.code == 404 and r.json["reason"] == "not_found"
    assert "openapi.json" in r.json["message"]


async def test_run_parts_and_tags(api, mlws_ws):
    run_id = _runs(mlws_ws, 1)[0]
    r = await api("GET", "runs", run_id[:6])  # a unique prefix
    assert r.code == 200 and r.json["id"] == run_id and r.json["status"] == "completed"
    assert (await api("GET", "runs", run_id, "params")).json == {"params": {"i": "0", "model": "lr"}}
    assert (await api("GET", "runs", run_id, "metrics")).json == {"metrics": {"acc": 0.0}}
    r = await api("PATCH", "runs", run_id, "tags", body={"set": {"team": "a", "x": "1"}})
    assert r.code == 200 and r.json["tags"] == {"team": "a", "x": "1"}
    r = await api("PATCH", "runs", run_id, "tags", body={"delete": ["x"]})
    assert r.json["tags"] == {"team": "a"}
    assert mlws_ws.runs.get(run_id).tags == {"team": "a"}
    r = await api("PATCH", "runs", run_id, "tags", body={"delete": ["nope"]})
    assert r.code == 404


async def test_metric_history_is_downsampled_with_peaks(api, mlws_ws):
    with mlws_ws.experiment("long").start_run(snapshot=False, outputs=None) as run:
        values = [1.0] * 20_000
        values[12_345] = 99.0
        values[777] = -5.0
        values[-1] = float("nan")
        run.log_batch("loss", values)
    r = await api("GET", "runs", run.id, "metrics", "loss", params={"max_points": "1000"})
    assert r.code == 200
    assert r.json["total"] == 20_000 and r.json["downsampled"] is True
    assert len(r.json["values"]) <= 1000
    assert 99.0 in r.json["values"] and -5.0 in r.json["values"]
    assert r.json["steps"][0] == 0 and r.json["steps"][-1] == 19_999
    assert r.json["values"][-1] == "nan"
    assert r.json["steps"] == sorted(r.json["steps"])
    full = await api("GET", "runs", run.id, "metrics", "loss")
    assert len(full.json["values"]) == 20_000 and full.json["downsampled"] is False
    r = await api("GET", "runs", run.id, "metrics", "nope")
    assert r.code == 404


async def test_logs_tail_from_an_offset(api, mlws_ws):
    with mlws_ws.experiment("logs").start_run(snapshot=False, outputs=None) as run:
        run.attach_log("stdout.log", "hello wörld\n".encode())
    r = await api("GET", "runs", run.id, "logs", params={"name": "stdout.log", "since_bytes": "6"})
    assert r.code == 200
    log = r.json["logs"]["stdout.log"]
    assert log["text"] == "wörld\n" and log["size"] == 13 and log["offset"] == 6
    r = await api("GET", "runs", run.id, "logs", params={"since_bytes": "100"})
    assert r.json["logs"]["stdout.log"]["text"] == ""
    # the whole stored log downloads (the run view links it), as a plain-text attachment
    r = await api("GET", "runs", run.id, "artifacts", "stdout.log", params={"kind": "log"})
    assert r.code == 200 and r.raw == "hello wörld\n".encode()
    assert "attachment" in r.headers["Content-Disposition"]


async def test_artifacts_are_served_safely(api, mlws_ws, tmp_path):
    files = {"page.html": b"<script>alert(1)</script>", "pic.svg": b"<svg onload='alert(1)'/>",
             "plot.png": b"\x89PNG\r\n\x1a\nfake", "blob.weird": b"\x00\x01"}
    with mlws_ws.experiment("art").start_run(snapshot=False, outputs=None) as run:
        for name, data in files.items():
            (tmp_path / name).write_bytes(data)
            run.upload_file(f"out/{name}", tmp_path / name)
    r = await api("GET", "runs", run.id, "files", params={"kind": "artifact"})
    assert sorted(f["path"] for f in r.json["files"]) == sorted(f"out/{n}" for n in files)
    for name in ("page.html", "pic.svg", "blob.weird"):
        r = await api("GET", "runs", run.id, "artifacts", "out", name)
        assert r.code == 200 and r.raw == files[name]
        assert r.headers["Content-Disposition"].startswith("attachment;")
        assert r.headers["Content-Type"] == "application/octet-stream"
        assert "sandbox" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    r = await api("GET", "runs", run.id, "artifacts", "out", "plot.png")
    assert r.headers["Content-Disposition"].startswith("inline;")
    assert r.headers["Content-Type"] == "image/png" and r.raw == files["plot.png"]
    r = await api("GET", "runs", run.id, "artifacts", "out", "%2e%2e", "secret")
    assert r.code == 400 and r.json["reason"] == "invalid_input"
    assert "Content-Disposition" not in r.headers
    r = await api("GET", "runs", run.id, "artifacts", "out", "missing.txt")
    assert r.code == 404 and r.json["reason"] == "not_found"
    r = await api("GET", "runs", run.id, "files", params={"kind": "secrets"})
    assert r.code == 400


async def test_models_register_alias_delete(api, mlws_ws, tmp_path):
    (tmp_path / "model.pkl").write_bytes(b"not really a pickle")
    with mlws_ws.experiment("m").start_run(snapshot=False, outputs=None) as run:
        run.upload_file("model.pkl", tmp_path / "model.pkl")
    r = await api("POST", "models", body={"name": "iris", "run": run.id, "artifact": "model.pkl"})
    assert r.code == 201 and r.json["ref"] == "iris:1" and r.json["run_id"] == run.id
    r = await api("POST", "models", body={"name": "iris", "run": run.id, "artifact": "nope"})
    assert r.code == 404
    r = await api("POST", "models", body={"name": "bad name!", "run": run.id, "artifact": "model.pkl"})
    assert r.code == 400
    for empty in ("", "  "):  # refused with what to give, never registered under a default name
        r = await api("POST", "models", body={"name": empty, "run": run.id, "artifact": "model.pkl"})
        assert r.code == 400 and "name" in r.json["message"], r.json
    assert r.json["message"].startswith("give the model name: letters, digits")  # the core's rule
    assert [m["name"] for m in (await api("GET", "models")).json["models"]] == ["iris"]
    r = await api("PUT", "models", "iris", "aliases", "champion", body={"version": 1})
    assert r.code == 200 and "champion" in r.json["aliases"]
    r = await api("GET", "models", "iris@champion")
    assert r.code == 200 and r.json["version"] == 1
    r = await api("GET", "models", "iris")
    assert [v["version"] for v in r.json["versions"]] == [1]
    assert (await api("DELETE", "models", "iris", "aliases", "champion")).code == 204
    assert (await api("GET", "models", "iris@champion")).code == 404
    r = await api("DELETE", "models", "iris:1")
    assert r.code == 200 and r.json == {"deleted": ["iris:1"]}
    assert (await api("GET", "models", "iris")).code == 404


async def test_access_on_a_personal_server(api, mlws_ws):
    r = await api("PUT", "access", "bob", body={"role": "Reader"})
    assert r.code == 200 and r.json["role"] == "reader"
    r = await api("GET", "access")
    assert {a["user"]: a["role"] for a in r.json["assignments"]}["bob"] == "reader"
    assert (await api("PUT", "access", "bob", body={"role": "admin"})).code == 400
    assert (await api("DELETE", "access", "bob")).code == 204
    owner = mlws_ws.access.creator()
    r = await api("DELETE", "access", owner)  # the last owner
    assert r.code == 409 and "last owner" in r.json["message"]


async def test_submit_a_notebook_returns_at_once_and_completes(api, mlws_ws, jp_root_dir):
    # no kernelspec and no language_info in it: what nbstripout and jupytext leave
    shutil.copy(NOTEBOOKS / "bare.ipynb", jp_root_dir / "nb.ipynb")
    r = await api("POST", "runs", body={"notebook": "../nb.ipynb"})
    assert r.code == 400
    r = await api("POST", "runs", body={"notebook": "missing.ipynb"})
    assert r.code == 404, r
    started = time.monotonic()
    r = await api("POST", "runs", body={"notebook": "nb.ipynb", "experiment": "nb", "kernel": "python3",
                                        "parameters": {"x": 2}, "tags": {"via": "rest"}})
    assert r.code == 201, r
    assert "warnings" not in r.json  # x is declared
    assert time.monotonic() - started < 10  # it did not wait for the kernel
    assert r.json["status"] in ("queued", "running")
    run_id = r.json["id"]
    deadline = time.monotonic() + 90
    while True:
        status = (await api("GET", "runs", run_id)).json["status"]
        if status not in ("queued", "running") or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)
    assert status == "completed"
    r = await api("GET", "runs", run_id, "logs")
    assert r.json["logs"]["stdout.log"]["text"] == "x is 2\n"
    assert "without encryption" not in "".join(log["text"] for log in r.json["logs"].values())
    # the run view's "open the notebook" link: the source's path in the server's folder
    assert (await api("GET", "runs", run_id)).json["notebook"] == "nb.ipynb"
    (jp_root_dir / "nb.ipynb").unlink()  # gone: no link (the snapshot keeps a copy)
    assert (await api("GET", "runs", run_id)).json["notebook"] is None
    session = mlws_ws.runs.create("s", source_type="session", source_name=str(jp_root_dir / "s.ipynb"))
    assert (await api("GET", "runs", session.id)).json["notebook"] is None
    (jp_root_dir / "s.ipynb").write_text("{}")
    assert (await api("GET", "runs", session.id)).json["notebook"] == "s.ipynb"
    outside = mlws_ws.runs.create("s", source_type="session", source_name=str(NOTEBOOKS / "noparams.ipynb"))
    assert (await api("GET", "runs", outside.id)).json["notebook"] is None


async def test_a_client_never_sees_where_a_run_started_on_the_servers_disk(api, mlws_ws, jp_root_dir):
    inside = mlws_ws.runs.create(
        "s", source_type="session", source_name=str(jp_root_dir / "work" / "s.ipynb"),
        tags={"cwd": str(jp_root_dir / "work"), "notebook": str(jp_root_dir / "work" / "s.ipynb"),
              "kernel": "python3"})
    outside = mlws_ws.runs.create(
        "s", source_type="session", source_name=str(NOTEBOOKS / "noparams.ipynb"),
        tags={"cwd": str(NOTEBOOKS), "notebook": str(NOTEBOOKS / "noparams.ipynb")})
    root = mlws_ws.runs.create("s", source_type="session", source_name="s.ipynb",
                               tags={"cwd": str(jp_root_dir)})
    seen = {
        "inside": (await api("GET", "runs", inside.id)).json,
        "outside": (await api("GET", "runs", outside.id)).json,
        "root": (await api("GET", "runs", root.id)).json,
    }
    assert seen["inside"]["tags"] == {"cwd": "work", "notebook": "work/s.ipynb", "kernel": "python3"}
    assert seen["inside"]["source_name"] == "work/s.ipynb"
    assert seen["outside"]["tags"] == {"cwd": NOTEBOOKS.name, "notebook": "noparams.ipynb"}
    assert seen["outside"]["source_name"] == "noparams.ipynb"
    assert seen["root"]["tags"]["cwd"] == "." and seen["root"]["source_name"] == "s.ipynb"
    listed = (await api("GET", "runs", params={"experiment": "s"})).json["runs"]
    tags = (await api("GET", "runs", outside.id, "tags")).json["tags"]
    for text in [json.dumps(seen), json.dumps(listed), json.dumps(tags)]:
        assert str(jp_root_dir) not in text and str(NOTEBOOKS) not in text
    # the records keep the paths that re-runs and promote read
    assert mlws_ws.runs.get(outside.id).tags["cwd"] == str(NOTEBOOKS)


async def test_a_notebooks_parameters_cell_is_read_without_running_it(api, mlws_ws, jp_root_dir):
    shutil.copy(NOTEBOOKS / "train.ipynb", jp_root_dir / "train.ipynb")
    shutil.copy(NOTEBOOKS / "noparams.ipynb", jp_root_dir / "plain.ipynb")
    r = await api("GET", "notebook-parameters", params={"notebook": "train.ipynb"})
    assert r.code == 200, r
    assert r.json["has_parameters_cell"] and r.json["kernel"] == "python3"
    lr = next(p for p in r.json["parameters"] if p["name"] == "lr")
    assert lr["value"] == 0.1 and lr["type"] == "float" and lr["source"] == "0.1" and lr["text"] == "0.1"
    r = await api("GET", "notebook-parameters", params={"notebook": "plain.ipynb"})
    assert r.code == 200 and r.json == {"notebook": "plain.ipynb", "has_parameters_cell": False,
                                        "parameters": [], "kernel": "python3"}
    for bad, code in (("../train.ipynb", 400), ("missing.ipynb", 404), ("train.py", 400)):
        r = await api("GET", "notebook-parameters", params={"notebook": bad})
        assert r.code == code and "Traceback" not in r.json["message"], (bad, r.json)
    assert mlws_ws.describe()["runs"] == 0  # nothing ran


async def test_a_submission_records_the_same_params_as_the_cli_and_the_sdk(api, mlws_ws, jp_root_dir):
    import nbformat

    cell = nbformat.v4.new_code_cell("C = 1.0\nseed = 0\nlabel = None\nsteps = list(range(3))\nlr = 0.1")
    cell.metadata["tags"] = ["parameters"]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell], metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}), jp_root_dir / "c.ipynb")
    shown = {p["name"]: p["text"] for p in (await api("GET", "notebook-parameters",
                                                      params={"notebook": "c.ipynb"})).json["parameters"]}
    assert shown == {"C": "1.0", "seed": "0", "label": "null", "steps": "list(range(3))", "lr": "0.1"}
    for bad, message in (({"parameter_texts": {"seed": 7}}, "parameter_texts.seed must be string"),
                         ({"parameter_texts": ["seed"]}, "parameter_texts must be object"),
                         ({"parameter_texts": {"a b": "1"}}, "not a Python identifier"),
                         ({"parameters": "seed=7"}, "parameters must be")):
        r = await api("POST", "runs", body={"notebook": "c.ipynb", **bad})
        assert r.code == 400 and message in r.json["message"], r
    # a text that cannot be typed: the parameter and the problem, for a form to show at the field
    r = await api("POST", "runs", body={"notebook": "c.ipynb", "parameter_texts": {"C": "[1, 2"}})
    assert r.code == 400 and "pass it raw with -r C VALUE" in r.json["message"], r
    assert r.json["details"] == {"parameter": "C", "as_text": True, "problem": (
        "not valid YAML/JSON at column 6 (expected ',' or ']', but got '<stream end>')")}
    assert mlws_ws.describe()["runs"] == 0
    # what the sidebar's form sends: only the changed fields, as typed (1e-05 and 2.0 stay floats)
    r = await api("POST", "runs", body={"notebook": "c.ipynb", "experiment": "c",
                                        "parameter_texts": {"seed": "7", "lr": "1e-05", "C": "2.0"}})
    assert r.code == 201, r
    form = r.json
    assert (await api("POST", "runs", form["id"], "cancel")).code == 200  # its params are all we need
    assert form["params"] == {"C": "2.0", "seed": "7", "label": "null", "steps": "list(range(3))",
                              "lr": "1e-05"}
    assert form["tags"]["overridden_params"] == '["C", "lr", "seed"]'
    r = await api("POST", "runs", form["id"], "rerun", body={"parameter_texts": {"C": "3.0"}})
    assert r.code == 201 and (await api("POST", "runs", r.json["id"], "cancel")).code == 200
    assert r.json["params"] == {**form["params"], "C": "3.0"}
    with mlws_ws.experiment("c").start_run(snapshot=False, outputs=None) as run:
        run.log_params({"C": 2.0, "seed": 7, "label": None, "steps": "list(range(3))", "lr": 1e-05})
    r = await api("GET", "runs", params={"filter": "params.C = 2 and params.lr < 0.001 and "
                                                   "params.label = 'null'"})
    assert {x["id"] for x in r.json["runs"]} == {form["id"], run.id}
    assert mlws_ws.get_run(run.id).params == form["params"]
