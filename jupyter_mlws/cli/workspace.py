"""``mlws quickstart``, ``mlws workspace ...`` and ``mlws experiment list``: the workspace itself."""

from __future__ import annotations

import click

from .main import _fields, _json, _table, _time, _ws, handles_errors, local_only


# -- quickstart -------------------------------------------------------------------


@click.command()
@click.option("--path", default=".", show_default=True, help="Folder of the workspace.")
@click.option("--no-lab", is_flag=True,
              help="Do not start JupyterLab afterwards; print its command instead.")
@handles_errors
@local_only
def quickstart(path: str, no_lab: bool) -> None:
    """Create a workspace here (or reuse it), run a small sample experiment, open JupyterLab.

    JupyterLab starts only at an interactive terminal; with --no-lab, in CI or when the output
    is piped, the command to start it is printed instead.
    """
    from ..quickstart import can_open_lab, exec_lab, lab_hint, run_sample

    summary = run_sample(path)
    click.echo(summary)
    click.echo("")
    if no_lab or not can_open_lab():
        click.echo(lab_hint(path))
        return
    click.echo("starting JupyterLab with the 'ML workspace' sidebar open (Ctrl+C stops it)...")
    exec_lab(path)


# -- workspace --------------------------------------------------------------------


@click.group()
def workspace() -> None:
    """Create, describe and back up workspaces."""


@workspace.command("create")
@click.argument("path", default=".")
@click.option("--name", help="Display name (default: the folder's name).")
@click.option("--metadata", help="SQLAlchemy URL of the metadata store, e.g. postgresql+psycopg://...")
@click.option("--artifacts", metavar="DIR_OR_URL",
              help="Folder for artifacts (default: PATH/artifacts), or an object store: "
                   "s3://BUCKET/PREFIX[?endpoint_url=http://HOST:PORT] (credentials from the "
                   "environment: AWS_ACCESS_KEY_ID, a profile, an instance role), gs://..., abfs://...")
@handles_errors
@local_only
def workspace_create(path: str, name: str | None, metadata: str | None, artifacts: str | None) -> None:
    """Create a workspace in PATH."""
    from ..workspace import Workspace

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


@workspace.command("move-artifacts")
@click.argument("dest", metavar="URL_OR_DIR")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def workspace_move_artifacts(ctx: click.Context, dest: str, as_json: bool) -> None:
    """Copy the artifacts to URL_OR_DIR (s3://BUCKET/PREFIX..., a folder), then switch mlws.toml.

    The default datastore's objects (its datasets' files) move with them when it lives beside
    them (on object storage), checked and resumable the same way.

    Each blob's sha256 is checked as it streams; blobs already there are skipped, so an
    interrupted move is resumed by running it again.  The old store is left as it was.  Stop the
    workspace's servers and runs first; on a team, copy the new 'artifacts' line of mlws.toml to
    every machine.
    """
    done = [0]

    def told(sha: str, size: int, copied: bool) -> None:
        done[0] += 1
        if not as_json and done[0] % 100 == 0:
            click.echo(f"  {done[0]} blobs checked", err=True)

    moved = _ws(ctx).move_artifacts(dest, on_blob=told)
    if as_json:
        return _json(moved)
    click.echo(f"artifacts now in {moved['artifacts']}: {moved['copied']} of "
               f"{_count(moved['blobs'], 'blob')} copied ({moved['bytes'] / 1e6:.1f} MB), the rest "
               "were there already")
    store = moved["default_datastore"]
    if store["objects"]:
        click.echo(f"datastore default now in {store['url']}: {store['copied']} of "
                   f"{_count(store['objects'], 'object')} (datasets' files) copied "
                   f"({store['bytes'] / 1e6:.1f} MB), the rest were there already")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@workspace.command("backup")
@click.argument("dest")
@click.pass_context
@handles_errors
def workspace_backup(ctx: click.Context, dest: str) -> None:
    """Copy the workspace to DEST consistently, even while runs write."""
    click.echo(f"backed up to {_ws(ctx).backup(dest)}")


# -- experiments --------------------------------------------------------------------


@click.group()
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
