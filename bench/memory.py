"""Workload 5: memory stays bounded while logging a lot and while paging through many runs.

(a) 10,000,000 ``run.log("loss", v, step=i)`` calls in one run, then
    ``run.end()``.  Growth of the resident set (``VmRSS`` in
    ``/proc/self/status``) over the baseline taken after a warm-up, and its
    peak (``VmHWM``, reset at the baseline by writing 5 to
    ``/proc/self/clear_refs``; ``ru_maxrss`` from ``resource.getrusage`` is
    reported too).  Target: < 50 MB growth.
(b) 100,000 runs (2 params, 2 metrics each) inserted straight into the
    workspace's tables (``_common.insert_runs``; set-up speed is not the
    point), then every run read page by page with
    ``ws.search_runs(max_results=1000, page_token=...)``.  Peak RSS growth and
    time.  Target: bounded (a page at a time, never all runs at once); judged
    as a peak growth < 50 MB, while keeping all 100,000 records would take
    about 100 times the memory of one page (measured with tracemalloc).

Each part runs in its own fresh process.  No MLflow reference here: at its
~200 synchronous points/s, (a) would take MLflow about 14 hours.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

TARGET_MB = 50.0


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def part_a(n: int) -> dict:
    tmp = C.tmpdir("memory-a")
    ws = C.open_workspace(tmp)
    warm = C.start_run(ws, "memory")
    for i in range(50_000):
        warm.log("loss", i * 1e-7, step=i)
    warm.end()
    run = C.start_run(ws, "memory")
    gc.collect()
    base = C.rss_mb()
    maxrss_before = maxrss_mb()
    reset = C.reset_peak_rss()
    samples = []
    log = run.log
    t0 = time.perf_counter()
    step = n // 20
    for start in range(0, n, step):
        for i in range(start, min(n, start + step)):
            log("loss", i * 1e-7, step=i)
        samples.append(round(C.rss_mb() - base, 1))
    t1 = time.perf_counter()
    run.end()
    t2 = time.perf_counter()
    after = C.rss_mb()
    peak = C.hwm_mb()
    import sqlite3

    con = sqlite3.connect(ws.root / "mlws.db")
    stored = con.execute("SELECT count(*) FROM metrics m JOIN runs r ON r.pk = m.run_pk WHERE r.id = ?",
                         (run.id,)).fetchone()[0]
    con.close()
    db_mb = sum(p.stat().st_size for p in ws.root.glob("mlws.db*")) / 2**20
    ws.close()
    assert stored == n, (stored, n)
    return {"points": n, "base_mb": base, "growth_mb": after - base, "peak_growth_mb": peak - base,
            "peak_reset": reset, "maxrss_before_mb": maxrss_before, "maxrss_after_mb": maxrss_mb(),
            "samples_mb": samples, "log_s": t1 - t0, "total_s": t2 - t0, "db_mb": db_mb}


def part_b(n_runs: int, page: int) -> dict:
    tmp = C.tmpdir("memory-b")
    ws = C.open_workspace(tmp)
    t0 = time.perf_counter()

    def runs():
        for i in range(n_runs):
            yield f"r{i:06d}", {"lr": 0.001 * (i % 10 + 1), "model": "mlp" if i % 2 else "cnn"}, \
                {"acc": (i % 997) / 997, "loss": 1 - (i % 991) / 991}

    C.insert_runs(ws, "many", runs(), batch=20_000)
    setup_s = time.perf_counter() - t0
    first = ws.search_runs(max_results=page)  # warm-up
    del first
    gc.collect()
    import tracemalloc

    tracemalloc.start()  # the cost of holding one page (RSS is blind to reused free memory)
    one = ws.search_runs(max_results=page)
    one_page_mb = tracemalloc.get_traced_memory()[0] / 2**20
    del one
    tracemalloc.stop()
    gc.collect()
    base = C.rss_mb()
    maxrss_before = maxrss_mb()
    reset = C.reset_peak_rss()
    seen = set()
    page_s, rss = [], []
    token = None
    t0 = time.perf_counter()
    while True:
        t = time.perf_counter()
        runs_ = ws.search_runs(max_results=page, page_token=token)
        page_s.append(time.perf_counter() - t)
        seen.update(r.id for r in runs_)
        token = runs_.next_page_token
        del runs_
        rss.append(C.rss_mb() - base)
        if token is None:
            break
    total_s = time.perf_counter() - t0
    peak = C.hwm_mb()
    ws.close()
    assert len(seen) == n_runs, (len(seen), n_runs)
    return {"runs": n_runs, "page": page, "pages": len(page_s), "setup_s": setup_s, "base_mb": base,
            "one_page_mb": one_page_mb, "growth_mb": rss[-1], "max_sampled_growth_mb": max(rss),
            "peak_growth_mb": peak - base, "peak_reset": reset, "maxrss_before_mb": maxrss_before,
            "maxrss_after_mb": maxrss_mb(), "total_s": total_s, "page_s": page_s,
            "first_pages_ms": [round(x * 1000, 1) for x in page_s[:3]],
            "last_pages_ms": [round(x * 1000, 1) for x in page_s[-3:]]}


def child(part: str, args) -> dict:
    cmd = [sys.executable, __file__, "--part", part, "--points", str(args.points), "--runs", str(args.runs)]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--part", choices=["a", "b"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.part == "a":
        print(json.dumps(part_a(args.points)))
        return
    if args.part == "b":
        print(json.dumps(part_b(args.runs, 1000)))
        return

    a = child("a", args)
    b = child("b", args)
    ok_a = a["peak_growth_mb"] < TARGET_MB and a["growth_mb"] < TARGET_MB
    all_mb = b["one_page_mb"] * b["pages"]
    ok_b = b["peak_growth_mb"] < TARGET_MB
    rows = [
        [f"(a) {a['points']:,} `run.log` calls + `end()`", f"{a['growth_mb']:.1f}", f"{a['peak_growth_mb']:.1f}",
         f"{a['total_s']:.1f} s ({a['points'] / a['total_s']:,.0f} points/s)", f"< {TARGET_MB:g} MB",
         C.verdict(ok_a)],
        [f"(b) page through {b['runs']:,} runs, {b['page']:,} a page", f"{b['growth_mb']:.1f}",
         f"{b['peak_growth_mb']:.1f}", f"{b['total_s']:.1f} s ({b['pages']} pages)",
         f"bounded (< {TARGET_MB:g} MB)", C.verdict(ok_b)],
    ]
    body = C.table(["workload", "RSS growth MB", "peak growth MB", "time", "target", "result"], rows)
    body += f"""

