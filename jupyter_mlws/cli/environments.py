"""``mlws env ...``: environments as reproducible specs, built on compute targets."""

from __future__ import annotations

import json

import click

from .. import errors as E
from .main import _fields, _json, _table, _time, _ws, handles_errors

_COMPUTE = click.option("--compute", default=None, metavar="NAME",
                        help="The compute target (default: every target for list and prune, "
                             "local otherwise).")


@click.group("env")
def env() -> None:
    """Environments: a kernel's packages as a spec, built into a venv per target and hash."""


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return "-"


def build_options(installer, index_url, find_links, no_index):
    from ..environments.wheels import BuildOptions

    return BuildOptions(installer=installer, index_url=index_url, find_links=tuple(find_links),
                        no_index=no_index)


def index_options(fn):
    """The options saying where distributions come from (shared by ``env build`` and
    ``run submit --build-env``)."""
    for option in reversed([
        click.option("--installer", type=click.Choice(["auto", "uv", "pip"]), default="auto",
                     show_default=True, help="uv where it is found, else pip."),
        click.option("--index-url", help="The package index (default: the installer's)."),
        click.option("--find-links", multiple=True, metavar="DIR",
                     help="A folder of wheels on the target (repeatable)."),
        click.option("--no-index", is_flag=True, help="Use --find-links only."),
    ]):
        fn = option(fn)
    return fn


@env.command("list")
@_COMPUTE
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def env_list(ctx, compute, as_json) -> None:
    """Environments built per target (from the records: the targets are not contacted)."""
    rows = _ws(ctx).environments.list(compute)
    if as_json:
        return _json(rows)
    # as --json counts them: pinned ones, then local ones (built from source) apart
    _table(["HASH", "TARGET", "STATE", "PYTHON", "PACKAGES", "SIZE", "LAST USED"],
           [[r["short_hash"], r["target"], r["state"], r["python"],
             f"{r['packages']}+{len(r['local'])} local" if r["local"] else r["packages"],
             _size(r["size_bytes"]), _time(r["last_used_at"])]
            for r in rows])


@env.command("show")
@click.argument("hash_")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def env_show(ctx, hash_, as_json) -> None:
    """An environment by HASH (or a unique prefix, e.g. a run's env_hash): its spec, and
    where it is built."""
    info = _ws(ctx).environments.show(hash_)
    if as_json:
        return _json(info)
    spec = info["spec"]
    count = len(spec["packages"]) + len(spec["local"])  # as 'env list' counts them
    _fields([("hash", info["hash"]), ("python", spec["python"]),
             ("packages", f"{count} ({len(spec['packages'])} pinned, {len(spec['local'])} local)")])
    for note in spec.get("notes") or []:
        click.echo(f"note: {note}")
    if not info["targets"]:
        click.echo(f"built on: no target yet (run {info['run']} executed in it; 'mlws env build "
                   f"--from-run {info['run']} [--compute NAME]' builds it)")
    else:
        click.echo("built on:")
    for target in info["targets"]:
        line = f"  {target['target']}: {target['state']}, {_size(target['size_bytes'])}, " \
               f"last used {_time(target['last_used_at'])}"
        click.echo(line + (f"\n    {target['error'].splitlines()[0]}" if target["error"] else ""))
    click.echo("distributions:")
    for pin in spec["packages"]:
        click.echo(f"  {pin}")
    for p in spec["local"]:
        click.echo(f"  {p['name']}=={p['version']} (local, {p['content'][:19]}...)")


