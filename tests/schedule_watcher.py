"""A scheduler process for the schedules' exactly-once test: ``python schedule_watcher.py ROOT
NAME CLOCK STOP``.

It opens the workspace at ROOT (SQLite, or the PostgreSQL database its config names) and, until the
file STOP exists, runs ticker passes at the virtual time (epoch milliseconds) the file CLOCK holds:
one as soon as it changes, and one every 0.1 s besides.  Each due tick goes through the schedules'
own claim and record (:meth:`jupyter_mlws.schedules.runner.ScheduleRunner.record`: the run created
in the claim's transaction); nothing is started.  Prints how many ticks it claimed.
"""

from __future__ import annotations

import os
import sys
import time

from jupyter_mlws import Workspace
from jupyter_mlws.ticker import Handler, Ticker
from jupyter_mlws.ticks import TickClaims, from_ms


def read(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def main(root: str, name: str, clock: str, stop: str) -> None:
    ws = Workspace.open(root)
    runner = ws.schedules.runner
    ticker = Ticker(TickClaims(ws.db, worker=name), interval=60)
    ticker.watch("schedule", runner.watched, Handler(runner.record))
    claimed, last, passed = 0, None, 0.0
    while not os.path.exists(stop):
        now = read(clock)
        if now is not None and (now != last or time.monotonic() - passed > 0.1):
            claimed += len(ticker.tick(from_ms(now)))
            last, passed = now, time.monotonic()
        time.sleep(0.002)
    print(claimed, flush=True)
    ws.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
