"""The idle check of notebook VMs as the scheduler runs it: local VMs (real sshd nodes) whose
Jupyter server is a real one (tests/test_idle_server.py's), observed at virtual instants of a
controllable clock.  A truly idle VM is warned about (the decision kept for GET vms/{name} and
the live event), then stopped with the reason in its events; one with a run in flight is never
stopped; a postponed stop waits; a VM without Jupyter connection details is unknown, never
idle."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from test_idle_server import jupyter_server
from test_scheduler import vm_ws  # noqa: F401  (a workspace whose local VMs work here)

from jupyter_mlws.scheduler import Scheduler
from jupyter_mlws.vms.watch import VMWatch
from mlws_testing import stop_jupyter

UTC = timezone.utc
T = timedelta(minutes=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    started = jupyter_server(tmp_path_factory.mktemp("vm-jupyter"))
    yield started
    stop_jupyter(started)


class Clock:
    def __init__(self):
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _stops(ws, name: str) -> list[dict]:
    return [e for e in ws.vms.show(name)["events"] if e["to_state"] == "stopping"]


def test_the_idle_check_warns_then_stops_a_truly_idle_vm_and_never_one_with_a_run(vm_ws, server):
    for name in ("idle", "busy", "later", "blind"):
        vm_ws.vms.create(name, provider="local", size="host", idle_shutdown="30m")
    run = vm_ws.experiment("on-vm").start_run()
    vm_ws.compute.assign(run.id, "busy")
    clock = Clock()
    start = clock.now
    # the accessor of a VM's Jupyter connection details: "blind" has none
    watch = VMWatch(vm_ws, clock=clock,
                    jupyter=lambda vm: None if vm["name"] == "blind" else (server.url, server.token))

    clock.now = start + T - timedelta(minutes=5)
    watch.check_idle()
    warned = {w["name"]: w for w in vm_ws.vm_idle.warnings()}
    assert set(warned) == {"idle", "later"}, warned
    shown = vm_ws.vm_idle.show("idle")["idle"]
    assert shown["action"] == "warn" and shown["stop_at"] == warned["idle"]["stop_at"]
    assert shown["stop_at"] > int(clock.now.timestamp() * 1000) and shown["postponed_until"] is None
    assert vm_ws.vm_idle.show("busy")["idle"]["action"] == "none"
    assert "run(s) in flight" in vm_ws.vm_idle.show("busy")["idle"]["reason"]
    assert "unknown" in vm_ws.vm_idle.show("blind")["idle"]["reason"]
    postponed = vm_ws.vm_idle.postpone("later")["postponed_until"]
    assert vm_ws.vm_idle.show("later")["idle"]["postponed_until"] == postponed

    clock.now = start + T + timedelta(minutes=1)
    watch.check_idle()
    vm_ws.vms.join()
    assert vm_ws.vms.show("idle")["state"] == "stopped"
    (stop,) = _stops(vm_ws, "idle")
    assert stop["reason"].startswith("stopped: idle for 30 min (idle since ") and \
        stop["actor"] == "mlws-scheduler", stop
    assert {n: vm_ws.vms.show(n)["state"] for n in ("busy", "later", "blind")} == \
        dict.fromkeys(("busy", "later", "blind"), "running")

    # days later: the run in flight still keeps "busy" up; the postponement is over
    clock.now = start + timedelta(days=2)
    watch.check_idle()
    vm_ws.vms.join()
    assert vm_ws.vms.show("busy")["state"] == "running" and not _stops(vm_ws, "busy")
    assert vm_ws.vms.show("later")["state"] == "stopped"
    # unknown for more than an hour, and nothing seen: a VM nobody can reach does not run forever
    assert vm_ws.vms.show("blind")["state"] == "stopped"
    assert "unknown" in _stops(vm_ws, "blind")[0]["reason"]
    # once the run ends, the busy VM is idle from then on (T after the run's end)
    run.end()
    ended = datetime.now(UTC)
    clock.now = ended + timedelta(minutes=10)
    watch.check_idle()
    assert vm_ws.vms.show("busy")["state"] == "running"
    assert "the last mlws run on it ended" in vm_ws.vm_idle.show("busy")["idle"]["reason"]
    clock.now = ended + T + timedelta(minutes=1)
    watch.check_idle()
    vm_ws.vms.join()
    assert vm_ws.vms.show("busy")["state"] == "stopped"
    assert vm_ws.vm_idle.warnings() == []  # stopped VMs warn no more


def test_a_scheduled_run_due_on_the_vm_keeps_it_up_until_the_fire_is_past(vm_ws, server, tmp_path):
    """A schedule whose runs go to the VM and fire within T of its stop holds the stop (a
    schedule on another target does not); a paused one does not; once the fire is past and
    nothing ran, the VM stops as usual."""
    from schedule_support import notebook

    from jupyter_mlws.schedules.service import DUE_GRACE_S

    for name in ("nightly", "plain"):
        vm_ws.vms.create(name, provider="local", size="host", idle_shutdown="30m")
    clock = Clock()
    start = clock.now
    due = (start + T + timedelta(minutes=10)).replace(second=0, microsecond=0)
    cron = f"{due.minute} {due.hour} * * *"
    nb = notebook(tmp_path / "report.ipynb")
    vm_ws.schedules.create("on-nightly", notebook=nb, cron=cron, tz="UTC", compute="nightly")
    vm_ws.schedules.create("here", notebook=nb, cron=cron, tz="UTC")  # local: no VM's
    vm_ws.schedules.create("paused", notebook=nb, cron=f"{due.minute} * * * *", tz="UTC",
                           compute="plain")
    vm_ws.schedules.pause("paused")
    watch = VMWatch(vm_ws, clock=clock, jupyter=lambda vm: (server.url, server.token))

    clock.now = start + T + timedelta(minutes=1)  # both idle for T: only the schedule holds one
    watch.check_idle()
    vm_ws.vms.join()
    assert vm_ws.vms.show("plain")["state"] == "stopped"
    assert vm_ws.vms.show("nightly")["state"] == "running"
    idle = vm_ws.vm_idle.show("nightly")["idle"]
    assert idle["action"] == "none" and idle["reason"].startswith(
        f"a scheduled run is due at {due:%Y-%m-%d %H:%M:%S} UTC, within the idle timeout"), idle
    assert vm_ws.vm_idle.warnings() == []  # no warning of a stop that will not come

    # the fire is past, its run never came (no scheduler ticked here): it stops as usual
    clock.now = due + timedelta(seconds=DUE_GRACE_S + 60)
    watch.check_idle()
    vm_ws.vms.join()
    assert vm_ws.vms.show("nightly")["state"] == "stopped"
    assert _stops(vm_ws, "nightly")[0]["reason"].startswith("stopped: idle for 30 min (idle since ")
    # what the check is given: the next fire on the VM (tomorrow's now), or a retry due sooner
    assert vm_ws.next_scheduled_run_on("nightly", clock.now) == due + timedelta(days=1)
    assert vm_ws.next_scheduled_run_on("plain", clock.now) is None  # paused
    retry_at = clock.now + timedelta(minutes=7)
    _waiting_retry(vm_ws, "on-nightly", due, retry_at)
    assert vm_ws.next_scheduled_run_on("nightly", clock.now) == retry_at.replace(
        microsecond=retry_at.microsecond // 1000 * 1000)
    for name in ("on-nightly", "here", "paused"):
        vm_ws.schedules.delete(name)


def _waiting_retry(ws, schedule: str, nominal: datetime, due: datetime) -> None:
    """A retry of ``schedule``'s run of ``nominal``, waiting to start at ``due``."""
    from jupyter_mlws.ticks import to_ms

    sid = ws.schedules.records.get(schedule)["id"]
    ws.db.transact(lambda conn: ws.schedules.records.link_in(conn, {
        "schedule_id": sid, "run_id": None, "origin": "tick", "nominal_at": to_ms(nominal),
        "attempt": 1, "due_at": to_ms(due), "created_at": to_ms(nominal)}))


