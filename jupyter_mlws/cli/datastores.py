"""``mlws datastore ...``: named places data lives (s3, gs, abfs, sftp, file), ``default`` built in."""

from __future__ import annotations

import click

from .main import _fields, _json, _table, _time, _ws, handles_errors


@click.group()
def datastore() -> None:
    """Datastores: where datasets' files live (default: a folder of the workspace)."""


@datastore.command("register")
@click.argument("name")
@click.argument("url")
@click.option("--credentials-secret", metavar="SECRET",
              help="The workspace secret holding the credentials (s3: a JSON object "
                   '{"key": ..., "secret": ...}; gs: a service account\'s JSON key; abfs: '
                   '{"account_key": ...}; sftp: an SSH private key). Never put them in the URL.')
@click.option("--description", help="What the datastore holds.")
@click.option("--host-key", help="sftp: pin the host's key ('ssh-ed25519 AAAA...', as "
                                 "ssh-keyscan prints it) unless the workspace pins it already.")
@click.option("--no-check", is_flag=True, help="Record it without reaching the store first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def datastore_register(ctx, name, url, credentials_secret, description, host_key, no_check,
                       as_json) -> None:
    """Register datastore NAME at URL: s3://BUCKET/PREFIX[?endpoint_url=...&region=...],
    gs://BUCKET/PREFIX, abfs://CONTAINER/PREFIX?account_name=..., sftp://USER@HOST[:PORT]/PATH
    or file:///PATH.  The store is reached with the credentials before anything is recorded."""
    record = _ws(ctx).datastores.register(name, url, credentials_secret=credentials_secret,
                                          description=description, host_key=host_key,
                                          check=not no_check)
    if as_json:
        return _json(record)
    click.echo(f"datastore {record['name']} registered: {record['url']}")


@datastore.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def datastore_list(ctx, as_json) -> None:
    """Datastores: name, URL (no credentials), credentials' secret, created."""
    rows = _ws(ctx).datastores.list()
    if as_json:
        return _json(rows)
    _table(["NAME", "URL", "CREDENTIALS", "CREATED", "BY"],
           [[d["name"], d["url"], d["credentials_secret"] or "-",
             _time(d["created_at"]) if d["created_at"] else "built in", d["created_by"] or "-"]
            for d in rows])


@datastore.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def datastore_show(ctx, name, as_json) -> None:
    """One datastore: its URL, options, credentials' secret (its name), host key."""
    d = _ws(ctx).datastores.get_record(name)
    if as_json:
        return _json(d)
    pairs = [("datastore", d["name"]), ("url", d["url"]), ("scheme", d["scheme"])]
    pairs += [(key, value) for key, value in sorted(d["options"].items())]
    pairs.append(("credentials", f"secret {d['credentials_secret']}" if d["credentials_secret"]
                  else "none (the provider's default chain)" if d["scheme"] in ("s3", "gs", "abfs")
                  else "none"))
    if d["host_key"]:
        pairs.append(("host key", d["host_key_fingerprint"]))
    pairs += [("description", d["description"] or "-"),
              ("created", f"{_time(d['created_at'])} by {d['created_by']}" if d["created_at"]
               else "built in")]
    _fields(pairs)


@datastore.command("delete")
@click.argument("name")
@click.pass_context
@handles_errors
def datastore_delete(ctx, name) -> None:
    """Delete datastore NAME's record (its files stay); refused while datasets live in it."""
    _ws(ctx).datastores.delete(name)
    click.echo(f"datastore {name} deleted (its files are left where they are)")
