"""``mlws schedule ...``: notebooks and pipelines run on a cron (create, update, pause, resume,
list, show, delete, runs, trigger)."""

from __future__ import annotations

import sys

import click

from .main import _cut, _fields, _json, _moment, _table, _time, _ws, handles_errors


@click.group("schedule")
def schedule() -> None:
    """Schedules: a notebook or pipeline run on a cron, exactly once per tick (``mlws
    scheduler`` or a Jupyter server with the extension runs them)."""


def _options(update: bool):
    """The options of create (required ones) and update (every one optional)."""
    def wrap(fn):
        options = [
            click.option("--notebook", metavar="NB.IPYNB",
                         help="The notebook to run (snapshotted now: later edits run only once "
                              "you update the schedule with it again)."),
            click.option("--pipeline", metavar="PIPELINE.YAML",
                         help="The pipeline to run (its YAML and steps' files snapshotted now)."),
            click.option("--cron", required=not update, metavar='"M H DOM MON DOW"',
                         help='Five fields, e.g. "0 6 * * 1-5" (6:00 on weekdays), or @daily.'),
            click.option("--tz", metavar="ZONE",
                         help="The cron's IANA time zone, e.g. Europe/Berlin (default: this "
                              "machine's)."),
            click.option("-p", "--parameter", "params", nargs=2, multiple=True,
                         metavar="NAME VALUE",
                         help="A parameter of every run, typed as YAML/JSON (a pipeline's: NAME "
                              "or STEP.NAME)." + (" Given: replaces them all." if update else "")),
            click.option("--compute", metavar="NAME",
                         help="The compute target runs execute on (default: local)."),
            click.option("--secret", "secrets", multiple=True, metavar="NAME[=ENVVAR]",
                         help="A secret given to every run as an environment variable "
                              "(repeatable)." + (" Given: replaces them all." if update else "")),
            click.option("--catch-up", metavar="latest|skip|all:N",
                         help="After downtime: one run for the missed ticks (latest, the "
                              "default), none (skip), or the newest N (all:N)."),
            click.option("--retries", type=int, metavar="N",
                         help="Run a failed run again up to N times (after 1 min, 2, 4, ...)."),
            click.option("--notify", "urls", multiple=True, metavar="URL",
                         help="A webhook posted when a run ends (repeatable)."
                              + (" Given: replaces them all." if update else "")),
            click.option("--notify-on", type=click.Choice(["failure", "success", "both"]),
                         default="failure", show_default=True,
                         help="When the webhooks are posted."),
            click.option("--no-reuse/--reuse", "no_reuse", default=None,
                         help="A pipeline's runs run every step (--no-reuse), or reuse "
                              "unchanged steps (--reuse, the default)."),
            click.option("--force", multiple=True, metavar="STEP",
                         help="A pipeline's runs run STEP and what follows it even when "
                              "unchanged (repeatable)." + (" Given: replaces them." if update
                                                           else "")),
            click.option("--json", "as_json", is_flag=True, help="Print JSON."),
        ]
        for option in reversed(options):
            fn = option(fn)
        return fn
    return wrap


def _settings(params, secrets, catch_up, retries, urls, notify_on, update: bool) -> dict:
    from ..notebooks.parameters import parse_value

    out = {}
    if params or not update:
        out["params"] = {name: parse_value(name, text) for name, text in params}
    if secrets or not update:
        out["secrets"] = list(secrets)
    if urls or not update:
        out["notify"] = [{"url": url, "on": notify_on} for url in urls]
    if catch_up is not None or not update:
        out["catch_up"] = catch_up or "latest"
    if retries is not None or not update:
        out["retries"] = retries or 0
    return out


