"""Workload 2: one million points through the batch API.

jupyter_mlws: ``run.log_batch("loss", values, steps=steps)`` with 1,000,000
points in one call (synchronous: when it returns the points are stored).

References, measured in the same process:

* MLflow: ``MlflowClient().log_batch(run_id, metrics=[Metric...])`` in chunks
  of 1,000 (its maximum per call) on 50,000 points (a smaller count; its rate
  is reported): on SQLite's defaults as MLflow ships (a rollback journal,
  synchronous=FULL), then on a store given our durability settings, synchronous and
  with ``synchronous=False`` (its fastest mode: the calls queue, ``flush_async_logging``
  waits for them).
* the ceiling: raw ``sqlite3`` ``executemany`` of 1,000,000 prepared rows into a fresh
  table made with our ``metrics`` table's own DDL, with our connections' journal mode,
  synchronous level and page cache (read from them), in one transaction; and the same in
  transactions of 50,000 rows (ours writes at most that many per transaction).

jupyter_mlws and the ceiling run alternately, ``--repeat`` times each (this
machine is shared and noisy); medians are reported.

Target: >= 400,000 points/s.
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

TARGET_RATE = 400_000
CHUNK = 50_000


def ours(ws, n: int) -> dict:
    values = [i * 1e-6 for i in range(n)]
    steps = list(range(n))
    run = C.start_run(ws, "log_batch")
    gc.collect()
    t0 = time.perf_counter()
    written = run.log_batch("loss", values, steps=steps)
    t1 = time.perf_counter()
    run.end()
    t2 = time.perf_counter()
    con = sqlite3.connect(ws.root / "mlws.db")
    stored = con.execute("SELECT count(*) FROM metrics m JOIN runs r ON r.pk = m.run_pk "
                         "WHERE r.id = ?", (run.id,)).fetchone()[0]
    con.close()
    assert written == stored == n, (written, stored, n)
    return {"log_batch_s": t1 - t0, "with_end_s": t2 - t0}


def our_table(ws) -> str:
    """The DDL of our metrics table, as the workspace's file holds it."""
    con = sqlite3.connect(ws.root / "mlws.db")
    try:
        return con.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'metrics'"
                           ).fetchone()[0]
    finally:
        con.close()


def ceiling(path: Path, n: int, chunk: int, ddl: str, durability: dict) -> dict:
    con = sqlite3.connect(path, isolation_level=None)
    C.apply_durability(con, durability)
    con.execute(ddl)
    ts = int(time.time() * 1000)
    t0 = time.perf_counter()
    rows = [((1 << 36) + i, 1, "loss", i, ts, i * 1e-6) for i in range(n)]
    t1 = time.perf_counter()
    for start in range(0, n, chunk):
        con.execute("BEGIN IMMEDIATE")
        con.executemany("INSERT INTO metrics (id, run_pk, key, step, ts, value) VALUES (?, ?, ?, ?, ?, ?)",
                        rows[start:start + chunk] if chunk < n else rows)
        con.execute("COMMIT")
    t2 = time.perf_counter()
    assert con.execute("SELECT count(*) FROM metrics").fetchone()[0] == n
    con.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return {"build_rows_s": t1 - t0, "insert_s": t2 - t1}


