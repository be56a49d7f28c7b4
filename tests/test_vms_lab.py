"""JupyterLab on a notebook VM, end to end on the local provider (a real sshd per node, a real
JupyterLab on the node's 127.0.0.1): created with a setup script, opened through the tunnel
(``/api/status`` with the token in the URL answers; without it, refused), stopped (open is a
409 saying to start it, JupyterLab is gone) and started again (it answers again).  One VM for
the whole module: JupyterLab on a node costs seconds and memory."""

from __future__ import annotations

import shutil
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3
from click.testing import CliRunner

from jupyter_mlws.errors import Conflict, PermissionDenied
from vm_support import vm_workspace

SETUP = "echo lab setup ran\n"


@pytest.fixture(scope="module")
def lab(sshd):
    ws = vm_workspace(jupyterlab=True)
    vm = ws.vms.create("lab", provider="local", size="host", setup_script=SETUP)
    try:
        yield ws, vm
    finally:
        ws.vms.delete("lab", check_actor=False)
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


def test_the_cli_prints_the_url(lab):
    from jupyter_mlws.cli import main as cli

    ws, _ = lab
    out = CliRunner().invoke(cli, ["-w", str(ws.root), "vm", "open", "lab", "--no-browser"])
    assert out.exit_code == 0, out.output
    url = out.output.strip().splitlines()[-1]
    assert _status(url, _token(url)).status == 200


def test_stop_then_open_is_a_conflict_and_start_brings_jupyterlab_back(lab):
    ws, _ = lab
    before = ws.vms.open("lab")["url"]
    ws.vms.stop("lab")
    with pytest.raises(Conflict, match=r"is stopped, not running.*mlws vm start lab"):
        ws.vms.open("lab")
    with pytest.raises(urllib3.exceptions.HTTPError):
        _status(before, _token(before))
    ws.vms.start("lab")
    after = ws.vms.open("lab")["url"]
    assert _status(after, _token(after)).status == 200
    assert ws.vms.logs("lab").decode().count("JupyterLab: answering") == 2
