"""``mlws automl ...``: start an automated-ML search, show its leaderboard, resume it."""

from __future__ import annotations

import sys

import click

from .main import _fields, _fmt, _json, _table, _ws, handles_errors

#: hyper-parameters shown per leaderboard row at most (the rest: --json)
_SHOWN_PARAMS = 4


@click.group()
def automl() -> None:
    """Automated ML: model and hyper-parameter search with FLAML, a child run per trial."""


@automl.command("run")
@click.option("--data", required=True, metavar="DATASET[:VERSION]",
              help="A tabular dataset version (NAME, NAME:VERSION or NAME@ALIAS).")
@click.option("--target", required=True, metavar="COLUMN", help="The column to predict.")
@click.option("--task", required=True, type=click.Choice(["classification", "regression"]))
@click.option("--metric", metavar="NAME",
              help="FLAML's metric (roc_auc, accuracy, log_loss, macro_f1, r2, rmse, mae, ...); "
                   "default roc_auc for two classes, accuracy for more, r2 for regression.")
@click.option("--time-budget", default="60s", show_default=True, metavar="DURATION",
              help="Seconds (>= 5) or 90s, 10m, 1h: the search and the best model's refit.")
@click.option("--max-trials", type=int, metavar="N",
              help="At most N trials; with --seed the search is the same each time.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--estimator", "estimators", multiple=True, metavar="NAME",
              help="A FLAML estimator to search (repeatable; lgbm, rf, xgboost, extra_tree, "
                   "lrl1, ...); default FLAML's list for the task.")
@click.option("--experiment", metavar="NAME", help="The parent run's experiment "
                                                   "(default automl-DATASET).")
@click.option("--compute", metavar="NAME", help="The compute target (default: local).")
@click.option("--model-name", metavar="NAME", help="The registered model's name "
                                                   "(default DATASET-TARGET).")
@click.option("--no-register", is_flag=True, help="Do not register the best model.")
@click.option("--wait", is_flag=True, help="Execute here and wait, then show the leaderboard; "
                                           "exit 1 unless it completed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def automl_run(ctx, data, target, task, metric, time_budget, max_trials, seed, estimators,
               experiment, compute, model_name, no_register, wait, as_json) -> None:
    """Search models and hyper-parameters for TARGET in a dataset; print the run id at once
    (or --wait: the leaderboard)."""
    ws = _ws(ctx)
    progress = _Progress(ws.automl_service) if wait and not as_json else None
    try:
        run_id = ws.automl_service.start(
            data, target, task, metric=metric, time_budget=time_budget, max_trials=max_trials,
            seed=seed, estimators=list(estimators) or None, experiment=experiment,
            compute=compute, register=not no_register, model_name=model_name, wait=wait,
            on_submitted=None if as_json else (progress.start if progress else _submitted))
    finally:
        if progress is not None:
            progress.stop()
    if not wait:
        if as_json:
            _json({"id": run_id})
        return
    _shown(ws.automl_service.show(run_id), as_json)


def _submitted(run_id: str) -> None:
    click.echo(run_id)
    click.echo(f"search {run_id} runs detached: 'mlws automl show {run_id}' shows it, "
               f"'mlws run logs {run_id} -f' follows its trials", err=True)


class _Progress:
    """While a search runs here (--wait): a line on stderr every PROGRESS_S seconds with its
    trials, the best so far and the budget used (the leaderboard comes at the end)."""

    PROGRESS_S = 5.0

    def __init__(self, service):
        import threading

        self.service, self.done = service, threading.Event()
        self.thread: "threading.Thread | None" = None

    def start(self, run_id: str, verb: str = "started") -> None:
        import threading

        click.echo(f"search {run_id} {verb} (a line every {self.PROGRESS_S:g} s; "
                   f"'mlws run logs {run_id} -f' shows each trial)", err=True)
        self.thread = threading.Thread(target=self._watch, args=(run_id,), daemon=True,
                                       name="mlws-automl-progress")
        self.thread.start()

    def _watch(self, run_id: str) -> None:
        while not self.done.wait(self.PROGRESS_S):
            try:
                shown = self.service.show(run_id)
            except Exception:  # the search's own end says what went wrong
                return
            best, spent = shown["best"], shown["budget"]["time_spent_s"]
            metric = shown["metric"] or "metric"
            done = len(shown["leaderboard"])
            click.echo(("  no trial ended yet" if not done else
                        f"  {done} trial{'s' if done != 1 else ''}") +
                       (f", best {metric} {_fmt(best['metric'])} ({best['estimator']})" if best
                        else "") +
                       (f", {_fmt(spent)} s of {shown['spec']['time_budget']:g} s"
                        if spent is not None else ""), err=True)

    def stop(self) -> None:
        self.done.set()
        if self.thread is not None:
            self.thread.join(timeout=10)


