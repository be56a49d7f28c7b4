"""A real Jupyter server (``mlws server``: the extension's scheduler) and a standalone ``mlws
scheduler`` watch one workspace for two real minutes of a ``*/1`` schedule; both watch the first
tick, the standalone one is stopped after it, so the server's scheduler alone runs the second.
Exactly two runs, one per minute, each a completed notebook run (the many-schedulers rule under
kill -9 is tests/test_schedules_exactly_once.py's, with a controllable clock)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from jupyter_mlws.store import schema as S
from mlws_testing import start_jupyter, stop_jupyter, wait_for
from schedule_support import links, notebook

UTC = timezone.utc
MLWS = str(Path(sys.executable).parent / "mlws")


@pytest.mark.timeout(480)
def test_a_server_and_a_standalone_scheduler_run_each_minute_once(tmp_path, monkeypatch):
    from jupyter_mlws import Workspace
    from jupyter_mlws.ticks import from_ms

    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    ws = Workspace.create(tmp_path / "ws")
    notebook(ws.root / "lean.ipynb", body="print(x)")
    made = ws.schedules.create("minutely", notebook=str(ws.root / "lean.ipynb"), cron="*/1 * * * *",
                               tz="UTC")
    created = from_ms(made["created"])
    first = (created + timedelta(minutes=1)).replace(second=0, microsecond=0)
    ticks = [first + timedelta(minutes=k) for k in range(2)]

    def server():
        return start_jupyter(tmp_path / "srv", lambda port, token: [
            MLWS, "-w", str(ws.root), "server", "--port", str(port),
            f"--IdentityProvider.token={token}"], cwd=tmp_path)

    log = open(tmp_path / "scheduler.log", "ab")

    def standalone():
        return subprocess.Popen([MLWS, "-w", str(ws.root), "scheduler", "--interval", "10"],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(proc) -> int:
        proc.send_signal(signal.SIGTERM)
        return proc.wait(60)

    scheduler, jupyter, codes = standalone(), server(), []
    try:
        wait_for(lambda: len(links(ws)) >= 1, "the first tick's run", timeout=150)
        codes.append(stop(scheduler))  # stopped: the server alone runs the second tick
        scheduler = None
        wait_for(lambda: len(links(ws)) >= 2, "the second tick's run", timeout=90)
        wait_for(lambda: datetime.now(UTC) > ticks[-1] + timedelta(seconds=15),
                 "no third run before the third minute", timeout=60)
    finally:
        if scheduler is not None:
            codes.append(stop(scheduler))
        server_pid = jupyter.proc.pid
        stop_jupyter(jupyter)
        log.close()
    assert codes == [0], (tmp_path / "scheduler.log").read_text()[-3000:]
    got = links(ws)
    assert [from_ms(link["nominal_at"]) for link in got] == ticks, got
    for link in got:
        run = ws.wait(link["run_id"], timeout=120)
        assert run.status == "completed", run.record.error
        assert run.tags["mlws.schedule.nominal"] == link_time(link)
    with ws.db.read() as conn:
        claimers = [r.claimed_by for r in conn.execute(
            select(S.tick_claims.c.claimed_by).order_by(S.tick_claims.c.nominal_at))]
    assert claimers[1].endswith(f":{server_pid}"), claimers  # the server's scheduler ran it
    print("ticks claimed by", claimers, "(the server:", server_pid, ")")
    ws.close()


def link_time(link: dict) -> str:
    from jupyter_mlws.ticks import from_ms

    return from_ms(link["nominal_at"]).isoformat(timespec="seconds")
