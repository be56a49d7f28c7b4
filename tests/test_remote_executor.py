"""The remote executor for real: ``python -m jupyter_mlws.remote.executor`` as a process that
knows the workspace only by a real ``mlws server``'s URL, a run's token and its id, run in a
folder that has nothing of the workspace.  What a user then sees of the run is what a local run
of the same notebook shows; a retried execution records its results once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from mlws_testing import wait_for

from jupyter_mlws.errors import Conflict

REPO = Path(__file__).resolve().parents[1]


def _notebook(folder: Path) -> Path:
    """A project: a notebook that logs, prints, sleeps ``pause`` s, reads a data file of the
    project and writes outputs/."""
    folder.mkdir(parents=True)
    (folder / "data.txt").write_text("from the snapshot\n")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("lr = 0.1\npause = 0.0\nsteps = 3")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell(
            "import time, jupyter_mlws as mlws\n"
            "print('hello-live', flush=True)\n"
            "for step in range(steps):\n"
            "    mlws.log('loss', lr / (step + 1), step=step)\n"
            "    time.sleep(pause)"),
        nbformat.v4.new_code_cell("data = open('data.txt').read().strip()\ndata"),
        nbformat.v4.new_code_cell(
            "import os\nos.makedirs('outputs', exist_ok=True)\n"
            "open('outputs/result.txt', 'w').write(f'{lr} {data}')"),
    ]
    path = folder / "work.ipynb"
    nbformat.write(nb, path)
    return path


def _executor(http_workspace, run_id: str, cwd: Path, attempt: str | None = None) -> subprocess.Popen:
    """The remote executor, its environment the three variables (and the attempt) plus what
    runs Python here: no path of the workspace anywhere."""
    env = {"MLWS_WORKSPACE": http_workspace.url, "MLWS_RUN_ID": run_id,
           "MLWS_TOKEN": http_workspace.ws.run_tokens.issue(run_id),
           "PATH": os.environ["PATH"], "HOME": str(cwd.parent / "home"), "PYTHONPATH": str(REPO)}
    if attempt is not None:
        env["MLWS_ATTEMPT"] = attempt
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([sys.executable, "-m", "jupyter_mlws.remote.executor"], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def _read(ws, run_id: str, name: str) -> bytes:
    with ws.artifacts.open(run_id, name) as f:
        return f.read()


def _seen(ws, run_id: str) -> dict:
    """What a user sees of an ended run, in kind (names, counts, statuses; not values that
    differ between two executions)."""
    r = ws.get_run(run_id)
    files = ws.runs.files(run_id)
    progress = ws.notebooks.progress(run_id)
    cells = ws.notebooks.cells(run_id)
    return {
        "status": r.status, "error": r.record.error, "params": sorted(r.params),
        "metrics": {k: len(ws.runs.metric_history(run_id, k)) for k in r.metrics},
        "tags": sorted(k for k in r.tags), "progress": (progress["done"], progress["total"]),
        "cells": [(c["number"], c["status"]) for c in cells],
        "files": sorted((f["kind"], f["path"]) for f in files if f["path"] != "kernel.log"),
        "outputs": _read(ws, run_id, "outputs/result.txt").split()[1:],
        "notebook": [c.get("outputs") and c["outputs"][0].get("output_type") for c in
                     json.loads(_read(ws, run_id, "notebook/work.ipynb"))["cells"]],
        "environment": sorted(json.loads(_read(ws, run_id, "environment.json"))),
        "stdout": b"hello-live" in ws.run_logs(run_id, "stdout.log")["stdout.log"],
    }


def test_a_notebook_executed_over_http_shows_what_a_local_run_shows(http_workspace, tmp_path):
    ws = http_workspace.ws
    notebook = _notebook(tmp_path / "project")
    remote = ws.notebooks.submit(notebook, {"pause": 1.0}, detach=False, experiment="remote").run_id
    proc = _executor(http_workspace, remote, tmp_path / "elsewhere")
    try:
        # live, while it runs: its log, cells done, metrics
        wait_for(lambda: b"hello-live" in ws.run_logs(remote).get("stdout.log", b""), "a live log",
                 timeout=120)
        assert ws.runs.get(remote).status == "running"
        wait_for(lambda: ws.notebooks.progress(remote)["done"] >= 1, "cells done", timeout=120)
        wait_for(lambda: ws.runs.get(remote).metrics.get("loss"), "a live metric", timeout=120)
        assert ws.runs.get(remote).status == "running"
        out, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=10)
    assert proc.returncode == 0, out.decode(errors="replace")
    assert ws.runs.get(remote).host  # where it ran, with no process of this machine recorded
    assert ws.runs.process_of(remote) is None
    local = ws.submit_notebook(notebook, {"pause": 0.0}, experiment="local", wait=True,
                               in_process=True)
    assert _seen(ws, remote) == _seen(ws, local.id)
    seen = _seen(ws, remote)
    assert seen["status"] == "completed" and seen["metrics"] == {"loss": 3}
    assert seen["outputs"] == [b"from", b"the", b"snapshot"]  # ran in the run's bundle
    assert ("snapshot", "data.txt") in seen["files"] and ("log", "stdout.log") in seen["files"]
    assert seen["progress"] == (4, 4) and {s for _, s in seen["cells"]} == {"completed"}
    assert ws.runs.get(remote).tags["env_hash"] == ws.runs.get(local.id).tags["env_hash"]
    # nothing of the executor was left where it ran, and its token died with the run
    assert not any((tmp_path / "elsewhere").iterdir())
    assert not (ws.artifacts.live_root / remote).exists()


def test_a_retried_execution_records_its_results_once(http_workspace, tmp_path):
    from jupyter_mlws.remote.client import Client

    ws = http_workspace.ws
    notebook = _notebook(tmp_path / "project")
    run_id = ws.notebooks.submit(notebook, {"pause": 1.0, "steps": 4}, detach=False).run_id
    first = _executor(http_workspace, run_id, tmp_path / "a", attempt="task-1")
    second = None
    try:
        wait_for(lambda: ws.runs.get(run_id).metrics.get("loss"), "attempt 1's first metric",
                 timeout=120)
        os.killpg(first.pid, signal.SIGKILL)  # its machine died mid-run (its kernel lives on)
        first.communicate(timeout=10)
        second = _executor(http_workspace, run_id, tmp_path / "b", attempt="task-2")
        wait_for(lambda: ws.executions.current_attempt(run_id) == "task-2", "attempt 2's start",
                 timeout=120)
        # attempt 1's late writes are refused (its kernel's too: they carry its attempt)
        late = Client(http_workspace.url, ws.run_tokens.issue(run_id), attempt="task-1")
        with pytest.raises(Conflict, match="attempt 'task-1' of run .* was superseded by attempt 'task-2'"):
            late.call("POST", ("runs", run_id, "batch"), {"metrics": [["loss", 9.0, 0, 1]]})
        late.close()
        out, _ = second.communicate(timeout=180)
        assert second.returncode == 0, out.decode(errors="replace")
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate(timeout=10)
        _kill_kernels_of(run_id)
    assert ws.runs.get(run_id).status == "completed"
    history = ws.runs.metric_history(run_id, "loss")
    assert [step for step, _ts, _v in history] == [0, 1, 2, 3]  # one set: attempt 2's
    assert 9.0 not in [v for _s, _t, v in history]
    assert [f["path"] for f in ws.runs.files(run_id, "artifact")].count("outputs/result.txt") == 1
    assert [v["step"] for v in ws.runs.values(run_id, "attempts")] == [1]  # attempt 2's one retry
    with ws.db.read() as conn:
        from jupyter_mlws.store import schema as S

        rows = conn.execute(S.run_executions.select()
                            .where(S.run_executions.c.run_id == run_id)).mappings().all()
    assert [(r["attempt"], r["attempts"]) for r in rows] == [("task-2", 2)]


def _kill_kernels_of(run_id: str) -> None:
    """Kill what an executor killed with SIGKILL left: its kernel, which leads its own session."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if f"MLWS_RUN_ID={run_id}".encode() in environ.split(b"\0"):
            try:
                os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass


def test_an_executor_that_cannot_reach_the_workspace_for_its_heartbeat_timeout_gives_up(tmp_path):
    """Its heartbeats go nowhere (the server's port is closed: an SSH runner that held the tunnel
    died): after ``lost_after`` seconds it asks to stop (its kernel is stopped), and its end is
    ``killed`` without another request: the workspace ends the run killed itself."""
    import socket
    import threading

    from jupyter_mlws.remote.client import Client
    from jupyter_mlws.remote.reporter import HttpReporter

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: connections are refused
    stopped = threading.Event()
    client = Client(f"http://127.0.0.1:{port}/", "mlws_run_x", timeout=2.0)
    reporter = HttpReporter(client, "r1", tmp_path, heartbeat_interval=0.05, on_cancel=stopped.set)
    reporter.lost_after = 0.5
    beat = threading.Thread(target=reporter._beat, daemon=True)
    beat.start()
    try:
        assert stopped.wait(30), "it never gave the run up"
        assert reporter.lost and reporter.is_canceled()
        assert reporter.ended("failed", "anything") == "killed"
    finally:
        reporter.close()
        client.close()
        beat.join(5)
