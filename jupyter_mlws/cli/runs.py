"""``mlws run ...``: start, submit, rerun, promote, cancel, list, show, compare, logs, download, history
(``values`` and ``cells``: :mod:`.run_values`)."""

from __future__ import annotations

import sys

import click

from .main import _duration, _fields, _fmt, _json, _pairs, _table, _time, _ws, handles_errors


@click.group()
def run() -> None:
    """Start, list, show, compare and download runs."""


@run.command("start", context_settings={"ignore_unknown_options": True})
@click.option("--experiment", "-e", default="default", show_default=True)
@click.option("--name", help="Display name of the run.")
@click.option("--tag", "tags", multiple=True, help="KEY=VALUE, repeatable.")
@click.option("--project-dir", type=click.Path(file_okay=False, exists=True),
              help="Folder snapshotted and run in (default: the current folder).")
@click.option("--no-snapshot", is_flag=True, help="Do not keep a snapshot of the project folder.")
@click.option("--secret", "secrets", multiple=True, metavar="NAME[=ENVVAR]",
              help="Give the run the workspace's secret NAME as environment variable ENVVAR "
                   "(default NAME, '-' as '_'); repeatable. Masked in its logs and outputs.")
@click.option("--compute", metavar="NAME",
              help="The compute target it executes on (default: local, this machine; 'mlws "
                   "compute list'): there, in a folder holding the snapshot, its output streamed "
                   "back here.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
@handles_errors
def run_start(ctx, experiment, name, tags, project_dir, no_snapshot, secrets, compute, command) -> None:
    """Run COMMAND as a run, capturing its output: mlws run start -- python train.py

    Exits with the command's own status (Ctrl-C cancels the run, wherever it executes)."""
    ended = _ws(ctx).run_command(command, experiment=experiment, name=name, tags=_pairs(tags, "tag"),
                                 cwd=project_dir, snapshot=not no_snapshot, secrets=secrets,
                                 compute=compute,
                                 on_warning=lambda text: click.echo(f"warning: {text}", err=True))
    click.echo(f"run {ended.id} {ended.status}" + (f": {ended.record.error}" if ended.record.error else ""),
               err=True)
    if ended.status != "completed":
        sys.exit(ended.exit_code or 1)  # the command's own status, as a shell would give it


def _notebook_parameters(params, raw, parameters_file) -> dict:
    from ..notebooks.parameters import check_parameters, load_file, parse_value

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
@click.option("--secret", "secrets", multiple=True, metavar="NAME[=ENVVAR]",
              help="Give the run the workspace's secret NAME as environment variable ENVVAR "
                   "(default NAME, '-' as '_'); repeatable. Masked in its logs and outputs.")
@click.option("--compute", metavar="NAME",
              help="The compute target it executes on (default: local; 'mlws compute list'). "
                   "A sweep's children each execute there.")
@click.option("--wait", is_flag=True,
              help="Wait for the run, showing cells (of a sweep: child runs) done on stderr: "
                   "a bar at a terminal, else a line each.")
@click.option("--build-env", is_flag=True,
              help="Build the kernel's environment on the target first (if it lacks it).")
@click.option("--yes", "-y", "force", is_flag=True,
              help="With --build-env: build even when the check says the build will fail.")
@click.option("--no-env-check", is_flag=True,
              help="Do not compare the target's environments with the kernel's.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def run_submit(ctx, notebook, params, raw, parameters_file, experiment, timeout, retries, kernel,
               project_dir, name, tags, output, grid, max_parallel, secrets, compute, wait, build_env,
               force, no_env_check, as_json) -> None:
    """Execute NOTEBOOK as a run with Papermill; print the run id at once (or --wait)."""
    from ..notebooks.parameters import parse_grid

    if wait:  # this process executes the run (a sweep's children: in processes forked from it)
        from ..startup import skip_papermill_remote_io, skip_unused_format_checks

        skip_unused_format_checks()
        skip_papermill_remote_io()
    # waiting for one run: its kernel is launched first, and boots while the workspace opens
    # (not with secrets: the kernel starts with them, once they are bound to the run)
    early = (_early_kernel(ctx, notebook, kernel, project_dir)
             if wait and not grid and not secrets and compute in (None, "local") else None)
    progress = _Progress(wait and not as_json, unit="run" if grid else "cell")
    try:
        ws = _ws(ctx)
        values = _notebook_parameters(params, raw, parameters_file)
        grid_values = parse_grid(grid) if grid else None
        # the input's own mistakes first: the environment check may ask a host (slow)
        ws.notebooks.check_input(notebook, values, project_dir=project_dir, kernel=kernel,
                                 retries=retries, timeout=timeout, grid=grid_values)
        if not no_env_check or build_env:
            from .environments import check_before_submit

            check_before_submit(ws, notebook, kernel, compute or "local", build_env, None, force)
        options = dict(experiment=experiment, timeout=timeout, retries=retries, kernel=kernel,
                       project_dir=project_dir, name=name, tags=_pairs(tags, "tag"), output=output,
                       secrets=list(secrets), **({"compute": compute} if compute else {}))
        if early is not None:
            options["_kernel"] = early  # the run takes it (and shuts it down)
        run_ = ws.submit_notebook(notebook, values, grid=grid_values,
                                  max_parallel=max_parallel, wait=wait, in_process=True,
                                  on_progress=progress, on_submitted=_announcer(as_json), **options)
    finally:
        progress.end()
        if early is not None:  # nothing once the run took it; else (an error before) it ran no code
            early.shutdown(now=True)
    if wait:
        return _report_end(run_.record, as_json)
    if as_json:
        _json(run_.record.to_dict())


def _early_kernel(ctx, notebook: str, kernel: str | None, project_dir: str | None):
    """The kernel of the run about to be submitted, launched before the workspace is opened
    (None for a workspace server's URL: the server executes the run)."""
    from ..config import find_root, is_url
    from ..notebooks.kernels import EarlyKernel

    if is_url(ctx.obj["workspace"]):
        return None
    return EarlyKernel.for_run(notebook, kernel, project_dir, find_root(ctx.obj["workspace"]))


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
@click.option("--secret", "secrets", multiple=True, metavar="NAME[=ENVVAR]",
              help="Also give the run the workspace's secret NAME as environment variable ENVVAR "
                   "(default NAME, '-' as '_'); repeatable. Masked in its logs and outputs.")
@click.option("--compute", metavar="NAME",
              help="The compute target it executes on (default: local; 'mlws compute list').")
@click.option("--wait", is_flag=True, help="Wait for the run, showing cells done.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def run_rerun(ctx, run_id, params, raw, secrets, compute, wait, as_json) -> None:
    """Re-execute a notebook run from its snapshot, parameters, kernel and secrets."""
    ws = _ws(ctx)
    progress = _Progress(not as_json)
    try:
        new = ws.rerun(run_id, _notebook_parameters(params, raw, None), wait=wait, secrets=list(secrets),
                       on_progress=progress, on_submitted=lambda r: click.echo(r.id),
                       compute=compute)
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
@click.option("--top-level", is_flag=True,
              help="Only runs without a parent: sweeps and searches, not their children.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def run_list(ctx, experiments, filter_string, order_by, max_results, page_token, top_level,
             as_json) -> None:
    """List runs, newest first, with search and paging."""
    ws = _ws(ctx)
    if top_level:
        filter_string = "parent_id IS NULL" + (f" and ({filter_string})" if filter_string else "")
    page = ws.search_runs(filter_string, experiments=experiments or None, order_by=order_by or None,
                          max_results=max_results, page_token=page_token)
    if as_json:
        where = page.compute if page.compute is not None else \
            ws.compute.targets_of([r.id for r in page])  # over HTTP the page has them
        return _json({"runs": [{**r.record.to_dict(), "compute": where[r.id]} for r in page],
                      "next_page_token": page.next_page_token})
    metric_keys = sorted({k for r in page for k in r.metrics})[:4]
    _table(["ID", "NAME", "EXPERIMENT", "USER", "STATUS", "STARTED", "DURATION", *metric_keys],
           [[r.id, r.name, r.record.experiment, r.user or "-", r.status, _time(r.record.start_time),
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
    """Show a run: status, description, params, metrics, tags, logged values (the newest step
    of each), a session's cells, lineage and files."""
    from .run_values import details_json, echo_details

    ws = _ws(ctx)
    r = ws.get_run(run_id)
    files = r.files()
    compute = ws.compute.target_of(r.id)[0]
    if as_json:
        return _json({**r.record.details(), "files": files, "compute": compute,
                      "children": [c.id for c in r.children()], **details_json(ws, r.id)})
    rec = r.record
    _fields([("id", rec.id), ("name", rec.name), ("experiment", rec.experiment),
             ("user", f"{rec.user or '-'}{f' on {rec.host}' if rec.host else ''}"),
             ("status", rec.status), ("started", _time(rec.start_time)),
             ("ended", _time(rec.end_time)), ("duration", _duration(rec.duration_ms)),
             ("parent", rec.parent_id or "-"),
             ("source", f"{rec.source_kind} {rec.source_name}".strip()),
             *([("compute", compute)] if rec.source_type in ("notebook", "sweep", "command") else []),
             ("git", f"{rec.git_commit or '-'} {rec.git_branch or ''}{' (dirty)' if rec.git_dirty else ''}"),
             *([("description", rec.description)] if rec.description else [])])
    if rec.error:
        click.echo("error:\n  " + rec.error.strip().replace("\n", "\n  "))
    for title, values in (("params", rec.params), ("metrics", rec.metrics), ("tags", rec.tags)):
        if values:
            click.echo(f"{title}:")
            for key, value in values.items():
                click.echo(f"  {key} = {_fmt(value)}")
    echo_details(ws, rec.id)
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
    from ..runs import json_number

    points = _ws(ctx).get_run(run_id).metric_history(key)
    if as_json:
        return _json([{"step": s, "ts": t, "value": json_number(v)} for s, t, v in points])
    _table(["STEP", "TIME", "VALUE"], [[s, _time(t), repr(v)] for s, t, v in points])