@schedule.command("create")
@click.argument("name")
@_options(update=False)
@click.pass_context
@handles_errors
def schedule_create(ctx, name, notebook, pipeline, cron, tz, params, compute, secrets, catch_up,
                    retries, urls, notify_on, no_reuse, force, as_json) -> None:
    """Create schedule NAME: run --notebook (or --pipeline) on --cron."""
    made = _ws(ctx).schedules.create(
        name, notebook=notebook, pipeline=pipeline, cron=cron, tz=tz, compute=compute,
        no_reuse=bool(no_reuse), force=list(force),
        **_settings(params, secrets, catch_up, retries, urls, notify_on, update=False))
    _warn(made)
    if as_json:
        return _json(made)
    click.echo(f"schedule {made['name']} created: {made['kind']} {made['source']} (snapshot "
               f"taken), {_when(made)}")
    click.echo(f"next: {', '.join(made['next'][:3])}")
    click.echo("runs start while 'mlws scheduler' (or a Jupyter server with the extension) "
               "watches this workspace")


@schedule.command("update")
@click.argument("name")
@_options(update=True)
@click.pass_context
@handles_errors
def schedule_update(ctx, name, notebook, pipeline, cron, tz, params, compute, secrets, catch_up,
                    retries, urls, notify_on, no_reuse, force, as_json) -> None:
    """Change schedule NAME: only what is given changes.  --notebook/--pipeline (the same file
    too) takes a new snapshot."""
    given = {k: v for k, v in (("notebook", notebook), ("pipeline", pipeline), ("cron", cron),
                               ("tz", tz), ("compute", compute), ("no_reuse", no_reuse))
             if v is not None}
    if force:
        given["force"] = list(force)
    elif no_reuse is False:
        given["force"] = []  # --reuse: no step forced either
    changed = _ws(ctx).schedules.update(
        name, **given, **_settings(params, secrets, catch_up, retries, urls, notify_on, True))
    _warn(changed)
    if as_json:
        return _json(changed)
    snapshot = " (new snapshot taken)" if notebook or pipeline else ""
    click.echo(f"schedule {changed['name']} updated: {changed['kind']} {changed['source']}"
               f"{snapshot}, {_when(changed)}")


def _warn(s: dict) -> None:
    for warning in s.get("warnings", []):
        click.echo(f"warning: {warning}", err=True)


def _when(s: dict) -> str:
    return f"{s['description']} ({s['tz']})" + _reuse(s, ", ") + (", paused" if s["paused"]
                                                                   else "")


def _reuse(s: dict, lead: str = "") -> str:
    """A pipeline schedule's reuse options in words ('' when unchanged steps are reused)."""
    if s.get("no_reuse"):
        return f"{lead}every step runs (--no-reuse)"
    if s.get("force"):
        return f"{lead}forces {', '.join(s['force'])} (--force)"
    return ""


def _toggle(verb: str, text: str):
    @schedule.command(verb, help=text)
    @click.argument("name")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_context
    @handles_errors
    def command(ctx, name, as_json) -> None:
        result = getattr(_ws(ctx).schedules, verb)(name)
        if as_json:
            return _json(result)
        state = "paused" if result["paused"] else f"resumed, next {result['next'][0]}" \
            if result["next"] else "resumed"
        click.echo(f"schedule {result['name']} {state}")

    return command


_toggle("pause", "Pause schedule NAME: no tick runs until it is resumed.")
_toggle("resume", "Resume schedule NAME: its ticks from now on run (none missed while paused).")


@schedule.command("delete")
@click.argument("name")
@click.pass_context
@handles_errors
def schedule_delete(ctx, name) -> None:
    """Delete schedule NAME (the runs it made stay)."""
    _ws(ctx).schedules.delete(name)
    click.echo(f"schedule {name} deleted")


@schedule.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def schedule_list(ctx, as_json) -> None:
    """Schedules: what runs when, and how their last run went."""
    rows = _ws(ctx).schedules.list()
    if as_json:
        return _json(rows)
    _table(["NAME", "RUNS", "WHEN", "NEXT", "LAST RUN"],
           [[s["name"], f"{s['kind']} {s['source']}" + (" (file missing: its runs fail)"
                                                         if s.get("source_missing") else ""),
             f"{s['cron']} ({s['tz']})",
             "paused" if s["paused"] else _moment((s["next"] or [None])[0]),
             _last(s["last_runs"])] for s in rows])


