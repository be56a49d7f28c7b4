"""``mlws compute ...``: the workspace's compute targets (this machine, SSH hosts, Dask schedulers)."""

from __future__ import annotations

import sys

import click

from .main import _fields, _json, _table, _time, _ws, handles_errors


@click.group()
def compute() -> None:
    """Compute targets: where runs execute (local, ssh hosts, Dask schedulers)."""


def _confirm_on_tty(yes: bool):
    """How a host's key is accepted: ``--yes`` (None: the service is told to accept), a prompt
    on a terminal, else nobody (the service refuses, saying to pass --yes or --host-key)."""
    if yes or not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None

    def confirm(where, key) -> bool:
        click.echo(f"The host {where} presents an {key.type} key with fingerprint\n"
                   f"  {key.fingerprint}", err=True)
        return click.confirm("Is this the host's key? Pin it for this target", default=False,
                             err=True)

    return confirm


#: ``--python``'s help (create, update): a ``~`` is the host's, so it must reach us unexpanded
_PYTHON_HELP = ("ssh: the interpreter on the host: a name on its PATH (default python3), an "
                "absolute path, or '~/venv/bin/python', below the login's home there. Quote a "
                "'~': unquoted, your own shell turns it into your home here (/root/...), which "
                "names nothing on another machine.")

#: ``--secret NAME[=ENVVAR]``: a target's default secrets (create, update)
_SECRET = click.option(
    "--secret", "secrets", multiple=True, metavar="NAME[=ENVVAR]",
    help="Give every run on this target the workspace's secret NAME as environment variable "
         "ENVVAR (default NAME, '-' as '_'); repeatable. Names only are kept; a run's own "
         "--secret replaces one given as the same variable.")


def _secrets_text(refs: dict) -> str:
    """A target's default secrets as 'NAME as ENVVAR, ...' ('-': none)."""
    return ", ".join(f"{name} as {env}" for env, name in sorted(refs.items())) or "-"


@compute.command("create")
@click.argument("name")
@click.option("--type", "kind", required=True, type=click.Choice(["ssh", "dask"]), help="The target's type.")
@click.option("--host", help="ssh: the host name or IP address.")
@click.option("--user", help="ssh: the login name on the host.")
@click.option("--port", type=int, help="ssh: the SSH port (default 22).")
@click.option("--key-secret", help="ssh: the workspace secret holding the private key "
                                   "(mlws secret set NAME --stdin < KEYFILE).")
@click.option("--workdir", help="ssh: the folder runs work in on the host, relative to the login "
                                "folder or absolute (default mlws-work).")
@click.option("--python", "python", help=_PYTHON_HELP)
@click.option("--env", "env", type=click.Choice(["system", "build"]),
              help="ssh, dask: what runs execute with: the --python (dask: the workers' Python) as "
                   "it is (system, the default), or each run's environment built on the host (the "
                   "worker's machine) once and reused (build).")
@click.option("--keepalive", type=int, help="ssh: seconds between keepalives on a run's connection "
                                          "(default 10); one that gets no answer for 3 of them is "
                                          "lost, failing its run.")
@click.option("--host-key", help="ssh: pin this key ('ssh-ed25519 AAAA...') without asking.")
@click.option("--yes", "-y", is_flag=True, help="ssh: accept the key the host presents now.")
@click.option("--address", help="dask: the scheduler's address, tcp://HOST:PORT.")
@_SECRET
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def compute_create(ctx, name, kind, host, user, port, key_secret, workdir, python, env, keepalive,
                   host_key, yes, address, secrets, as_json) -> None:
    """Create compute target NAME (an ssh host's key is shown to confirm, then pinned)."""
    options = dict(host=host, user=user, port=port, key_secret=key_secret, workdir=workdir,
                   python=python, env=env, keepalive=keepalive, address=address)
    target = _ws(ctx).compute.create(name, kind, host_key=host_key, accept_host_key=yes,
                                     confirm=_confirm_on_tty(yes), secrets=list(secrets),
                                     **{k: v for k, v in options.items() if v is not None})
    if as_json:
        return _json(target)
    pinned = f", host key {target['host_key_fingerprint']} pinned" if kind == "ssh" else ""
    click.echo(f"compute target {target['name']} ({kind}) created{pinned}; check it with "
               f"'mlws compute test {target['name']}'")


