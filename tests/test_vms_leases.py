"""Busy steps whose process died: a real ``mlws vm create`` (and ``mlws vm start``) killed with
SIGKILL mid-way on the local provider leaves its VM busy; while the process lives nothing touches
it, once it is gone the scheduler host's watcher (or ``mlws compute gc --yes``; ``gc`` alone lists
it) ends the step as its failure would have (the reason naming the interrupted step), and delete
and start work again.
A lease held on another machine is judged by its renewals; once taken over, its old holder can
no longer move the VM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time

import pytest
from test_scheduler import _mlws

from jupyter_mlws.errors import Conflict
from jupyter_mlws.vms import leases
from jupyter_mlws.vms.watch import VMWatch
from mlws_testing import wait_for
from vm_support import node_folders, vm_workspace


@pytest.fixture
def ws(sshd):
    workspace = vm_workspace()
    yield workspace
    for vm in workspace.vms.list():
        try:
            workspace.vms.delete(vm["name"], check_actor=False)
        except Exception:  # noqa: BLE001 - still busy: its folder goes below
            pass
    workspace.close()
    shutil.rmtree(workspace.root.parent, ignore_errors=True)


def _killed_when(proc, ready, what: str) -> None:
    """SIGKILL ``proc`` once ``ready()`` holds (it must still be running then)."""
    wait_for(lambda: ready() or proc.poll() is not None, what, timeout=120)
    assert proc.poll() is None, proc.communicate()
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def _log(ws, name: str) -> str:
    try:
        return ws.vms.logs(name).decode()
    except Exception:  # noqa: BLE001 - not recorded yet
        return ""


def test_a_create_killed_mid_bootstrap_is_ended_by_the_watcher_and_deleted(ws):
    setup = ws.root.parent / "setup.sh"
    setup.write_text("echo setup begins\nsleep 120\necho setup ends\n")
    proc = _mlws(ws, "vm", "create", "slow", "--provider", "local", "--size", "host",
                 "--setup-script", str(setup))
    _killed_when(proc, lambda: "setup begins" in _log(ws, "slow"), "the setup script's start")
    stuck = ws.vms.show("slow")
    assert stuck["state"] == "bootstrapping" and len(node_folders(ws)) == 1
    with pytest.raises(Conflict, match="is bootstrapping: wait until that ends"):
        ws.vms.start("slow")

    watch = VMWatch(ws)
    watch.reap()
    vm = ws.vms.show("slow")
    assert vm["state"] == "failed", vm
    assert vm["reason"].startswith(
        f"the bootstrap step was interrupted: the process doing it (pid {proc.pid} on ")
    assert "ended before it finished; its node was destroyed: delete the vm" in vm["reason"]
    assert vm["events"][-1]["actor"] == "mlws-scheduler"
    assert node_folders(ws) == set()  # the node is gone, as after any failed creation
    assert "the bootstrap step was interrupted" in _log(ws, "slow")
    watch.reap()  # nothing left to end
    assert len(ws.vms.show("slow")["events"]) == len(vm["events"])
    assert ws.vms.delete("slow")["state"] == "deleted"


def test_a_live_step_is_left_alone_and_a_killed_start_is_ended_by_gc(ws):
    flag = ws.root.parent / "slow-start"
    ws.vms.create("box", provider="local", size="host", startup_script=(
        f"if [ -e {flag} ]; then echo slow start begins; sleep 120; fi\necho started\n"))
    ws.vms.stop("box")
    flag.write_text("")
    proc = _mlws(ws, "vm", "start", "box")
    wait_for(lambda: "slow start begins" in _log(ws, "box"), "the startup script's start")
    # its process lives: neither the watcher nor gc touches it, however often they look
    VMWatch(ws).reap()
    assert ws.vms.gc()["reaped"] == [] and ws.vms.show("box")["state"] == "starting"
    assert ws.vms.records.get("box")["busy_step"] == "bootstrap"
    _killed_when(proc, lambda: True, "the start")
    flag.unlink()

    # gc lists the abandoned step, whose it is, and changes nothing
    gc = _mlws(ws, "compute", "gc", "--json")
    out, err = gc.communicate(timeout=120)
    assert gc.returncode == 0, err
    listed = json.loads(out)
    assert listed["reaped"] == [] and ws.vms.show("box")["state"] == "starting"
    (abandoned,) = listed["abandoned"]
    assert abandoned["name"] == "box" and abandoned["owner"] == ws.vms.show("box")["owner"]
    assert abandoned["step"] == "bootstrap" and abandoned["may_delete"] is True
    assert abandoned["why"].startswith(f"the process doing it (pid {proc.pid} on ")
    # gc --yes ends it
    gc = _mlws(ws, "compute", "gc", "--yes", "--json")
    out, err = gc.communicate(timeout=120)
    assert gc.returncode == 0, err
    (reaped,) = json.loads(out)["reaped"]
    assert reaped["name"] == "box" and reaped["state"] == "failed"
    assert reaped["reason"].startswith(
        f"the bootstrap step was interrupted: the process doing it (pid {proc.pid} on ")
    assert reaped["reason"].endswith(": start it again ('mlws vm start box') or delete it")
    assert ws.vms.show("box")["reason"] == reaped["reason"]
    assert ws.vms.start("box")["state"] == "running"
    assert _log(ws, "box").rstrip().endswith("running")


def _lease_elsewhere(ws, name: str, at: int) -> None:
    """Make VM ``name``'s lease look held by a process of another machine, renewed at ``at``."""
    from jupyter_mlws.store import schema as S

    ws.db.transact(lambda conn: conn.execute(S.vms.update().where(S.vms.c.name == name).values(
        busy_host="elsewhere.example", busy_pid=1, busy_started=None, busy_at=at)))


