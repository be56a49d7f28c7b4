"""What a run's page reads besides the record: logged values and images, a session's cells (from a
real kernel), lineage, the snapshot, the description, and the files listing's count of values."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import Reply
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(24)
SVG = b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"


@pytest.fixture
def raw_get(http_server_client, jp_base_url, jp_auth_header):
    """``await raw_get("runs/ID/values/plots%2Froc/1/image")``: a GET of a path under mlws/api
    sent as written (the api fixture escapes each part: it cannot send an encoded slash)."""
    async def get(path):
        response = await http_server_client.fetch(f"{jp_base_url}mlws/api/{path}", raise_error=False,
                                                  headers=dict(jp_auth_header))
        return Reply(response)
    return get


def _logged_run(ws):
    with ws.experiment("vals").start_run(snapshot=False, outputs=None) as run:
        for step in range(5):
            run.log_list("per_class", [step, 0.5])
        run.log_table("confusion", {"label": ["a", "b"], "n": [3, 4]})
        run.log_image("plots/roc", PNG)
        run.log_image("plots/roc", PNG + b"2")
        run.log_image("drawing", SVG)
        run.log("acc", 0.9)
        for v in (3.0, 2.0, 1.0):
            run.log("loss", v)
    return run


async def test_values_newest_first_per_key_with_every_key_counted(api, mlws_ws):
    run = _logged_run(mlws_ws)
    r = await api("GET", "runs", run.id, "values", params={"max_results": "2"})
    assert r.code == 200, r
    assert r.json["keys"] == [{"key": "confusion", "kind": "table", "count": 1},
                              {"key": "drawing", "kind": "image", "count": 1},
                              {"key": "per_class", "kind": "list", "count": 5},
                              {"key": "plots/roc", "kind": "image", "count": 2}]
    got = [(v["key"], v["step"], v["value"]) for v in r.json["values"]]
    assert got == [("confusion", 0, {"label": ["a", "b"], "n": [3, 4]}), ("drawing", 0, None),
                   ("per_class", 4, [4, 0.5]), ("per_class", 3, [3, 0.5]),
                   ("plots/roc", 1, None), ("plots/roc", 0, None)]
    roc = r.json["values"][4]
    assert roc["kind"] == "image" and roc["image"] == {
        "url": f"runs/{run.id}/values/plots%2Froc/1/image", "format": "png", "size": len(PNG) + 1}
    assert roc["timestamp"] >= run.record.start_time
    assert all(v["image"] is None for v in r.json["values"] if v["kind"] != "image")
    one = await api("GET", "runs", run.id[:8], "values", params={"key": "per_class"})
    assert [v["step"] for v in one.json["values"]] == [4, 3, 2, 1, 0]  # default: up to 50
    assert len(one.json["keys"]) == 4
    for bad in ("0", "1001", "x", "-1", ""):
        r = await api("GET", "runs", run.id, "values", params={"max_results": bad})
        assert r.code == 400 and "max_results" in r.json["message"], (bad, r)
    assert (await api("GET", "runs", "ffffffffffffffff", "values")).code == 404


async def test_images_are_served_like_artifacts(api, raw_get, mlws_ws):
    run = _logged_run(mlws_ws)
    page = (await api("GET", "runs", run.id, "values", params={"key": "plots/roc"})).json
    r = await raw_get(page["values"][0]["image"]["url"])  # the url as given, under mlws/api/
    assert r.code == 200 and r.raw == PNG + b"2"
    assert r.headers["Content-Type"] == "image/png"
    assert r.headers["Content-Disposition"].startswith("inline;")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    r = await raw_get(f"runs/{run.id}/values/plots%2Froc/0/image")
    assert r.raw == PNG
    # SVG can hold script: a sandboxed attachment, never inline
    r = await api("GET", "runs", run.id, "values", "drawing", "0", "image")
    assert r.code == 200 and r.raw == SVG
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert "drawing-0.svg" in r.headers["Content-Disposition"]
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert "sandbox" in r.headers["Content-Security-Policy"]
    for parts, code in ((("drawing", "7"), 404), (("per_class", "0"), 404), (("nope", "0"), 404),
                        (("drawing", "x"), 400), (("drawing", str(2**70)), 400)):
        r = await api("GET", "runs", run.id, "values", *parts, "image")
        assert r.code == code and set(r.json) == {"message", "reason"}, (parts, r)
        assert "Content-Disposition" not in r.headers


async def test_the_record_has_what_the_page_shows(api, mlws_ws):
    run = _logged_run(mlws_ws)
    mlws_ws.runs.set_tags(run.id, {"env_hash": "0123456789abcdef"})
    r = await api("GET", "runs", run.id)
    assert r.code == 200
    assert r.json["duration_s"] == (run.record.end_time - run.record.start_time) / 1000
    assert r.json["metric_counts"] == {"acc": 1, "loss": 3}
    assert r.json["environment_hash"] == "0123456789abcdef"
    assert r.json["description"] == "" and r.json["status"] == "completed"
    assert "git" in r.json and "git_commit" in r.json  # the old fields stay
    live = mlws_ws.experiment("vals").start_run(snapshot=False, outputs=None)
    r = await api("GET", "runs", live.id)
    assert r.json["duration_s"] is None and r.json["metric_counts"] == {}
    live.end()


async def test_description_is_edited_whole_or_not_at_all(api, mlws_ws):
    run = _logged_run(mlws_ws)
    r = await api("PATCH", "runs", run.id, body={"description": "baseline ✓"})
    assert r.code == 200 and r.json["description"] == "baseline ✓"
    assert r.json["metric_counts"] == {"acc": 1, "loss": 3}
    assert mlws_ws.runs.get(run.id).description == "baseline ✓"
    for body in ({"description": 5}, {"description": "x" * 20_001}, {"name": "other"},
                 '{"description": "\\ud800"}'):
        r = await api("PATCH", "runs", run.id, body=body)
        assert r.code == 400, (body, r)
    assert mlws_ws.runs.get(run.id).description == "baseline ✓"
    assert (await api("PATCH", "runs", "ffffffffffffffff", body={"description": "x"})).code == 404


async def test_the_files_listing_counts_logged_values(api, mlws_ws, tmp_path):
    run = _logged_run(mlws_ws)
    r = await api("GET", "runs", run.id, "files")
    assert r.code == 200 and r.json == {"files": [], "logged_values": 9}
    (tmp_path / "m.txt").write_text("m")
    with mlws_ws.experiment("vals").start_run(snapshot=False, outputs=None) as plain:
        plain.upload_file("m.txt", tmp_path / "m.txt")
    r = await api("GET", "runs", plain.id, "files")
    assert [f["path"] for f in r.json["files"]] == ["m.txt"] and r.json["logged_values"] == 0


async def _track_a_session(ws, folder: Path) -> None:
    """Cells executed in a real kernel with the extension loaded (JupyterLab's way of naming
    the notebook: JPY_SESSION_NAME)."""
    import os

    cells = ["%load_ext jupyter_mlws",
             "import jupyter_mlws as mlws\nfor i in range(3):\n    mlws.log('acc', i / 10)",
             "mlws.log('acc', 0.9)\nmlws.log('loss', float('nan'))",
             "1 / 0",
             "mlws.current_run().log_table('t', {'a': [1]})"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in cells])
    env = {**os.environ, "MLWS_WORKSPACE": str(ws.root), "JPY_SESSION_NAME": str(folder / "study.ipynb")}
    env.pop("MLWS_RUN_ID", None)
    await NotebookClient(nb, kernel_name="python3", allow_errors=True).async_execute(env=env)


async def test_a_session_runs_cells_with_the_last_value_each_logged(api, mlws_ws, tmp_path):
    await _track_a_session(mlws_ws, tmp_path)
    session = mlws_ws.search_runs("source_type = 'session'")[0]
    r = await api("GET", "runs", session.id, "cells")
    assert r.code == 200, r
    cells = r.json["cells"]
    assert [c["number"] for c in cells] == [1, 2, 3, 4, 5]
    assert [c["status"] for c in cells] == ["completed", "completed", "completed", "failed", "completed"]
    assert [c["metrics"] for c in cells] == [{}, {"acc": 0.2}, {"acc": 0.9, "loss": "nan"}, {}, {}]
    assert cells[3]["error"] == "ZeroDivisionError: division by zero"
    assert cells[0]["started"] is None and cells[1]["started"] >= session.record.start_time
    assert cells[1]["source"].startswith("import jupyter_mlws") and cells[1]["duration_s"] >= 0
    assert all(c["error"] is None for c in cells if c["status"] == "completed")
    # its logged table is a value, not a cell; other runs have no cells
    assert (await api("GET", "runs", session.id, "values")).json["keys"] == [
        {"key": "t", "kind": "table", "count": 1}]
    other = _logged_run(mlws_ws)
    assert (await api("GET", "runs", other.id, "cells")).json == {"cells": []}


async def test_lineage_links_both_ways(api, mlws_ws, jp_root_dir, tmp_path):
    with mlws_ws.experiment("sweep").start_run(snapshot=False, outputs=None) as parent:
        kids = []
        for _ in range(3):
            with parent.child() as kid:
                kids.append(kid)
    shutil.copy(NOTEBOOKS / "train.ipynb", jp_root_dir / "train.ipynb")
    source = mlws_ws.notebooks.submit(jp_root_dir / "train.ipynb", {"lr": 0.5}, detach=False).run_id
    mlws_ws.runs.end(source, "completed")
    rerun = mlws_ws.notebooks.rerun(source, detach=False).run_id  # recorded, not executed
    session = mlws_ws.runs.create("study", source_type="session", source_name="study.ipynb",
                                  tags={"kernel": "python3", "cwd": str(tmp_path)})
    mlws_ws.runs.add_cells(session.id, [(1, 0, {"source": "x = 1", "status": "completed"})])
    promoted = mlws_ws.notebooks.promote(session.id, detach=False).run_id
    (tmp_path / "model.pkl").write_bytes(b"m")
    with mlws_ws.experiment("sweep").start_run(snapshot=False, outputs=None) as trained:
        trained.upload_file("model.pkl", tmp_path / "model.pkl")
    for _ in range(2):
        mlws_ws.register_model("iris", run=trained.id, artifact="model.pkl")

    def brief(run_id):
        rec = mlws_ws.runs.get(run_id)
        return {"id": rec.id, "name": rec.name, "status": rec.status}

    r = await api("GET", "runs", parent.id, "lineage")
    assert r.code == 200 and r.json == {
        "parent": None, "children": [brief(k.id) for k in kids], "child_count": 3, "rerun_of": None,
        "reruns": [], "promoted_from": None, "promoted_to": [], "models": [], "datasets": []}
    r = await api("GET", "runs", kids[1].id, "lineage")
    assert r.json["parent"] == brief(parent.id) and r.json["children"] == []
    assert (await api("GET", "runs", source, "lineage")).json["reruns"] == [brief(rerun)]
    assert (await api("GET", "runs", rerun, "lineage")).json["rerun_of"] == brief(source)
    assert (await api("GET", "runs", session.id, "lineage")).json["promoted_to"] == [brief(promoted)]
    assert (await api("GET", "runs", promoted, "lineage")).json["promoted_from"] == brief(session.id)
    r = await api("GET", "runs", trained.id, "lineage")
    assert r.json["models"] == [{"name": "iris", "version": 1}, {"name": "iris", "version": 2}]
    assert (await api("GET", "runs", "ffffffffffffffff", "lineage")).code == 404


async def test_snapshot_files_read_as_text_attachments(api, raw_get, mlws_ws, tmp_path):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "train.py").write_text("print('héllo')\n")
    (project / "page.html").write_text("<script>alert(1)</script>")
    (project / "weights.bin").write_bytes(b"\x00\x01\x02")
    (project / "long.txt").write_text("a" * 8191 + "é" * 3)  # the text sniffed cuts a character
    with mlws_ws.experiment("snap").start_run(snapshot=project, outputs=None) as run:
        pass
    r = await api("GET", "runs", run.id, "snapshot")
    assert r.code == 200 and r.json == {"files": [
        {"path": "long.txt", "size": 8197}, {"path": "page.html", "size": 25},
        {"path": "src/train.py", "size": 16},
        {"path": "weights.bin", "size": 3}]}
    r = await api("GET", "runs", run.id, "snapshot", "src", "train.py")
    assert r.code == 200 and r.raw.decode() == "print('héllo')\n"
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    r = await api("GET", "runs", run.id, "snapshot", "page.html")  # text, never HTML
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    r = await api("GET", "runs", run.id, "snapshot", "long.txt")
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8" and r.raw.decode().endswith("ééé")
    r = await api("GET", "runs", run.id, "snapshot", "weights.bin")
    assert r.headers["Content-Type"] == "application/octet-stream" and r.raw == b"\x00\x01\x02"
    for path in ("%2e%2e/secret", "..%2F..%2Fetc/passwd", "%2Fetc%2Fpasswd", "src/../../x.py"):
        r = await raw_get(f"runs/{run.id}/snapshot/{path}")
        assert r.code == 400 and r.json["reason"] == "invalid_input", (path, r)
        assert str(tmp_path) not in r.raw.decode() and "Content-Disposition" not in r.headers
    r = await api("GET", "runs", run.id, "snapshot", "missing.py")
    assert r.code == 404 and "Content-Disposition" not in r.headers
    plain = _logged_run(mlws_ws)
    assert (await api("GET", "runs", plain.id, "snapshot")).json == {"files": []}
