"""A notebook run on a local-provider VM: the VM is a compute target of type ``vm``, and
``mlws run submit nb.ipynb --compute NAME`` executes there through the SSH target's code (a
runner here holding one connection with the VM's address, login key and pinned host key; a
reverse tunnel to the workspace's background server), recorded in the workspace as a local run
is."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_mlws.errors import Conflict
from vm_support import vm_workspace

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"


@pytest.fixture
def ws(sshd, tmp_path, monkeypatch):
    from jupyter_mlws.remote.server import BackgroundServer

    workspace = vm_workspace()
    shutil.copy(NOTEBOOKS / "train.ipynb", tmp_path / "train.ipynb")
    monkeypatch.chdir(tmp_path)
    yield workspace
    BackgroundServer(workspace.root).stop()
    for vm in workspace.vms.list():
        workspace.vms.delete(vm["name"], check_actor=False)
    workspace.close()
    shutil.rmtree(workspace.root.parent, ignore_errors=True)


def test_a_notebook_runs_on_a_local_vm_and_is_recorded(ws, tmp_path):
    from jupyter_mlws.cli import main

    vm = ws.vms.create("nb-box", provider="local", size="host")
    target = ws.compute.get("nb-box")
    assert target["type"] == "vm" and target["host_key"] == vm["host_key"]
    assert ws.compute.test("nb-box")["ok"]
    r = CliRunner().invoke(main, ["-w", str(ws.root), "run", "submit", "train.ipynb", "--compute",
                                  "nb-box", "-p", "lr", "0.5", "--wait", "--json"],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    run_id = json.loads(r.output[r.output.index("{"):])["id"]
    run = ws.get_run(run_id)
    assert run.status == "completed", (run.record.status_reason, ws.run_logs(run_id))
    assert run.params["lr"] == "0.5" and run.metrics  # what the notebook logged, over HTTP
    assert ws.compute.target_of(run_id)[0] == "nb-box"
    files = {f["path"] for f in ws.runs.files(run.id)}
    assert "outputs/result.txt" in files and any(p.endswith(".ipynb") for p in files), files
    # it ran in the node's home, and its runner removed its folder there before it exited
    from jupyter_mlws.compute.base import EXITED, Handle

    deadline = time.monotonic() + 60
    while ws.compute.target("nb-box").poll(Handle("nb-box", run_id)) != EXITED:
        assert time.monotonic() < deadline, "the runner did not exit"
        time.sleep(0.1)
    runs = ws.root / ".mlws" / "vms" / "local" / vm["node_id"] / "home" / "mlws-work" / "runs"
    assert runs.is_dir() and not list(runs.iterdir())
    ws.vms.stop("nb-box")
    with pytest.raises(Conflict, match="vm 'nb-box' is stopped: start it"):
        ws.submit_notebook(tmp_path / "train.ipynb", compute="nb-box")
