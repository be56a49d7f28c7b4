"""Runs on an ssh target, against a real sshd on 127.0.0.1 (tests/sshd.py) and a real workspace
server (``http_workspace``): a notebook run recorded as a local one is, cancel stopping the remote
process tree, a lost connection failing the run with its step and a rerun succeeding, user values
with shell metacharacters arriving literally.

The login user's Python is the system's, given this checkout's jupyter_mlws and the test venv's
site-packages (``mlws-run-python`` in its home): what a host with jupyter_mlws installed has."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from jupyter_mlws.access import os_user
from jupyter_mlws.errors import NotFound

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"
KEY = "ssh-run-key"
NAME = "gpu1"
#: a work folder and a parameter a shell would act on, were they not quoted
WORKDIR = "mlws work; touch $(id -u).p"


@pytest.fixture(scope="module")
def remote_python(sshd):
    """An interpreter of the login user that runs the remote executor and a kernel."""
    from sshd import executor_python

    shutil.rmtree(sshd.user.home / WORKDIR, ignore_errors=True)  # a fresh host: nothing built yet
    return executor_python(sshd.user)


@pytest.fixture
def gpu1(http_workspace, sshd, remote_python, monkeypatch, tmp_path):
    """Workspace ``http_workspace.ws`` (reporting to its server) with ssh target ``gpu1`` on the
    test sshd, and a project folder with train.ipynb and pause.ipynb."""
    ws = http_workspace.ws
    config = ws.root / "mlws.toml"
    original = config.read_text()
    config.write_text(original + f'server_url = "{http_workspace.url}"\n')
    ws.config.server_url = http_workspace.url
    ws._compute = None
    ws.secrets.set(os_user(), KEY, sshd.user.private_key) if KEY not in \
        [s["name"] for s in ws.secrets.list()] else None
    try:
        ws.compute.delete(NAME, check_actor=False)
    except NotFound:
        pass
    ws.compute.create(NAME, "ssh", host="127.0.0.1", port=sshd.port, user=sshd.user.name,
                      key_secret=KEY, python=remote_python, workdir=WORKDIR,
                      accept_host_key=True, check_actor=False)
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(NOTEBOOKS / "train.ipynb", project / "train.ipynb")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("pause = 0", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import time\nprint('pausing', flush=True)\n"
                                          "time.sleep(pause)\nprint('done')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, project / "pause.ipynb")
    monkeypatch.chdir(tmp_path)
    try:
        yield ws, project
    finally:
        config.write_text(original)
        ws.config.server_url = None
        ws._compute = None


def _cli(ws, *args):
    from jupyter_mlws.cli import main

    return CliRunner().invoke(main, ["-w", str(ws.root), *map(str, args)], catch_exceptions=False)


def _login_processes(sshd) -> list[str]:
    """The login user's processes other than sshd's own (``PID COMMAND`` lines)."""
    out = subprocess.run(["ps", "-u", sshd.user.name, "-o", "pid=,args="], capture_output=True,
                         text=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()
            and "sshd" not in line.split(None, 1)[1]]


def _runner_state(ws, run_id: str, timeout: float = 120.0) -> dict:
    """The runner's state once the executor started on the host (it has a process group)."""
    path = ws.root / ".mlws" / "ssh-runners" / f"{run_id}.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = json.loads(path.read_text())
            if state.get("pgid"):
                return state
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"the executor did not start on the host: {ws.runs.get(run_id)}")


def _kill_sshd(sshd) -> None:
    """The host's sshd dies with its connections: the server, then each connection's process
    (sshd starts those in sessions of their own, its children)."""
    import os
    import signal

    children = []
    for entry in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[-1].split()
        except (OSError, ValueError):
            continue
        if int(stat[1]) == sshd.proc.pid:
            children.append(int(entry))
    sshd.stop()
    for pid in children:  # each leads a session and process group: the connection's processes
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _runner_gone(ws, run_id: str, timeout: float = 60.0) -> None:
    """Wait for the run's runner (here) to exit: it removes the run's folder on the host last."""
    from jupyter_mlws.compute.base import EXITED, Handle

    target = ws.compute.target(NAME)
    deadline = time.monotonic() + timeout
    while target.poll(Handle(NAME, run_id)) != EXITED:
        assert time.monotonic() < deadline, "the runner did not exit"
        time.sleep(0.1)


