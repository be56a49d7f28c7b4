"""Dask: a sweep of 16 small notebooks on a cluster of 2 workers vs the same sweep on ``local``,
one child at a time.

tests/notebooks/train.ipynb (5 tiny epochs, logs ``loss``, writes ``outputs/result.txt``) with
``lr`` = 0.05 ... 0.80, each way timed wall-clock around the real CLI in a subprocess, on a
fresh workspace (``mlws workspace create``):

- dask: ``mlws run submit train.ipynb --grid lr=... --compute cluster --max-parallel 16 --wait``
  (every child handed to the cluster at once: its two workers decide what runs), the target
  ``cluster`` a real ``dask scheduler`` with two ``dask worker`` processes (one thread each) on
  127.0.0.1: each child is a Dask task whose worker runs the remote executor, reporting over
  HTTP to the workspace's server (started once, by the warm-up run);
- local, sequential: ``mlws run submit train.ipynb --grid lr=... --max-parallel 1 --wait``.

The two ways alternate (the order turns every round) after a warm-up run on each; medians of
``--rounds`` rounds.  Every run is checked: completed, its own ``lr``, its final ``loss``
((1 - lr) ** 5), its own ``outputs/result.txt``, and on Dask the target's name on the run and
one attempt that started (each child executed exactly once).

Target: the Dask sweep at least 1.6x faster than the sequential local one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import _common as C  # noqa: E402
import sweep  # noqa: E402
from dask_cluster import Cluster  # noqa: E402

NOTEBOOK = sweep.NOTEBOOK
LRS = [round(0.05 * i, 2) for i in range(1, 17)]
TARGET = 1.6
TARGET_NAME = "cluster"
# a CPU-bound job of about 0.3 s: the control
CONTROL = "x = 0\nfor i in range(3_000_000): x += i"


class Bench(sweep.Bench):
    """bench/sweep.py's workspace, project and CLI, with the dask target ``cluster``."""

    def __init__(self, tmp: Path, address: str):
        super().__init__(tmp)
        self.mlws("compute", "create", TARGET_NAME, "--type", "dask", "--address", address)
        self.sweeps: list[tuple[str, str]] = []  # (parent id, way)

    def sweep_on(self, way: str) -> float:
        # on Dask every child is handed over at once: the cluster's workers decide what runs
        where = ["--compute", TARGET_NAME, "--max-parallel", str(len(LRS))] if way == "dask" \
            else ["--max-parallel", "1"]
        t0 = time.perf_counter()
        out = self.mlws("run", "submit", NOTEBOOK.name, "--grid", "lr=" + ",".join(map(str, LRS)),
                        *where, "--wait")
        t = time.perf_counter() - t0
        self.sweeps.append((out.split()[0], way))
        return t

    def warm_up(self) -> None:
        """One run each way: file caches, and the workspace server the Dask workers report to."""
        self.mlws("run", "submit", NOTEBOOK.name, "-p", "lr", "0.5", "--wait")
        self.mlws("run", "submit", NOTEBOOK.name, "-p", "lr", "0.5", "--compute", TARGET_NAME, "--wait")

    def check(self) -> dict:
        from jupyter_mlws import Workspace

        info: dict = {"sweeps": [], "runs_checked": 0}
        with Workspace.open(self.ws) as ws:
            for parent_id, way in self.sweeps:
                parent = ws.runs.get(parent_id)
                assert parent.status == "completed", f"sweep {parent_id} is {parent.status}: {parent.error}"
                kids = ws.runs.children(parent.id)
                assert sorted(float(k.params["lr"]) for k in kids) == LRS, f"sweep {parent_id}: {len(kids)} children"
                for kid in kids:
                    self._check_run(ws, kid.id, float(kid.params["lr"]), way)
                    info["runs_checked"] += 1
                spans = sorted((k.start_time, k.end_time) for k in kids)
                info["sweeps"].append({
                    "parent": parent_id, "way": way, "max_concurrent": C.max_overlap(spans),
                    "child_mean_s": sum(e - s for s, e in spans) / len(spans) / 1000,
                    "submit_to_first_child_s": (spans[0][0] - parent.start_time) / 1000,
                    "last_child_to_parent_end_s": (parent.end_time - max(e for _, e in spans)) / 1000})
        return info

    @staticmethod
    def _check_run(ws, run_id: str, lr: float, way: str) -> None:
        run = ws.get_run(run_id)
        rec = run.record
        assert rec.status == "completed", f"run {run_id} is {rec.status}: {rec.error}"
        loss = run.metrics["loss"]
        assert abs(loss - (1 - lr) ** 5) < 1e-9, f"run {run_id} (lr {lr}): final loss {loss}"
        files = {f["path"]: f for f in run.files("artifact")}
        text = ws.blobs.path(files["outputs/result.txt"]["sha256"]).read_text()
        assert text.split()[0] == str(lr), f"run {run_id} (lr {lr}) stored another run's result: {text!r}"
        if way == "dask":
            assert ws.compute.target_of(run_id)[0] == TARGET_NAME, f"run {run_id} is not on {TARGET_NAME}"
            attempts = ws.runs.values(run_id, "attempts")
            assert len(attempts) == 1, f"run {run_id} recorded {len(attempts)} attempts"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=2, help="rounds of the two sweeps (default 2)")
    args = ap.parse_args()
    tmp = C.tmpdir("dask-sweep")
    cluster = Cluster().start(2)
    try:
        b = Bench(tmp, cluster.address)
        b.warm_up()
        D, L = "dask: `--grid ... --compute cluster --max-parallel 16 --wait` (2 workers)", \
            "local, sequential: `--grid ... --max-parallel 1 --wait`"
        CP, CS = "control: 16 CPU-bound processes, 2 at a time", "control: the same, 1 at a time"
        ways = {D: lambda: b.sweep_on("dask"), L: lambda: b.sweep_on("local"), CP: lambda: C.control(len(LRS), 2, CONTROL),
                CS: lambda: C.control(len(LRS), 1, CONTROL)}
        times: dict[str, list[float]] = {n: [] for n in ways}
        t_start = time.perf_counter()
        for rnd in range(args.rounds):
            order = list(ways)[rnd % 2:] + list(ways)[:rnd % 2]
            for n in order:
                times[n].append(ways[n]())
                print(f"round {rnd}: {n.split(':')[0]} {times[n][-1]:.2f} s", file=sys.stderr)
        wall = time.perf_counter() - t_start
        info = b.check()
    finally:
        cluster.stop()

    med = {n: C.median(v) for n, v in times.items()}
    speedup = med[L] / med[D]
    ok = speedup >= TARGET
    control = med[CS] / med[CP]
    rows = [[D, f"{med[D]:.2f}", f"{med[D] / len(LRS):.2f}", f"{speedup:.2f}x", f">= {TARGET}x", C.verdict(ok)],
            [L, f"{med[L]:.2f}", f"{med[L] / len(LRS):.2f}", "1x", "", ""],
            [CP, f"{med[CP]:.2f}", "", f"{control:.2f}x of 1 at a time", "", ""],
            [CS, f"{med[CS]:.2f}", "", "", "", ""]]
    body = C.table([f"{len(LRS)} runs of train.ipynb", "median s", "s per run", "faster than local",
                    "target", "result"], rows)

    def m(way: str, key: str) -> float:
        return C.median([s[key] for s in info["sweeps"] if s["way"] == way])

    def rounds(n: str) -> str:
        return ", ".join(f"{t:.2f}" for t in times[n])

    body += f"""

- {args.rounds} rounds (the order turns every round), after a warm-up run each way (which also starts the
  workspace's server, which the workers report to).  Wall-clock around the real CLI in a subprocess, a fresh
  workspace.  Rounds (s): dask {rounds(D)}; local {rounds(L)}; {wall:.0f} s in all.
- **Speed-up {speedup:.2f}x.**  The control (`python -c` summing 3M integers, 16 processes) shows what running 2
  at a time could win on this machine at the same moment: {control:.2f}x of 1 at a time.
- The cluster: `dask scheduler` and two `dask worker --nthreads 1` processes on 127.0.0.1, started by the
  benchmark (tests/dask_cluster.py).  On this machine the workers share its CPUs with the workspace server and
  the CLI, so the speed-up is bounded by the CPUs, not by Dask.
- Inside the sweeps (median, from the runs' recorded times): a child lasts {m('dask', 'child_mean_s'):.2f} s on a
  worker vs {m('local', 'child_mean_s'):.2f} s locally; the first child starts {m('dask', 'submit_to_first_child_s'):.2f} s /
  {m('local', 'submit_to_first_child_s'):.2f} s after the parent starts; the parent ends
  {m('dask', 'last_child_to_parent_end_s'):.2f} s / {m('local', 'last_child_to_parent_end_s'):.2f} s after the last
  child; at most {max(s['max_concurrent'] for s in info['sweeps'] if s['way'] == 'dask')} children ran at once on Dask.
- Checked: all {info['runs_checked']} runs completed with their own `lr`, final `loss` = (1 - lr)^5 and their own
  `outputs/result.txt`; on Dask each run records the target's name and exactly one attempt.
"""
    C.write_section("dask_sweep", f"dask_sweep: {len(LRS)} notebook runs on 2 Dask workers vs sequential local",
                    body, {"rounds": args.rounds, "lrs": LRS, "times": times, "median": med,
                           "speedup": speedup, "control": control, "pass": ok, "check": info, "wall_s": wall})


if __name__ == "__main__":
    main()
