"""Idle shutdown: the one definition of idle, and what it leads to (nothing, a warning, a stop).

**A VM is idle** when, for its idle timeout T (``--idle-shutdown 30m``), there was

- no busy kernel (``busy``; or starting or restarting, for at most 5 minutes: jupyter_server
  reports a kernel nobody connected to as ``starting`` for ever);
- no terminal activity (input or output in a JupyterLab terminal);
- no open browser connection: no browser tab connected to a kernel (a tab counts while its
  kernel had activity within :attr:`IdlePolicy.connection_limit`, 12 h by default, so that a tab
  forgotten overnight does not keep a VM up for days), and no signed-in request to the
  Jupyter server (what an open JupyterLab tab keeps sending);
- no mlws run in flight on it (queued or running), nor one that ended within T;
- and no scheduled run due within T: no schedule whose compute target is the VM (``mlws
  schedule create ... --compute VM``, a notebook's or a pipeline's) fires, nor has a retry due,
  within T of the stop.  A fire counts until 5 minutes after its time, while its run is being
  claimed and started; from then on the run counts as a run in flight, and a fire whose run never
  came is forgotten (:meth:`~jupyter_mlws.schedules.service.ScheduleService.next_run_on`).

Where it is read: the VM's Jupyter server's own REST API (:mod:`.activity`), and the workspace
for runs and schedules (given to the check by the composition root, never read from here).  Its clock starts at the server's start, so a VM nobody ever connected
to stops T after it came up.

**An SSH session alone does not keep a VM awake.**  The workspace itself holds SSH connections to
its VMs (the tunnel behind "Open JupyterLab", the bootstrap), so counting SSH sessions would keep
every opened VM up forever, the bug of the tools this replaces.  Work done over SSH keeps the VM
awake when it is an mlws run (``mlws run submit --compute VM``) or typed in a JupyterLab
terminal.

**Decisions** (:meth:`IdlePolicy.decide`, pure, with the time given):

- ``stop`` once idle for T, and after any postponement;
- ``warn`` in the last :attr:`IdlePolicy.warn_before` (10 min) before that stop (at most half
  of T): the owner is notified and may postpone (:mod:`.postpones`, "postpone 1 h");
- ``none`` otherwise.  A run in flight, or a scheduled run due within T of the stop, means no
  stop and no warning, whatever else holds.

**A server that does not answer** is *unknown*, never idle: a tunnel drop or a server restart
must not stop a VM someone is using.  Unknown for :attr:`IdlePolicy.unknown_limit` (1 h by
default) and with no activity seen within T, the VM stops: a Jupyter server that cannot answer
for an hour cannot serve notebooks either, and a machine nobody can reach must not run (and
bill) forever.  Runs in flight still prevent the stop: they are known from the workspace.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from ..cron import UTC, utc
from ..errors import InvalidInput
from .activity import ActivityProbe, Observation

NONE, WARN, STOP = "none", "warn", "stop"
#: the shortest idle timeout accepted
MIN_TIMEOUT = timedelta(minutes=1)
#: how often an :class:`IdleMonitor` is meant to check (seconds): a stop comes at most this late,
#: and a check costs a few milliseconds of CPU (bench/idle_check.py)
CHECK_INTERVAL_S = 60.0

_DURATION = re.compile(r"(\d+)\s*(d|h|m|s)")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str) -> timedelta:
    """``"30m"``, ``"1h30m"``, ``"2h"``, ``"90s"``, ``"1d"`` (or a number: minutes) as a
    timedelta.  Raises InvalidInput for anything else or a zero duration."""
    value = str(text).strip().lower().replace(" ", "")
    if value.isdigit():
        value += "m"
    parts = _DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise InvalidInput(f"a duration is like '30m', '1h30m', '2h', '90s' or '1d', got {text!r}")
    duration = timedelta(**{_UNITS[u]: 0 for u in _UNITS})
    for number, unit in parts:
        duration += timedelta(**{_UNITS[unit]: int(number)})
    if duration <= timedelta(0):
        raise InvalidInput(f"a duration must be longer than zero, got {text!r}")
    return duration


def _at(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class Decision:
    """What to do now.

    ``action``: ``none``, ``warn`` or ``stop``.  ``idle_since``: since when the VM is idle (None
    while in use).  ``reason``: why, for a person (what keeps it awake, or since when and after
    what it is idle).  ``stop_at``: when it stops if nothing changes (None while in use).
    """

    action: str
    idle_since: datetime | None
    reason: str
    stop_at: datetime | None = None


@dataclass(frozen=True)
class IdlePolicy:
    """The idle rule of one VM (see the module's docstring).

    Parameters
    ----------
    timeout : timedelta
        T, at least :data:`MIN_TIMEOUT`.
    warn_before : timedelta
        How long before a stop the warning comes (default 10 min; at most T / 2).
    unknown_limit : timedelta
        How long a silent server stays *unknown* before the VM may stop (default 1 h).
    connection_limit : timedelta
        How long a browser connection to a kernel counts after that kernel's last activity
        (default 12 h).
    stale_after : timedelta
        An observation older than this says nothing about now (default 5 min: several missed
        checks).

    Raises InvalidInput for a timeout under :data:`MIN_TIMEOUT` or a negative limit.
    """

    timeout: timedelta
    warn_before: timedelta = timedelta(minutes=10)
    unknown_limit: timedelta = timedelta(hours=1)
    connection_limit: timedelta = timedelta(hours=12)
    stale_after: timedelta = timedelta(minutes=5)

    def __post_init__(self):
        if not isinstance(self.timeout, timedelta) or self.timeout < MIN_TIMEOUT:
            raise InvalidInput(f"the idle timeout must be at least {MIN_TIMEOUT}, e.g. '30m'; "
                               f"got {self.timeout!r}")
        for name in ("warn_before", "unknown_limit", "connection_limit", "stale_after"):
            if getattr(self, name) < timedelta(0):
                raise InvalidInput(f"the idle policy's {name} cannot be negative")

    @classmethod
    def from_text(cls, timeout: str, **limits) -> "IdlePolicy":
        """The policy for ``--idle-shutdown TEXT`` (``"30m"``, ``"2h"``...)."""
        return cls(parse_duration(timeout), **limits)

    def decide(self, now: datetime, observations: Sequence[Observation], runs_in_flight: int = 0,
               next_scheduled_run: datetime | None = None, postponed_until: datetime | None = None,
               *, last_run_ended: datetime | None = None) -> Decision:
        """What to do at ``now``.

        Parameters
        ----------
        now : datetime
            Aware.
        observations : sequence of Observation
            The server's recent observations, oldest first; the newest reachable one and the
            unreachable ones after it are what counts (an :class:`IdleMonitor` keeps those).
        runs_in_flight : int
            mlws runs queued or running on the VM.
        next_scheduled_run : datetime, optional
            When the next scheduled run on the VM is due.
        postponed_until : datetime, optional
            No stop before this (the owner's postponement).
        last_run_ended : datetime, optional
            When the last mlws run on the VM ended.

        Raises InvalidInput for a naive datetime.
        """
        now = utc(now)
        if runs_in_flight > 0:
            return Decision(NONE, None, f"{runs_in_flight} mlws run(s) in flight on it: it never "
                                        "stops while a run is in flight")
        known = [o for o in observations if o.reachable]
        newest_known = known[-1] if known else None
        fresh = (newest_known is not None and newest_known is observations[-1]
                 and now - newest_known.at <= self.stale_after)
        if fresh:
            busy = newest_known.active_now(self.connection_limit)
            if busy:
                return Decision(NONE, None, f"in use: {busy}")
        last, what = newest_known.last_active() if newest_known else (None, "")
        if last_run_ended is not None and (last is None or utc(last_run_ended) > last):
            last, what = utc(last_run_ended), "the last mlws run on it ended"
        if fresh:
            stop_at, since, why = last + self.timeout, last, f"last activity: {what} at {_at(last)}"
        else:
            stop_at, since, why = self._unknown(now, observations, newest_known, last, what)
        if postponed_until is not None and utc(postponed_until) > stop_at:
            stop_at = utc(postponed_until)
            why += f"; the stop is postponed until {_at(stop_at)}"
        return self._act(now, since, stop_at, why, next_scheduled_run)

    def _unknown(self, now, observations, newest_known, last, what):
        """(stop_at, idle_since, why) while the server's state is unknown."""
        after = [o for o in observations if newest_known is None or o.at > newest_known.at]
        if after:
            since = after[0].at
            error = after[-1].error or "no answer"
        elif newest_known is not None:  # the newest observation is too old to say anything
            since = newest_known.at + self.stale_after
            error = "no recent observation"
        else:
            since, error = now, "not observed yet"
        stop_at = since + self.unknown_limit
        if last is not None:
            stop_at = max(stop_at, last + self.timeout)
        why = f"the Jupyter server's state is unknown since {_at(since)} ({error})"
        if last is not None:
            why += f"; last activity seen: {what} at {_at(last)}"
        return stop_at, last or since, why

    def _act(self, now, since, stop_at, why, next_scheduled_run) -> Decision:
        if next_scheduled_run is not None:
            due = utc(next_scheduled_run)
            if due - max(now, stop_at) <= self.timeout:
                return Decision(NONE, since, f"a scheduled run is due at {_at(due)}, within the "
                                             f"idle timeout of the stop; {why}")
        if now >= stop_at:
            return Decision(STOP, since, f"idle since {_at(since)}: stopping ({why})", stop_at)
        if stop_at - now <= min(self.warn_before, self.timeout / 2):
            return Decision(WARN, since, f"idle since {_at(since)}: it stops at {_at(stop_at)} "
                                         f"unless used or postponed ({why})", stop_at)
        return Decision(NONE, since, f"idle since {_at(since)}; it stops at {_at(stop_at)} ({why})",
                        stop_at)


class IdleMonitor:
    """Checks one VM: observes its server, asks the workspace, decides, warns once.

    Parameters
    ----------
    probe : ActivityProbe
        Reads the VM's Jupyter server.
    policy : IdlePolicy
        The VM's idle rule.
    runs : callable, optional
        Returns ``(runs in flight, when the last run ended or None)`` for the VM.
    next_scheduled_run, postponed_until : callable, optional
        Return the next scheduled run's due time, and the postponement (aware or None).
    on_warn : callable, optional
        Called with the Decision once per coming stop (a new ``stop_at`` warns again).
    clock : callable, optional
        The current time, aware (default: the probe's clock).

    Call :meth:`check` every :data:`CHECK_INTERVAL_S` seconds.  It keeps only what the policy
    needs: the newest reachable observation and the unreachable ones after it (the first and
    the newest).  Its memory is not persisted: after a restart the server's own times say how
    long it has been idle, and an unknown period starts again (a later stop, never a wrong one).
    """

    def __init__(self, probe: ActivityProbe, policy: IdlePolicy, *,
                 runs: Callable[[], tuple[int, datetime | None]] = lambda: (0, None),
                 next_scheduled_run: Callable[[], datetime | None] = lambda: None,
                 postponed_until: Callable[[], datetime | None] = lambda: None,
                 on_warn: Callable[[Decision], None] | None = None,
                 clock: Callable[[], datetime] | None = None):
        self.probe = probe
        self.policy = policy
        self.runs = runs
        self.next_scheduled_run = next_scheduled_run
        self.postponed_until = postponed_until
        self.on_warn = on_warn
        self.clock = clock or probe.clock
        self.history: list[Observation] = []
        self._warned: datetime | None = None

    def check(self) -> Decision:
        """Observe, decide and warn if due; returns the Decision (the caller stops on ``stop``)."""
        now = utc(self.clock())
        self.remember(self.probe.observe(now))
        in_flight, last_end = self.runs()
        decision = self.policy.decide(now, self.history, in_flight, self.next_scheduled_run(),
                                      self.postponed_until(), last_run_ended=last_end)
        if decision.action == WARN and decision.stop_at != self._warned:
            self._warned = decision.stop_at
            if self.on_warn is not None:
                self.on_warn(decision)
        return decision

    def remember(self, observation: Observation) -> None:
        """Add an observation, keeping the newest reachable one and the silence after it."""
        if observation.reachable:
            self.history = [observation]
            return
        tail = [o for o in self.history if not o.reachable]
        known = [o for o in self.history if o.reachable]
        self.history = known + ([tail[0]] if tail else []) + [observation]
