"""Workload 1: many ``run.log`` calls in one run, end to end, against the raw limit; a user's
first run in a new kernel; the cost of one call.

jupyter_mlws: 20,000 ``run.log("loss", v, step=i)`` calls in one run; the clock stops when
``run.end()`` has returned (the points are then in the database, checked by counting rows).

The ceiling, measured in the same rounds (alternating with ours): ``sqlite3`` ``executemany``
of the same 20,000 rows, prepared beforehand, into a table made with our ``metrics`` table's
own DDL (read from the workspace's file), with our connections' journal mode, synchronous
level and page cache (read from them), in one ``BEGIN IMMEDIATE`` ... ``COMMIT``; one new run's
rows per round, appended as ours are.  Share of the ceiling = its time / ours, per round.

A user's first run in a new kernel (see ``_first_run.py``): a fresh ipykernel per round, the
cell ``from jupyter_mlws import Workspace`` / open / ``start_run()`` / one ``log`` / ``end()``
timed from the request to the kernel's idle; ``python -c`` as the cross-check; MLflow's
equivalent cell as the peer.

MLflow, the same loop (``mlflow.log_metric("loss", v, step=i)``) on smaller counts, rates per
point: synchronous as shipped (SQLite's defaults: a rollback journal, synchronous=FULL), then on
a store given our durability settings (WAL, synchronous=NORMAL), synchronous and with its faster
``synchronous=False`` mode, without and with ``MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS`` (its
buffering); the clock stops after ``flush_async_logging()`` + ``end_run()``, points counted.

Targets: end to end >= 60 % of the ceiling (issue 16) and >= 200,000 points/s; the first run
in a new kernel <= 300 ms; median cost of ``run.log`` < 5 µs.
"""

from __future__ import annotations

import argparse
import gc
import os
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
import _first_run as first_run  # noqa: E402

TARGET_RATE = 200_000
TARGET_SHARE = 0.60
TARGET_FIRST_MS = 300.0
TARGET_CALL_US = 5.0
POINT_BITS = 36  # a point's id: run_pk << 36 | n (jupyter_mlws.store.schema)


def ours_end_to_end(ws, n: int) -> dict:
    run = C.start_run(ws, "log_metrics")
    log = run.log
    gc.collect()
    t0 = time.perf_counter()
    for i in range(n):
        log("loss", i * 1e-6, step=i)
    t1 = time.perf_counter()
    run.flush()
    t2 = time.perf_counter()
    run.end()
    t3 = time.perf_counter()
    stored = C.stored_points(ws.root / "mlws.db", run.id)
    assert stored == n, f"{stored} points stored, {n} logged"
    return {"loop_s": t1 - t0, "flush_s": t2 - t0, "end_s": t3 - t0}


class Ceiling:
    """``executemany`` of prepared rows into a copy of our metrics table, as durable as ours."""

    def __init__(self, ws, path: Path):
        self.durability = C.our_durability(ws)
        con = sqlite3.connect(ws.root / "mlws.db")
        self.ddl = con.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'metrics'"
                               ).fetchone()[0]
        con.close()
        self.con = sqlite3.connect(path, isolation_level=None)
        C.apply_durability(self.con, self.durability)
        self.con.execute(self.ddl)
        self.run_pk = 0

    def round(self, n: int) -> float:
        self.run_pk += 1
        base, ts = self.run_pk << POINT_BITS, int(time.time() * 1000)
        rows = [(base + i, self.run_pk, "loss", i, ts, i * 1e-6) for i in range(n)]
        gc.collect()
        t0 = time.perf_counter()
        self.con.execute("BEGIN IMMEDIATE")
        self.con.executemany("INSERT INTO metrics (id, run_pk, key, step, ts, value) "
                             "VALUES (?, ?, ?, ?, ?, ?)", rows)
        self.con.execute("COMMIT")
        t = time.perf_counter() - t0
        assert self.con.execute("SELECT count(*) FROM metrics WHERE run_pk = ?", (self.run_pk,)
                                ).fetchone()[0] == n
        return t


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
    assert C.stored_points(ws.root / "mlws.db", run.id) == n
    return costs