def mlflow_batches(client, exp_id: str, n: int, synchronous: bool = True) -> dict:
    from mlflow.entities import Metric

    run_id = client.create_run(exp_id).info.run_id
    ts = int(time.time() * 1000)
    t0 = time.perf_counter()
    for start in range(0, n, 1000):
        client.log_batch(run_id, metrics=[Metric("loss", i * 1e-6, ts, i)
                                          for i in range(start, min(n, start + 1000))],
                         synchronous=synchronous)
    if not synchronous:
        import mlflow

        mlflow.flush_async_logging()  # the queued batches are written when it returns
    t1 = time.perf_counter()
    client.set_terminated(run_id)
    stored = len(client.get_metric_history(run_id, "loss"))
    assert stored == n, (stored, n)
    return {"s": t1 - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--mlflow-points", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = args.points
    tmp = C.tmpdir("log_batch")

    ws = C.open_workspace(tmp)
    ddl, durability = our_table(ws), C.our_durability(ws)
    ours(ws, 10_000)  # warm-up
    runs, ceils, ceils_chunked = [], [], []
    for _ in range(args.repeat):  # alternate, so that noise from the shared machine hits both alike
        runs.append(ours(ws, n))
        ceils.append(ceiling(tmp / "ceiling.db", n, n, ddl, durability))
        ceils_chunked.append(ceiling(tmp / "ceiling.db", n, CHUNK, ddl, durability))
    ws.close()
    o = {k: C.median([r[k] for r in runs]) for k in runs[0]}
    ceil = {k: C.median([r[k] for r in ceils]) for k in ceils[0]}
    ceil_chunked = {k: C.median([r[k] for r in ceils_chunked]) for k in ceils_chunked[0]}

    mlflow, client, exp_id = C.mlflow_setup(tmp / "mlflow")
    mlflow_batches(client, exp_id, 2_000)  # warm-up
    ml = mlflow_batches(client, exp_id, args.mlflow_points)
    C.mlflow_at_durability(tmp / "mlflow-ours", durability)
    _mlflow, client, exp_id = C.mlflow_setup(tmp / "mlflow-ours")
    mlflow_batches(client, exp_id, 2_000)
    mlflow_batches(client, exp_id, 2_000, synchronous=False)
    ml_ours = mlflow_batches(client, exp_id, args.mlflow_points)
    ml_async = mlflow_batches(client, exp_id, args.mlflow_points, synchronous=False)

    rate = n / o["log_batch_s"]
    rate_end = n / o["with_end_s"]
    ml_rate = args.mlflow_points / ml["s"]
    ml_ours_rate = args.mlflow_points / ml_ours["s"]
    ml_async_rate = args.mlflow_points / ml_async["s"]
    ceil_rate = n / ceil["insert_s"]
    ceil_build_rate = n / (ceil["insert_s"] + ceil["build_rows_s"])
    ceil_chunked_rate = n / ceil_chunked["insert_s"]
    spread = [n / r["log_batch_s"] for r in runs]
    ok = rate >= TARGET_RATE
    rows = [
        ["jupyter_mlws `run.log_batch` (one call)", f"{n:,}", C.fmt_rate(rate), "",
         f"{rate / ceil_rate:.0%}", f">= {TARGET_RATE:,}", C.verdict(ok)],
        ["jupyter_mlws, `log_batch` + `run.end()`", f"{n:,}", C.fmt_rate(rate_end), "", "", "", ""],
        ["MLflow `MlflowClient.log_batch`, 1,000 per call, MLflow's SQLite defaults", f"{args.mlflow_points:,}",
         C.fmt_rate(ml_rate), C.fmt_ratio(rate / ml_rate), f"{ml_rate / ceil_rate:.1%}", "", ""],
        ["MLflow, the same, our durability", f"{args.mlflow_points:,}", C.fmt_rate(ml_ours_rate),
         C.fmt_ratio(rate / ml_ours_rate), f"{ml_ours_rate / ceil_rate:.1%}", "", ""],
        ["MLflow, the same with `synchronous=False`, our durability", f"{args.mlflow_points:,}",
         C.fmt_rate(ml_async_rate), C.fmt_ratio(rate / ml_async_rate), f"{ml_async_rate / ceil_rate:.1%}", "", ""],
        ["ceiling: sqlite3 `executemany`, one transaction", f"{n:,}", C.fmt_rate(ceil_rate),
         f"{rate / ceil_rate:.2f}x", "100%", "", ""],
        ["ceiling incl. building the row tuples", f"{n:,}", C.fmt_rate(ceil_build_rate),
         f"{rate / ceil_build_rate:.2f}x", f"{ceil_build_rate / ceil_rate:.0%}", "", ""],
        ["ceiling in transactions of 50,000 rows", f"{n:,}", C.fmt_rate(ceil_chunked_rate),
         f"{rate / ceil_chunked_rate:.2f}x", f"{ceil_chunked_rate / ceil_rate:.0%}", "", ""],
    ]
    body = C.table(["writer", "points", "points/s", "jupyter_mlws / it", "share of ceiling", "target", "result"],
                   rows)
    body += f"""

- jupyter_mlws: `run.log_batch("loss", values, steps=steps)` with {n:,} Python floats and int steps in one
  call, on a fresh run each time; median {o['log_batch_s']:.2f} s of {args.repeat} runs (rates
  {", ".join(C.fmt_rate(x) for x in spread)} points/s); row count checked; after a 10,000-point warm-up run.
- MLflow (reference, smaller count): {args.mlflow_points:,} points in {args.mlflow_points // 1000} calls of
  1,000 `Metric`s, {ml['s']:.2f} s; the rate is per point, so the ratio holds although the counts differ.
- MLflow at "our durability": every connection to that store given {C.durability_text(durability)} at
  connect (an SQLAlchemy event), as ours; its defaults are SQLite's (a rollback journal, synchronous=FULL).
  `synchronous=False`: the clock stops after `flush_async_logging()`; points counted in every MLflow row.
- Ceiling: our `metrics` table's DDL (`{" ".join(ddl.split())}`) in a fresh file, {C.durability_text(durability)},
  cache_size {durability['cache_size']} (read from a workspace connection), rows prepared beforehand
  ({ceil['build_rows_s']:.2f} s to build them, counted only in the second ceiling row), `BEGIN IMMEDIATE` …
  `executemany` … `COMMIT`; run alternately with jupyter_mlws, median of {args.repeat}.
"""
    C.write_section("log_batch", "2. log_batch: 1,000,000 points through the batch API", body, {
        "points": n, "ours": o, "rate": rate, "rate_with_end": rate_end,
        "mlflow_points": args.mlflow_points, "mlflow": ml, "mlflow_rate": ml_rate,
        "mlflow_our_durability_rate": ml_ours_rate, "mlflow_async_rate": ml_async_rate, "durability": durability,
        "runs": runs, "ceiling": ceils, "ceiling_rate": ceil_rate, "ceiling_chunked": ceils_chunked,
        "ceiling_chunked_rate": ceil_chunked_rate, "pass": ok,
    })


if __name__ == "__main__":
    main()
