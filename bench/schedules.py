"""Schedules: from a tick to its run started, and what the scheduler costs while idle.

* **Tick to run started**: a ``* * * * *`` schedule of a lean notebook, watched by the scheduler
  host (:class:`jupyter_mlws.scheduler.Scheduler`, the one ``mlws scheduler`` and the Jupyter
  server extension run) in this process.  Its clock is the system's shifted by an offset the
  benchmark moves before each sample, so that a minute boundary comes 1.5 s later (a sample
  every few seconds, not every minute); every instant below is put back on the real clock.  Per
  tick: when its run was recorded (the claim's transaction), handed over to execute (its
  snapshot copied, submitted) and started (its executor marked it running), each after the
  nominal fire time.  Reference, same run: ``ws.submit_notebook`` of the same notebook, from the
  call to started (what a submission costs without a schedule).  Target: started <= 2 s after
  the nominal time.
* **Idle cost**: a real ``mlws scheduler`` process (its default 30 s interval) over a workspace
  with ``--schedules`` (1,000) schedules none of which is due during the measurement; its CPU
  (user + system of the process, as ``idle_check.py`` counts a server's) per wall second over
  ``--seconds`` once its first pass is done, against the same process over a workspace with no
  schedule (the host's own cost) and a bare ``python`` sleeping.  Target: under 1 % of a core.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

sys.path.insert(0, str(C.ROOT / "tests"))
UTC = timezone.utc
STARTED_TARGET_S = 2.0
IDLE_TARGET_SHARE = 0.01
LEAD_S = 1.5
PROVIDER = "jupyter_mlws.schedules.watch:watchers"


def _started(ws, run_id: str, timeout: float = 60.0) -> int:
    """The run's start time (ms) once its executor marked it running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = ws.runs.get(run_id)
        if record.status != "queued":
            return record.start_time
        time.sleep(0.01)
    raise RuntimeError(f"run {run_id} did not start within {timeout:g} s")


def latency(samples: int) -> dict:
    from jupyter_mlws.scheduler import Scheduler
    from jupyter_mlws.ticks import to_ms
    from schedule_support import links, notebook

    ws = C.open_workspace(C.tmpdir("schedules-latency"))
    lean = notebook(ws.root / "lean.ipynb", body="print(x)")
    ws.schedules.create("lat", notebook=str(lean), cron="* * * * *", tz="UTC")
    offset = {"s": 0.0}

    def clock() -> datetime:
        return datetime.now(UTC) + timedelta(seconds=offset["s"])

    host = Scheduler(ws, providers=[PROVIDER], interval=0.5, clock=clock)
    host.start()
    rows, refs = [], []
    try:
        for _ in range(samples):
            now = clock()
            boundary = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
            if boundary - now <= timedelta(seconds=LEAD_S + 0.5):  # too close: let it tick
                time.sleep((boundary - now).total_seconds() + 1.0)
                now = clock()
                boundary = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
            # jump the clock forward to LEAD_S before the next minute (no boundary crossed)
            offset["s"] += (boundary - now).total_seconds() - LEAD_S
            real = to_ms(boundary) - int(offset["s"] * 1000)  # the tick on the real clock
            found = None
            deadline = time.monotonic() + 60
            while found is None and time.monotonic() < deadline:
                found = next((x for x in links(ws, "lat") if x["nominal_at"] == to_ms(boundary)
                              and x["started_at"] is not None), None)
                time.sleep(0.01)
            if found is None:
                raise RuntimeError(f"no run of the tick at {boundary}")
            started = _started(ws, found["run_id"])
            rows.append({"recorded": (found["created_at"] - real) / 1e3,
                         "handed_over": (found["started_at"] - real) / 1e3,
                         "started": (started - real) / 1e3})
            ws.wait(found["run_id"], timeout=120)
            t0 = time.time()
            run = ws.submit_notebook(lean)
            refs.append((_started(ws, run.id) - t0 * 1000) / 1e3)
            ws.wait(run.id, timeout=120)
    finally:
        host.stop()
        ws.close()
    return {"rows": rows, "refs": refs}


def _cpu(proc) -> float:
    times = proc.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def idle_share(argv: list[str], seconds: float, warmup: float, env: dict) -> float:
    """CPU seconds per wall second of the process ``argv`` over ``seconds``, after ``warmup``."""
    import psutil

    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    try:
        time.sleep(warmup)
        ps = psutil.Process(proc.pid)
        c0, w0 = _cpu(ps), time.perf_counter()
        time.sleep(seconds)
        return (_cpu(ps) - c0) / (time.perf_counter() - w0)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)


