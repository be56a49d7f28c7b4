"""Automated ML: our tracked search (``ws.automl``) against FLAML's ``AutoML.fit`` run directly.

Issue 15's quality table.  Three datasets that ship with scikit-learn (nothing downloaded):
``load_breast_cancer`` (AUC), ``load_digits`` (accuracy) and a ``make_regression`` set (R²).
Per dataset and seed, the table is split once (75 % to search on, 25 % held out, stratified for
classification, by the seed) and written to one CSV, which both ways read:

- ours: the CSV registered as a tabular dataset version, then ``ws.automl(DATA, "target", TASK,
  metric=M, time_budget=B, seed=S, register=False, wait=True)`` (the runner in this process,
  FLAML in its process, each trial recorded as a child run, the best configuration refit on
  every row within the budget);
- direct: a fresh ``python`` process running ``flaml.AutoML().fit(X, y, task=TASK, metric=M,
  time_budget=B, seed=S, log_file_name=..., log_type="all")`` on the same CSV (FLAML's own
  defaults otherwise: its estimator list, which ours uses too, and its refit after the
  search).

Both models are scored by the same function on the held-out quarter (``roc_auc`` on the
positive class's probability, ``accuracy``, ``r2``).  Trials: ours are the child runs recorded;
direct's are the trials in FLAML's log.  Time: ours is the search and the refit (what the run
reports against its budget, ``time_spent_s``; the wall time of the whole call, set-up included,
is shown beside it); direct's is the wall time of ``fit`` (its refit included, which FLAML does
after the budget).  The two ways alternate per seed (the order turns), so the machine's load
hits both alike.

Targets: our mean score >= direct's mean - 0.005 (AUC, R²) or - 0.01 (accuracy); our trials
>= 95 % of direct's (tracking overhead); our time spent <= budget + 5 % in every search.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

#: name -> (task, metric, tolerance on the mean score)
DATASETS = {
    "breast_cancer": ("classification", "roc_auc", 0.005),
    "digits": ("classification", "accuracy", 0.01),
    "regression": ("regression", "r2", 0.005),
}
TRIALS_TARGET, OVERRUN_TARGET = 0.95, 0.05

DIRECT = r"""
import json, logging, os, pickle, sys, time
import pandas as pd
from flaml import AutoML
logging.getLogger("flaml").setLevel(logging.WARNING)
job = json.loads(sys.argv[1])
frame = pd.read_csv(job["csv"])
y = frame.pop("target")
automl = AutoML()
t0 = time.monotonic()
automl.fit(frame, y, task=job["task"], metric=job["metric"], time_budget=job["budget"],
           seed=job["seed"], log_file_name=job["log"], log_type="all", verbose=0)
fit_s = time.monotonic() - t0
with open(job["model"], "wb") as f:
    pickle.dump(automl, f)
with open(job["log"]) as f:
    done = [json.loads(line) for line in f if '"learner"' in line]
print(json.dumps({"fit_s": fit_s, "trials": len(done), "best_loss": automl.best_loss,
                  "last_trial_s": max((d["wall_clock_time"] for d in done), default=0.0),
                  "estimators": list(automl.estimator_list),
                  "best_estimator": automl.best_estimator}))