def test_a_lease_from_another_machine_is_judged_by_its_renewals_and_fences_its_holder(ws):
    ws.vms.create("far", provider="local", size="host")
    vm = ws.vms.records.move(ws.vms.records.get("far")["id"], "stopping", "stopped elsewhere",
                             "someone", done="stopped")
    assert leases.is_mine(vm) and vm["busy_step"] == "stop"
    beat = int(time.time() * 1000)
    _lease_elsewhere(ws, "far", beat)
    # this process no longer holds it: its next move is refused, the state stays
    with pytest.raises(Conflict, match=r"that step is in the hands of pid 1 on elsewhere.example, not this process"):
        ws.vms.records.move(vm["id"], "stopped", "done", "someone", expect=("stopping",))
    assert ws.vms.reap(actor="tester", now=beat + int(leases.LEASE_S * 1000) - 1000) == []
    (ended,) = ws.vms.reap(actor="tester", now=beat + int(leases.LEASE_S * 1000) + 5000)
    assert ended["state"] == "failed" and ended["reason"] == (
        "the stop step was interrupted: nothing worked on it for 125 s (the process doing it, "
        "pid 1 on elsewhere.example, stopped renewing its lease); its node may still run: stop "
        "it again ('mlws vm stop far') or delete it")
    shown = ws.vms.records.get("far")
    assert {k: shown[k] for k in leases.COLUMNS} == leases.CLEAR  # outside busy states: none
    assert ws.vms.stop("far")["state"] == "stopped"


def test_a_delete_takes_a_busy_vm_over_and_an_interrupted_one_ends_orphaned(ws):
    ws.vms.create("gone", provider="local", size="host")
    vm = ws.vms.records.move(ws.vms.records.get("gone")["id"], "deleting", "deleted elsewhere",
                             "someone", done="deleted")
    _lease_elsewhere(ws, "gone", 0)  # renewed long ago
    (ended,) = ws.vms.reap(actor="tester")
    assert ended["state"] == "orphaned" and ended["reason"].startswith(
        "the delete step was interrupted: nothing worked on it for ")
    assert ended["reason"].endswith("; its node may remain: finish deleting it ('mlws vm delete gone')")
    assert ws.vms.delete("gone")["state"] == "deleted" and node_folders(ws) == set()
    # a delete takes over a step held elsewhere (the one way to move a VM someone else holds)
    ws.vms.create("taken", provider="local", size="host")
    vm = ws.vms.records.move(ws.vms.records.get("taken")["id"], "stopping", "stopping elsewhere",
                             "someone", done="stopped")
    _lease_elsewhere(ws, "taken", int(time.time() * 1000))
    assert ws.vms.reap(actor="tester") == []  # renewed just now: still worked on
    assert ws.vms.delete(vm["name"])["state"] == "deleted"


def test_the_beater_renews_what_is_held_and_stops_with_the_last_hold():
    renewed: list[list[str]] = []
    beater = leases.Beater(renewed.append, interval=0.02)
    with beater.holding("a"):
        with beater.holding("b"):
            wait_for(lambda: ["a", "b"] in renewed, "a renewal of both leases", timeout=10)
        renewed.clear()
        wait_for(lambda: renewed and renewed[-1] == ["a"], "a renewal of a alone", timeout=10)
    wait_for(lambda: beater._thread is None, "the beater's end", timeout=10)
    count = len(renewed)
    time.sleep(0.1)
    assert len(renewed) == count  # nothing held: nothing renewed
