"""What the scheduler host watches for notebook VMs (:func:`watchers`, see
:mod:`jupyter_mlws.scheduler`):

- **start/stop schedules**: every VM with a ``--schedule`` is an owner of kind ``"vm"`` of the
  ticker (:mod:`jupyter_mlws.ticker`); each tick is claimed once, however many scheduler
  processes watch the workspace, and then starts or stops the VM (as ``mlws-scheduler``; a VM
  already in that state is left as it is, a deleted one is skipped);
- **idle shutdown**: every :data:`~.idle.CHECK_INTERVAL_S` seconds, each running VM with an
  ``--idle-shutdown`` is checked by an :class:`~.idle.IdleMonitor` reading its JupyterLab through
  its keeper's tunnel (:meth:`.lab.Lab.server`), the runs on it, and the owner's postponement
  (:mod:`.postpones`, owner ``("vm", VM_ID)``).  A warning is written to the VM's log once per
  coming stop; a stop decision stops the VM, its reason in the VM's log.  The latest decision per
  VM is kept in :data:`DECISIONS` (what ``GET vms/{name}`` shows as ``idle`` when the scheduler
  runs in the same process).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from ..cron import parse
from ..scheduler import Watchers
from ..ticker import Handler, Watched
from ..ticks import from_ms
from . import states as S
from .bootstrap import VMLog
from .idle import CHECK_INTERVAL_S, STOP, WARN, IdleMonitor, IdlePolicy

log = logging.getLogger(__name__)
#: who the scheduler acts as (the VMs' history says so)
ACTOR = "mlws-scheduler"
#: the latest idle decision per VM id: ``{"action", "stop_at" (ms|None), "reason",
#: "postponed_until" (ms|None)}``
DECISIONS: dict[str, dict] = {}
#: a URL nothing answers: a VM whose JupyterLab is not reachable is observed as unknown
_NOWHERE = "http://127.0.0.1:9/"


def watchers(ws) -> Watchers:
    """The VMs' schedule ticks and the periodic idle check of ``ws``."""
    return Watchers(ticks=[("vm", lambda: scheduled(ws), Handler(record=_record(ws), act=_act(ws)))],
                    periodic=[(CHECK_INTERVAL_S, IdleChecks(ws).check_all)])


def scheduled(ws) -> list[Watched]:
    """Every VM (not deleted) with a schedule, as the ticker's owners (since its creation)."""
    found = []
    for vm in ws.vms.records.list():
        if vm["schedule"]:
            found.append(Watched(vm["id"], parse(vm["schedule"], vm["schedule_tz"] or "UTC",
                                                 actions=("start", "stop")),
                                 since=from_ms(vm["created_at"])))
    return found


def _record(ws):
    def record(conn, tick):
        vm = ws.vms.records.by_id(tick.owner_id)
        return None if vm is None or vm["state"] == S.DELETED else vm["name"]

    return record


def _act(ws):
    def act(tick, name):
        if name is None:
            return
        try:  # wait=False: the provider's work goes on in a thread of the VM service
            getattr(ws.vms, tick.action)(name, actor=ACTOR, check_actor=False, wait=False)
        except Exception as exc:  # noqa: BLE001 - a busy VM: logged, the next tick acts again
            log.warning("jupyter_mlws: the scheduled %s of vm %s failed: %s", tick.action, name, exc)

    return act


class IdleChecks:
    """The idle monitors of a workspace's running VMs, one per VM and JupyterLab server."""

    def __init__(self, ws):
        self.ws = ws
        self._monitors: dict[str, tuple[str, IdleMonitor]] = {}
        self._lock = threading.Lock()

    def check_all(self) -> None:
        """Check every running VM with an idle shutdown (one VM's failure is logged)."""
        with self._lock:
            running = [vm for vm in self.ws.vms.records.list()
                       if vm["state"] == S.RUNNING and vm["idle_shutdown_s"]]
            for gone in set(self._monitors) - {vm["id"] for vm in running}:
                self._monitors.pop(gone)[1].probe.close()
                DECISIONS.pop(gone, None)
            for vm in running:
                try:
                    self.check(vm)
                except Exception as exc:  # noqa: BLE001
                    log.warning("jupyter_mlws: the idle check of vm %s failed: %s", vm["name"], exc)

    def check(self, vm: dict):
        """Check one running VM; stop it when the policy says so.  Returns the Decision."""
        monitor = self._monitor(vm)
        decision = monitor.check()
        postponed = monitor.postponed_until()
        DECISIONS[vm["id"]] = {
            "action": decision.action, "reason": decision.reason,
            "stop_at": int(decision.stop_at.timestamp() * 1000) if decision.stop_at else None,
            "postponed_until": int(postponed.timestamp() * 1000) if postponed else None}
        if decision.action == STOP:
            self._log(vm).say(f"idle shutdown: stopping ({decision.reason})")
            self.ws.vms.stop(vm["name"], actor=ACTOR, check_actor=False, wait=False)
        return decision

    def _monitor(self, vm: dict) -> IdleMonitor:
        from .activity import ActivityProbe

        lab = self.ws.vms.lab
        server = lab.server(vm, vm["owner"]) if lab is not None else None
        url, token = server or (_NOWHERE, None)
        known = self._monitors.get(vm["id"])
        if known is not None and known[0] == url:
            return known[1]
        if known is not None:
            known[1].probe.close()
        vm_id, name = vm["id"], vm["name"]

        def runs():
            count, ended = self.ws.compute.runs_on(name)
            return count, from_ms(ended)

        monitor = IdleMonitor(
            ActivityProbe(url, token), IdlePolicy(timedelta(seconds=vm["idle_shutdown_s"])),
            runs=runs, postponed_until=lambda: self.ws.idle_postpones.until("vm", vm_id),
            on_warn=lambda d: self._log(vm).say(f"idle shutdown: warning: {d.reason}"))
        self._monitors[vm_id] = (url, monitor)
        return monitor

    def _log(self, vm: dict) -> VMLog:
        return VMLog(self.ws.vms.log_folder / f"{vm['id']}.log")


__all__ = ["watchers", "scheduled", "IdleChecks", "DECISIONS", "ACTOR", "WARN", "STOP"]
