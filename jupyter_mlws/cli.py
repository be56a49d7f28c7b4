"""The ``mlws`` command line: a thin face over :class:`~jupyter_mlws.workspace.Workspace`.

Each command parses its options, calls the workspace and prints the answer;
``--json`` prints it for scripts.  Workspace errors become one line on stderr
and an exit code per kind (see ``EXIT_CODES``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from functools import wraps

import click

from . import errors as E

#: the first kind that matches decides (EndpointError before Unavailable, its base)
EXIT_CODES = {E.InvalidInput: 2, E.NotFound: 3, E.AlreadyExists: 4, E.Conflict: 5,
              E.PermissionDenied: 6, E.EndpointError: 8, E.InsufficientStorage: 9, E.Unavailable: 7,
              E.MlwsError: 1}


def _fail(exc: E.MlwsError) -> None:
    click.echo(f"error: {exc}", err=True)
    code = next(c for kind, c in EXIT_CODES.items() if isinstance(exc, kind))
    sys.exit(code)


def handles_errors(fn):
    """Turn workspace errors into a one-line message and an exit code."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except E.MlwsError as exc:
            _fail(exc)
    return wrapper


def _ws(ctx: click.Context):
    from .workspace import Workspace

    ws = Workspace.open(ctx.obj["workspace"])
    ctx.call_on_close(ws.close)
    return ws


def _time(ms: int | None) -> str:
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S") if ms else "-"


def _duration(ms: int | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f}s"


def _json(data, compact: bool = False) -> None:
    from .runs import jsonable

    click.echo(json.dumps(jsonable(data), indent=None if compact else 2, default=str, allow_nan=False))


def _table(headers: list[str], rows: list[list]) -> None:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def _fields(pairs) -> None:
    """``label: value`` lines, values aligned one space past the longest label."""
    pairs = list(pairs)
    width = max(len(label) for label, _ in pairs) + 2
    for label, value in pairs:
        click.echo(f"{label + ':':<{width}}{value}".rstrip())


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "-" if value is None else str(value)


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise E.InvalidInput(f"{what} {item!r} is not KEY=VALUE")
        out[key] = value
    return out


class _TextArgs(click.Group):
    """The root command: every argument must be text UTF-8 can hold (bytes that are not
    arrive as lone surrogates), checked once, before any command runs."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        from .limits import check_text

        args = [os.fspath(a) if isinstance(a, os.PathLike) else a for a in args]  # as Python callers pass
        for i, arg in enumerate(args):
            try:
                check_text(arg, f"argument {i + 1}")
            except E.InvalidInput as exc:
                raise click.UsageError(str(exc), ctx) from None
        return super().parse_args(ctx, args)


@click.group(cls=_TextArgs)
@click.option("--workspace", "-w", envvar="MLWS_WORKSPACE", default=None,
              help="Workspace folder (default: $MLWS_WORKSPACE, else the current folder or a parent).")
@click.version_option(package_name="jupyter_mlws")
@click.pass_context
def main(ctx: click.Context, workspace: str | None) -> None:
    """jupyter_mlws: your machine-learning workspace, from the notebook you already use."""
    from .startup import skip_iri_format_checks

    skip_iri_format_checks()
    ctx.ensure_object(dict)
    ctx.obj["workspace"] = workspace


# -- quickstart -------------------------------------------------------------------


@main.command()
@click.option("--path", default=".", show_default=True, help="Folder of the workspace.")
@click.option("--no-lab", is_flag=True,
              help="Do not start JupyterLab afterwards; print its command instead.")
@handles_errors
def quickstart(path: str, no_lab: bool) -> None:
    """Create a workspace here (or reuse it), run a small sample experiment, open JupyterLab.

    JupyterLab starts only at an interactive terminal; with --no-lab, in CI or when the output
    is piped, the command to start it is printed instead.
    """
    from .quickstart import can_open_lab, exec_lab, lab_hint, run_sample

    summary = run_sample(path)
    click.echo(summary)
    click.echo("")
    if no_lab or not can_open_lab():
        click.echo(lab_hint(path))
        return
    click.echo("starting JupyterLab with the 'ML workspace' sidebar open (Ctrl+C stops it)...")
    exec_lab(path)


# -- workspace --------------------------------------------------------------------


@main.group()
def workspace() -> None:
    """Create, describe and back up workspaces."""


@workspace.command("create")
@click.argument("path", default=".")
@click.option("--name", help="Display name (default: the folder's name).")
@click.option("--metadata", help="SQLAlchemy URL of the metadata store, e.g. postgresql+psycopg://...")
@click.option("--artifacts", type=click.Path(file_okay=False, resolve_path=True),
              help="Folder for artifacts (default: PATH/artifacts).")
@handles_errors
def workspace_create(path: str, name: str | None, metadata: str | None, artifacts: str | None) -> None:
    """Create a workspace in PATH."""
    from .workspace import Workspace

    with Workspace.create(path, name=name, metadata=metadata, artifacts=artifacts) as ws:
        click.echo(f"created workspace {ws.name!r} in {ws.root}")


@workspace.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def workspace_show(ctx: click.Context, as_json: bool) -> None:
    """Describe the workspace."""
    info = _ws(ctx).describe()
    if as_json:
        return _json(info)
    _fields(info.items())


@workspace.command("backup")
@click.argument("dest")
@click.pass_context
@handles_errors
def workspace_backup(ctx: click.Context, dest: str) -> None:
    """Copy the workspace to DEST consistently, even while runs write."""
    click.echo(f"backed up to {_ws(ctx).backup(dest)}")


# -- experiments --------------------------------------------------------------------


@main.group()
def experiment() -> None:
    """List experiments."""


@experiment.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def experiment_list(ctx: click.Context, as_json: bool) -> None:
    """List experiments with their run counts."""
    exps = _ws(ctx).list_experiments()
    if as_json:
        return _json(exps)
    _table(["NAME", "RUNS", "LAST RUN"], [[e["name"], e["runs"], _time(e["last_run"])] for e in exps])


# -- runs -----------------------------------------------------------------------------


@main.group()
def run() -> None:
    """Start, list, show, compare and download runs."""


@run.command("start", context_settings={"ignore_unknown_options": True})
@click.option("--experiment", "-e", default="default", show_default=True)
@click.option("--name", help="Display name of the run.")
@click.option("--tag", "tags", multiple=True, help="KEY=VALUE, repeatable.")
@click.option("--project-dir", type=click.Path(file_okay=False, exists=True),
              help="Folder snapshotted and run in (default: the current folder).")
@click.option("--no-snapshot", is_flag=True, help="Do not keep a snapshot of the project folder.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
@handles_errors
def run_start(ctx, experiment, name, tags, project_dir, no_snapshot, command) -> None:
    """Run COMMAND as a run, capturing its output: mlws run start -- python train.py

    Exits with the command's own status."""
    from .launcher import run_command

    ended = run_command(_ws(ctx), experiment, command, name=name, tags=_pairs(tags, "tag"),
                        cwd=project_dir, snapshot=not no_snapshot,
                        on_warning=lambda text: click.echo(f"warning: {text}", err=True))
    click.echo(f"run {ended.id} {ended.status}" + (f": {ended.record.error}" if ended.record.error else ""),
               err=True)
    if ended.status != "completed":
        sys.exit(ended.exit_code or 1)  # the command's own status, as a shell would give it