"""


def make_table(name: str):
    """The dataset as one DataFrame with a ``target`` column."""
    import pandas as pd
    from sklearn import datasets

    if name == "breast_cancer":
        return datasets.load_breast_cancer(as_frame=True).frame
    if name == "digits":
        bunch = datasets.load_digits(as_frame=True)
        return bunch.frame
    X, y = datasets.make_regression(n_samples=2000, n_features=20, n_informative=10, noise=10.0,
                                    random_state=0)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["target"] = y
    return frame


def split(frame, task: str, seed: int):
    from sklearn.model_selection import train_test_split

    return train_test_split(frame, test_size=0.25, random_state=seed,
                            stratify=frame["target"] if task == "classification" else None)


def score(model, test, metric: str) -> float:
    """The held-out score of a fitted ``flaml.AutoML`` (the same for both ways)."""
    from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

    X = test.drop(columns=["target"])
    y = test["target"]
    if metric == "roc_auc":
        return float(roc_auc_score(y, model.predict_proba(X)[:, 1]))
    if metric == "accuracy":
        return float(accuracy_score(y, model.predict(X)))
    return float(r2_score(y, model.predict(X)))


def _cpu() -> float:
    """CPU seconds of this process (ours: the runner, which records the trials, and the refit;
    FLAML's search runs in a process of its own)."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


class Bench:
    def __init__(self, tmp: Path, budget: float):
        from jupyter_mlws import Workspace

        os.environ.pop("MLWS_WORKSPACE", None)
        self.tmp, self.budget = tmp, budget
        self.ws = Workspace.create(tmp / "ws")

    def ours(self, name: str, csv: Path, test, task: str, metric: str, seed: int) -> dict:
        version = self.ws.datasets.register(csv.stem, csv, tabular=True).version
        t0, cpu0 = time.monotonic(), _cpu()
        run = self.ws.automl(version.ref, "target", task, metric=metric, time_budget=self.budget,
                             seed=seed, register=False, wait=True)
        wall, cpu = time.monotonic() - t0, _cpu() - cpu0
        if run.status != "completed":
            raise RuntimeError(f"our search {run.id} on {name} is {run.status}: {run.record.error}")
        shown = self.ws.automl_service.show(run.id)
        with self.ws.artifacts.open(run.id, "model/model.pkl") as f:
            model = pickle.load(f)
        budget = shown["budget"]
        from jupyter_mlws.automl.trials import trials_of

        last = max(t.wall_clock_s for t in trials_of(self.ws.runs.children(run.id)))
        return {"run": run.id, "score": score(model, test, metric),
                "val": shown["best"]["metric"], "trials": len(shown["leaderboard"]),
                "spent_s": budget["time_spent_s"], "search_s": budget["search_s"],
                "refit_s": budget["refit_s"], "setup_s": budget["setup_s"], "wall_s": wall,
                "last_trial_s": last, "runner_cpu_s": cpu,
                "stopped": bool(shown["stopped"]), "best_estimator": shown["best"]["estimator"]}

    def direct(self, csv: Path, test, task: str, metric: str, seed: int, tag: str) -> dict:
        job = {"csv": str(csv), "task": task, "metric": metric, "budget": self.budget, "seed": seed,
               "log": str(self.tmp / f"{tag}.direct.jsonl"), "model": str(self.tmp / f"{tag}.pkl")}
        t0 = time.monotonic()
        out = subprocess.run([sys.executable, "-c", DIRECT, json.dumps(job)], capture_output=True,
                             text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        wall = time.monotonic() - t0
        if out.returncode != 0:
            raise RuntimeError(f"FLAML direct failed: {out.stderr[-2000:]}")
        got = json.loads(out.stdout.strip().splitlines()[-1])
        with open(job["model"], "rb") as f:
            model = pickle.load(f)
        val = 1 - got["best_loss"] if metric in ("roc_auc", "accuracy", "r2") else got["best_loss"]
        return {"score": score(model, test, metric), "val": val, "trials": got["trials"],
                "spent_s": got["fit_s"], "last_trial_s": got["last_trial_s"], "wall_s": wall, "estimators": got["estimators"],
                "best_estimator": got["best_estimator"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget", type=float, default=60.0, help="seconds per search (default 60)")
    ap.add_argument("--seeds", type=int, default=5, help="seeds per dataset (default 5)")
    ap.add_argument("--datasets", default=",".join(DATASETS),
                    help=f"comma-separated subset of {', '.join(DATASETS)}")
    args = ap.parse_args()
    names = [n for n in args.datasets.split(",") if n]
    unknown = set(names) - set(DATASETS)
    if unknown:
        ap.error(f"unknown datasets {sorted(unknown)}: choose from {', '.join(DATASETS)}")
    import warnings

    warnings.filterwarnings("ignore")
    tmp = C.tmpdir("automl")
    bench = Bench(tmp, args.budget)
    results: dict[str, list[dict]] = {}
    t_start = time.perf_counter()
    try:
        for name in names:
            task, metric, _ = DATASETS[name]
            table = make_table(name)
            for seed in range(args.seeds):
                train, test = split(table, task, seed)
                csv = tmp / f"{name}-{seed}.csv"
                train.to_csv(csv, index=False)
                tag = f"{name}-{seed}"
                ways = {"ours": lambda: bench.ours(name, csv, test, task, metric, seed),
                        "direct": lambda: bench.direct(csv, test, task, metric, seed, tag)}
                order = ["ours", "direct"] if seed % 2 == 0 else ["direct", "ours"]
                got = {way: ways[way]() for way in order}
                results.setdefault(name, []).append({"seed": seed, "order": order, **got})
                print(f"{name} seed {seed}: ours {got['ours']['score']:.4f} "
                      f"({got['ours']['trials']} trials, {got['ours']['spent_s']:.1f} s) | direct "
                      f"{got['direct']['score']:.4f} ({got['direct']['trials']} trials, "
                      f"{got['direct']['spent_s']:.1f} s)", file=sys.stderr)
    finally:
        bench.ws.close()
    wall = time.perf_counter() - t_start
    report(args, names, results, wall)


def report(args, names: list[str], results: dict, wall: float) -> None:
    mean = C.statistics.mean
    rows, verdicts, notes = [], {}, []
    for name in names:
        task, metric, tol = DATASETS[name]
        rs = results[name]
        ours_s, direct_s = mean(r["ours"]["score"] for r in rs), mean(r["direct"]["score"] for r in rs)
        ours_t, direct_t = mean(r["ours"]["trials"] for r in rs), mean(r["direct"]["trials"] for r in rs)
        worst = max(r["ours"]["spent_s"] for r in rs) / args.budget - 1
        direct_worst = max(r["direct"]["spent_s"] for r in rs) / args.budget - 1
        ok_score, ok_trials = ours_s >= direct_s - tol, ours_t >= TRIALS_TARGET * direct_t
        ok_budget = worst <= OVERRUN_TARGET
        verdicts[name] = {"score": ok_score, "trials": ok_trials, "budget": ok_budget}
        rows.append([f"{name} ({metric})", f"{ours_s:.4f}", f"{direct_s:.4f}",
                     f"{ours_s - direct_s:+.4f} (>= -{tol:g}) {C.verdict(ok_score)}",
                     f"{ours_t:.1f} / {direct_t:.1f} = {ours_t / direct_t:.0%} (>= 95 %) "
                     f"{C.verdict(ok_trials)}",
                     f"{worst:+.1%} (<= +5 %) {C.verdict(ok_budget)}", f"{direct_worst:+.1%}"])
        per_seed = "; ".join(
            f"seed {r['seed']}: {r['ours']['score']:.4f} / {r['direct']['score']:.4f}, "
            f"{r['ours']['trials']} / {r['direct']['trials']} trials, "
            f"{r['ours']['spent_s']:.1f} s (search {r['ours']['search_s']:.1f} + refit "
            f"{r['ours']['refit_s']:.2f}; set-up {r['ours']['setup_s']:.1f}, whole call "
            f"{r['ours']['wall_s']:.1f}) / {r['direct']['spent_s']:.1f} s (its process "
            f"{r['direct']['wall_s']:.1f})" for r in rs)
        runner_cpu = ", ".join(f"{r['ours']['runner_cpu_s']:.1f}" for r in rs)
        rate = {w: sum(r[w]["trials"] for r in rs) / sum(r[w]["last_trial_s"] for r in rs)
                for w in ("ours", "direct")}
        notes.append(f"- {name}: held-out {metric} ours / direct, trials, time: {per_seed}. "
                     f"Trials per second of search (to the last trial's end): ours "
                     f"{rate['ours']:.2f}, direct {rate['direct']:.2f} "
                     f"({rate['ours'] / rate['direct']:.0%}); CPU of our runner process "
                     f"(recording the trials, the refit, the first search's imports) per search: "
                     f"{runner_cpu} s. "
                     f"Validation {metric} (FLAML's own, on its split) ours "
                     f"{mean(r['ours']['val'] for r in rs):.4f}, direct "
                     f"{mean(r['direct']['val'] for r in rs):.4f}; best estimators ours "
                     f"{', '.join(r['ours']['best_estimator'] for r in rs)}, direct "
                     f"{', '.join(r['direct']['best_estimator'] for r in rs)}.")
    body = C.table(["dataset (metric)", "ours: mean held-out score", "direct: mean",
                    "difference (target)", "trials ours / direct (target)",
                    "ours: worst overrun of the budget", "direct: worst (fit wall vs budget)"], rows)
    estimators = next(iter(results.values()))[0]["direct"]["estimators"]
    body += f"""

- Budget {args.budget:g} s, seeds 0..{args.seeds - 1}, the two ways alternating per seed (the order turns);
  {wall:.0f} s in all.  Each search's table: 75 % of the dataset (stratified for classification, split by
  the seed); its score: the held-out 25 %, scored the same way for both.  Estimators: FLAML's default list for
  both ({', '.join(estimators)} for classification).
- Ours: `ws.automl(..., time_budget={args.budget:g}, seed=S, register=False, wait=True)`; its time is what the run
  reports against its budget (`time_spent_s`: the search until its deadline, which keeps a reserve for the
  refit, and the refit of the best configuration on every row).  Direct: `flaml.AutoML().fit(...)` in a fresh
  process, its time the wall time of `fit` (FLAML refits its best model after its budget).
{chr(10).join(notes)}
"""
    C.write_section("automl", f"automl: tracked search vs FLAML direct ({args.budget:g} s, "
                    f"{args.seeds} seeds)", body,
                    {"budget": args.budget, "seeds": args.seeds, "results": results,
                     "verdicts": verdicts, "wall_s": wall})


if __name__ == "__main__":
    main()