def timer_overhead(n: int) -> list[int]:
    clock = time.perf_counter_ns
    costs = [0] * n
    for i in range(n):
        t = clock()
        costs[i] = clock() - t
    return costs


def mlflow_run(mlflow, n: int, synchronous: bool = True) -> dict:
    clock = time.perf_counter_ns
    costs = [0] * n
    t0 = time.perf_counter()
    mlflow.start_run()
    t1 = time.perf_counter()
    for i in range(n):
        v = i * 1e-6
        t = clock()
        mlflow.log_metric("loss", v, step=i, synchronous=synchronous)
        costs[i] = clock() - t
    t2 = time.perf_counter()
    run_id = mlflow.active_run().info.run_id
    if not synchronous:
        mlflow.flush_async_logging()
    mlflow.end_run()
    t3 = time.perf_counter()
    stored = len(mlflow.MlflowClient().get_metric_history(run_id, "loss"))
    assert stored == n, f"MLflow stored {stored} points of {n}"
    return {"start_s": t1 - t0, "loop_s": t2 - t1, "end_s": t3 - t1, "costs": costs}


def mlflow_modes(tmp: Path, durability: dict, n_sync: int, n_async: int, buffer_s: int) -> dict:
    """MLflow's logging modes; the first on its default SQLite settings, the rest on ours."""
    mlflow, _client, _exp = C.mlflow_setup(tmp / "mlflow-default")
    mlflow_run(mlflow, 20)  # warm-up
    out = {"sync, MLflow's SQLite defaults": (n_sync, mlflow_run(mlflow, n_sync))}
    C.mlflow_at_durability(tmp / "mlflow-ours", durability)
    mlflow, _client, _exp = C.mlflow_setup(tmp / "mlflow-ours")
    mlflow_run(mlflow, 20)
    mlflow_run(mlflow, 20, synchronous=False)
    out["sync, our durability"] = (n_sync, mlflow_run(mlflow, n_sync))
    out["`synchronous=False`, our durability"] = (n_async, mlflow_run(mlflow, n_async, synchronous=False))
    os.environ["MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS"] = str(buffer_s)
    try:
        out[f"`synchronous=False` + {buffer_s} s buffering, our durability"] = (
            n_async, mlflow_run(mlflow, n_async, synchronous=False))
    finally:
        del os.environ["MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS"]
    return out, f"sqlite:///{tmp / 'mlflow-ours' / 'mlflow.db'}"