def _notebook_parameters(params, raw, parameters_file) -> dict:
    from .notebooks.parameters import check_parameters, load_file, parse_value

    values = load_file(parameters_file) if parameters_file else {}
    values.update({name: parse_value(name, text) for name, text in params})
    values.update(dict(raw))
    return check_parameters(values)


class _Progress:
    """Items done out of total on stderr, as they finish: a one-line bar at a terminal, else
    (a pipe, a CI log) a line per item.  ``unit`` is what is counted: cells of a notebook run,
    or the child runs of a sweep."""

    def __init__(self, enabled: bool, unit: str = "cell"):
        self.enabled = enabled
        self.bar = sys.stderr.isatty()
        self.unit = unit
        self.done = 0
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or not total or done == self.done:
            return
        if done < self.done:  # a retry starts its cells again
            self.done = 0
        if self.bar:
            width = 30
            filled = width * done // total
            click.echo(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {self.unit}s",
                       err=True, nl=False)
            self.shown = True
        else:
            for n in range(self.done + 1, done + 1):
                click.echo(f"{self.unit} {n}/{total} done", err=True)
        self.done = done

    def end(self) -> None:
        if self.shown:
            click.echo(err=True)


def _report_end(record, as_json: bool) -> None:
    if as_json:
        _json(record.to_dict())
    else:
        tail = f": {record.error.splitlines()[0]}" if record.error else ""
        click.echo(f"run {record.id} {record.status}{tail}", err=True)
    if record.status != "completed":
        sys.exit(1)


@run.command("submit")
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option("-p", "--parameter", "params", nargs=2, multiple=True, metavar="NAME VALUE",
              help="A parameter typed as YAML/JSON: -p lr 0.1 -p layers '[64, 32]'.")
@click.option("-r", "--raw", nargs=2, multiple=True, metavar="NAME VALUE",
              help="A parameter passed as a plain string.")