def _where(t: dict) -> str:
    if t["type"] == "ssh":
        return f"{t['user']}@{t['host']}:{t['port']}"
    return t.get("address", "this machine")


@compute.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def compute_list(ctx, as_json) -> None:
    """Compute targets: name, type, where, created."""
    rows = _ws(ctx).compute.list()
    if as_json:
        return _json(rows)
    _table(["NAME", "TYPE", "WHERE", "CREATED", "BY"],
           [[t["name"], t["type"], _where(t), _time(t["created_at"]) if t["created_at"] else "built in",
             t["created_by"] or "-"] for t in rows])


@compute.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def compute_show(ctx, name, as_json) -> None:
    """A compute target's settings (an ssh host's pinned key with its fingerprint)."""
    t = _ws(ctx).compute.get(name)
    if as_json:
        return _json(t)
    pairs = [("target", t["name"]), ("type", t["type"])]
    if t["type"] == "ssh":
        pairs += [("host", t["host"]), ("port", t["port"]), ("user", t["user"]),
                  ("key secret", t["key_secret"] or "-"), ("work folder", t["workdir"]),
                  ("python", t["python"]), ("env", t.get("env", "system")),
                  ("keepalive", f"{t['keepalive']} s"), ("host key", t["host_key_fingerprint"]),
                  ("public key", t["host_key"][:60] + ("..." if len(t["host_key"]) > 60 else ""))]
    elif t["type"] == "dask":
        pairs += [("address", t["address"]), ("env", t.get("env", "system"))]
    if not t["builtin"]:
        pairs.append(("secrets", _secrets_text(t.get("secrets") or {})))
    pairs.append(("created", f"{_time(t['created_at'])} by {t['created_by']}" if t["created_at"]
                  else "built in (this machine)"))
    _fields(pairs)


@compute.command("update")
@click.argument("name")
@_SECRET
@click.option("--no-secrets", is_flag=True, help="Give runs on this target no secrets of its own.")
@click.option("--python", "python", help=_PYTHON_HELP)
@click.option("--env", "env", type=click.Choice(["system", "build"]),
              help="ssh, dask: what runs execute with: the --python (dask: the workers' Python) as "
                   "it is (system), or each run's environment built there once and reused (build).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def compute_update(ctx, name, secrets, no_secrets, python, env, as_json) -> None:
    """Change compute target NAME: the secrets it gives every run (--secret NAME[=ENVVAR],
    repeatable, replacing its list; or --no-secrets), --python, --env.  Runs submitted
    afterwards use them."""
    if secrets and no_secrets:
        raise click.UsageError("give the target's secrets (--secret NAME[=ENVVAR]) or --no-secrets, "
                               "not both")
    if not (secrets or no_secrets or python or env):
        raise click.UsageError("say what to change: --secret NAME[=ENVVAR] (or --no-secrets), "
                               "--python, --env")
    t = _ws(ctx).compute.update(name, secrets=list(secrets) if secrets or no_secrets else None,
                                python=python, env=env)
    if as_json:
        return _json(t)
    changed = [f"gives its runs: {_secrets_text(t['secrets'])}"] if secrets or no_secrets else []
    changed += [f"{key}: {t[key]}" for key, value in (("python", python), ("env", env)) if value]
    click.echo(f"compute target {t['name']} {'; '.join(changed)}")
    if python:  # its form is checked here; whether it runs there, only the host can say
        click.echo(f"the host was not asked: 'mlws compute test {t['name']}' checks that "
                   f"{t['python']} runs there and imports jupyter_mlws")


@compute.command("delete")
@click.argument("name")
@click.pass_context
@handles_errors
def compute_delete(ctx, name) -> None:
    """Delete compute target NAME (refused while runs are queued or running on it)."""
    _ws(ctx).compute.delete(name)
    click.echo(f"compute target {name} deleted")


@compute.command("test")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def compute_test(ctx, name, as_json) -> None:
    """Check NAME step by step (connection, Python, jupyter_mlws, disk); exit 1 if one fails."""
    found = _ws(ctx).compute.test(name)
    if as_json:
        _json(found)
    else:
        width = max(len(c["title"]) for c in found["checks"]) + 2
        for c in found["checks"]:
            click.echo(f"{c['title']:<{width}}{c['status'].upper():<6}{c['detail']}".rstrip())
    if not found["ok"]:
        ctx.exit(1)