def _wait_text(ws, run_id: str, name: str, text: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    path = Path(ws.artifacts.live_root) / run_id / name
    while time.monotonic() < deadline:
        if path.is_file() and text in path.read_text(errors="replace"):
            return
        if ws.runs.get(run_id).status not in ("queued", "running"):
            break
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared in {name}: {ws.runs.get(run_id)}")


def test_a_notebook_runs_on_the_ssh_host_recorded_like_a_local_run(gpu1, sshd):
    ws, project = gpu1
    literal = "x; touch injected $(id -u)"
    run = ws.submit_notebook(project / "train.ipynb", {"lr": 0.5, "message": literal},
                             compute=NAME, wait=True)
    assert run.status == "completed", run.record.error
    assert ws.compute.target_of(run.id)[0] == NAME
    assert run.params["message"] == literal and float(run.params["lr"]) == 0.5
    assert run.metrics["loss"] == pytest.approx(0.5 ** 5)
    files = {f["path"] for f in ws.runs.files(run.id)}
    assert {"outputs/result.txt", "environment.json"} <= files, files
    assert any(p.endswith(".ipynb") for p in files)
    assert "train.ipynb" in {f["path"] for f in ws.runs.files(run.id, "snapshot")}
    cells = json.loads(ws.runs.values(run.id, "cells")[0]["data"])  # as a local run records them
    assert len(cells) >= 3
    assert ws.runs.get(run.id).tags.get("env_hash")
    shown = _cli(ws, "run", "show", run.id)
    assert [line.split() for line in shown.output.splitlines()
            if line.startswith("compute")] == [["compute:", NAME]]
    logs = _cli(ws, "run", "logs", run.id)
    assert "final loss" in logs.output, logs.output
    # the work folder and the parameter arrived literally; the run's folder is gone
    _runner_gone(ws, run.id)
    workdir = sshd.user.home / WORKDIR
    assert (workdir / "runs").is_dir() and not (workdir / "runs" / run.id).exists()
    for folder in (sshd.user.home, workdir, Path(".")):  # what an injection would have made
        assert not [p.name for p in folder.iterdir() if p.name[:1].isdigit() or "injected" in p.name]
    assert _login_processes(sshd) == []


def test_cancel_stops_the_remote_kernel_and_everything_it_started(gpu1, sshd):
    ws, project = gpu1
    run = ws.submit_notebook(project / "pause.ipynb", {"pause": 600}, compute=NAME)
    _runner_state(ws, run.id)
    _wait_text(ws, run.id, "stdout.log", "pausing")
    assert any("ipykernel" in p for p in _login_processes(sshd))
    ended = ws.cancel_run(run.id, grace=10)
    assert ended.status == "canceled"
    _runner_gone(ws, run.id)
    deadline = time.monotonic() + 30
    while _login_processes(sshd) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _login_processes(sshd) == []


def test_a_lost_connection_fails_the_run_naming_the_step_and_a_rerun_succeeds(gpu1, sshd):
    ws, project = gpu1
    run = ws.submit_notebook(project / "pause.ipynb", {"pause": 600}, compute=NAME)
    state = _runner_state(ws, run.id)
    _wait_text(ws, run.id, "stdout.log", "pausing")
    _kill_sshd(sshd)
    try:
        deadline = time.monotonic() + 60
        while ws.runs.get(run.id).status in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.2)
        record = ws.runs.get(run.id)
        assert record.status == "failed"
        assert "execution step failed" in record.error and "connection" in record.error, record.error
    finally:
        sshd.start()
        with ws.compute.connect(NAME, check_actor=False) as conn:  # what the lost run left there
            conn.stop_group(state["pgid"], 5.0)
    deadline = time.monotonic() + 30
    while _login_processes(sshd) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _login_processes(sshd) == []  # its kernel too
    out = _cli(ws, "run", "rerun", run.id, "-p", "pause", "0", "--compute", NAME, "--wait")
    assert out.exit_code == 0, out.output
    rerun = max((r for r in ws.runs.search(max_results=1000).runs if r.id != run.id),
                key=lambda r: r.start_time or 0)
    assert rerun.status == "completed", rerun.error
    assert ws.compute.target_of(rerun.id)[0] == NAME


def test_an_environment_is_built_on_the_host_once_then_reused(gpu1, sshd, wheelhouse):
    """Through the target's SSH shell: the first build makes the venv on the host, the second
    (and ``ensure``, what a run with ``env = build`` calls) reuses it: one build, counted by the
    workspace's record and by the host's own builds.log."""
    from jupyter_mlws.environments.spec import EnvironmentSpec
    from jupyter_mlws.environments.wheels import BuildOptions

    ws, _ = gpu1
    with ws.compute.connect(NAME, check_actor=False) as conn:
        conn.put(wheelhouse, "wheelhouse")
    options = BuildOptions(installer="pip", find_links=(str(sshd.user.home / "wheelhouse"),),
                           no_index=True)
    spec = EnvironmentSpec("3.11", ("six==1.16.0",))
    first = ws.environments.build(spec, NAME, options=options)
    assert first["state"] == "ready" and not first["reused"], first.get("error")
    python = ws.environments.ensure(spec, NAME, options=options)
    again = ws.environments.build(spec, NAME, options=options)
    assert again["reused"] and again["builds"] == 1
    history = (sshd.user.home / WORKDIR / "environments" / "builds.log").read_text()
    assert history.count(f"build {spec.hash} ready") == 1, history
    with ws.compute.connect(NAME, check_actor=False) as conn:
        done = conn.run([python, "-c", "import six; print(six.__version__)"])
    assert (done.status, done.output.strip()) == (0, "1.16.0")