@click.option("-f", "--parameters-file", help="A YAML or JSON file of parameters.")
@click.option("--experiment", "-e", help="Experiment name (default: the notebook's name).")
@click.option("--timeout", type=float, help="Seconds a cell may run before the run times out.")
@click.option("--retries", type=int, default=0, show_default=True, help="Attempts after a failure.")
@click.option("--kernel", "-k", help="Kernel name (default: the notebook's).")
@click.option("--project-dir", help="Folder snapshotted and run in (default: the notebook's).")
@click.option("--name", help="Display name of the run.")
@click.option("--tag", "tags", multiple=True, help="KEY=VALUE, repeatable.")
@click.option("--output", help="A copy of the output notebook inside the workspace: 'reports/{run_name}.ipynb'.")
@click.option("--grid", multiple=True, help="NAME=V1,V2: one child run per combination (repeatable).")
@click.option("--max-parallel", type=int, default=2, show_default=True, help="Children run at once.")
@click.option("--wait", is_flag=True,
              help="Wait for the run, showing cells (of a sweep: child runs) done on stderr: "
                   "a bar at a terminal, else a line each.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def run_submit(ctx, notebook, params, raw, parameters_file, experiment, timeout, retries, kernel,
               project_dir, name, tags, output, grid, max_parallel, wait, as_json) -> None:
    """Execute NOTEBOOK as a run with Papermill; print the run id at once (or --wait)."""
    from .notebooks.parameters import parse_grid

    ws = _ws(ctx)
    values = _notebook_parameters(params, raw, parameters_file)
    options = dict(experiment=experiment, timeout=timeout, retries=retries, kernel=kernel,
                   project_dir=project_dir, name=name, tags=_pairs(tags, "tag"), output=output)
    progress = _Progress(wait and not as_json, unit="run" if grid else "cell")
    try:
        run_ = ws.submit_notebook(notebook, values, grid=parse_grid(grid) if grid else None,
                                  max_parallel=max_parallel, wait=wait, in_process=True,
                                  on_progress=progress, on_submitted=_announcer(as_json), **options)
    finally:
        progress.end()
    if wait:
        return _report_end(run_.record, as_json)
    if as_json:
        _json(run_.record.to_dict())


def _announcer(as_json: bool, warn: bool = True):
    """Tell of a submitted run on stderr (its warnings) and stdout (its id, unless --json)."""
    def announce(run_) -> None:
        for warning in run_.warnings if warn else []:
            click.echo(f"warning: {warning}", err=True)
        if not as_json:
            click.echo(run_.id)
    return announce


@run.command("rerun")
@click.argument("run_id")
@click.option("-p", "--parameter", "params", nargs=2, multiple=True, metavar="NAME VALUE",
              help="Override a parameter (typed as YAML/JSON).")
