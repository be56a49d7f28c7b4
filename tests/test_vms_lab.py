"""JupyterLab on a notebook VM, end to end on the local provider (a real sshd per node, a real
JupyterLab on the node's 127.0.0.1): created with a setup script, opened through the tunnel
(``/api/status`` with the token in the URL answers; without it, refused), stopped (open is a
409 saying to start it, JupyterLab is gone) and started again (it answers again).  Its idle check
made by ``mlws scheduler --once``, a process of its own, is what ``GET vms/NAME`` of the
workspace's server, another one, reports.  One VM for
the whole module: JupyterLab on a node costs seconds and memory."""

from __future__ import annotations

import json
import shutil
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3
from click.testing import CliRunner

from jupyter_mlws.errors import Conflict, PermissionDenied
from test_idle_server import execute
from vm_support import vm_workspace

SETUP = "echo lab setup ran\n"


@pytest.fixture(scope="module")
def lab(sshd):
    """One running VM with JupyterLab for the module.  As root its node runs this module's own
    copy of jupyter_mlws (the login user's shared one is rewritten by other test sessions)."""
    import os

    from sshd import login_user, own_executor_python

    python, remove = own_executor_python(login_user()) if os.geteuid() == 0 else (None, None)
    ws = vm_workspace(jupyterlab=True, python=python)
    vm = ws.vms.create("lab", provider="local", size="host", setup_script=SETUP,
                       idle_shutdown="1h")
    try:
        yield ws, vm
    finally:
        ws.vms.delete("lab", check_actor=False)
        if remove is not None:
            remove()
        from jupyter_mlws.remote.server import BackgroundServer

        BackgroundServer(ws.root).stop()
        ws.close()
        shutil.rmtree(ws.root.parent, ignore_errors=True)


def _status(url: str, token: str | None):
    parts = urlsplit(url)
    headers = {"Authorization": f"token {token}"} if token else {}
    return urllib3.request("GET", f"{parts.scheme}://{parts.netloc}/api/status", headers=headers,
                           timeout=10, retries=False)


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def test_open_reaches_the_vms_jupyterlab_through_the_tunnel_with_its_token(lab):
    ws, vm = lab
    assert vm["state"] == "running"
    log = ws.vms.logs("lab").decode()
    assert "lab setup ran" in log and "JupyterLab: answering" in log
    opened = ws.vms.open("lab")
    assert opened["url"].startswith("http://127.0.0.1:") and "/lab?token=" in opened["url"]
    token = _token(opened["url"])
    response = _status(opened["url"], token)
    assert response.status == 200 and "started" in response.json()
    assert _status(opened["url"], None).status == 403
    assert token not in log  # the token is in no log
    # JupyterLab listens on the VM's loopback only: its own port is not the one opened here
    assert f":{ws.vms.lab.state(ws.vms.records.get('lab'))['lab_port']}" not in opened["url"]


def test_open_is_for_the_owner_or_a_workspace_owner(lab):
    ws, _ = lab
    from jupyter_mlws.access import os_user

    ws.access.grant(os_user(), "ann", "contributor")
    with pytest.raises(PermissionDenied, match="belongs to"):
        ws.vms.open("lab", actor="ann")


