"""The scheduler host: watcher providers loaded lazily (a missing one skipped quietly, a failing
one logged), ticks on the workspace's ticker, periodic functions on a thread where one that
raises is logged and never stops the others; and ``mlws scheduler`` as processes of their own:
``--once`` against a local VM whose schedule is due gives exactly one stop across two
processes, and SIGTERM ends the foreground process cleanly."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from jupyter_mlws.scheduler import PROVIDERS, Scheduler, Watchers, load
from mlws_testing import wait_for

FAKE = '''
from datetime import datetime, timezone
from jupyter_mlws.cron import parse
from jupyter_mlws.scheduler import Watchers
from jupyter_mlws.ticker import Handler, Watched

CALLS = []

def watchers(ws):
    since = datetime(2020, 1, 1, tzinfo=timezone.utc)
    def source():
        return [Watched("job", parse("run */5 * * * *", "UTC"), since=since)]
    def boom():
        CALLS.append("boom")
        raise RuntimeError("a periodic function failed")
    return Watchers(ticks=[("fake", source, Handler(lambda conn, tick: CALLS.append(tick.action)))],
                    periodic=[(0.05, boom), (0.05, lambda: CALLS.append("ok"))])

def broken(ws):
    raise RuntimeError("this provider is broken")
'''


@pytest.fixture
def fake_provider(tmp_path, monkeypatch):
    (tmp_path / "fake_watchers.py").write_text(FAKE)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("fake_watchers", None)
    import fake_watchers

    fake_watchers.CALLS.clear()
    yield fake_watchers
    sys.modules.pop("fake_watchers", None)


def test_the_providers_list_names_schedules_and_vms():
    assert PROVIDERS == ["jupyter_mlws.schedules.watch:watchers", "jupyter_mlws.vms.watch:watchers"]
    assert Watchers().ticks == [] and Watchers().periodic == []


def test_a_missing_provider_is_skipped_quietly_and_a_broken_one_is_logged(ws, fake_provider, caplog):
    with caplog.at_level(logging.DEBUG, logger="jupyter_mlws.scheduler"):
        found = load(ws, ["no_such_module.watch:watchers", "fake_watchers:broken",
                          "fake_watchers:watchers"])
    assert len(found) == 1 and len(found[0].periodic) == 2
    missing = [r for r in caplog.records if "no_such_module" in r.getMessage()]
    assert [r.levelno for r in missing] == [logging.DEBUG]
    broken = [r for r in caplog.records if "fake_watchers:broken" in r.getMessage()]
    assert [r.levelno for r in broken] == [logging.ERROR]


def test_ticks_are_claimed_and_a_raising_fn_never_stops_the_host(ws, fake_provider, caplog):
    calls = fake_provider.CALLS
    host = Scheduler(ws, providers=["fake_watchers:watchers"], interval=0.1)
    assert host.once() == 1  # the newest missed */5 tick (catch-up latest), once
    assert calls.count("run") == 1 and calls.count("boom") == 1 and calls.count("ok") == 1
    assert host.once() == 0 and calls.count("run") == 1  # claimed already
    with caplog.at_level(logging.ERROR, logger="jupyter_mlws.scheduler"):
        host.start()
        try:
            wait_for(lambda: calls.count("boom") >= 4 and calls.count("ok") >= 4,
                     "the periodic functions running again and again")
        finally:
            host.stop()
    assert not any(t.name.startswith("mlws-scheduler") for t in threading.enumerate())
    assert any("a periodic function failed" in (r.exc_text or "") for r in caplog.records)
    count = len(calls)
    time.sleep(0.3)
    assert len(calls) == count  # stopped means stopped


# -- mlws scheduler, processes of their own, on a local VM --------------------------------------

@pytest.fixture
def vm_ws(sshd):
    from vm_support import vm_workspace

    ws = vm_workspace()
    yield ws
    for vm in ws.vms.list():
        ws.vms.delete(vm["name"], check_actor=False)
    ws.close()
    shutil.rmtree(ws.root.parent, ignore_errors=True)


def _backdate(ws, name: str, hours: float) -> None:
    """Make the VM look created ``hours`` ago: its schedule's ticks since then are due."""
    from jupyter_mlws.store import schema as S

    made = int((time.time() - hours * 3600) * 1000)
    ws.db.transact(lambda conn: conn.execute(
        S.vms.update().where(S.vms.c.name == name).values(created_at=made)))


def _mlws(ws, *args, **kwargs):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    env.pop("MLWS_WORKSPACE", None)
    return subprocess.Popen([sys.executable, "-m", "jupyter_mlws.cli", "-w", str(ws.root), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            **kwargs)


def test_two_scheduler_processes_stop_a_vm_whose_schedule_is_due_once(vm_ws):
    vm_ws.vms.create("sched", provider="local", size="host",
                     schedule="stop 0 * * * *; start 0 3 1 1 *", tz="Europe/Berlin")
    _backdate(vm_ws, "sched", 2)
    procs = [_mlws(vm_ws, "scheduler", "--once") for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    claimed = sorted(out.strip().splitlines()[-1] for out, _err in outs)
    assert claimed == ["mlws scheduler: one pass, 0 tick(s) claimed",
                       "mlws scheduler: one pass, 1 tick(s) claimed"], outs
    vm = vm_ws.vms.show("sched")
    assert vm["state"] == "stopped"
    stops = [e for e in vm["events"] if e["to_state"] == "stopping"]
    assert len(stops) == 1 and stops[0]["actor"] == "mlws-scheduler", vm["events"]
    assert stops[0]["reason"].startswith("stopped by its schedule (the stop due at ")
    ticks = vm_ws.tick_claims.claims("vm", vm["id"])
    assert [t.action for t in ticks] == ["stop"]
    # the next pass has nothing to do: the stop was the newest tick
    again = _mlws(vm_ws, "scheduler", "--once")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0 and "0 tick(s) claimed" in out, err
    assert len([e for e in vm_ws.vms.show("sched")["events"] if e["to_state"] == "stopping"]) == 1


def test_a_due_stop_leaves_a_vm_with_a_run_in_flight_running(vm_ws):
    from jupyter_mlws.vms.watch import VMWatch

    vm_ws.vms.create("busy", provider="local", size="host", schedule="stop 0 * * * *")
    _backdate(vm_ws, "busy", 2)
    run = vm_ws.experiment("on-vm").start_run()
    vm_ws.compute.assign(run.id, "busy")
    host = VMWatch(vm_ws)
    ticker = vm_ws.ticker()
    for kind, source, handler in host.watchers().ticks:
        ticker.watch(kind, source, handler)
    assert [t.action for t in ticker.tick()] == ["stop"]  # claimed: decided once
    vm_ws.vms.join()
    assert vm_ws.vms.show("busy")["state"] == "running"
    run.end()


def test_sigterm_stops_the_foreground_scheduler_cleanly(vm_ws):
    proc = _mlws(vm_ws, "scheduler", "--interval", "1")
    try:
        said = ""
        while "mlws scheduler: watching" not in said:  # its handlers are set (start-up takes a while under load)
            line = proc.stderr.readline()
            assert line, f"the scheduler exited before watching: {said}"
            said += line
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        err = said + err
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "mlws scheduler: stopped" in err and "Traceback" not in err