@automl.command("show")
@click.argument("run_id", metavar="RUN")
@click.option("-n", "limit", type=click.IntRange(1, 10_000), default=20, show_default=True,
              help="Leaderboard rows shown.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (every row).")
@click.pass_context
@handles_errors
def automl_show(ctx, run_id, limit, as_json) -> None:
    """A search: its leaderboard (best marked), the budget used, the model registered."""
    _shown(_ws(ctx).automl_service.show(run_id), as_json, limit)


@automl.command("resume")
@click.argument("run_id", metavar="RUN")
@click.option("--wait", is_flag=True, help="Execute here and wait, then show the leaderboard.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def automl_resume(ctx, run_id, wait, as_json) -> None:
    """Resume an interrupted search (its process killed, a kernel restart, a cancel), keeping
    its finished trials and the budget it has left."""
    ws = _ws(ctx)
    progress = _Progress(ws.automl_service) if wait and not as_json else None
    try:
        run_id = ws.automl_service.resume(
            run_id, wait=wait,
            on_submitted=(lambda rid: progress.start(rid, "resumed")) if progress else None)
    finally:
        if progress is not None:
            progress.stop()
    if wait:
        return _shown(ws.automl_service.show(run_id), as_json)
    _json({"id": run_id}) if as_json else click.echo(f"search {run_id} resumed")


def _shown(shown: dict, as_json: bool, limit: int = 20) -> None:
    """Print a search (:meth:`AutoMLService.show`); exit 1 when it ended without completing."""
    if as_json:
        _json(shown)
    else:
        _leaderboard(shown, limit)
    if shown["run"]["status"] not in ("completed", "queued", "running"):
        sys.exit(1)


def _leaderboard(shown: dict, limit: int) -> None:
    run, spec, budget = shown["run"], shown["spec"], shown["budget"]
    metric = shown["metric"] or spec.get("metric")
    spent = budget["time_spent_s"]
    parts = ""
    if budget["search_s"] is not None:
        # a resumed search's parts are its last attempt's: the earlier ones' are named apart
        earlier = budget.get("earlier_s") or 0.0
        parts = (f" ({f'earlier attempts {_fmt(earlier)} s, ' if earlier > 0.005 else ''}"
                 f"search {_fmt(budget['search_s'])} s, refit {_fmt(budget['refit_s'])} s; "
                 f"setup {_fmt(budget['setup_s'])} s apart)")
    resumable = run["status"] in ("killed", "failed", "canceled")
    if spent is not None:
        used = f"{_fmt(spent)} s of {spec['time_budget']:g} s used{parts}"
    elif run["status"] in ("queued", "running"):
        used = f"{spec['time_budget']:g} s, not started yet"
    else:
        used = f"none of {spec['time_budget']:g} s (it ended before its search started)"
    error = run.get("error") or ""
    _fields([("search", f"{run['id']} ({run['status']})"),
             ("data", f"{spec['data']}, target {spec['target']} ({spec['task']})"),
             ("metric", metric or "the task's default, chosen when the search starts"),
             ("budget", used),
             ("trials", str(len(shown["leaderboard"]))),
             *([("stopped", shown["stopped"])] if shown["stopped"] else []),
             *([("model", shown["model"])] if shown["model"] else
               [("model", "not registered (--no-register)")]
               if not spec.get("register", True) and run["status"] == "completed" else []),
             *([("error", error)] if error else []),
             *([("resume", f"mlws automl resume {run['id']}" + (
                 " (its finished trials are kept)" if shown["leaderboard"] else ""))]
               if resumable and "mlws automl resume" not in error else [])])
    rows = shown["leaderboard"][:limit]
    if not rows:
        return
    click.echo()
    _table(["", "RANK", "TRIAL", "ESTIMATOR", (metric or "metric").upper(), "TRAIN S", "RUN", "CONFIG"],
           [["★" if r["best"] else "", r["rank"], r["trial"], r["estimator"], _fmt(r["metric"]),
             f"{r['train_time_s']:.2f}", r["run_id"], _config(r["config"])] for r in rows])
    if len(shown["leaderboard"]) > limit:
        click.echo(f"... {len(shown['leaderboard']) - limit} more (-n, or --json)")


def _config(config: dict) -> str:
    items = [(k, v) for k, v in config.items() if k != "estimator"]
    text = ", ".join(f"{k}={_fmt(v)}" for k, v in items[:_SHOWN_PARAMS])
    return text + (", ..." if len(items) > _SHOWN_PARAMS else "")