- (a) Baseline {a['base_mb']:.0f} MB RSS after a 50,000-point warm-up run, with the run started; growth measured
  after `run.end()` returned; peak from VmHWM reset at the baseline ({'reset worked' if a['peak_reset'] else
  'reset failed: peak is since process start'}); `ru_maxrss` (reset with it) read {a['maxrss_before_mb']:.0f} MB before,
  {a['maxrss_after_mb']:.0f} MB after. RSS growth sampled every {a['points'] // 20:,} calls (MB): {', '.join(map(str, a['samples_mb']))}.
  Logging loop {a['log_s']:.1f} s, until `end()` returned {a['total_s']:.1f} s; all {a['points']:,} points checked in the
  database ({a['db_mb']:.0f} MB on disk).
- (b) Set-up: {b['runs']:,} ended runs (2 params, 2 metrics each) inserted with SQLAlchemy Core in
  {b['setup_s']:.1f} s (not timed). Then `ws.search_runs(max_results=1000, page_token=...)` until the token is None
  (default order `start_time DESC`), dropping each page: {b['pages']} pages, every run seen once (checked).
  Holding one page of 1,000 `Run`s takes {b['one_page_mb']:.1f} MB (tracemalloc), so all {b['runs']:,} at once would be about
  {all_mb:.0f} MB. Page times: first {', '.join(map(str, b['first_pages_ms']))} ms, last
  {', '.join(map(str, b['last_pages_ms']))} ms (median {C.median(b['page_s']) * 1000:.0f} ms);
  `ru_maxrss` read {b['maxrss_before_mb']:.0f} MB before the reset (the set-up's peak), {b['maxrss_after_mb']:.0f} MB after
  paging.
- No MLflow reference: at its ~200 synchronous points/s (workload 1), (a) would take it about
  {a['points'] / 200 / 3600:.0f} hours.
"""
    C.write_section("memory", "5. memory: 10M points in one run; paging through 100,000 runs", body, {
        "a": a, "b": b, "pass_a": ok_a, "pass_b": ok_b,
    })


if __name__ == "__main__":
    main()
