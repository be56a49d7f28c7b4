"""Registries of numbered versions with aliases (model versions, dataset versions): the query
that finds the version a reference names, one rule for both."""

from __future__ import annotations

from sqlalchemy import Column, Table, and_, select
from sqlalchemy.sql import Select


def version_pk_query(versions: Table, owners: Table, aliases: Table, owner_pk: Column,
                     name: str, version: int | None, alias: str | None) -> Select:
    """SELECT of the pk of the version ``name`` (latest), ``name:version`` or ``name@alias``
    names (no row when there is none).  ``owners`` has ``pk`` and ``name``; ``owner_pk`` is the
    versions' column pointing at it; ``aliases`` has ``version_pk`` and ``alias``; versions
    have ``pk`` and ``version``."""
    v, a = versions, aliases
    query = select(v.c.pk).select_from(v.join(owners, owners.c.pk == owner_pk)) \
        .where(owners.c.name == name)
    if alias is not None:
        return query.join(a, and_(a.c.version_pk == v.c.pk, a.c.alias == alias))
    if version is not None:
        return query.where(v.c.version == version)
    return query.order_by(v.c.version.desc()).limit(1)
