"""Runs handed to a compute target other than ``local``: ``--compute NAME`` on submit, sweeps
and rerun (CLI, SDK, REST), the target recorded on the run and shown, cancel through the
executor's heartbeat; and the workspace server such a run reports to (:func:`ensure_server`).

The target here is a real one of the test suite (tests/remote_target.py): each run's executor
is ``python -m jupyter_mlws.remote.executor`` in a process of its own, knowing the workspace
only by URL, reporting to a real ``mlws server``."""

from __future__ import annotations

import json
import shutil
import stat
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_mlws.errors import NotFound
from mlws_testing import fresh_target, remote_project

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"


@pytest.fixture
def box(http_workspace, monkeypatch, tmp_path):
    """Workspace ``http_workspace.ws`` (its mlws.toml naming its server: server_url) with a
    target ``box`` whose runs execute in processes of their own (the ``dask`` type's backend
    replaced by tests/remote_target.py); a project with train.ipynb."""
    import remote_target
    from jupyter_mlws.compute import registry

    ws = http_workspace.ws
    monkeypatch.setitem(registry.BACKENDS, "dask", "remote_target:ProcessTarget")
    with remote_project(ws, http_workspace.url, tmp_path, monkeypatch) as notebook:  # the
        # services built again with the registry above
        fresh_target(ws, "box", "dask", address="tcp://127.0.0.1:1")
        try:
            yield ws, notebook
        finally:
            remote_target.reap()


def _cli(ws, *args):
    from jupyter_mlws.cli import main

    return CliRunner().invoke(main, ["-w", str(ws.root), *map(str, args)], catch_exceptions=False)


def test_submit_sweep_and_rerun_on_a_target_record_it_and_execute_there(box):
    ws, notebook = box
    # the SDK: the run executes on the target, which the run records
    run = ws.submit_notebook(notebook, {"lr": 0.5}, compute="box", wait=True)
    assert run.status == "completed", run.record.error
    assert ws.compute.target_of(run.id)[0] == "box"
    assert ws.runs.process_of(run.id) is None  # nothing of this machine executed it
    assert run.metrics["loss"] == pytest.approx(0.5 ** 5)
    assert "outputs/result.txt" in [f["path"] for f in ws.runs.files(run.id, "artifact")]
    # the CLI shows where it executed
    shown = _cli(ws, "run", "show", run.id)
    assert shown.exit_code == 0, shown.output
    assert [line.split() for line in shown.output.splitlines()
            if line.startswith("compute")] == [["compute:", "box"]]
    assert json.loads(_cli(ws, "run", "show", run.id, "--json").output)["compute"] == "box"
    # rerun --compute: on the target again, from the source's snapshot
    out = _cli(ws, "run", "rerun", run.id, "-p", "lr", "0.2", "--compute", "box", "--wait")
    assert out.exit_code == 0, out.output
    rerun_id = out.output.split()[0]
    assert ws.runs.get(rerun_id).status == "completed"
    assert ws.compute.target_of(rerun_id)[0] == "box"
    assert not any((ws.root / "work").glob(f"rerun-of-{run.id}-*"))  # no copy kept here
    # a sweep: each child is handed to the target by the sweep's process
    sub = ws.notebooks.submit_grid(notebook, {"lr": [0.1, 0.3, 0.9]}, max_parallel=2,
                                   detach=False, compute="box")
    assert ws.notebooks.execute_sweep(sub.run_id, 2) == "completed"
    children = ws.runs.children(sub.run_id)
    assert sorted(c.params["lr"] for c in children) == ["0.1", "0.3", "0.9"]
    assert {c.status for c in children} == {"completed"}
    assert {ws.compute.target_of(c.id)[0] for c in children} == {"box"}
    assert all(ws.runs.process_of(c.id) is None for c in children)
    assert ws.compute.target_of(sub.run_id)[0] == "box"


def test_a_local_run_is_as_before(box):
    ws, notebook = box
    run = ws.submit_notebook(notebook, wait=True)
    assert run.status == "completed"
    assert ws.compute.target_of(run.id) == ("local", None)  # nothing recorded
    assert ws.runs.process_of(run.id) is not None


def test_cancel_reaches_the_executor_through_its_heartbeat(box, tmp_path):
    ws, _ = box
    shutil.copy(NOTEBOOKS / "slow.ipynb", tmp_path / "project" / "slow.ipynb")
    run = ws.submit_notebook(tmp_path / "project" / "slow.ipynb", {"seconds": 60}, compute="box")
    deadline = time.monotonic() + 120
    while b"sleeping" not in ws.run_logs(run.id).get("stdout.log", b""):
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.2)
    started = time.monotonic()
    ended = ws.cancel_run(run.id, grace=30)
    assert ended.status == "canceled" and ended.record.error == "canceled"  # its executor ended it
    assert time.monotonic() - started < 30
    # what it made so far is kept, as for a local run canceled
    paths = [f["path"] for f in ws.runs.files(run.id)]
    assert "notebook/slow.ipynb" in paths and "stdout.log" in paths


def test_an_unknown_or_unusable_target_is_refused_before_anything_is_recorded(box, http_workspace):
    ws, notebook = box
    before = len(ws.search_runs(max_results=1000))
    with pytest.raises(NotFound, match="no compute target 'nowhere'"):
        ws.submit_notebook(notebook, compute="nowhere")
    out = _cli(ws, "run", "submit", str(notebook), "--compute", "nowhere")
    assert out.exit_code != 0 and "no compute target 'nowhere'" in out.output
    assert len(ws.search_runs(max_results=1000)) == before


def test_ensure_server_starts_one_background_server_and_reuses_it(ws):
    from jupyter_mlws.remote.server import RUNTIME, BackgroundServer, ensure_server
    from jupyter_mlws.remote.workspace import RemoteWorkspace

    url = ensure_server(ws)
    server = BackgroundServer(ws.root)
    try:
        assert url.startswith("http://127.0.0.1:") and ensure_server(ws) == url
        runtime = ws.root / RUNTIME
        assert stat.S_IMODE(runtime.stat().st_mode) == 0o600
        recorded = json.loads(runtime.read_text())
        cmdline = Path(f"/proc/{recorded['pid']}/cmdline").read_bytes()
        assert recorded["token"] and recorded["token"].encode() not in cmdline  # never argv
        # it serves the workspace: a run's token writes to its run through it
        run = ws.experiment("bg").start_run(snapshot=False)
        with RemoteWorkspace.connect(url, ws.run_tokens.issue(run.id)) as remote:
            handle = remote.attach_run(run.id)
            handle.log("x", 1.0)
            handle.detach()
        run.end()
        assert ws.get_run(run.id).metrics == {"x": 1.0}
    finally:
        server.stop()
    assert server.read() is None
