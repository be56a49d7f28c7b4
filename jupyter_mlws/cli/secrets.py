"""``mlws secret ...``: the workspace's key vault (values never on the command line)."""

from __future__ import annotations

import sys

import click

from .. import errors as E
from .main import _fields, _json, _table, _time, _ws, handles_errors


@click.group()
def secret() -> None:
    """Secrets: encrypted values runs are given as environment variables."""


def _me() -> str:
    from ..access import os_user

    return os_user()


def _read_value(name: str, from_stdin: bool) -> str:
    """The value from a prompt that does not echo it, or from stdin (``--stdin``, or when stdin
    is not a terminal: a pipe or a file).  One trailing newline of a one-line value is dropped."""
    from ..secrets.names import VALUE_MAX_BYTES

    if from_stdin or not sys.stdin.isatty():
        raw = sys.stdin.buffer.read(VALUE_MAX_BYTES + 3) if hasattr(sys.stdin, "buffer") \
            else sys.stdin.read(VALUE_MAX_BYTES + 3).encode()
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise E.InvalidInput("the value on stdin is not UTF-8 text: encode it (e.g. base64) "
                                 "first") from None
        body = value.removesuffix("\n").removesuffix("\r")
        return body if "\n" not in body else value
    return click.prompt(f"Value of {name}", hide_input=True, prompt_suffix=" (not shown): ",
                        err=True)


@secret.command("set")
@click.argument("name")
@click.option("--stdin", "from_stdin", is_flag=True,
              help="Read the value from stdin (also when stdin is a pipe or a file).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def secret_set(ctx, name, from_stdin, as_json) -> None:
    """Store a value as the next version of NAME, read from a prompt (not shown) or stdin.

    Never give a value as an argument: it would stay in your shell's history."""
    from ..secrets.names import check_name

    check_name(name)  # before asking for the value
    ws = _ws(ctx)
    info = ws.secrets.set(_me(), name, _read_value(name, from_stdin))
    if as_json:
        return _json(info)
    click.echo(f"secret {info['name']} version {info['version']} set")


@secret.command("list")
@click.option("--deleted", is_flag=True, help="The deleted secrets that can still be recovered.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def secret_list(ctx, deleted, as_json) -> None:
    """Secrets: names, versions and dates (never values); VM: the notebook VM a secret was made
    for (its login key, its JupyterLab's token), made and deleted with it."""
    rows = _ws(ctx).secrets.list(deleted=deleted)
    if as_json:
        return _json(rows)
    if deleted:
        return _table(["NAME", "VERSION", "DELETED", "BY", "PURGED AFTER", "VM"],
                      [[r["name"], r["version"], _time(r["deleted_at"]), r["deleted_by"],
                        _time(r["purge_at"]), r.get("vm") or "-"] for r in rows])
    _table(["NAME", "VERSION", "CREATED", "UPDATED", "BY", "VM"],
           [[r["name"], r["version"], _time(r["created_at"]), _time(r["updated_at"]), r["updated_by"],
             r.get("vm") or "-"] for r in rows])


@secret.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def secret_show(ctx, name, as_json) -> None:
    """A secret's metadata and versions (never its value)."""
    info = _ws(ctx).secrets.show(name)
    if as_json:
        return _json(info)
    _fields([("secret", info["name"]), ("state", info["state"]), ("version", info["version"]),
             ("created", f"{_time(info['created_at'])} by {info['created_by']}"),
             ("updated", f"{_time(info['updated_at'])} by {info['updated_by']}"),
             *([("deleted", f"{_time(info['deleted_at'])} by {info['deleted_by']}"),
                ("purged after", _time(info["purge_at"]))] if info["state"] == "deleted" else []),
             *([("vm", f"{info['vm']} (made and deleted with it)")] if info.get("vm") else [])])
    click.echo("versions:")
    _table(["VERSION", "CREATED", "BY"],
           [[v["version"], _time(v["created_at"]), v["created_by"]] for v in info["versions"]])


@secret.command("delete")
@click.argument("name")
@click.pass_context
@handles_errors
def secret_delete(ctx, name) -> None:
    """Delete NAME, recoverable until its retention ends (7 days by default)."""
    info = _ws(ctx).secrets.delete(_me(), name)
    click.echo(f"secret {name} deleted: 'mlws secret recover {name}' brings it back until "
               f"{_time(info['purge_at'])}")


@secret.command("recover")
@click.argument("name")
@click.pass_context
@handles_errors
def secret_recover(ctx, name) -> None:
    """Bring a deleted secret back, with all its versions."""
    info = _ws(ctx).secrets.recover(_me(), name)
    click.echo(f"secret {name} recovered (version {info['version']})")


@secret.command("purge")
@click.argument("name")
@click.pass_context
@handles_errors
def secret_purge(ctx, name) -> None:
    """Remove a deleted secret for good (owners only)."""
    _ws(ctx).secrets.purge(_me(), name)
    click.echo(f"secret {name} purged")


@secret.command("rotate-key")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def secret_rotate_key(ctx, as_json) -> None:
    """Re-encrypt every version under a new key, while runs go on (owners only)."""
    done = _ws(ctx).secrets.rotate_key(_me())
    if as_json:
        return _json(done)
    click.echo(f"re-encrypted {done['re_encrypted']} version(s) under the new key {done['key_id']}")


@secret.command("audit")
@click.argument("name", required=False)
@click.option("--max-results", "-n", default=100, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def secret_audit(ctx, name, max_results, as_json) -> None:
    """Who read or changed NAME (every secret without NAME), when, in which run; newest first."""
    rows = _ws(ctx).secrets.audit(name, limit=max_results)
    if as_json:
        return _json(rows)
    _table(["TIME", "SECRET", "ACTION", "VERSION", "USER", "RUN"],
           [[_time(r["ts"]), r["name"] or "*", r["action"], r["version"] or "-", r["user"] or "-",
             r["run_id"] or "-"] for r in rows])
