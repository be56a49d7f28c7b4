"""The VMs' watchers for the scheduler host (jupyter_mlws/vms/watch.py), on the local provider:
a VM's schedule is a ticker owner, a claimed "stop" tick stops the VM once (a second watcher
claims nothing), a deleted VM is no owner; the idle check of a running VM whose JupyterLab cannot
be reached says so and does not stop it."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from jupyter_mlws.scheduler import Watchers
from jupyter_mlws.vms import watch
from test_vms import ws  # noqa: F401 - the module's workspace (VMs without JupyterLab)


def _settled(ws, name: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        vm = ws.vms.show(name)
        if vm["state"] not in ("creating", "bootstrapping", "starting", "stopping", "deleting"):
            return vm
        assert time.monotonic() < deadline, vm
        time.sleep(0.1)


def test_a_scheduled_stop_is_claimed_once_and_stops_the_vm(ws):
    vm = ws.vms.create("sched", provider="local", size="host", schedule="stop 0 19 * * *",
                       tz="Europe/Berlin")
    found = watch.watchers(ws)
    assert isinstance(found, Watchers) and [k for k, _, _ in found.ticks] == ["vm"]
    assert [(i, f) for i, f in found.periodic] == [(60.0, found.periodic[0][1])]
    kind, source, handler = found.ticks[0]
    owners = source()
    assert [w.owner_id for w in owners] == [vm["id"]]
    due = owners[0].schedule.next(owners[0].since)[0].at + timedelta(seconds=5)
    first, second = ws.ticker(), ws.ticker()
    first.watch(kind, source, handler)
    second.watch(kind, source, handler)
    assert [t.action for t in first.tick(due)] == ["stop"]
    assert second.tick(due) == []  # claimed once, however many watchers
    stopped = _settled(ws, "sched")
    assert stopped["state"] == "stopped" and stopped["events"][-1]["actor"] == watch.ACTOR
    ws.vms.delete("sched")
    assert source() == []


def test_the_idle_check_of_an_unreachable_jupyterlab_is_unknown_not_a_stop(ws):
    ws.vms.create("idle", provider="local", size="host", idle_shutdown="1m")
    checks = watch.IdleChecks(ws)
    checks.check_all()
    vm = ws.vms.show("idle")
    decision = watch.DECISIONS[vm["id"]]
    assert vm["state"] == "running" and decision["action"] == "none", decision
    assert "answer" in decision["reason"] or "unknown" in decision["reason"], decision
    ws.vms.stop("idle")
    checks.check_all()
    assert vm["id"] not in watch.DECISIONS
