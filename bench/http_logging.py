"""HTTP logging: 20,000 ``run.log`` calls over HTTP to a real ``mlws server``, persisted; beside the
direct path on the same workspace and MLflow's REST client against ``mlflow server``.

jupyter_mlws over HTTP: ``Workspace.connect(url, token)`` to an ``mlws server`` on 127.0.0.1 (a
subprocess); a run; 20,000 ``run.log("loss", v, step=i)``; ``run.flush()``, which returns once the
server has committed the last batch: the clock stops there (the time until the last point is
readable), and the points are counted in the served workspace's database file.  ``run.end()`` is
timed apart.  The direct path: the same calls on the same workspace opened in this process (the
same file, so the same durability), the clock stopped by the same ``flush()``.  Alternating rounds,
medians.

MLflow (the tool a user would otherwise pick), against ``mlflow server --workers 1`` on 127.0.0.1
over a SQLite store, with ``MlflowClient(tracking_uri="http://127.0.0.1:P")``: ``log_batch`` with
1,000 ``Metric`` per call (its REST API's limit per request); ``mlflow.log_metric(...,
synchronous=False)`` (its async logging; the clock stops after ``flush_async_logging()``); and
``log_metric`` one synchronous call per point on a smaller count.  Its store as shipped (SQLite's
defaults: a rollback journal, synchronous=FULL), then ``log_batch`` again on a second server whose
store is given our durability (the SQLAlchemy connect event of ``_common.mlflow_at_durability``,
installed in its processes by a ``sitecustomize`` module).  Points are counted in MLflow's database.

Target (issue 11): >= 100,000 points/s over HTTP.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

sys.path.insert(0, str(C.ROOT / "tests"))
from mlws_testing import free_port, stop_group  # noqa: E402

TARGET_RATE = 100_000
BIN = Path(sys.executable).parent


class Server:
    """A server subprocess in its own process group, ready once ``probe`` answers."""

    def __init__(self, argv: list[str], probe: str, log: Path, env: dict | None = None,
                 headers: dict | None = None, timeout: float = 120):
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(urllib.request.Request(probe, headers=headers or {}),
                                            timeout=2):
                    return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{argv[0]} did not start: {log.read_text()[-2000:]}")
                time.sleep(0.2)

    def stop(self) -> None:
        stop_group(self.proc, grace=15)


def start_mlws(ws_root: Path, tmp: Path) -> tuple[Server, str, str]:
    port, token = free_port(), secrets.token_hex(16)
    argv = [str(BIN / "mlws"), "-w", str(ws_root), "server", "--port", str(port),
            f"--IdentityProvider.token={token}"]
    url = f"http://127.0.0.1:{port}/"
    server = Server(argv, f"{url}mlws/api/tracking", tmp / "mlws-server.log",
                    headers={"Authorization": f"token {token}"})
    return server, url, token


def start_mlflow(store: Path, tmp: Path, durability: dict | None) -> tuple[Server, str]:
    """``mlflow server`` over ``store/mlflow.db``; with ``durability``, every connection its
    processes open to that store gets our settings (a sitecustomize module on PYTHONPATH)."""
    store.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if durability is not None:
        hook = tmp / f"hook-{store.name}"
        hook.mkdir()
        (hook / "sitecustomize.py").write_text(
            f"import sys\nsys.path.insert(0, {str(C.BENCH)!r})\nimport _common\nfrom pathlib import Path\n"
            f"_common.mlflow_at_durability(Path({str(store)!r}), {json.dumps(durability)})\n")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(hook), env.get("PYTHONPATH")) if p)
    port = free_port()
    argv = [str(BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}",
            "--default-artifact-root", (store / "artifacts").as_uri(), "--host", "127.0.0.1",
            "--port", str(port), "--workers", "1"]
    url = f"http://127.0.0.1:{port}"
    return Server(argv, f"{url}/health", tmp / f"{store.name}.log", env=env), url


def count_mlflow(store: Path, run_id: str) -> int:
    con = sqlite3.connect(store / "mlflow.db")
    try:
        return con.execute("SELECT count(*) FROM metrics WHERE run_uuid = ?", (run_id,)).fetchone()[0]
    finally:
        con.close()


def ours(ws, n: int, db: Path) -> dict:
    """``n`` ``run.log`` calls on ``ws`` (local or remote); seconds to the loop's end, to the
    points being readable (``flush``), and to ``end()``."""
    run = C.start_run(ws, "http_logging")
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
    stored = C.stored_points(db, run.id)
    assert stored == n, f"{stored} points stored, {n} logged"
    return {"loop_s": t1 - t0, "persisted_s": t2 - t0, "end_s": t3 - t0}


def mlflow_log_batch(url: str, store: Path, n: int) -> float:
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=url)
    exp = client.get_experiment_by_name("bench") or client.get_experiment(client.create_experiment("bench"))
    run_id = client.create_run(exp.experiment_id).info.run_id
    ts = int(time.time() * 1000)
    t0 = time.perf_counter()
    for start in range(0, n, 1000):
        client.log_batch(run_id, metrics=[Metric("loss", i * 1e-6, ts, i)
                                          for i in range(start, min(n, start + 1000))])
    elapsed = time.perf_counter() - t0
    client.set_terminated(run_id)
    assert count_mlflow(store, run_id) == n
    return elapsed


def mlflow_fluent(url: str, store: Path, n: int, synchronous: bool) -> float:
    import mlflow

    mlflow.set_tracking_uri(url)
    mlflow.set_experiment("bench")
    run = mlflow.start_run()
    t0 = time.perf_counter()
    for i in range(n):
        mlflow.log_metric("loss", i * 1e-6, step=i, synchronous=synchronous)
    if not synchronous:
        mlflow.flush_async_logging()  # the queued points are written when it returns
    elapsed = time.perf_counter() - t0
    mlflow.end_run()
    assert count_mlflow(store, run.info.run_id) == n
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--mlflow-slow-points", type=int, default=1_000,
                    help="points of MLflow's log_metric, synchronous and async (slow here: a smaller count)")
    args = ap.parse_args()
    n = args.points
    print(f"command: {C.command_line()}\nload average at start: {C.LOAD_AT_START}", flush=True)
    C.byte_compile()
    tmp = C.tmpdir("http_logging")
    from jupyter_mlws import Workspace

    local = C.open_workspace(tmp)
    durability = C.our_durability(local)
    db = local.root / "mlws.db"
    server, url, token = start_mlws(local.root, tmp)
    try:
        remote = Workspace.connect(url, token)
        ours(remote, 2_000, db), ours(local, 2_000, db)  # warm-up
        http, direct = [], []
        for _ in range(args.repeat):  # alternate: noise from the shared machine hits both alike
            http.append(ours(remote, n, db))
            direct.append(ours(local, n, db))
        remote.close()
    finally:
        server.stop()
        local.close()
    h = {k: C.median([r[k] for r in http]) for k in http[0]}
    d = {k: C.median([r[k] for r in direct]) for k in direct[0]}

    ml = {}
    for name, dur in (("mlflow-default", None), ("mlflow-ours", durability)):
        store = tmp / name
        mserver, murl = start_mlflow(store, tmp, dur)
        try:
            mlflow_log_batch(murl, store, 1_000)  # warm-up (and the experiment)
            ml[name, "log_batch"] = C.median([mlflow_log_batch(murl, store, n) for _ in range(3)])
            if dur is None:
                mlflow_fluent(murl, store, 100, synchronous=False)
                ml[name, "async"] = mlflow_fluent(murl, store, args.mlflow_slow_points, synchronous=False)
                ml[name, "sync"] = mlflow_fluent(murl, store, args.mlflow_slow_points, synchronous=True)
        finally:
            mserver.stop()

    rate_http, rate_direct = n / h["persisted_s"], n / d["persisted_s"]
    ok = rate_http >= TARGET_RATE
    slow = args.mlflow_slow_points
    ml_rates = {k: (n if k[1] == "log_batch" else slow) / s for k, s in ml.items()}
    rows = [
        ["jupyter_mlws over HTTP: `run.log` x N, then `flush()` (persisted)", f"{n:,}",
         C.fmt_rate(rate_http), "", f">= {TARGET_RATE:,}", C.verdict(ok)],
        ["jupyter_mlws over HTTP, through `run.end()`", f"{n:,}", C.fmt_rate(n / h["end_s"]), "", "", ""],
        ["jupyter_mlws direct (same workspace file, same durability), `flush()`", f"{n:,}",
         C.fmt_rate(rate_direct), f"HTTP is {rate_http / rate_direct:.0%} of it", "", ""],
        ["MLflow REST `MlflowClient.log_batch`, 1,000 per request, its SQLite defaults", f"{n:,}",
         C.fmt_rate(ml_rates["mlflow-default", "log_batch"]),
         C.fmt_ratio(rate_http / ml_rates["mlflow-default", "log_batch"]), "", ""],
        ["MLflow REST `log_batch`, store given our durability", f"{n:,}",
         C.fmt_rate(ml_rates["mlflow-ours", "log_batch"]),
         C.fmt_ratio(rate_http / ml_rates["mlflow-ours", "log_batch"]), "", ""],
        ["MLflow REST `log_metric(synchronous=False)` + `flush_async_logging()`", f"{slow:,}",
         C.fmt_rate(ml_rates["mlflow-default", "async"]),
         C.fmt_ratio(rate_http / ml_rates["mlflow-default", "async"]), "", ""],
        ["MLflow REST `log_metric`, one request per point", f"{slow:,}",
         C.fmt_rate(ml_rates["mlflow-default", "sync"]),
         C.fmt_ratio(rate_http / ml_rates["mlflow-default", "sync"]), "", ""],
    ]
    body = C.table(["writer", "points", "points/s", "jupyter_mlws over HTTP / it", "target", "result"], rows)
    body += f"""

