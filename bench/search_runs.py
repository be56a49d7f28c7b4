"""Workload 3: search 5,000 runs by a metric and a param, ordered by another metric.

Set-up (not timed): the same 5,000 runs, 5 params and 5 metrics each, in both
tools.  jupyter_mlws: rows inserted straight into its tables (SQLAlchemy Core,
``_common.insert_runs``), or through its SDK (``start_run``, ``log_params``,
``log``) with ``--sdk-setup`` (about 13 ms a run, so a minute more); MLflow
with ``create_run`` + one ``log_batch`` (params and metrics) per run, in a
subprocess that runs at the same time (its SQLite engine gets
``synchronous=OFF`` there, to shorten the set-up; the reads are unaffected).

Timed (median of ``--repeat`` after warm-up, the three alternating):

* jupyter_mlws: ``ws.search_runs(FILTER, order_by=["metrics.m1 DESC"], max_results=100)``
* MLflow: ``mlflow.search_runs(experiment_ids=[...], filter_string=FILTER,
  order_by=["metrics.m1 DESC"], max_results=100, output_format="list")``
* hand-written SQL on jupyter_mlws's SQLite file (sqlite3, one query) returning
  the same 100 run ids with their params and metrics, as dicts.

All three must return the same runs in the same order (checked).
Target: jupyter_mlws >= 10x faster than MLflow.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

TARGET_RATIO = 10.0
FILTER = "metrics.m0 > 0.5 and params.p0 = 'a'"
ORDER = ["metrics.m1 DESC"]
EXPERIMENT = "search"

SQL = """
WITH top AS (
    SELECT r.pk, r.id, r.name FROM runs r
    JOIN latest_metrics m0 ON m0.run_pk = r.pk AND m0.key = 'm0'
    JOIN params p0 ON p0.run_pk = r.pk AND p0.key = 'p0'
    LEFT JOIN latest_metrics m1 ON m1.run_pk = r.pk AND m1.key = 'm1'
    WHERE r.experiment_pk = (SELECT pk FROM experiments WHERE name = ?)
      AND m0.value > 0.5 AND p0.value = 'a'
    ORDER BY m1.value IS NULL, m1.value DESC, r.pk DESC
    LIMIT 100
)
SELECT top.id, top.name, 0, p.key, p.value FROM top JOIN params p ON p.run_pk = top.pk
UNION ALL
SELECT top.id, top.name, 1, m.key, m.value FROM top JOIN latest_metrics m ON m.run_pk = top.pk
"""
ORDER_SQL = """
    SELECT r.id FROM runs r LEFT JOIN latest_metrics m1 ON m1.run_pk = r.pk AND m1.key = 'm1'
    WHERE r.id IN ({}) ORDER BY m1.value IS NULL, m1.value DESC, r.pk DESC
"""


def dataset(n: int, seed: int):
    """(name, params, metrics) of each run, the same for both tools."""
    rnd = random.Random(seed)
    for i in range(n):
        params = {"p0": rnd.choice("ab"), "p1": rnd.choice(["x", "y", "z"]), "p2": str(rnd.randint(1, 64)),
                  "p3": rnd.choice(["adam", "sgd", "rmsprop"]), "p4": f"{rnd.random():.4f}"}
        metrics = {f"m{j}": rnd.random() for j in range(5)}
        yield f"r{i:05d}", params, metrics


def setup_mlflow(path: Path, n: int, seed: int) -> None:
    """Run in a subprocess: write the MLflow database, print the experiment id."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _fast(dbapi_conn, _record):  # set-up only: this process does no timing
        dbapi_conn.execute("PRAGMA synchronous=OFF")

    mlflow, client, exp_id = C.mlflow_setup(path, EXPERIMENT)
    from mlflow.entities import Metric, Param

    ts = int(time.time() * 1000)
    for name, params, metrics in dataset(n, seed):
        run_id = client.create_run(exp_id, run_name=name).info.run_id
        client.log_batch(run_id, metrics=[Metric(k, v, ts, 0) for k, v in metrics.items()],
                         params=[Param(k, v) for k, v in params.items()])
    print(json.dumps({"experiment_id": exp_id, "uri": mlflow.get_tracking_uri()}))


def setup_ours(ws, n: int, seed: int) -> None:
    exp = ws.experiment(EXPERIMENT)
    for name, params, metrics in dataset(n, seed):
        with exp.start_run(name, snapshot=False, outputs=None) as run:
            run.log_params(params)
            for k, v in metrics.items():
                run.log(k, v)


def setup_ours_direct(ws, n: int, seed: int) -> None:
    C.insert_runs(ws, EXPERIMENT, dataset(n, seed))