def _spec(ws, from_run, from_kernel, from_spec):
    """The spec asked for: a run's, a kernel's, a JSON file's, else this environment's."""
    given = [x for x in (from_run, from_kernel, from_spec) if x]
    if len(given) > 1:
        raise E.InvalidInput("give one of --from-run, --from-kernel and --from-spec")
    if from_run:
        return ws.environments.of_run(from_run)
    if from_kernel:
        return ws.environments.of_kernel(from_kernel)
    if from_spec:
        try:
            with open(from_spec, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as exc:
            raise E.InvalidInput(f"cannot read the spec file {from_spec!r}: {exc}") from None
        return ws.environments.parse(data)
    return ws.environments.current()


@env.command("build")
@_COMPUTE
@click.option("--from-run", metavar="RUN", help="The environment a run executed in.")
@click.option("--from-kernel", metavar="NAME", help="The environment of an installed kernel.")
@click.option("--from-spec", metavar="FILE", help="A spec as JSON ('mlws env show --json').")
@index_options
@click.option("--yes", "-y", "force", is_flag=True,
              help="Build even when the check says the build will fail.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def env_build(ctx, compute, from_run, from_kernel, from_spec, installer, index_url, find_links,
              no_index, force, as_json) -> None:
    """Build an environment on a target (default: this one's, on local); reuse it if built.
    A build the check knows will fail (the target's Python cannot take pinned packages) is
    refused, nothing built, unless --yes."""
    ws = _ws(ctx)
    spec = _spec(ws, from_run, from_kernel, from_spec)
    for note in spec.notes:
        click.echo(f"note: {note}", err=True)
    target = compute or "local"
    record = ws.environments.build(spec, target,
                                   options=build_options(installer, index_url, find_links, no_index),
                                   actor=_me(), force=force)
    if as_json:
        _json(record)
    if record["state"] != "ready":
        raise E.BuildFailed(f"environment {record['short_hash']} could not be built on {target}: "
                            f"{record['error']}")
    if not as_json:
        how = "reused" if record["reused"] else f"built in {record['build_seconds'] or 0:.1f} s " \
                                                f"with {record['installer']}"
        click.echo(f"environment {record['short_hash']} ready on {target} ({how}): {record['path']}")


def _me() -> str:
    from ..access import os_user

    return os_user()


@env.command("prune")
@_COMPUTE
@click.option("--unused-for", default="30d", show_default=True,
              help="Remove environments not used for this long: 30d, 12h, 90m; 0s: all (but "
                   "one being built).")
@click.option("--cache", is_flag=True,
              help="Also empty each target's download cache (the installers' downloads, shared "
                   "by its builds; later builds download again).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def env_prune(ctx, compute, unused_for, cache, as_json) -> None:
    """Remove environments not used for a while (failed ones too) from their targets; say what
    each target's download cache holds (--cache empties it)."""
    from ..environments.service import parse_duration

    parse_duration(unused_for)  # before the workspace opens
    result = _ws(ctx).environments.prune(compute, unused_for=unused_for, cache=cache)
    if as_json:
        return _json(result)
    for r in result["removed"]:
        click.echo(f"removed {r['short_hash']} from {r['target']} ({_size(r['size_bytes'])})")
    for r in result["errors"]:
        click.echo(f"kept {r['hash'][:16]} on {r['target']}: {r['error']}", err=True)
    if not result["removed"] and not result["errors"]:
        click.echo(f"no environment unused for {unused_for}")
    for c in result.get("cache") or []:
        click.echo(_cache_line(c), err="error" in c or "kept" in c)


def _cache_line(c: dict) -> str:
    """What ``env prune`` says of a target's download cache."""
    where = f"the download cache on {c['target']}"
    if "error" in c:
        return f"{where} could not be measured: {c['error']}"
    if c.get("kept"):
        return f"kept {where} ({_size(c['size_bytes'])}): {c['kept']}"
    if c["cleared"]:
        return f"emptied {where} ({_size(c['size_bytes'])})"
    if not c["size_bytes"]:
        return f"{where} is empty"
    return (f"{where} holds {_size(c['size_bytes'])} (downloads later builds reuse): "
            "--cache empties it")


@env.command("diff")
@_COMPUTE
@click.option("--kernel", "-k", metavar="NAME", help="The kernel (default: this environment).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def env_diff(ctx, compute, kernel, as_json) -> None:
    """How a target's environments differ from a kernel's: missing distributions, other
    versions, another Python."""
    ws = _ws(ctx)
    spec = ws.environments.of_kernel(kernel) if kernel else ws.environments.current()
    result = ws.environments.diff(spec, compute or "local")
    if as_json:
        return _json(result)
    click.echo(describe_drift(result))
    for line in result["lines"]:
        click.echo(f"  {line}")


def describe_drift(result: dict) -> str:
    """One sentence on a :meth:`EnvironmentService.diff` answer."""
    target, short = result["target"], (result["hash"] or "")[:16]
    if result.get("system"):  # runs there use the host's Python as it is: nothing is built
        return (f"{target} runs notebooks with the host's own Python and packages, which match the "
                f"kernel's ({short})" if result["state"] == "same" else
                f"{target} runs notebooks with the host's own Python and packages (env: system):")
    return {
        "same": f"{target} has this environment ({short}) built",
        "current": f"{target} runs notebooks in this interpreter: nothing differs",
        "none": f"{target} has no environment built",
        "differs": f"{target}'s closest environment ({(result['closest'] or '')[:16]}) differs "
                   f"from the kernel's ({short}):",
        "built": f"{target} has the kernel's environment ({short}) ready",
    }[result["state"]]


def check_before_submit(ws, notebook, kernel, target, build_env, options, force=False) -> None:
    """Say on stderr how ``target``'s environments differ from the notebook's kernel's (or
    build the kernel's there with ``build_env``: refused when the check knows the build will
    fail, unless ``force``), before ``mlws run submit``."""
    result = ws.environments.check_submission(notebook, kernel, target, build=build_env,
                                              options=options, force=force, actor=_me())
    if result["state"] in ("same", "current"):
        return
    if result["state"] == "built":
        return click.echo(result["lines"][0], err=True)
    click.echo(f"warning: {describe_drift(result)}", err=True)
    if result.get("summary") and result["state"] == "differs":  # the notebook's imports named
        click.echo(f"warning:   {result['summary']}", err=True)
    for line in result["lines"]:
        click.echo(f"warning:   {line}", err=True)
    if result.get("system"):
        return click.echo("warning: install what the notebook needs with the host's python, or "
                          "skip this check with --no-env-check", err=True)
    if result.get("python_warning"):  # a build there would fail: the line above says what to do
        return click.echo("warning: skip this check with --no-env-check", err=True)
    click.echo("warning: build the kernel's environment there first with --build-env, or "
                   "skip this check with --no-env-check", err=True)
