"""``mlws model alias`` and ``mlws dataset alias``: one command over either registry of numbered
versions (both services have ``set_alias(name, alias, version)`` and ``delete_alias(name, alias)``)."""

from __future__ import annotations

import click

from .. import errors as E
from .main import _ws, handles_errors


def add_alias_command(group: click.Group, *, registry: str, what: str, example: str) -> None:
    """Add ``alias TARGET [VERSION] [--delete]`` to ``group``; ``registry`` names the workspace's
    service (``"models"``, ``"datasets"``), ``what`` one of its entries (``"model"``), ``example`` a use."""

    @group.command("alias", help=f"Point NAME@ALIAS at VERSION (or --delete it): {example}")
    @click.argument("target")
    @click.argument("version", type=int, required=False)
    @click.option("--delete", "remove", is_flag=True, help="Remove the alias.")
    @click.pass_context
    @handles_errors
    def alias(ctx, target, version, remove) -> None:
        from ..models import parse_ref  # (the registries' one rule; imported when used: CLI start-up)

        name, _version, alias_name = parse_ref(target, what)
        if alias_name is None:
            raise E.InvalidInput(f"{target!r} names no alias: write NAME@ALIAS")
        service = getattr(_ws(ctx), registry)
        if remove:
            service.delete_alias(name, alias_name)
            return click.echo(f"removed {name}@{alias_name}")
        if version is None:
            raise E.InvalidInput("give the VERSION the alias points to, or --delete")
        click.echo(f"{name}@{alias_name} -> {service.set_alias(name, alias_name, version).ref}")