def _run_in_kernel(url: str, code: str) -> str:
    """Start a kernel on the VM through its JupyterLab's REST API, execute ``code`` over the
    kernel's websocket (as a notebook cell does) and return its stdout+stderr; the kernel is
    shut down after."""
    import websocket as wsclient

    parts, token = urlsplit(url), _token(url)
    base, auth = f"http://{parts.netloc}/", {"Authorization": f"token {token}"}
    kernel = urllib3.request("POST", base + "api/kernels", headers=auth, body=b"{}", timeout=60).json()
    channel = wsclient.create_connection(f"ws://{parts.netloc}/api/kernels/{kernel['id']}/channels",
                                         header=[f"Authorization: token {token}"], timeout=60)
    try:
        msg_id = execute(channel, code)
        out, deadline = [], time.monotonic() + 120
        while time.monotonic() < deadline:
            msg = json.loads(channel.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                out.append("\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(out)
        raise AssertionError(f"the cell did not end: {''.join(out)}")
    finally:
        channel.close()
        urllib3.request("DELETE", base + f"api/kernels/{kernel['id']}", headers=auth, timeout=60)


CELL = """
import os, jupyter_mlws as mlws
ws = mlws.Workspace.open()
with ws.experiment("on-the-vm").start_run(name="from-a-vm-kernel", snapshot=False) as run:
    run.log_metrics({"loss": 0.25})
print("RUN", run.id, type(ws).__name__)
try:
    ws.get_secret("anything")
except mlws.MlwsError as exc:
    print("SECRET", type(exc).__name__)
"""


def test_a_run_started_in_a_kernel_on_the_vm_is_recorded_in_the_workspace(lab):
    ws, vm = lab
    out = _run_in_kernel(ws.vms.open("lab")["url"], CELL)
    assert "RUN " in out and "RemoteWorkspace" in out, out
    run = ws.get_run(out.split("RUN ", 1)[1].split()[0])
    assert run.status == "completed" and run.metrics["loss"] == 0.25
    assert run.record.experiment == "on-the-vm" and run.record.name == "from-a-vm-kernel"
    assert "SECRET PermissionDenied" in out  # no secret's value over HTTP
    assert "mlws_vm_" not in ws.vms.logs("lab").decode()  # the VM token is in no log


def test_the_vm_token_reaches_runs_only_and_dies_with_the_vms_stop(lab):
    """What a VM token (MLWS_TOKEN of its JupyterLab) may do on the workspace server."""
    ws, vm = lab
    out = _run_in_kernel(ws.vms.open("lab")["url"], "import os, json\nprint(json.dumps("
                         "{k: os.environ[k] for k in ('MLWS_WORKSPACE', 'MLWS_TOKEN')}))")
    env = json.loads(out.strip().splitlines()[-1])
    assert env["MLWS_WORKSPACE"].startswith("http://127.0.0.1:")  # the VM's end of the tunnel
    from jupyter_mlws.remote.server import BackgroundServer

    server = BackgroundServer(ws.root).read()["url"]
    auth = {"Authorization": f"token {env['MLWS_TOKEN']}"}

    def get(path):
        return urllib3.request("GET", server + path, headers=auth, timeout=30, retries=False)

    assert get("mlws/api/tracking").status == 200
    assert get("mlws/api/experiments").status == 200
    for path in ("mlws/api/secrets", "mlws/api/vms", "mlws/api/access", "mlws/api/compute",
                 "api/me"):
        assert get(path).status in (401, 403), path
    ws.vms.stop("lab")
    try:
        assert get("mlws/api/tracking").status in (401, 403)
    finally:
        ws.vms.start("lab")


def test_the_cli_prints_the_url(lab):
    from jupyter_mlws.cli import main as cli

    ws, _ = lab
    out = CliRunner().invoke(cli, ["-w", str(ws.root), "vm", "open", "lab", "--no-browser"])
    assert out.exit_code == 0, out.output
    url = out.output.strip().splitlines()[-1]
    assert _status(url, _token(url)).status == 200


def test_a_dead_keeper_is_named_as_the_failing_tunnel_step_and_restart_mends_it(lab):
    import os
    import signal

    from jupyter_mlws.errors import Unavailable

    ws, _ = lab
    keeper = ws.vms.lab.state(ws.vms.records.get("lab"))
    os.kill(keeper["pid"], signal.SIGKILL)  # this machine lost it (OOM, a reboot)
    deadline = time.monotonic() + 30
    while ws.vms.lab.state(ws.vms.records.get("lab")) is not None:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    with pytest.raises(Unavailable, match=r"the tunnel step failed: its keeper .* is not running: "
                                          r"restart the VM \('mlws vm restart lab'\)"):
        ws.vms.open("lab")
    ws.vms.restart("lab")
    url = ws.vms.open("lab")["url"]
    assert _status(url, _token(url)).status == 200


def test_stop_then_open_is_a_conflict_and_start_brings_jupyterlab_back(lab):
    ws, _ = lab
    before = ws.vms.open("lab")["url"]
    started = ws.vms.logs("lab").decode().count("JupyterLab: answering")
    ws.vms.stop("lab")
    with pytest.raises(Conflict, match=r"is stopped, not running.*mlws vm start lab"):
        ws.vms.open("lab")
    with pytest.raises(urllib3.exceptions.HTTPError):
        _status(before, _token(before))
    ws.vms.start("lab")
    after = ws.vms.open("lab")["url"]
    assert _status(after, _token(after)).status == 200
    assert ws.vms.logs("lab").decode().count("JupyterLab: answering") == started + 1


def test_the_idle_check_of_a_scheduler_process_is_what_get_vm_reports(lab):
    """``mlws scheduler --once`` (a process of its own) reaches the VM's JupyterLab through the
    keeper this process started, decides, and ``GET vms/lab`` of the workspace server (another
    process) reports that decision: known, not "unknown", with the stop an hour after the last
    activity."""
    from test_scheduler import _mlws

    from jupyter_mlws.remote.server import BackgroundServer, ensure_server

    ws, vm = lab
    ws.vm_idle.forget(vm["id"])
    url = ensure_server(ws)
    auth = {"Authorization": f"token {BackgroundServer(ws.root).read()['token']}"}

    def idle():
        response = urllib3.request("GET", url + "mlws/api/vms/lab", headers=auth, timeout=30)
        assert response.status == 200, response.data
        return response.json()["idle"]

    before = time.time() * 1000
    proc = _mlws(ws, "scheduler", "--once")
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    shown = idle()
    assert shown is not None, "the scheduler's decision is not reported"
    assert shown["action"] == "none" and shown["postponed_until"] is None
    assert shown["reason"].startswith("idle since ") and "(last activity: " in shown["reason"]
    assert "unknown" not in shown["reason"]  # the scheduler reached the VM's JupyterLab
    assert before + 30 * 60_000 < shown["stop_at"] <= time.time() * 1000 + 3600_000
    assert ws.vm_idle.show("lab")["idle"] == shown  # this process reads the same