def test_the_scheduler_runs_the_vm_watchers_of_its_providers(vm_ws):
    vm_ws.vms.create("plain", provider="local", size="host", idle_shutdown="30m")
    host = Scheduler(vm_ws, providers=["jupyter_mlws.vms.watch:watchers"])
    assert host.once() == 0
    # no Jupyter details recorded yet: unknown, never idle, never stopped at once
    assert vm_ws.vm_idle.show("plain")["idle"]["action"] == "none"
    assert vm_ws.vms.show("plain")["state"] == "running"


def test_mlws_vm_postpone_from_the_cli(vm_ws):
    from click.testing import CliRunner

    from jupyter_mlws.cli import main

    vm_ws.vms.create("cli", provider="local", size="host", idle_shutdown="30m")
    runner = CliRunner()
    result = runner.invoke(main, ["-w", str(vm_ws.root), "vm", "postpone", "cli", "--json"])
    assert result.exit_code == 0, result.output
    until = json.loads(result.output)["postponed_until"]
    assert until == int(vm_ws.idle_postpones.until("vm", vm_ws.vms.show("cli")["id"]).timestamp() * 1000)
    result = runner.invoke(main, ["-w", str(vm_ws.root), "vm", "postpone", "cli", "--hours", "30"])
    assert result.exit_code == 2 and "postponed by 0.1 to 24 hours, got 30.0" in result.output
    vm_ws.vms.stop("cli")
    result = runner.invoke(main, ["-w", str(vm_ws.root), "vm", "postpone", "cli"])
    assert result.exit_code == 5 and "only a running vm's idle stop can be postponed" in result.output
    result = runner.invoke(main, ["-w", str(vm_ws.root), "vm", "postpone", "nosuch"])
    assert result.exit_code == 3 and "no vm 'nosuch'" in result.output
