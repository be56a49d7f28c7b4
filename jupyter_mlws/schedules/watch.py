"""What the scheduler host (:mod:`jupyter_mlws.scheduler`) does for schedules.

**Ticks.**  Every schedule not paused is watched as owner kind ``schedule`` (owner id: the
schedule's id) with its own catch-up policy.  Each tick is claimed once, whichever host claims
it, in the transaction that records its run (:meth:`.runner.ScheduleRunner.record`); the
claiming host then starts the run on a small pool of its own.

**Ends.**  Every :data:`SETTLE_EVERY_S` seconds each host looks at the scheduled runs that ended:
each is handled once (a retry linked, or the end final), due retries start, and every final end
goes to :func:`jupyter_mlws.schedules.notify.notify_run_finished` (webhooks and the owner's
JupyterLab notification) when that module is installed.
"""

from __future__ import annotations

import logging

from ..scheduler import Watchers
from ..ticker import Handler
from .service import KIND, run_view

log = logging.getLogger(__name__)

#: seconds between two looks at the scheduled runs that ended
SETTLE_EVERY_S = 5.0


def notify(ws, schedule: dict, run: dict) -> None:
    """Hand a run's final end to the notifications (skipped when they are not installed)."""
    try:
        from .notify import notify_run_finished
    except ImportError:
        log.debug("schedule %r: run %s ended %s (no notifications installed)", schedule["name"],
                  run["id"], run["status"])
        return
    try:
        notify_run_finished(ws, schedule, run)
    except Exception:  # it never raises, by its contract: a bug there must not stop the host
        log.exception("schedule %r: notifying the end of run %s failed", schedule["name"],
                      run["id"])


def watchers(ws) -> Watchers:
    """The scheduler provider for schedules: their ticks, and the check of their runs' ends."""
    schedules = ws.schedules
    runner = schedules.runner

    def settle() -> None:
        for row, link in runner.settle():
            notify(ws, schedules.notified(row), run_view(link, row["tz"]))

    return Watchers(ticks=[(KIND, runner.watched, Handler(runner.record, runner.act))],
                    periodic=[(SETTLE_EVERY_S, settle)], joins=[runner.join])
