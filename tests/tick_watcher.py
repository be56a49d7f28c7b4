"""A watcher process for the exactly-once test: ``python tick_watcher.py ROOT NAME START STEPS
STEP_S GO_AT``.

It opens the workspace at ROOT (SQLite, or the PostgreSQL database its config names), waits until
the wall clock reaches GO_AT (epoch seconds, so that all watchers start together), then runs one
ticker pass at each virtual instant START + k * STEP_S (k < STEPS).  Each claimed tick is recorded
in ``test_tick_actions`` inside the claim's transaction.  Prints how many ticks it claimed.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Column, MetaData, Table, Text

from jupyter_mlws import Workspace
from jupyter_mlws.cron import parse
from jupyter_mlws.ticker import Handler, Ticker, Watched
from jupyter_mlws.ticks import TickClaims, to_ms

actions = Table("test_tick_actions", MetaData(), Column("owner_id", Text), Column("action", Text),
                Column("nominal_at", BigInteger), Column("worker", Text))

#: owner id -> schedule text (Europe/Berlin): both run through the spring-forward jump
SCHEDULES = {"a": "start */2 * * * *; stop 1-59/2 * * * *",
             "b": "start 30 2 * * *; stop 7-59/10 * * * *"}
TZ = "Europe/Berlin"


def owners(start: datetime) -> list[Watched]:
    return [Watched(owner, parse(text, TZ, {"start", "stop"}), since=start)
            for owner, text in SCHEDULES.items()]


def main(root, name, start, steps, step_s, go_at) -> None:
    ws = Workspace.open(root)
    start = datetime.fromisoformat(start)
    listed = owners(start)

    def record(conn, tick):
        conn.execute(actions.insert().values(owner_id=tick.owner_id, action=tick.action,
                                             nominal_at=to_ms(tick.nominal), worker=name))

    ticker = Ticker(TickClaims(ws.db, worker=name), interval=float(step_s))
    ticker.watch("vm", lambda: listed, Handler(record))
    time.sleep(max(0.0, float(go_at) - time.time()))
    claimed = 0
    for k in range(int(steps)):
        claimed += len(ticker.tick(start + timedelta(seconds=k * float(step_s))))
        time.sleep(random.random() * 0.002)  # interleave with the other watchers
    print(claimed)
    ws.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
