"""``mlws pipeline ...``: run a pipeline of notebook and script steps, list them, show their runs."""

from __future__ import annotations

import sys

import click

from .main import _cut, _duration, _fields, _json, _table, _time, _ws, handles_errors


@click.group()
def pipeline() -> None:
    """Pipelines: DAGs of notebook and script steps, unchanged steps reused."""


@pipeline.command("run")
@click.argument("definition", type=click.Path(dir_okay=False))
@click.option("-p", "--parameter", "params", nargs=2, multiple=True, metavar="NAME VALUE",
              help="A pipeline parameter (or STEP.NAME, one step's), typed as YAML/JSON.")
@click.option("--compute", metavar="NAME", help="The compute target steps execute on "
                                                "(default: local).")
@click.option("--from", "from_step", metavar="STEP",
              help="Run STEP and the steps after it; the others' outputs come from their latest "
                   "completed run.")
@click.option("--only", multiple=True, metavar="STEP",
              help="Run only STEP (repeatable); the others' outputs come from their latest "
                   "completed run.")
@click.option("--force", multiple=True, metavar="STEP",
              help="Run STEP and the steps after it even if they could be reused (repeatable).")
@click.option("--no-reuse", is_flag=True, help="Run every step.")
@click.option("--max-parallel", type=int, default=4, show_default=True,
              help="Steps running at once.")
@click.option("--project-dir", help="The folder steps' paths are relative to, snapshotted "
                                    "(default: the pipeline file's).")
@click.option("--wait", is_flag=True, help="Execute here and wait, showing steps done on "
                                           "stderr; exit 1 unless it completed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def pipeline_run(ctx, definition, params, compute, from_step, only, force, no_reuse, max_parallel,
                 project_dir, wait, as_json) -> None:
    """Run the pipeline of DEFINITION (a pipeline.yaml); print its run id at once (or --wait)."""
    from ..notebooks.parameters import parse_value

    from ..pipelines.records import ENDED, state_word, tally

    ws = _ws(ctx)
    values = {name: parse_value(name, text) for name, text in params}

    def progress(done: int, total: int) -> None:
        if wait and not as_json and done != progress.done:  # type: ignore[attr-defined]
            steps = ws.pipelines.describe(progress.run_id)["steps"]  # type: ignore[attr-defined]
            ended = tally(state_word(s["state"]) for s in steps if s["state"] in ENDED)
            click.echo(f"steps {done}/{total} ended: {ended}", err=True)
            progress.done = done  # type: ignore[attr-defined]

    def submitted(run_id: str) -> None:
        progress.run_id = run_id  # type: ignore[attr-defined]
        if not as_json:
            click.echo(run_id)
        for warning in ws.pipelines.describe(run_id)["warnings"]:
            click.echo(f"warning: {warning}", err=True)

    progress.done = 0  # type: ignore[attr-defined]
    run_id = ws.pipelines.run(definition, project_dir=project_dir, parameters=values,
                              compute=compute, only=only, from_step=from_step, force=force,
                              no_reuse=no_reuse, max_parallel=max_parallel, wait=wait,
                              on_progress=progress, on_submitted=submitted)
    if not wait:
        if as_json:
            _json({"id": run_id, "warnings": ws.pipelines.describe(run_id)["warnings"]})
        return
    described = ws.pipelines.describe(run_id)
    if as_json:
        _json(described)
    else:
        _steps(described)
    if described["run"]["status"] != "completed":
        sys.exit(1)


@pipeline.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def pipeline_list(ctx, as_json) -> None:
    """Pipelines that ran here, with their latest run."""
    rows = _ws(ctx).pipelines.list()
    if as_json:
        return _json(rows)
    _table(["NAME", "RUNS", "LAST RUN", "STATUS", "STARTED"],
           [[p["name"], p["runs"], p["last_run"], p["last_status"], _time(p["last_start"])]
            for p in rows])


@pipeline.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def pipeline_show(ctx, ref, as_json) -> None:
    """REF a pipeline's name: its steps and recent runs; a pipeline run's id: each step's state
    and why it ran or was reused."""
    from ..errors import NotFound

    ws = _ws(ctx)
    try:
        shown = ws.pipelines.show(ref)
    except NotFound:
        shown = None
    if shown is None:
        described = ws.pipelines.describe(ref)
        return _json(described) if as_json else _steps(described)
    if as_json:
        return _json(shown)
    _table(["STEP", "FILE", "INPUTS", "OUTPUTS"],
           [[s["name"], s.get("script") or s.get("notebook"),
             ", ".join(f"{k}={v}" for k, v in (s.get("inputs") or {}).items()) or "-",
             ", ".join(s.get("outputs") or []) or "-"] for s in shown["definition"]["steps"]])
    click.echo()
    _runs(shown["runs"])


@pipeline.command("runs")
@click.argument("name")
@click.option("-n", "limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def pipeline_runs(ctx, name, limit, as_json) -> None:
    """Runs of pipeline NAME, newest first."""
    rows = _ws(ctx).pipelines.runs_of(name, limit)
    return _json(rows) if as_json else _runs(rows)


def _runs(rows: list[dict]) -> None:
    from ..pipelines.records import state_word, tally

    _table(["RUN", "STATUS", "STARTED", "DURATION", "STEPS"],
           [[r["id"], r["status"], _time(r["start_time"]),
             _duration(r["end_time"] - r["start_time"] if r["end_time"] else None),
             tally(state_word(s) for s, n in r["states"].items() for _ in range(n))]
            for r in rows])


def _steps(described: dict) -> None:
    from ..pipelines.records import state_word

    run = described["run"]
    _fields([("pipeline", described["pipeline"]), ("run", run["id"]), ("status", run["status"])]
            + ([("error", _cut(run["error"]))] if run.get("error") else []))
    _table(["STEP", "STATE", "RUN", "WHY"],
           [[s["name"], state_word(s["state"], s["run_status"]), s["run_id"] or "-",
             s["reason"] or "-"]
            for s in described["steps"]])
