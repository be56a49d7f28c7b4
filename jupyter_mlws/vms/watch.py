"""What the scheduler host (:mod:`jupyter_mlws.scheduler`) does for notebook VMs.

**Start/stop schedules.**  Every VM with a schedule (``"start 0 8 * * 1-5; stop 0 19 * * 1-5"``
in its time zone) is watched as owner kind ``vm`` (owner id: the VM's id) with catch-up
``latest``: after downtime, the newest missed action is the state asked for now.  Each tick is
claimed once, whichever host claims it (:mod:`jupyter_mlws.ticks`); the claiming host then
starts a stopped VM (``ws.vms.start``) or stops a running one (``ws.vms.stop``, the reason naming
the schedule), in a thread of the VM service.  A VM with a run in flight (queued or running on
it as a compute target) is never stopped: the tick is logged and the idle check stops it later.

**Idle shutdown.**  Every :data:`~.idle.CHECK_INTERVAL_S` seconds, each running VM with
``idle_shutdown`` gets an :class:`~.idle.IdleMonitor` check: its Jupyter server read through
the VM's connection details (:func:`jupyter_of`; a VM without them is *unknown*, never idle),
its runs and the scheduled runs due on it (schedules whose compute target it is) from the
workspace, the owner's postponement.  ``stop`` stops it with the reason in its
events ("stopped: idle for 30 min (...)"); every decision is kept for ``GET vms/{name}`` and the
``vm-idle-warning`` live event (:mod:`.idle_states`).  Two hosts checking the same VM stop it
once: the second finds it stopping.

**Steps nobody does any more.**  Every :data:`REAP_INTERVAL_S` seconds, the VMs left in a busy
state by a process that died (``kill -9`` mid-create, a crash, a reboot) are ended as a failure
of that step would have ended them (:meth:`jupyter_mlws.vms.service.VMService.reap`, with the
busy leases of :mod:`.leases`): failed or orphaned, the reason naming the step interrupted.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import select

from ..cron import UTC, parse
from ..errors import Conflict, InvalidInput
from ..scheduler import Watchers
from ..store import schema as SCHEMA
from ..ticker import Handler, Watched
from ..ticks import LATEST, ClaimedTick, from_ms
from . import states as S
from .activity import ActivityProbe, Observation
from .idle import CHECK_INTERVAL_S, STOP, IdleMonitor, IdlePolicy
from .idle_states import KIND
from .leases import BEAT_S

log = logging.getLogger(__name__)

#: who the scheduler's actions are recorded as
ACTOR = "mlws-scheduler"
ACTIONS = frozenset({"start", "stop"})
#: how often the abandoned busy steps are looked for, seconds
REAP_INTERVAL_S = 3 * BEAT_S


def jupyter_of(vm: dict) -> tuple[str, str | None] | None:
    """The VM's Jupyter server as ``(url, token)``, or None when its record holds no connection
    details (the one place that reads them)."""
    details = vm.get("jupyter")
    if isinstance(details, dict) and details.get("url"):
        return details["url"], details.get("token")
    return None


class _Silent:
    """The probe of a VM whose Jupyter server cannot be reached: every observation unknown."""

    def __init__(self, why: str, clock: Callable[[], datetime]):
        self.why, self.clock = why, clock

    def observe(self, now: datetime | None = None) -> Observation:
        return Observation(now or self.clock(), False, error=self.why)

    def close(self) -> None:
        pass


def _minutes(seconds: int) -> str:
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


class VMWatch:
    """The VM watchers of one workspace (see the module's text).

    Parameters
    ----------
    ws : Workspace
    clock : callable, optional
        The idle check's clock (aware); tests pass a controllable one.
    jupyter : callable, optional
        ``jupyter(vm) -> (url, token) | None`` (default :meth:`lab_server`).
    scheduled_runs : callable, optional
        ``scheduled_runs(vm name, now) -> datetime | None``: when a scheduled run is next due on
        the VM (default: the workspace's ``next_scheduled_run_on``, which reads its schedules).
    """

    def __init__(self, ws, *, clock: Callable[[], datetime] | None = None,
                 jupyter: Callable[[dict], tuple[str, str | None] | None] | None = None,
                 scheduled_runs: Callable[[str, datetime], datetime | None] | None = None):
        self.ws = ws
        self.clock = clock or (lambda: datetime.now(UTC))
        self.jupyter = jupyter or self.lab_server
        self.scheduled_runs = scheduled_runs or ws.next_scheduled_run_on
        #: VM id -> (what the monitor was built from, the monitor)
        self.monitors: dict[str, tuple[tuple, IdleMonitor]] = {}

    def lab_server(self, vm: dict) -> tuple[str, str | None] | None:
        """The JupyterLab the VM's keeper reaches (:meth:`jupyter_mlws.vms.lab.Lab.server`), else
        the connection details its record holds (:func:`jupyter_of`)."""
        lab = self.ws.vms.lab
        return (lab.server(vm, vm["owner"]) if lab is not None else None) or jupyter_of(vm)

    def watchers(self) -> Watchers:
        return Watchers(ticks=[("vm", self.scheduled, Handler(self.record, self.act))],
                        periodic=[(CHECK_INTERVAL_S, self.check_idle),
                                  (REAP_INTERVAL_S, self.reap)])

    def reap(self) -> None:
        """End the busy steps nobody does any more (their process died); each is logged."""
        for vm in self.ws.vms.reap(actor=ACTOR):
            log.warning("vm %r is %s: %s", vm["name"], vm["state"], vm["reason"].splitlines()[0])

    # -- start/stop schedules ---------------------------------------------------------------------

    def scheduled(self) -> list[Watched]:
        """Every VM with a schedule (one query); a schedule that no longer parses is logged."""
        found = []
        for vm in self.ws.vms.records.list():
            if not vm["schedule"]:
                continue
            try:
                schedule = parse(vm["schedule"], vm["schedule_tz"] or "UTC", ACTIONS)
            except InvalidInput as exc:
                log.error("vm %r: its schedule is not acted on: %s", vm["name"], exc)
                continue
            found.append(Watched(vm["id"], schedule, since=from_ms(vm["created_at"]),
                                 catch_up=LATEST))
        return found

    def record(self, conn, tick: ClaimedTick) -> dict | None:
        """The VM as the claim's transaction reads it (None: deleted meanwhile)."""
        V = SCHEMA.vms
        row = conn.execute(select(V.c.name, V.c.state).where(V.c.id == tick.owner_id)).first()
        return None if row is None else {"name": row.name, "state": row.state}

    def act(self, tick: ClaimedTick, vm: dict | None) -> None:
        """Start or stop the VM as the claimed tick says (in the VM service's thread)."""
        if vm is None or vm["state"] == S.DELETED:
            return
        name, when = vm["name"], tick.nominal.strftime("%Y-%m-%d %H:%M UTC")
        if tick.action == "start" and vm["state"] in (S.STOPPED, S.FAILED):
            log.info("vm %r: starting (its schedule, %s)", name, when)
            self.ws.vms.start(name, actor=ACTOR, check_actor=False, wait=False)
        elif tick.action == "stop" and vm["state"] == S.RUNNING:
            in_flight, _ended = self.ws.compute.runs_on(name)
            if in_flight:
                log.warning("vm %r: not stopped by its schedule (%s): %d run(s) in flight on it",
                            name, when, in_flight)
                return
            log.info("vm %r: stopping (its schedule, %s)", name, when)
            self.ws.vms.stop(name, actor=ACTOR, check_actor=False, wait=False,
                             reason=f"stopped by its schedule (the stop due at {when})")

    # -- idle shutdown ------------------------------------------------------------------------------

    def check_idle(self) -> None:
        """Check every running VM with idle shutdown once; one VM's failure is logged."""
        checked = set()
        for vm in self.ws.vms.records.list():
            if vm["state"] != S.RUNNING or not vm["idle_shutdown_s"]:
                continue
            checked.add(vm["id"])
            try:
                self._check(vm)
            except Exception:
                log.exception("vm %r: the idle check failed", vm["name"])
        for vm_id in set(self.monitors) - checked:
            self.monitors.pop(vm_id)[1].probe.close()
            self.ws.vm_idle.forget(vm_id)

    def _check(self, vm: dict) -> None:
        decision = self._monitor(vm).check()
        self.ws.vm_idle.record(vm, decision)
        if decision.action != STOP:
            return
        log.info("vm %r: stopping, idle (%s)", vm["name"], decision.reason)
        try:
            self.ws.vms.stop(vm["name"], actor=ACTOR, check_actor=False, wait=False,
                             reason=f"stopped: idle for {_minutes(vm['idle_shutdown_s'])} "
                                    f"({decision.reason})")
        except Conflict:
            return  # another host is stopping it, or it changed state meanwhile
        self.ws.idle_postpones.clear(KIND, vm["id"])

    def _monitor(self, vm: dict) -> IdleMonitor:
        where = self.jupyter(vm)
        ident = (vm["idle_shutdown_s"], where)
        known = self.monitors.get(vm["id"])
        if known is not None and known[0] == ident:
            return known[1]
        if known is not None:
            known[1].probe.close()
        if where is None:
            probe = _Silent("no Jupyter connection details are recorded for this vm", self.clock)
        else:
            probe = ActivityProbe(where[0], where[1], clock=self.clock)
        name, vm_id = vm["name"], vm["id"]

        def runs():
            in_flight, ended = self.ws.compute.runs_on(name)
            return in_flight, from_ms(ended)

        monitor = IdleMonitor(probe, IdlePolicy(timedelta(seconds=vm["idle_shutdown_s"])),
                              runs=runs, postponed_until=lambda: self.ws.idle_postpones.until(
                                  KIND, vm_id, self.clock()),
                              next_scheduled_run=lambda: self.scheduled_runs(name, self.clock()),
                              on_warn=lambda d: log.info("vm %r: %s", name, d.reason),
                              clock=self.clock)
        self.monitors[vm_id] = (ident, monitor)
        return monitor


def watchers(ws) -> Watchers:
    """The scheduler provider for notebook VMs: their start/stop ticks, the idle check (of the
    JupyterLab each VM's keeper reaches: :meth:`VMWatch.lab_server`) and the reaper of busy
    steps whose process died."""
    return VMWatch(ws).watchers()