def sql_search(db: Path):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(SQL, (EXPERIMENT,)).fetchall()
        runs: dict[str, dict] = {}
        for run_id, name, kind, key, value in rows:
            rec = runs.setdefault(run_id, {"id": run_id, "name": name, "params": {}, "metrics": {}})
            rec["metrics" if kind else "params"][key] = value
        # UNION ALL loses the order: restore it with the ids (still one round of SQL on 100 rows)
        order = [r[0] for r in con.execute(ORDER_SQL.format(",".join("?" * len(runs))), list(runs))]
        return [runs[i] for i in order]
    finally:
        con.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--sdk-setup", action="store_true", help="create our runs through the SDK (slower)")
    ap.add_argument("--mlflow-setup", metavar="DIR", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.mlflow_setup:
        setup_mlflow(Path(args.mlflow_setup), args.runs, args.seed)
        return

    tmp = C.tmpdir("search_runs")
    t0 = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, __file__, "--mlflow-setup", str(tmp / "mlflow"), "--runs", str(args.runs),
         "--seed", str(args.seed)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    ws = C.open_workspace(tmp)
    (setup_ours if args.sdk_setup else setup_ours_direct)(ws, args.runs, args.seed)
    ours_setup_s = time.perf_counter() - t0
    out, _ = child.communicate()
    if child.returncode:
        raise SystemExit(f"the MLflow set-up failed (exit {child.returncode})")
    mlflow_setup_s = time.perf_counter() - t0
    info = json.loads(out.strip().splitlines()[-1])

    import logging
    import warnings

    warnings.filterwarnings("ignore")
    import mlflow

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    mlflow.set_tracking_uri(info["uri"])
    exp_ids = [info["experiment_id"]]
    db = ws.root / "mlws.db"

    def ours():
        return ws.search_runs(FILTER, order_by=ORDER, max_results=100)

    def theirs():
        return mlflow.search_runs(experiment_ids=exp_ids, filter_string=FILTER, order_by=ORDER,
                                  max_results=100, output_format="list")

    def raw():
        return sql_search(db)

    # the same runs, in the same order, with the same values
    a, b, c = ours(), theirs(), raw()
    names_a = [r.name for r in a]
    names_b = [r.info.run_name for r in b]
    names_c = [r["name"] for r in c]
    con = sqlite3.connect(db)
    matching = con.execute(
        "SELECT count(*) FROM runs r JOIN latest_metrics m ON m.run_pk = r.pk AND m.key = 'm0' "
        "JOIN params p ON p.run_pk = r.pk AND p.key = 'p0' WHERE m.value > 0.5 AND p.value = 'a'").fetchone()[0]
    con.close()
    assert len(a) == len(b) == len(c) == min(100, matching), (len(a), len(b), len(c), matching)
    assert names_a == names_b == names_c, "the three searches disagree"
    assert all(r.metrics["m1"] == m.data.metrics["m1"] and r.params == m.data.params for r, m in zip(a, b))

    for _ in range(3):  # warm-up
        ours(), theirs(), raw()
    times = {"ours": [], "mlflow": [], "sql": []}
    for _ in range(args.repeat):
        for name, fn in (("ours", ours), ("mlflow", theirs), ("sql", raw)):
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    ws.close()

    med = {k: C.median(v) * 1000 for k, v in times.items()}
    p90 = {k: C.percentile(v, 90) * 1000 for k, v in times.items()}
    ratio = med["mlflow"] / med["ours"]
    ok = ratio >= TARGET_RATIO
    rows = [
        ["jupyter_mlws `ws.search_runs`", f"{med['ours']:.2f}", f"{p90['ours']:.2f}", "1.0x",
         f">= {TARGET_RATIO:g}x faster than MLflow", C.verdict(ok)],
        ["MLflow `mlflow.search_runs(output_format=\"list\")`", f"{med['mlflow']:.2f}", f"{p90['mlflow']:.2f}",
         f"{ratio:.1f}x slower", "", ""],
        ["hand-written SQL (sqlite3) on our file", f"{med['sql']:.2f}", f"{p90['sql']:.2f}",
         f"{med['sql'] / med['ours']:.2f}x", "", ""],
    ]
    body = C.table(["search (100 of the matching runs)", "median ms", "p90 ms", "vs jupyter_mlws", "target",
                    "result"], rows)
    body += f"""

- {args.runs:,} runs in one experiment, 5 params (`p0` is 'a' or 'b') and 5 metrics (uniform 0..1) each, the
  same values in both tools; filter `{FILTER}` matches {matching:,} runs; `order_by=["metrics.m1 DESC"]`,
  `max_results=100`.  All three return the same {len(a)} runs in the same order (checked, with their params and m1).
- Median of {args.repeat} calls of each, alternating, after 3 warm-up rounds; each call builds the tool's full
  result objects (jupyter_mlws `Run`s with params, tags and latest metrics; MLflow `Run` entities; dicts for SQL).
- The SQL row is the floor for the same answer from the same file: one query for the top 100 with their params and
  metrics, plus a query on those 100 ids to restore the order, in a new read-only connection.
- Set-up (not timed): jupyter_mlws {"through the SDK" if args.sdk_setup else "by direct inserts into its tables"}
  took {ours_setup_s:.0f} s; MLflow (`create_run` + `log_batch`
  per run, in a parallel process) was done at {mlflow_setup_s:.0f} s.
"""
    C.write_section("search_runs", "3. search_runs: 5,000 runs, filter + order + page of 100", body, {
        "runs": args.runs, "matching": matching, "repeat": args.repeat, "times_s": times, "median_ms": med,
        "p90_ms": p90, "ratio": ratio, "pass": ok, "ours_setup_s": ours_setup_s,
        "mlflow_setup_s": mlflow_setup_s,
    })


if __name__ == "__main__":
    main()