def _last(runs: list[dict]) -> str:
    return f"{_status(runs[0])} ({_moment(runs[0]['nominal'])})" if runs else "-"


def _status(run: dict) -> str:
    """A run's status; a retry not started: when it starts, or that the pause holds it."""
    if run["id"]:
        return run["status"]
    return "retry held (paused)" if run.get("held") else f"retry at {_moment(run['due'])}"


@schedule.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def schedule_show(ctx, name, as_json) -> None:
    """Schedule NAME: its cron in words, next fire times, settings and last runs."""
    s = _ws(ctx).schedules.get(name)
    if as_json:
        return _json(s)
    changed = ", ".join(s.get("source_changed") or []) or s["source"]
    state = {"unchanged": "the files are unchanged",
             "changed": f"changed since: {changed}; runs use the snapshot ('mlws schedule "
                        f"update {s['name']} --{s['kind']} {s['source']}' takes the edits)",
             "missing": f"{s['source']} is gone: its runs fail"}[s["source_state"]]
    _fields([("schedule", s["name"]), (s["kind"], s["source"]),
             ("snapshot", f"{_time(s['snapshot_at'])}; {state}"),
             ("cron", f"{s['cron']}: {s['description']}"), ("time zone", s["tz"]),
             ("next", "paused" if s["paused"] else ", ".join(s["next"]) or "-"),
             ("params", ", ".join(f"{k}={v!r}" for k, v in s["params"].items()) or "-"),
             ("compute", s["compute"] or "local"), ("secrets", ", ".join(s["secrets"]) or "-"),
             ("catch-up", s["catch_up"]), ("retries", s["retries"]),
             *([("reuse", _reuse(s) or "unchanged steps reused (their deps declared)")]
               if s["kind"] == "pipeline" else []),
             ("notify", ", ".join(f"{n['url']} on {'/'.join(n['on'])}" for n in s["notify"])
              or "-"),
             ("owner", s["owner"]), ("created", _time(s["created"]))])
    click.echo("last runs:" if s["last_runs"] else "last runs: none yet")
    if s["last_runs"]:
        _runs(s["last_runs"])


@schedule.command("runs")
@click.argument("name")
@click.option("-n", "limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def schedule_runs(ctx, name, limit, as_json) -> None:
    """Runs of schedule NAME, newest first, retries included."""
    rows = _ws(ctx).schedules.runs(name, limit)
    return _json(rows) if as_json else _runs(rows)


#: the widest a runs table's ERROR column gets (the whole error: ``mlws run show RUN``)
ERROR_WIDTH = 60


def _runs(rows: list[dict]) -> None:
    """A schedule's runs: times in this machine's zone, each error on one line (cut with "…",
    then a pointer to the whole)."""
    errors = [_cut(r["error"], ERROR_WIDTH) for r in rows]
    _table(["RUN", "STATUS", "TICK", "TICKS", "TRIGGER", "ATTEMPT", "STARTED", "ERROR"],
           [[r["id"] or "-", _status(r), _moment(r["nominal"]),
             r["tick_count"] if r["tick_count"] <= 1000 else "1000+", r["trigger"],
             r["attempt"], _moment(r["started"]), error] for r, error in zip(rows, errors)])
    if any(e.endswith("…") for e in errors):
        click.echo("the whole error of a run: mlws run show RUN")


@schedule.command("trigger")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def schedule_trigger(ctx, name, as_json) -> None:
    """Run schedule NAME now, outside its cron; exit 1 when the run could not start."""
    run = _ws(ctx).schedules.trigger(name)
    if as_json:
        _json(run)
    elif run["status"] == "failed":
        click.echo(f"run {run['id']} failed: {run['error']}", err=True)
    else:
        click.echo(f"run {run['id']} {run['status']} (schedule {name}, now); follow it with "
                   f"'mlws run logs {run['id']} --follow'")
    if run["status"] == "failed":
        sys.exit(1)