def idle_workspaces(count: int) -> tuple[Path, Path]:
    """Two workspaces: one with ``count`` schedules none due within the hour, one with none."""
    from jupyter_mlws.store import schema as S
    from schedule_support import notebook

    tmp = C.tmpdir("schedules-idle")
    empty = C.open_workspace(tmp / "empty")
    empty.close()
    ws = C.open_workspace(tmp / "full")
    lean = notebook(ws.root / "lean.ipynb", body="print(x)")
    made = ws.schedules.create("s0", notebook=str(lean), cron="0 0 1 1 *", tz="UTC")
    row = ws.schedules.records.get("s0")
    day = 14 if datetime.now(UTC).day == 28 else 28  # never today: nothing falls due
    rows = [{**{k: v for k, v in row.items() if k != "pk"}, "id": f"{i:016x}", "name": f"s{i}",
             "cron": f"{i % 60} {(i // 60) % 24} {day} * *",
             "tz": ("UTC", "Europe/Berlin", "America/New_York")[i % 3]}
            for i in range(1, count)]
    from jupyter_mlws.schedules.records import encode

    ws.db.transact(lambda conn: conn.execute(S.schedules.insert(), [encode(r) for r in rows]))
    assert len(ws.schedules.records.list()) == count and made["name"] == "s0"
    ws.close()
    return tmp / "full" / "ws", tmp / "empty" / "ws"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=8, help="ticks timed")
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=120.0, help="idle measurement, each")
    parser.add_argument("--warmup", type=float, default=20.0)
    args = parser.parse_args()
    print(f"load average at start: {C.LOAD_AT_START}", flush=True)
    timed = latency(args.samples)
    full, empty = idle_workspaces(args.schedules)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLWS_")}
    mlws = [sys.executable, "-m", "jupyter_mlws.cli"]
    shares = {
        f"mlws scheduler, {args.schedules} schedules": idle_share(
            [*mlws, "-w", str(full), "scheduler"], args.seconds, args.warmup, env),
        "mlws scheduler, no schedule": idle_share(
            [*mlws, "-w", str(empty), "scheduler"], args.seconds, args.warmup, env),
        "python sleeping": idle_share(
            [sys.executable, "-c", "import time; time.sleep(3600)"], args.seconds, 1.0, env),
    }
    rows = timed["rows"]

    def stat(key):
        xs = [r[key] for r in rows]
        return C.median(xs), max(xs)

    lines = [[what, f"{stat(key)[0]:.3f} s", f"{stat(key)[1]:.3f} s"] for what, key in (
        ("recorded (claim + run in one transaction)", "recorded"),
        ("handed over (snapshot copied, submitted)", "handed_over"),
        ("started (its executor marked it running)", "started"))]
    lines.append(["reference: ws.submit_notebook, call to started", f"{C.median(timed['refs']):.3f} s",
                  f"{max(timed['refs']):.3f} s"])
    worst = stat("started")[1]
    share = shares[f"mlws scheduler, {args.schedules} schedules"]
    body = (f"Tick to run started: {len(rows)} ticks of a `* * * * *` schedule (a lean notebook), "
            f"each after its nominal fire time; the reference alternates with them.\n\n"
            f"{C.table(['', 'median', 'worst'], lines)}\n\n"
            f"Started at most {worst:.2f} s after the tick (target <= {STARTED_TARGET_S:g} s): "
            f"{C.verdict(worst <= STARTED_TARGET_S)}\n\n"
            f"Idle cost: CPU per wall second of each process over {args.seconds:g} s (after "
            f"{args.warmup:g} s for its first pass).\n\n"
            + C.table(["process", "share of a core"],
                      [[k, f"{v * 100:.3f} %"] for k, v in shares.items()])
            + f"\n\nWith {args.schedules} schedules: **{share * 100:.3f} % of a core** (target under "
            f"{IDLE_TARGET_SHARE * 100:.0f} %): {C.verdict(share < IDLE_TARGET_SHARE)}\n")
    C.write_section("schedules", "schedules: tick to run started, and the idle scheduler's CPU",
                    body, {"latency": timed, "idle": shares, "schedules": args.schedules})


if __name__ == "__main__":
    main()
