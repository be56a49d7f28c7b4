"""``mlws access ...``: who has which workspace role."""

from __future__ import annotations

import click

from .main import _json, _table, _time, _ws, handles_errors


@click.group()
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

    _ws(ctx).access.revoke(os_user(), user)
    click.echo(f"{user} has no role now")
