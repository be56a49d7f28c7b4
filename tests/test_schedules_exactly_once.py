"""Exactly once: three scheduler processes on one workspace (SQLite, then PostgreSQL), one virtual
clock moved through 1,000 minutes, a random one of them killed (SIGKILL) and started again every
50 ticks: every tick of both schedules has exactly one run, none twice, none missed.

The processes (tests/schedule_watcher.py) run the schedules' own claim and record, the run created
in the claim's transaction; they start no run (what a run does is tested elsewhere)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mlws_testing import wait_for
from schedule_support import T0, backdate, links, notebook

TICKS = 1000
SCRIPT = Path(__file__).with_name("schedule_watcher.py")
#: name, cron, zone: every minute, and every 7 minutes on Berlin's wall clock
SCHEDULES = [("every", "* * * * *", "UTC"), ("seventh", "*/7 * * * *", "Europe/Berlin")]


def _set_clock(path: Path, at) -> None:
    from jupyter_mlws.ticks import to_ms

    tmp = path.with_suffix(".tmp")
    tmp.write_text(str(to_ms(at)))
    os.replace(tmp, path)  # a reader sees the old time or the new one, never half of it


@pytest.mark.timeout(300)
def test_three_schedulers_killed_at_random_record_every_tick_once(any_ws, tmp_path):
    from jupyter_mlws.cron import Cron
    from jupyter_mlws.store import schema as S
    from jupyter_mlws.ticks import to_ms

    ws = any_ws
    notebook(tmp_path / "nb.ipynb")
    for name, cron, tz in SCHEDULES:
        ws.schedules.create(name, notebook="nb.ipynb", cron=cron, tz=tz, catch_up="all:1000")
        backdate(ws, name, T0)
    clock, stop = tmp_path / "clock", tmp_path / "stop"
    _set_clock(clock, T0)

    def start(i: int, generation: int) -> subprocess.Popen:
        name = f"w{i}.{generation}"
        with open(tmp_path / f"{name}.log", "w") as log:  # a full pipe would block the process
            return subprocess.Popen([sys.executable, str(SCRIPT), str(ws.root), name, str(clock),
                                     str(stop)], stdout=subprocess.PIPE, stderr=log, text=True)

    procs = [start(i, 0) for i in range(3)]
    rng, killed = random.Random(13), []
    try:
        for k in range(1, TICKS + 1):
            _set_clock(clock, T0 + timedelta(minutes=k))
            time.sleep(0.02)
            if k % 50 == 0:
                victim = rng.randrange(3)
                procs[victim].kill()
                procs[victim].communicate(timeout=30)
                killed.append(victim)
                procs[victim] = start(victim, k)
        end = T0 + timedelta(minutes=TICKS)
        expected = {(name, to_ms(at)) for name, cron, tz in SCHEDULES
                    for at in Cron(cron, tz).between(T0, end)}
        wait_for(lambda: len(links(ws)) >= len(expected), "every tick recorded", timeout=90)
        time.sleep(0.5)  # a duplicate, were there one, would be recorded by now too
    finally:
        stop.touch()
        outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [
        log.read_text()[-3000:] for log in tmp_path.glob("w*.log")]
    assert len(killed) == TICKS // 50
    got = [(link["name"], link["nominal_at"]) for link in links(ws)]
    assert len(got) == len(set(got)), "a tick recorded twice"
    assert set(got) == expected, f"missed: {sorted(expected - set(got))[:5]}"
    assert len(expected) == TICKS + len([e for e in expected if e[0] == "seventh"]) > TICKS
    with ws.db.read() as conn:
        runs = conn.execute(select(func.count()).select_from(S.runs)).scalar()
        claims = conn.execute(select(func.count()).select_from(S.tick_claims)).scalar()
    assert runs == claims == len(expected)  # one run per claim, created in its transaction
    print(f"{len(expected)} ticks, {len(killed)} kills, claimed by the survivors:",
          [out.strip() for out, _err in outputs])
