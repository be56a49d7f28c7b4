"""Workload 1: many ``run.log`` calls in one run, end to end, and the cost of one call.

jupyter_mlws: 20,000 ``run.log("loss", v, step=i)`` calls in one run; the clock
stops when ``run.end()`` has returned (the points are then in the database,
checked by counting rows).  Repeated on fresh runs; the median is reported.
The cost of one call is timed with ``time.perf_counter_ns`` around each of
20,000 calls on another run.

MLflow: ``mlflow.log_metric("loss", v, step=i)`` 1,000 times in one run
(synchronous, as by default), clock stopped after ``mlflow.end_run()``.

Targets: >= 200,000 points/s end to end; median cost of ``run.log`` < 5 µs.
"""

from __future__ import annotations

import argparse
import gc
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

TARGET_RATE = 200_000
TARGET_CALL_US = 5.0


def count_points(ws, run) -> int:
    con = sqlite3.connect(ws.root / "mlws.db")
    try:
        return con.execute("SELECT count(*) FROM metrics m JOIN runs r ON r.pk = m.run_pk "
                           "WHERE r.id = ?", (run.id,)).fetchone()[0]
    finally:
        con.close()


def ours_end_to_end(ws, n: int) -> dict:
    run = C.start_run(ws, "log_metrics")
    log = run.log
    t0 = time.perf_counter()
    for i in range(n):
        log("loss", i * 1e-6, step=i)
    t1 = time.perf_counter()
    run.flush()
    t2 = time.perf_counter()
    run.end()
    t3 = time.perf_counter()
    stored = count_points(ws, run)
    assert stored == n, f"{stored} points stored, {n} logged"
    return {"loop_s": t1 - t0, "flush_s": t2 - t0, "end_s": t3 - t0}


def ours_per_call(ws, n: int) -> list[int]:
    run = C.start_run(ws, "log_metrics")
    log = run.log
    clock = time.perf_counter_ns
    costs = [0] * n
    for i in range(n):
        v = i * 1e-6
        t = clock()
        log("loss", v, step=i)
        costs[i] = clock() - t
    run.end()
    assert count_points(ws, run) == n
    return costs


def timer_overhead(n: int) -> list[int]:
    clock = time.perf_counter_ns
    costs = [0] * n
    for i in range(n):
        t = clock()
        costs[i] = clock() - t
    return costs


def mlflow_run(mlflow, n: int) -> dict:
    clock = time.perf_counter_ns
    costs = [0] * n
    t0 = time.perf_counter()
    mlflow.start_run()
    t1 = time.perf_counter()
    for i in range(n):
        v = i * 1e-6
        t = clock()
        mlflow.log_metric("loss", v, step=i)
        costs[i] = clock() - t
    t2 = time.perf_counter()
    run_id = mlflow.active_run().info.run_id
    mlflow.end_run()
    t3 = time.perf_counter()
    stored = len(mlflow.MlflowClient().get_metric_history(run_id, "loss"))
    assert stored == n, f"MLflow stored {stored} points of {n}"
    return {"start_s": t1 - t0, "loop_s": t2 - t1, "end_s": t3 - t1, "costs": costs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--mlflow-points", type=int, default=1_000)
    args = ap.parse_args()
    n = args.points
    tmp = C.tmpdir("log_metrics")

    # -- jupyter_mlws (measured first, before MLflow's large import) --
    ws = C.open_workspace(tmp)
    ours_end_to_end(ws, 2_000)  # warm-up: SQL compile caches, first connections
    gc.collect()
    reps = [ours_end_to_end(ws, n) for _ in range(args.repeat)]
    loop_s = C.median([r["loop_s"] for r in reps])
    flush_s = C.median([r["flush_s"] for r in reps])
    end_s = C.median([r["end_s"] for r in reps])
    costs = ours_per_call(ws, n)
    overhead = C.median(timer_overhead(n))
    ws.close()

    # -- MLflow --
    mlflow, _client, _exp = C.mlflow_setup(tmp / "mlflow")
    mlflow_run(mlflow, 20)  # warm-up
    ml = mlflow_run(mlflow, args.mlflow_points)
    ml_rate = args.mlflow_points / ml["end_s"]

    rate_end = n / end_s
    rate_flush = n / flush_s
    med_us = C.median(costs) / 1000
    p99_us = C.percentile(costs, 99) / 1000
    ml_med_us = C.median(ml["costs"]) / 1000
    ml_p99_us = C.percentile(ml["costs"], 99) / 1000
    ok_rate = rate_end >= TARGET_RATE
    ok_call = med_us < TARGET_CALL_US

    rows = [
        ["end to end: log N + `end()` (points/s)", f"{n:,}", C.fmt_rate(rate_end),
         C.fmt_rate(ml_rate), C.fmt_ratio(rate_end / ml_rate), f">= {TARGET_RATE:,}", C.verdict(ok_rate)],
        ["log N + `flush()` (points/s)", f"{n:,}", C.fmt_rate(rate_flush), "", "", "", ""],
        ["the logging loop alone (calls/s)", f"{n:,}", C.fmt_rate(n / loop_s),
         C.fmt_rate(args.mlflow_points / ml["loop_s"]), C.fmt_ratio((n / loop_s) / (args.mlflow_points / ml["loop_s"])),
         "", ""],
        ["one `log` call, median (µs)", f"{n:,}", f"{med_us:.2f}", f"{ml_med_us:,.0f}",
         C.fmt_ratio(ml_med_us / med_us), f"< {TARGET_CALL_US:g}", C.verdict(ok_call)],
        ["one `log` call, p99 (µs)", f"{n:,}", f"{p99_us:.2f}", f"{ml_p99_us:,.0f}",
         C.fmt_ratio(ml_p99_us / p99_us), "", ""],
    ]
    body = C.table(["measure", "points", "jupyter_mlws", "MLflow", "ours / MLflow", "target", "result"], rows)
    body += f"""

- jupyter_mlws: {n:,} `run.log("loss", v, step=i)` calls in one run, clock stopped when `run.end()`
  returned (row count checked in the database); median of {args.repeat} fresh runs after a warm-up run.
  Median end to end {end_s * 1000:.1f} ms (flush returned at {flush_s * 1000:.1f} ms, loop {loop_s * 1000:.1f} ms);
  the {args.repeat} runs went at {", ".join(C.fmt_rate(n / r["end_s"]) for r in reps)} points/s.
- Per-call cost: `perf_counter_ns()` around each of {n:,} calls on another run; it includes the timer's own
  cost ({overhead} ns median for an empty timed block).
- MLflow (reference, smaller count): {args.mlflow_points:,} synchronous `mlflow.log_metric` calls in one run
  (sqlite:/// backend), {ml['end_s']:.2f} s including `end_run()`; its rate is per point, so the ratio holds
  although the counts differ.
"""
    C.write_section("log_metrics", "1. log_metrics: `run.log` in one run", body, {
        "points": n, "repeat": args.repeat, "reps": reps, "rate_end": rate_end, "rate_flush": rate_flush,
        "call_median_us": med_us, "call_p99_us": p99_us, "timer_overhead_ns": overhead,
        "mlflow_points": args.mlflow_points, "mlflow_rate": ml_rate, "mlflow_call_median_us": ml_med_us,
        "mlflow_call_p99_us": ml_p99_us, "pass_rate": ok_rate, "pass_call": ok_call,
    })


if __name__ == "__main__":
    main()
