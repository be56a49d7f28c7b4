"""What the tests of runs on an ssh target share: the ``gpu1`` target on the session's sshd
(tests/sshd.py) reporting to the session's workspace server (``http_workspace``), a project
with train.ipynb and pause.ipynb, and helpers that watch the runner and the host.

Import the fixtures into a test module (``from ssh_runs import gpu1, remote_python``)."""

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
#: the target's keepalive: a run's connection that gets no answer for 3 of them is lost
KEEPALIVE = 2


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
                      key_secret=KEY, python=remote_python, workdir=WORKDIR, keepalive=KEEPALIVE,
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


def cli(ws, *args):
    from jupyter_mlws.cli import main

    return CliRunner().invoke(main, ["-w", str(ws.root), *map(str, args)], catch_exceptions=False)


def run_processes(sshd, run_id: str) -> list[str]:
    """The login user's processes that work for run ``run_id`` (``PID COMMAND`` lines): those
    whose environment names the run (the executor, its kernel, what they started).  Other
    processes of the login user (another test session's) do not count."""
    out = subprocess.run(["ps", "-u", sshd.user.name, "-o", "pid=,args="], capture_output=True,
                         text=True).stdout
    marker = f"MLWS_RUN_ID={run_id}".encode()
    found = []
    for line in out.splitlines():
        pid = line.split(None, 1)[0] if line.strip() else ""
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in environ:
            found.append(line.strip())
    return found


def runner_state(ws, run_id: str, timeout: float = 120.0) -> dict:
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


def kill_sshd(sshd) -> None:
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


def runner_gone(ws, run_id: str, timeout: float = 60.0, target: str = NAME) -> None:
    """Wait for the run's runner (here) to exit: it removes the run's folder on the host last."""
    from jupyter_mlws.compute.base import EXITED, Handle

    backend = ws.compute.target(target)
    deadline = time.monotonic() + timeout
    while backend.poll(Handle(target, run_id)) != EXITED:
        assert time.monotonic() < deadline, "the runner did not exit"
        time.sleep(0.1)


def wait_text(ws, run_id: str, name: str, text: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    path = Path(ws.artifacts.live_root) / run_id / name
    while time.monotonic() < deadline:
        if path.is_file() and text in path.read_text(errors="replace"):
            return
        if ws.runs.get(run_id).status not in ("queued", "running"):
            break
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared in {name}: {ws.runs.get(run_id)}")




def group_alive(pgid: int) -> bool:
    """Whether a process of the host's process group ``pgid`` still runs (the host is this
    machine: the test sshd listens on 127.0.0.1)."""
    from jupyter_mlws.compute.local import group_alive as alive

    return alive(pgid)


def wait_group_gone(pgid: int, timeout: float = 90.0) -> None:
    """Wait for the host's process group ``pgid`` to be gone; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while group_alive(pgid):
        assert time.monotonic() < deadline, f"process group {pgid} still runs on the host"
        time.sleep(0.2)


def run_folder(sshd, run_id: str) -> Path:
    """The run's folder on the host."""
    return sshd.user.home / WORKDIR / "runs" / run_id


def sshd_processes(sshd) -> list[int]:
    """The test sshd's processes: its listener, then every process below it that is an sshd
    (each connection's; not the commands they started)."""
    import os

    children: dict[int, list[int]] = {}
    names: dict[int, bytes] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:
            continue
        names[int(entry)] = raw.split(b"(", 1)[1].rsplit(b")", 1)[0]
        children.setdefault(int(raw.rsplit(b")", 1)[-1].split()[1]), []).append(int(entry))
    found, todo = [], [sshd.proc.pid]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += [c for c in children.get(pid, []) if names.get(c) == b"sshd"]
    return found


def signal_sshd(sshd, sig) -> None:
    """Send ``sig`` (SIGSTOP: the host goes silent; SIGCONT) to the test sshd and its
    connections' processes."""
    import os

    for pid in sshd_processes(sshd):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
