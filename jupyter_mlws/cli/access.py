"""``mlws access ...``: who has which workspace role, and users' API tokens (``access token``)."""

from __future__ import annotations

import click

from .main import _json, _table, _time, _ws, handles_errors


@click.group()
def access() -> None:
    """Workspace roles (owner, contributor, reader) and users' API tokens."""


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
    from ..access import os_user

    done = _ws(ctx).access.grant(os_user(), user, role)
    click.echo(f"{done['user']} is now {done['role']}")


@access.command("revoke")
@click.argument("user")
@click.pass_context
@handles_errors
def access_revoke(ctx, user) -> None:
    """Remove USER's role; only an owner may, and never the last owner's."""
    from ..access import os_user

    ws = _ws(ctx)
    ws.access.revoke(os_user(), user)
    click.echo(f"{user} has no role now")
    tokens = [t for t in ws.access.tokens.list(user) if t["state"] == "no role"]
    if tokens:
        click.echo(f"{len(tokens)} API token(s) of {user} are refused until an owner grants "
                   f"{user} a role again ('mlws access token list {user}'; 'mlws access token "
                   "revoke ID' ends one for good)", err=True)


@access.group("token")
def token() -> None:
    """Users' API tokens for a team server: an owner manages anyone's, a contributor their own."""


@token.command("create")
@click.argument("user")
@click.option("--expires", default=None, metavar="DURATION",
              help="How long it works: 1h to 366d, e.g. 30d, 12h [default: 90d].")
@click.option("--note", default="", help="What it is for (shown by 'token list').")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the token included).")
@click.pass_context
@handles_errors
def token_create(ctx, user, expires, note, as_json) -> None:
    """A new API token for USER (who must have a role), printed ONCE: the workspace keeps only
    its hash.  USER signs in with it: MLWS_TOKEN=mlws_user_... (or Authorization: token ...)."""
    from ..access import os_user

    made = _ws(ctx).access.tokens.create(user, expires=expires, note=note, actor=os_user())
    if as_json:
        return _json(made)
    click.echo(made["token"])
    click.echo(f"token {made['id']} for {made['user']}, expires {_time(made['expires_at'])}: "
               "copy it now, it is not shown again; revoke it with 'mlws access token revoke "
               f"{made['id']}'", err=True)


@token.command("list")
@click.argument("user", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handles_errors
def token_list(ctx, user, as_json) -> None:
    """Users' API tokens (USER's only when given; a user who is not an owner sees their own):
    ids, notes and dates, never the tokens."""
    from ..access import os_user

    rows = _ws(ctx).access.tokens.list(user, actor=os_user())
    if as_json:
        return _json(rows)
    _table(["ID", "USER", "STATE", "NOTE", "CREATED", "EXPIRES", "LAST USED"],
           [[r["id"], r["user"], r["state"], r["note"] or "-", _time(r["created_at"]),
             _time(r["expires_at"]), _time(r["last_used_at"])] for r in rows])


@token.command("revoke")
@click.argument("token_id", metavar="ID")
@click.pass_context
@handles_errors
def token_revoke(ctx, token_id) -> None:
    """Revoke the token ID ('mlws access token list' shows the ids): it stops working at once."""
    from ..access import os_user

    done = _ws(ctx).access.tokens.revoke(token_id, actor=os_user())
    click.echo(f"token {done['id']} of {done['user']} is revoked")
