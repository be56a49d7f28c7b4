"""``mlws model ...``: register, list, show, download, delete and alias models."""

from __future__ import annotations

import click

from .aliases import add_alias_command
from .main import _fields, _fmt, _json, _pairs, _table, _time, _ws, handles_errors


@click.group()
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
    if v.datasets:
        click.echo("datasets:")
        for d in v.datasets:
            click.echo(f"  {d['ref']} ({'trained on it' if d['how'] == 'training' else d['how']})")
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
@click.option("--training-data", help="A .csv or .parquet of the training features, or a tabular "
                                      "dataset version (dataset:train:3): its per-feature "
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
    from ..models import parse_ref

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


add_alias_command(model, registry="models", what="model", example="mlws model alias iris@champion 3")