def ms(x: float) -> str:
    return f"{x * 1000:.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=9, help="alternated rounds of ours and the ceiling")
    ap.add_argument("--first-runs", type=int, default=5, help="rounds of the first run in a new kernel")
    ap.add_argument("--mlflow-points", type=int, default=1_000, help="MLflow's synchronous calls")
    ap.add_argument("--mlflow-async-points", type=int, default=5_000, help="MLflow's synchronous=False calls")
    ap.add_argument("--mlflow-buffer-s", type=int, default=1)
    args = ap.parse_args()
    n = args.points
    tmp = C.tmpdir("log_metrics")
    compiled = C.byte_compile()

    # -- jupyter_mlws and the ceiling, alternating (measured before MLflow's large import) --
    ws = C.open_workspace(tmp)
    ceiling = Ceiling(ws, tmp / "ceiling.db")
    ours_end_to_end(ws, 2_000)  # warm-up: SQL compile caches, first connections
    ceiling.round(2_000)
    reps, ceil = [], []
    for r in range(args.repeat):
        if r % 2:
            reps.append(ours_end_to_end(ws, n))
            ceil.append(ceiling.round(n))
        else:
            ceil.append(ceiling.round(n))
            reps.append(ours_end_to_end(ws, n))
    shares = [c / o["end_s"] for c, o in zip(ceil, reps)]
    loop_s = C.median([r["loop_s"] for r in reps])
    flush_s = C.median([r["flush_s"] for r in reps])
    end_s = C.median([r["end_s"] for r in reps])
    ceil_s = C.median(ceil)
    share = C.median(shares)
    costs = ours_per_call(ws, n)
    overhead = C.median(timer_overhead(n))
    durability = ceiling.durability
    ws_root = ws.root
    ws.close()

    # -- MLflow --
    modes, mlflow_uri = mlflow_modes(tmp, durability, args.mlflow_points, args.mlflow_async_points,
                                     args.mlflow_buffer_s)

    # -- the first run in a new kernel (last: MLflow's store exists for its cell) --
    first = first_run.measure(ws_root, tmp, args.first_runs, mlflow_uri)

    rate_end = n / end_s
    ceil_rate = n / ceil_s
    ml_sync = modes["sync, MLflow's SQLite defaults"]
    ml_rate = ml_sync[0] / ml_sync[1]["end_s"]
    med_us = C.median(costs) / 1000
    p99_us = C.percentile(costs, 99) / 1000
    ml_med_us = C.median(ml_sync[1]["costs"]) / 1000
    ml_p99_us = C.percentile(ml_sync[1]["costs"], 99) / 1000
    ok_share = share >= TARGET_SHARE
    ok_rate = rate_end >= TARGET_RATE
    ok_call = med_us < TARGET_CALL_US
    kern = [x["total_s"] for x in first["kernel"]]
    first_ms = C.median(kern) * 1000
    ok_first = first_ms <= TARGET_FIRST_MS

    dur = C.durability_text(durability)
    rows = [
        [f"ceiling: `sqlite3.executemany`, prepared rows, one transaction ({dur})", f"{n:,}",
         C.fmt_rate(ceil_rate), "100%", "", ""],
        ["jupyter_mlws: log N + `end()`, end to end", f"{n:,}", C.fmt_rate(rate_end), f"{share:.0%}",
         f">= {TARGET_SHARE:.0%} of the ceiling", C.verdict(ok_share)],
        ["", "", "", "", f">= {TARGET_RATE:,} points/s", C.verdict(ok_rate)],
        ["jupyter_mlws: log N + `flush()`", f"{n:,}", C.fmt_rate(n / flush_s), f"{ceil_s / flush_s:.0%}", "", ""],
        ["jupyter_mlws: the logging loop alone (calls/s)", f"{n:,}", C.fmt_rate(n / loop_s), "", "", ""],
    ]
    for name, (count, res) in modes.items():
        rate = count / res["end_s"]
        rows.append([f"MLflow `log_metric`, {name}", f"{count:,}", C.fmt_rate(rate), f"{rate / ceil_rate:.1%}",
                     "", ""])
    body = C.table(["end to end, until the points are stored", "points", "points/s", "share of ceiling",
                    "target", "result"], rows)
    ml_ratios = ", ".join(f"{rate_end / (c / r['end_s']):,.0f}x MLflow {name}" for name, (c, r) in modes.items())
    body += f"""

- Rounds: {args.repeat}, ours and the ceiling alternating (the ceiling first in even rounds), after a
  2,000-point warm-up of each; each round a fresh run of ours and a fresh run's rows in the ceiling's table.
  Shares of the ceiling per round (ceiling time / ours): {", ".join(f"{x:.0%}" for x in shares)};
  **median {share:.0%}**.  Ours per round (points/s): {", ".join(C.fmt_rate(n / r["end_s"]) for r in reps)};
  ceiling per round: {", ".join(C.fmt_rate(n / c) for c in ceil)}.
- Ours: {n:,} `run.log("loss", v, step=i)` calls in one run, clock stopped when `run.end()` returned
  (row count checked); median end to end {end_s * 1000:.1f} ms: the loop {loop_s * 1000:.1f} ms, the
  flush returned at {flush_s * 1000:.1f} ms.  Ours is {ml_ratios}.
- The ceiling: our `metrics` table's DDL (`{" ".join(ceiling.ddl.split())}`), {dur}, cache_size
  {durability["cache_size"]} (read from a workspace connection), rows built before the clock starts.
- MLflow (reference, smaller counts; rates are per point): `mlflow.log_metric("loss", v, step=i)` in one run,
  clock stopped after `end_run()` (after `flush_async_logging()` for `synchronous=False`), points
  counted.  "Our durability": every connection to that store given {dur} at connect (an SQLAlchemy
  event), as ours; MLflow's defaults are SQLite's (a rollback journal, synchronous=FULL).  Buffering:
  `MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS={args.mlflow_buffer_s}`, MLflow's own knob for batching queued calls.
"""
    # -- the first run --
    def phase_cells(results):
        return [f"{C.median([x['phases_s'][i] for x in results]) * 1000:.0f}" for i in range(4)] + [
            f"{C.median([x['cpu_s'] for x in results]) * 1000:.0f}"]

    first_rows = [
        ["jupyter_mlws, a new kernel (the cell, request to idle)", f"{first_ms:.0f}",
         ", ".join(ms(x) for x in kern), *phase_cells(first["kernel"]), f"<= {TARGET_FIRST_MS:.0f}",
         C.verdict(ok_first)],
        ["jupyter_mlws, a new `python -c` (interpreter start-up included)",
         f"{C.median([x['total_s'] for x in first['python']]) * 1000:.0f}",
         ", ".join(ms(x["total_s"]) for x in first["python"]), *phase_cells(first["python"]), "", ""],
    ]
    if first["mlflow_kernel"]:
        mk = [x["total_s"] for x in first["mlflow_kernel"]]
        first_rows.append(["MLflow, a new kernel (same cell with `mlflow`)", f"{C.median(mk) * 1000:.0f}",
                           ", ".join(ms(x) for x in mk), *phase_cells(first["mlflow_kernel"]), "", ""])
    body += "\n### A user's first run in a new kernel\n\n" + C.table(
        ["first run: import, open, `start_run`, 1 point, `end`", "median ms", "rounds ms", "import",
         "open", "start_run", "log + end", "CPU ms", "target", "result"], first_rows)
    body += f"""

- {args.first_runs} rounds, alternating ours in a kernel, ours in `python -c` and MLflow in a kernel (after one
  untimed warm-up kernel); each kernel fresh (`jupyter_client.start_new_kernel`, its start not timed), in a
  small project folder (a notebook and a note: `start_run()` snapshots it, as by default).  The phase
  columns are medians of the cell's own `perf_counter` marks (ms); "CPU ms" is the process's CPU time
  over the cell (`time.process_time`, all its threads), which other work on the machine moves far less
  than wall time.  The point is checked in the store.  {compiled}.
  MLflow's "open" is `set_tracking_uri` + `set_experiment` on its store at our durability.

### One call

{C.table(["one `log` call", "jupyter_mlws (µs)", "MLflow sync (µs)", "ours / MLflow", "target", "result"], [
        ["median", f"{med_us:.2f}", f"{ml_med_us:,.0f}", C.fmt_ratio(ml_med_us / med_us), f"< {TARGET_CALL_US:g}",
         C.verdict(ok_call)],
        ["p99", f"{p99_us:.2f}", f"{ml_p99_us:,.0f}", C.fmt_ratio(ml_p99_us / p99_us), "", ""]])}

- `perf_counter_ns()` around each of {n:,} calls on another run; it includes the timer's own cost
  ({overhead} ns median for an empty timed block).  MLflow: its synchronous calls above, defaults.
"""
    C.write_section("log_metrics", "1. log_metrics: `run.log` against the ceiling; the first run", body, {
        "points": n, "repeat": args.repeat, "reps": reps, "ceiling_s": ceil, "shares": shares,
        "share": share, "rate_end": rate_end, "ceiling_rate": ceil_rate, "durability": durability,
        "call_median_us": med_us, "call_p99_us": p99_us, "timer_overhead_ns": overhead,
        "mlflow": {k: {"points": c, "end_s": r["end_s"], "loop_s": r["loop_s"]} for k, (c, r) in modes.items()},
        "mlflow_call_median_us": ml_med_us, "first_run": first, "first_run_ms": first_ms,
        "pass_share": ok_share, "pass_rate": ok_rate, "pass_call": ok_call, "pass_first": ok_first,
        "mlflow_rate": ml_rate,
    })


if __name__ == "__main__":
    main()
