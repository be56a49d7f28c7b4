"""``mlws dataset ...``: register, list, show, versions, download, alias and delete datasets."""

from __future__ import annotations

import click

from .aliases import add_alias_command
from .main import _fields, _json, _pairs, _table, _time, _ws, handles_errors


@click.group()
def dataset() -> None:
    """Versioned datasets: register folders as versions, read them, follow their lineage."""


@dataset.command("register")
@click.argument("name")
@click.argument("source", metavar="PATH_OR_URL")
@click.option("--datastore", default=None,
              help="The datastore keeping the files' objects (default: the datastore of the "
                   "dataset's latest version; 'default' for a new dataset).")
@click.option("--description", default="")
@click.option("--tag", "tags", multiple=True, help="KEY=VALUE, repeatable.")
@click.option("--tabular", is_flag=True, help="CSV or Parquet tables: record their schema and "
                                               "per-column statistics.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def dataset_register(ctx, name, source, datastore, description, tags, tabular, as_json) -> None:
    """Register the folder or file PATH_OR_URL as the next version of dataset NAME (the same
    content again makes no new version)."""
    done = _ws(ctx).datasets.register(name, source, datastore=datastore, description=description,
                                      tags=_pairs(tags, "tag"), tabular=tabular,
                                      progress=_Progress())
    if as_json:
        return _json(done.to_dict())
    click.echo(done.message)
    click.echo(f"hashed {_count(done.hashed_files, 'file')} ({done.hashed_bytes} bytes) in "
               f"{done.hash_seconds:.2f} s, {done.cached_files} unchanged since last hashed; "
               f"uploaded {_count(done.uploaded_files, 'object')} in {done.upload_seconds:.2f} s; "
               f"{done.seconds:.2f} s in all")
    for skipped in done.skipped:
        click.echo(f"skipped: {skipped}")


class _Progress:
    """Uploads under way, on stderr every :attr:`EVERY_S` seconds (``uploading: 2,345 of 10,000
    objects (2.3 of 10.2 MB)``), and once at the end if anything was shown; called from the
    uploading threads."""

    EVERY_S = 3.0

    def __init__(self):
        import threading
        import time

        self._clock = time.monotonic
        self._next = self._clock() + self.EVERY_S
        self._shown = False
        self._lock = threading.Lock()

    def __call__(self, objects: int, size: int, of_objects: int, of_size: int) -> None:
        with self._lock:
            now = self._clock()
            last = objects >= of_objects
            if (now < self._next and not last) or (last and not self._shown):
                return
            self._next, self._shown = now + self.EVERY_S, True
        click.echo(f"uploading: {objects:,} of {of_objects:,} objects ({size / 1e6:.1f} of "
                   f"{of_size / 1e6:.1f} MB)", err=True)


@dataset.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def dataset_list(ctx, as_json) -> None:
    """Datasets with their latest version."""
    rows = _ws(ctx).datasets.list()
    if as_json:
        return _json(rows)
    _table(["NAME", "LATEST", "VERSIONS", "FILES", "SIZE", "DATASTORE", "UPDATED"],
           [[d["name"], d["latest"], d["versions"], d["files"], _size(d["size"]), d["datastore"],
             _time(d["updated_at"])] for d in rows])


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


@dataset.command("show")
@click.argument("ref")
@click.option("--files", "list_files", is_flag=True, help="List the version's files.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def dataset_show(ctx, ref, list_files, as_json) -> None:
    """A version (NAME, NAME:3, NAME@alias): its hash, files, schema, and the runs and models
    that used it."""
    ws = _ws(ctx)
    shown = ws.datasets.show(ref)
    files = ws.datasets.files(ref) if list_files else None
    if as_json:
        return _json(shown | ({"file_list": files} if files is not None else {}))
    _fields([("dataset", shown["ref"]), ("root hash", shown["root_hash"]),
             ("files", shown["files"]), ("size", f"{shown['size']} bytes"),
             ("datastore", shown["datastore"]), ("created", _time(shown["created_at"])),
             ("by", shown["created_by"] or "-"), ("made by run", shown["run_id"] or "-"),
             ("aliases", ", ".join(shown["aliases"]) or "-"),
             *([("description", shown["description"])] if shown["description"] else [])])
    if shown["tags"]:
        click.echo("tags:")
        for key, value in shown["tags"].items():
            click.echo(f"  {key} = {value}")
    if shown["stats"]:
        stats = shown["stats"]
        click.echo(f"schema ({stats['format']}, {stats['rows']} rows):")
        by_name = {f["name"]: f for f in stats["features"]}
        for col in stats["columns"]:
            click.echo(f"  {col['name']}: {col['type']}{_summary(by_name.get(col['name']))}")
    used = shown["used_by"]
    click.echo(f"runs ({used['run_count']}):" if used["run_count"] else "runs: -")
    for r in used["runs"]:
        click.echo(f"  {r['id']}  {r['name']}  {r['status']}  ({r['how']})")
    click.echo(f"models ({used['model_count']}):" if used["model_count"] else "models: -")
    for m in used["models"]:
        how = "trained on it" if m["how"] == "training" else "from a run that used it"
        click.echo(f"  {m['name']}:{m['version']}  ({how})")
    if files is not None:
        click.echo(f"files ({len(files)}):")
    for f in files or []:
        click.echo(f"  {f['path']} ({f['size']} bytes, {f['sha256'][:12]})")


def _summary(feature: dict | None) -> str:
    if not feature or feature.get("kind") == "empty":
        return " (empty)"
    if feature["kind"] == "numeric":
        return (f" (mean {feature['mean']:.4g}, std {feature['std']:.4g}, min {feature['min']:.4g}, "
                f"max {feature['max']:.4g}, {feature['missing']} missing)")
    top = [k for k in feature["fractions"] if k != "__other__"][:3]
    return f" (most frequent: {', '.join(top)}; {feature['missing']} missing)"


@dataset.command("versions")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def dataset_versions(ctx, name, as_json) -> None:
    """Every version of dataset NAME, newest first."""
    versions = _ws(ctx).datasets.versions(name)
    if as_json:
        return _json([v.to_dict() for v in versions])
    _table(["VERSION", "FILES", "SIZE", "ROOT HASH", "ALIASES", "TABULAR", "CREATED"],
           [[v.version, v.file_count, _size(v.size), v.root_hash[:12], ", ".join(v.aliases) or "-",
             "yes" if v.tabular else "no", _time(v.created_at)] for v in versions])


@dataset.command("download")
@click.argument("ref")
@click.option("--dest", "-d", required=True, help="Folder to write into (missing or empty: "
                                                    "written whole, atomically).")
@click.option("--overwrite", is_flag=True, help="Write the version's files over those of a folder "
                                                "already holding other files.")
@click.pass_context
@handles_errors
def dataset_download(ctx, ref, dest, overwrite) -> None:
    """Copy a version's files into --dest (a folder holding other files is refused unless
    --overwrite)."""
    version = _ws(ctx).dataset(ref)
    folder = version.download(dest, overwrite=overwrite)
    click.echo(f"{version.ref}: {_count(version.file_count, 'file')} ({version.size} bytes) in {folder}")


@dataset.command("delete")
@click.argument("ref", metavar="NAME:VERSION")
@click.option("--all-versions", is_flag=True, help="REF is a NAME: delete every version of it "
                                                   "(asks first).")
@click.option("--yes", "-y", is_flag=True, help="With --all-versions: do not ask.")
@click.pass_context
@handles_errors
def dataset_delete(ctx, ref, all_versions, yes) -> None:
    """Delete the version NAME:VERSION, or with --all-versions every version of NAME; refused for
    a version a run or a model used (nothing is deleted then)."""
    ws = _ws(ctx)
    if all_versions and not yes and ":" not in ref and "@" not in ref:
        count = len(ws.datasets.versions(ref))
        click.confirm(f"delete all {_count(count, 'version')} of dataset {ref}?", abort=True,
                      err=True)
    for gone in ws.datasets.delete(ref, all_versions=all_versions):
        click.echo(f"deleted {gone}")


def _count(n: int, noun: str) -> str:
    """``1 file``, ``3 files``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


add_alias_command(dataset, registry="datasets", what="dataset", example="mlws dataset alias train@golden 3")
