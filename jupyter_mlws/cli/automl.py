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
    run_id = ws.automl_service.start(
        data, target, task, metric=metric, time_budget=time_budget, max_trials=max_trials,
        seed=seed, estimators=list(estimators) or None, experiment=experiment, compute=compute,
        register=not no_register, model_name=model_name, wait=wait,
        on_submitted=None if as_json else _submitted(wait))
    if not wait:
        if as_json:
            _json({"id": run_id})
        return
    _shown(ws.automl_service.show(run_id), as_json)


def _submitted(wait: bool):
    def told(run_id: str) -> None:
        click.echo(run_id if not wait else f"search {run_id} started", err=wait)
    return told


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
    run_id = ws.automl_service.resume(run_id, wait=wait)
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
    metric = shown["metric"] or spec.get("metric") or "metric"
    spent = budget["time_spent_s"]
    _fields([("search", f"{run['id']} ({run['status']})"),
             ("data", f"{spec['data']}, target {spec['target']} ({spec['task']})"),
             ("metric", metric),
             ("budget", f"{_fmt(spent)} s of {spec['time_budget']:g} s used" +
              (f" (search {_fmt(budget['search_s'])} s, refit {_fmt(budget['refit_s'])} s; "
               f"setup {_fmt(budget['setup_s'])} s apart)" if budget["search_s"] is not None
               else "")),
             ("trials", str(len(shown["leaderboard"]))),
             *([("stopped", shown["stopped"])] if shown["stopped"] else []),
             *([("model", shown["model"])] if shown["model"] else []),
             *([("error", run["error"])] if run.get("error") else [])])
    rows = shown["leaderboard"][:limit]
    if not rows:
        return
    click.echo()
    _table(["", "RANK", "TRIAL", "ESTIMATOR", metric.upper(), "TRAIN S", "RUN", "CONFIG"],
           [["★" if r["best"] else "", r["rank"], r["trial"], r["estimator"], _fmt(r["metric"]),
             f"{r['train_time_s']:.2f}", r["run_id"], _config(r["config"])] for r in rows])
    if len(shown["leaderboard"]) > limit:
        click.echo(f"... {len(shown['leaderboard']) - limit} more (-n, or --json)")


def _config(config: dict) -> str:
    items = [(k, v) for k, v in config.items() if k != "estimator"]
    text = ", ".join(f"{k}={_fmt(v)}" for k, v in items[:_SHOWN_PARAMS])
    return text + (", ..." if len(items) > _SHOWN_PARAMS else "")