- jupyter_mlws: median of {args.repeat} rounds, alternating HTTP and direct, each on a fresh run after a
  2,000-point warm-up run; over HTTP {h['persisted_s'] * 1000:.0f} ms to persisted (the loop itself
  {h['loop_s'] * 1000:.0f} ms), direct {d['persisted_s'] * 1000:.0f} ms (loop {d['loop_s'] * 1000:.0f} ms);
  rates per round over HTTP {", ".join(C.fmt_rate(n / r['persisted_s']) for r in http)} points/s.
  The server: `mlws server` (a subprocess, one Tornado process), {C.durability_text(durability)};
  the client's buffer sends batches of at most 20,000 points as `POST runs/RUN/batch` over one kept-alive
  connection; the points are counted in the database file after each round.
- MLflow {C.machine()['mlflow']}: `mlflow server --workers 1` over SQLite on the same machine; `log_batch`
  median of 3; `log_metric` async and synchronous as shipped, on {slow:,} points (at its rate here 20,000
  would take minutes; the rates are per point, so the ratios hold). Points counted in its database.
"""
    C.write_section("http_logging", "http_logging: `run.log` over HTTP to a workspace server", body, {
        "points": n, "http": http, "direct": direct, "rate_http": rate_http, "rate_direct": rate_direct,
        "mlflow": {f"{a}/{b}": s for (a, b), s in ml.items()},
        "mlflow_rates": {f"{a}/{b}": r for (a, b), r in ml_rates.items()}, "durability": durability,
    })


if __name__ == "__main__":
    main()