@click.option("-r", "--raw", nargs=2, multiple=True, metavar="NAME VALUE")
@click.option("--wait", is_flag=True, help="Wait for the run, showing cells done.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def run_rerun(ctx, run_id, params, raw, wait, as_json) -> None:
    """Re-execute a notebook run from its snapshot, parameters and kernel."""
    ws = _ws(ctx)
    progress = _Progress(not as_json)
    try:
        new = ws.rerun(run_id, _notebook_parameters(params, raw, None), wait=wait,
                       on_progress=progress, on_submitted=lambda r: click.echo(r.id))
    finally:
        progress.end()
    if wait:
        _report_end(new.record, as_json)


@run.command("promote")
@click.argument("run_id")
@click.option("--wait", is_flag=True, help="Wait for the new run, showing cells done.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def run_promote(ctx, run_id, wait, as_json) -> None:
    """Turn a session run's cells into a notebook and run it as an experiment."""
    ws = _ws(ctx)
    progress = _Progress(not as_json)
    try:
        new = ws.promote(run_id, wait=wait, on_progress=progress,
                         on_submitted=_announcer(False))
    finally:
        progress.end()
    if wait:
        _report_end(new.record, as_json)


@run.command("cancel")
@click.argument("run_id")
@click.pass_context
@handles_errors
def run_cancel(ctx, run_id) -> None:
    """Stop a queued or running run (its processes and kernel included)."""
    got = _ws(ctx).cancel_run(run_id)
    click.echo(f"run {got.id} {got.status}")


@run.command("list")
@click.option("--experiment", "-e", "experiments", multiple=True, help="Only these experiments.")
@click.option("--filter", "-f", "filter_string", help="e.g. \"metrics.acc > 0.9 and params.model = 'rf'\"")
@click.option("--order-by", "-o", multiple=True, help="e.g. 'metrics.acc DESC' (repeatable).")
@click.option("--max-results", "-n", default=50, show_default=True, type=int)
@click.option("--page-token", help="Token printed by the previous page.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def run_list(ctx, experiments, filter_string, order_by, max_results, page_token, as_json) -> None:
    """List runs, newest first, with search and paging."""
    page = _ws(ctx).search_runs(filter_string, experiments=experiments or None, order_by=order_by or None,
                                max_results=max_results, page_token=page_token)
    if as_json:
        return _json({"runs": [r.record.to_dict() for r in page], "next_page_token": page.next_page_token})
    metric_keys = sorted({k for r in page for k in r.metrics})[:4]
    _table(["ID", "NAME", "EXPERIMENT", "STATUS", "STARTED", "DURATION", *metric_keys],
           [[r.id, r.name, r.record.experiment, r.status, _time(r.record.start_time),
             _duration(r.record.duration_ms), *[_fmt(r.metrics.get(k)) for k in metric_keys]]
            for r in page])
    if page.next_page_token:
        click.echo(f"more: --page-token {page.next_page_token}")


@run.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def run_show(ctx, run_id, as_json) -> None:
    """Show a run: status, params, metrics, tags and files."""
    r = _ws(ctx).get_run(run_id)
    files = r.files()
    if as_json:
        return _json({**r.record.to_dict(), "files": files,
                      "children": [c.id for c in r.children()]})
    rec = r.record
    _fields([("id", rec.id), ("name", rec.name), ("experiment", rec.experiment),
             ("status", rec.status), ("started", _time(rec.start_time)),
             ("ended", _time(rec.end_time)), ("duration", _duration(rec.duration_ms)),
             ("parent", rec.parent_id or "-"),
             ("source", f"{rec.source_type} {rec.source_name}".strip()),
             ("git", f"{rec.git_commit or '-'} {rec.git_branch or ''}{' (dirty)' if rec.git_dirty else ''}"),
             *([("description", rec.description)] if rec.description else [])])
    if rec.error:
        click.echo("error:\n  " + rec.error.strip().replace("\n", "\n  "))
    for title, values in (("params", rec.params), ("metrics", rec.metrics), ("tags", rec.tags)):
        if values:
            click.echo(f"{title}:")
            for key, value in values.items():
                click.echo(f"  {key} = {_fmt(value)}")
    if files:
        click.echo("files:")
        for f in files:
            click.echo(f"  [{f['kind']}] {f['path']} ({f['size']} bytes)")


@run.command("compare")
@click.argument("run_ids", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def run_compare(ctx, run_ids, as_json) -> None:
    """Params and last metrics of several runs side by side."""
    table = _ws(ctx).compare_runs(list(run_ids))
    if as_json:
        return _json(table)
    rows = [["status", *table["status"]]]
    rows += [[f"params.{k}", *map(_fmt, v)] for k, v in table["params"].items()]
    rows += [[f"metrics.{k}", *map(_fmt, v)] for k, v in table["metrics"].items()]
    _table(["", *table["runs"]], rows)


@run.command("logs")
@click.argument("run_id")
@click.option("--name", help="Only this log (e.g. stdout.log).")
@click.option("--follow", "-f", is_flag=True,
              help="Keep printing what the run writes until it ends (Ctrl-C stops following).")
@click.pass_context
@handles_errors
def run_logs(ctx, run_id, name, follow) -> None:
    """Print a run's logs."""
    if follow:
        shown = None
        try:
            for log_name, data in _ws(ctx).follow_logs(run_id, name):
                if log_name != shown and not name:
                    click.echo(f"==> {log_name} <==")
                shown = log_name
                click.echo(data.decode(errors="replace"), nl=False)
        except KeyboardInterrupt:
            pass  # stop following; the run goes on
        return
    logs = _ws(ctx).run_logs(run_id, name)
    if not logs:
        click.echo("this run has no logs", err=True)
    for log_name, data in logs.items():
        if len(logs) > 1 or not name:
            click.echo(f"==> {log_name} <==")
        click.echo(data.decode(errors="replace"), nl=not data.endswith(b"\n"))


@run.command("download")
@click.argument("run_id")
@click.argument("path", required=False)
@click.option("--dest", "-d", default=".", show_default=True, help="Folder to write into.")
@click.option("--snapshot", is_flag=True, help="Download the source snapshot instead of artifacts.")
@click.pass_context
@handles_errors
def run_download(ctx, run_id, path, dest, snapshot) -> None:
    """Download a run's artifacts (all, or PATH and below) into --dest."""
    written = _ws(ctx).get_run(run_id).download(path, dest, kind="snapshot" if snapshot else "artifact")
    for p in written:
        click.echo(str(p))


@run.command("history")
@click.argument("run_id")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def run_history(ctx, run_id, key, as_json) -> None:
    """Every logged point of metric KEY: step, time, value."""
    from .runs import json_number

    points = _ws(ctx).get_run(run_id).metric_history(key)
    if as_json:
        return _json([{"step": s, "ts": t, "value": json_number(v)} for s, t, v in points])
    _table(["STEP", "TIME", "VALUE"], [[s, _time(t), repr(v)] for s, t, v in points])


# -- models ---------------------------------------------------------------------------


@main.group()
def model() -> None:
    """Register, list, name and download models."""


def _version_lines(v) -> None:
    _fields([("model", v.ref), ("flavor", v.flavor), ("size", f"{v.size} bytes"),
             ("sha256", v.sha256), ("created", _time(v.created_at)), ("run", v.run_id or "-"),
             ("source", v.source), ("aliases", ", ".join(v.aliases) or "-"),
             *([("description", v.description)] if v.description else [])])
    for title, values in (("tags", v.tags), ("params", v.lineage.get("params", {})),
                          ("metrics", v.lineage.get("metrics", {}))):
        if values:
            click.echo(f"{title}:")
            for key, value in values.items():
                click.echo(f"  {key} = {_fmt(value)}")
    click.echo("files:")
    for f in v.files:
        click.echo(f"  {f['path']} ({f['size']} bytes)")


@model.command("register")
@click.argument("name")
@click.option("--path", help="A model file or folder.")
@click.option("--run", "run_id", help="The run the model comes from (its lineage).")
@click.option("--artifact", help="With --run: the run's artifact file or folder.")
@click.option("--tag", "tags", multiple=True, help="KEY=VALUE, repeatable.")
@click.option("--description", default="")
@click.option("--training-data", help="A .csv or .parquet of the training features: its per-feature "
                                      "statistics are kept for drift (never the rows).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def model_register(ctx, name, path, run_id, artifact, tags, description, training_data, as_json) -> None:
    """Register the next version of model NAME."""
    version = _ws(ctx).register_model(name, path, run=run_id, artifact=artifact,
                                      tags=_pairs(tags, "tag"), description=description,
                                      training_data=training_data)
    if as_json:
        return _json(version.to_dict())
    click.echo(f"registered {version.ref} ({version.flavor}, {version.size} bytes)"
               + (f"; training data: {version.training_data['rows']} rows, "
                  f"{len(version.training_data['features'])} features" if version.training_data else ""))


@model.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def model_list(ctx, as_json) -> None:
    """Models with their latest version and aliases."""
    models = _ws(ctx).models.list()
    if as_json:
        return _json(models)
    _table(["NAME", "LATEST", "VERSIONS", "ALIASES", "UPDATED"],
           [[m["name"], m["latest"], m["versions"],
             ", ".join(f"{a}->{v}" for a, v in m["aliases"].items()) or "-", _time(m["updated_at"])]
            for m in models])


@model.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def model_show(ctx, ref, as_json) -> None:
    """A version (NAME:3, NAME@alias), or every version of NAME."""
    from .models import parse_ref

    ws = _ws(ctx)
    name, version, alias = parse_ref(ref)
    single = version is not None or alias is not None
    versions = [ws.models.resolve(ref)] if single else ws.models.versions(name)
    if as_json:
        return _json(versions[0].to_dict() if single else [v.to_dict() for v in versions])
    for i, v in enumerate(versions):
        if i:
            click.echo()
        _version_lines(v)


@model.command("download")
@click.argument("ref")
@click.option("--dest", "-d", default=".", show_default=True, help="Folder to write into.")
@click.pass_context
@handles_errors
def model_download(ctx, ref, dest) -> None:
    """Copy a version's files into --dest."""
    for path in _ws(ctx).models.download(ref, dest):
        click.echo(str(path))


@model.command("delete")
@click.argument("ref")
@click.pass_context
@handles_errors
def model_delete(ctx, ref) -> None:
    """Delete a version (NAME:3) or a whole model (NAME); refused while an endpoint serves it."""
    for gone in _ws(ctx).models.delete(ref):
        click.echo(f"deleted {gone}")


@model.command("alias")
@click.argument("target")
@click.argument("version", type=int, required=False)
@click.option("--delete", "remove", is_flag=True, help="Remove the alias.")
@click.pass_context
@handles_errors
def model_alias(ctx, target, version, remove) -> None:
    """Point NAME@ALIAS at VERSION (or --delete it): mlws model alias iris@champion 3"""
    from .models import parse_ref

    name, _version, alias = parse_ref(target)
    if alias is None:
        raise E.InvalidInput(f"{target!r} names no alias: write NAME@ALIAS")
    ws = _ws(ctx)
    if remove:
        ws.models.delete_alias(name, alias)
        return click.echo(f"removed {name}@{alias}")
    if version is None:
        raise E.InvalidInput("give the VERSION the alias points to, or --delete")
    click.echo(f"{name}@{alias} -> {ws.models.set_alias(name, alias, version).ref}")


# -- access -----------------------------------------------------------------------


@main.group()
def access() -> None:
    """Workspace roles: owner, contributor, reader."""


@access.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def access_list(ctx, as_json) -> None:
    """Who has which role (before any grant: the workspace's creator, as owner)."""
    rows = _ws(ctx).access.assignments()
    if as_json:
        return _json(rows)
    _table(["USER", "ROLE", "GRANTED BY", "GRANTED"],
           [[r["user"], r["role"], r["granted_by"] or "-", _time(r["granted_at"])] for r in rows])


@access.command("grant")
@click.argument("user")
@click.argument("role")
@click.pass_context
@handles_errors
def access_grant(ctx, user, role) -> None:
    """Give USER the ROLE (owner, contributor or reader); only an owner may."""
    from .access import os_user

    done = _ws(ctx).access.grant(os_user(), user, role)
    click.echo(f"{done['user']} is now {done['role']}")


@access.command("revoke")
@click.argument("user")
@click.pass_context
@handles_errors
def access_revoke(ctx, user) -> None:
    """Remove USER's role; only an owner may, and never the last owner's."""
    from .access import os_user

    _ws(ctx).access.revoke(os_user(), user)
    click.echo(f"{user} has no role now")


# -- server -----------------------------------------------------------------------


@main.command("server", context_settings={"ignore_unknown_options": True})
@click.option("--port", type=int, default=8890, show_default=True, help="Port to listen on.")
@click.option("--ip", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--enforce-roles/--no-enforce-roles", default=False, show_default=True,
              help="Let workspace roles decide per signed-in user (a team server, JupyterHub).")
@click.argument("server_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
@handles_errors
def server(ctx, port, ip, enforce_roles, server_args) -> None:
    """Serve the workspace alone for a team: its page at /mlws/ and its REST API (a Jupyter
    server with only this extension: no files, kernels or terminals).

    Extra arguments go to Jupyter, e.g. --IdentityProvider.token=SECRET.  Run as root, it
    passes --allow-root to Jupyter (as quickstart does) and says so.
    """
    from .config import find_root
    from .server.extension import MlwsApp
    from .startup import allow_root_args

    root = find_root(ctx.obj["workspace"])
    as_root = [a for a in allow_root_args() if a not in server_args]
    if as_root:
        click.echo("mlws server: running as root, so Jupyter is started with --allow-root", err=True)
    MlwsApp.launch_instance(argv=[f"--port={port}", f"--ip={ip}", "--no-browser",
                                  f"--MlwsApp.workspace={root}",
                                  f"--MlwsApp.enforce_roles={enforce_roles}", *as_root, *server_args])


# -- endpoints ------------------------------------------------------------------------


@main.group()
def endpoint() -> None:
    """Serve registered models over HTTP: create, deploy, split traffic, call and watch."""


_SETTING_OPTIONS = [
    click.option("--request-timeout", type=float, help="Seconds a run() call may take (default 30)."),
    click.option("--max-body", "max_body_bytes", type=int,
                 help="Largest request body in bytes (default 10 MB)."),
    click.option("--max-inflight", type=int, help="Requests per worker before 503 (default 64)."),
    click.option("--threads", type=int,
                 help="0 (default): run() on each worker's event loop, fastest; N: a pool of N "
                      "threads per worker, for a run() that waits on I/O."),
    click.option("--monitoring/--no-monitoring", default=None,
                 help="Record request statistics (default on)."),
    click.option("--sample-rate", type=float,
                 help="Fraction of requests whose payloads are stored (default 0)."),
    click.option("--header-timeout", type=float,
                 help="Seconds a connection may take to send a request head before it is "
                      "closed (default 30)."),
    click.option("--body-timeout", type=float,
                 help="Seconds a request's body may take after its head before the connection "
                      "is closed (default 60)."),
    click.option("--max-connections", type=int,
                 help="Open connections per worker; one more gets 503 (default 500)."),
]


def _settings_options(fn):
    for option in reversed(_SETTING_OPTIONS):
        fn = option(fn)
    return fn


def _endpoint_lines(info: dict) -> None:
    _fields([("endpoint", info["name"]), ("state", info["state"]), ("url", info["scoring_uri"] or "-"),
             ("workers", info["workers"]), ("restarts", info["restarts"]),
             ("created", _time(info["created_at"])), *([("error", info["error"])] if info["error"] else [])])
    click.echo("deployments:")
    _table(["NAME", "TRAFFIC", "STATE", "MODELS", "SCRIPT"],
           [[d["name"], f"{d['traffic']}%", d["state"], ", ".join(d["models"]), d["entry_script"]]
            for d in info["deployments"]])
    for d in info["deployments"]:
        if d["error"]:
            click.echo(f"{d['name']} error: {d['error']}")


def _since(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if text[-1:] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError:
        raise E.InvalidInput(f"--since {text!r} is not a duration: e.g. 90s, 15m, 1h, 2d") from None


@endpoint.command("create")
@click.argument("name")
@click.option("--model", "models", multiple=True, required=True,
              help="NAME:VERSION, NAME@ALIAS or NAME; repeatable (the first is MLWS_MODEL_DIR).")
@click.option("--entry-script", required=True, type=click.Path(dir_okay=False),
              help="The scoring script: init() and run(data).")
@click.option("--deployment", default="blue", show_default=True,
              help="The first deployment's name; it takes all traffic. Blue/green: deploy the next "
                   "version as another deployment ('green'), then split traffic between the two.")
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, help="Port (default: a free one).")
@click.option("--timeout", "wait_timeout", default=120.0, show_default=True,
              help="Seconds to wait until healthy.")
@_settings_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def endpoint_create(ctx, name, models, entry_script, deployment, workers, host, port, wait_timeout,
                    as_json, **settings) -> None:
    """Create endpoint NAME and wait until it is healthy; print its URL.

    Its first deployment is named 'blue' (or --deployment) and takes all traffic; for
    blue/green, 'mlws endpoint deploy NAME --deployment green ...' adds a second one.
    """
    info = _ws(ctx).endpoints.create(name, list(models), entry_script, deployment=deployment,
                                     workers=workers, host=host, port=port, timeout=wait_timeout,
                                     **{k: v for k, v in settings.items() if v is not None})
    if as_json:
        return _json(info)
    first = info["deployments"][0]["name"]
    other = "green" if first != "green" else "blue"
    click.echo(f"endpoint {name} is healthy: {info['scoring_uri']}")
    click.echo(f"deployment {first!r} takes 100% of traffic; blue/green: mlws endpoint deploy {name} "
               f"--deployment {other} --model REF --entry-script SCRIPT, then "
               f"mlws endpoint traffic {name} {first}=90 {other}=10")
    click.echo(f"keys: mlws endpoint keys {name}   call: mlws endpoint invoke {name} --data @input.json")


@endpoint.command("update")
@click.argument("name")
@_settings_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def endpoint_update(ctx, name, as_json, **settings) -> None:
    """Change settings of endpoint NAME; a running endpoint restarts (same port and keys)."""
    info = _ws(ctx).endpoints.update(name, **{k: v for k, v in settings.items() if v is not None})
    if as_json:
        return _json(info)
    click.echo(f"endpoint {name}: {info['state']}; settings: "
               + ", ".join(f"{k}={v}" for k, v in info["settings"].items()))


@endpoint.command("deploy")
@click.argument("name")
@click.option("--deployment", required=True, help="The deployment's name, e.g. green.")
@click.option("--model", "models", multiple=True, required=True, help="Model reference; repeatable.")
@click.option("--entry-script", required=True, type=click.Path(dir_okay=False))
@click.option("--traffic", default=0, show_default=True, type=int, help="0, or 100 to move all traffic.")
@click.option("--timeout", "wait_timeout", default=120.0, show_default=True)
@click.pass_context
@handles_errors
def endpoint_deploy(ctx, name, deployment, models, entry_script, traffic, wait_timeout) -> None:
    """Add or replace a deployment of endpoint NAME (blue/green)."""
    info = _ws(ctx).endpoints.deploy(name, deployment, list(models), entry_script, traffic=traffic,
                                     timeout=wait_timeout)
    _endpoint_lines(info)


@endpoint.command("traffic")
@click.argument("name")
@click.argument("shares", nargs=-1, required=True)
@click.pass_context
@handles_errors
def endpoint_traffic(ctx, name, shares) -> None:
    """Split traffic: mlws endpoint traffic NAME blue=90 green=10 (sums to 100)."""
    parsed = {}
    for key, value in _pairs(shares, "traffic share").items():
        if not value.strip().isdigit():
            raise E.InvalidInput(f"traffic share {key}={value!r} is not a whole percent")
        parsed[key] = int(value)
    info = _ws(ctx).endpoints.set_traffic(name, parsed)
    click.echo(", ".join(f"{d['name']}={d['traffic']}" for d in info["deployments"]))


@endpoint.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def endpoint_list(ctx, as_json) -> None:
    """Endpoints with their state, URL and traffic split."""
    items = _ws(ctx).endpoints.list()
    if as_json:
        return _json(items)
    _table(["NAME", "STATE", "URL", "TRAFFIC", "RESTARTS"],
           [[i["name"], i["state"], i["scoring_uri"] or "-",
             " ".join(f"{d['name']}={d['traffic']}" for d in i["deployments"]), i["restarts"]]
            for i in items])


@endpoint.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def endpoint_show(ctx, name, as_json) -> None:
    """State, URL, restarts, settings and deployments of an endpoint (not its keys)."""
    info = _ws(ctx).endpoints.show(name)
    if as_json:
        return _json(info)
    _endpoint_lines(info)


@endpoint.command("logs")
@click.argument("name")
@click.option("--tail", default=200, show_default=True, help="Lines (0: all).")
@click.pass_context
@handles_errors
def endpoint_logs(ctx, name, tail) -> None:
    """The server's log: start-up, worker restarts, tracebacks of run()."""
    click.echo(_ws(ctx).endpoints.logs(name, tail or None))


@endpoint.command("keys")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def endpoint_keys(ctx, name, as_json) -> None:
    """The endpoint's two keys (send one as 'Authorization: Bearer KEY')."""
    keys = _ws(ctx).endpoints.keys(name)
    if as_json:
        return _json(keys)
    click.echo(f"primary:   {keys['primary']}\nsecondary: {keys['secondary']}")


@endpoint.command("regenerate")
@click.argument("name")
@click.option("--key", type=click.Choice(["primary", "secondary"]), required=True)
@click.pass_context
@handles_errors
def endpoint_regenerate(ctx, name, key) -> None:
    """Replace one key; clients using the other keep working."""
    _ws(ctx).endpoints.regenerate(name, key)
    click.echo(f"regenerated the {key} key of {name}: 'mlws endpoint keys {name}' shows it")


@endpoint.command("start")
@click.argument("name")
@click.pass_context
@handles_errors
def endpoint_start(ctx, name) -> None:
    """Start a stopped or failed endpoint."""
    info = _ws(ctx).endpoints.start(name)
    click.echo(f"endpoint {name} is healthy: {info['scoring_uri']}")


@endpoint.command("restart")
@click.argument("name")
@click.pass_context
@handles_errors
def endpoint_restart(ctx, name) -> None:
    """Stop and start an endpoint (same port, same keys)."""
    info = _ws(ctx).endpoints.restart(name)
    click.echo(f"endpoint {name} is healthy: {info['scoring_uri']}")


@endpoint.command("stop")
@click.argument("name")
@click.pass_context
@handles_errors
def endpoint_stop(ctx, name) -> None:
    """Stop the server; in-flight calls finish first."""
    _ws(ctx).endpoints.stop(name)
    click.echo(f"endpoint {name} is stopped")


@endpoint.command("delete")
@click.argument("name")
@click.pass_context
@handles_errors
def endpoint_delete(ctx, name) -> None:
    """Stop and remove an endpoint with its deployments and statistics."""
    _ws(ctx).endpoints.delete(name)
    click.echo(f"deleted endpoint {name}")


@endpoint.command("delete-deployment")
@click.argument("name")
@click.argument("deployment")
@click.pass_context
@handles_errors
def endpoint_delete_deployment(ctx, name, deployment) -> None:
    """Remove a deployment that takes no traffic (rollback: traffic blue=100 first)."""
    _ws(ctx).endpoints.delete_deployment(name, deployment)
    click.echo(f"deleted deployment {deployment} of {name}")


@endpoint.command("invoke")
@click.argument("name")
@click.option("--data", required=True, help="JSON inline, or @FILE.")
@click.option("--deployment", help="Call this deployment directly (any traffic share).")
@click.pass_context
@handles_errors
def endpoint_invoke(ctx, name, data, deployment) -> None:
    """Score data on an endpoint with its key: mlws endpoint invoke iris --data @input.json

    Prints the answer as one line of JSON.  An error answered by the endpoint (its run()
    raised or timed out) exits with 8; an endpoint that is stopped or does not answer, with 7.
    """
    if data.startswith("@"):
        try:
            body = open(data[1:], "rb").read()
        except OSError as exc:
            raise E.NotFound(f"cannot read {data[1:]!r}: {exc.strerror}") from None
    else:
        body = data.encode()
    result = _ws(ctx).endpoints.invoke(name, body, deployment=deployment, raw=True)
    _json(result, compact=True)  # one line, as the endpoint answered: for pipes and for reading


@endpoint.command("metrics")
@click.argument("name")
@click.option("--since", default="1h", show_default=True, help="How far back: 90s, 15m, 1h, 2d.")
@click.option("--deployment", help="Only this deployment.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with the 10-second series).")
@click.pass_context
@handles_errors
def endpoint_metrics(ctx, name, since, deployment, as_json) -> None:
    """Requests, errors, status codes and latency p50/p95/p99 per deployment."""
    data = _ws(ctx).endpoints.metrics(name, _since(since), deployment=deployment)
    if as_json:
        return _json(data)
    if not data["monitoring"]:
        click.echo(f"monitoring is off for {name}: turn it on with "
                   f"'mlws endpoint update {name} --monitoring' (figures below are from before)", err=True)
    rows = [[dep, m["count"], m["errors"], _fmt(m["latency_ms"]["p50"]), _fmt(m["latency_ms"]["p95"]),
             _fmt(m["latency_ms"]["p99"]), " ".join(f"{k}:{v}" for k, v in m["statuses"].items())]
            for dep, m in [*data["deployments"].items(), ("(all)", data["total"])]]
    _table(["DEPLOYMENT", "REQUESTS", "ERRORS", "P50_MS", "P95_MS", "P99_MS", "STATUS"], rows)


@endpoint.command("drift")
@click.argument("name")
@click.option("--since", default="1h", show_default=True, help="How far back: 90s, 15m, 1h, 2d.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def endpoint_drift(ctx, name, since, as_json) -> None:
    """How far the endpoint's sampled inputs drift from each model's training data (PSI)."""
    data = _ws(ctx).endpoints.drift(name, _since(since))
    if as_json:
        return _json(data)
    for dep, d in data["deployments"].items():
        click.echo(f"{dep} ({d['model']}): {d['verdict']}, {d['samples']} sampled rows"
                   + (f"; {d['message']}" if d["message"] else ""))
        if d["features"]:
            _table(["FEATURE", "PSI", "MEAN_SHIFT_STD", "VERDICT"],
                   [[f["name"], _fmt(f["psi"]), _fmt(f["mean_shift_std"]), f["verdict"]]
                    for f in d["features"]])


if __name__ == "__main__":  # pragma: no cover
    main()
