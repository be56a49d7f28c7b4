"""Schema migrations: numbered steps applied in order, each in one write transaction.

The schema version lives in ``meta.schema_version``.  A database written by a
newer package (a version this module does not know) is refused, never touched.
To change the schema, append a step; never edit a released one.
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..errors import Conflict, InvalidInput
from . import schema
from .db import Database


def _initial(conn: Connection) -> None:
    # the tables of version 1 only: later steps create their own
    for table in (schema.meta, schema.experiments, schema.runs, schema.params, schema.tags,
                  schema.metrics, schema.latest_metrics, schema.run_values, schema.run_files):
        table.create(conn, checkfirst=True)


def _notebook_runs(conn: Connection) -> None:
    schema.notebook_runs.create(conn, checkfirst=True)


def _registry(conn: Connection) -> None:
    for table in (schema.models, schema.model_versions, schema.model_files, schema.model_aliases):
        table.create(conn, checkfirst=True)


def _endpoints(conn: Connection) -> None:
    for table in (schema.endpoints, schema.deployments, schema.deployment_models,
                  schema.endpoint_metrics, schema.endpoint_samples):
        table.create(conn, checkfirst=True)


def _roles(conn: Connection) -> None:
    import getpass

    schema.role_assignments.create(conn, checkfirst=True)
    # the bootstrap owner: whoever creates (or upgrades) the workspace
    try:
        creator = getpass.getuser()
    except (KeyError, OSError):
        creator = ""
    meta = schema.meta
    if conn.execute(select(meta.c.key).where(meta.c.key == "creator")).first() is None:
        conn.execute(meta.insert().values(key="creator", value=creator))


def _training_stats(conn: Connection) -> None:
    schema.model_training_stats.create(conn, checkfirst=True)


#: (version, description, step); versions are consecutive from 1
MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "initial schema", _initial),
    (2, "notebook runs", _notebook_runs),
    (3, "model registry", _registry),
    (4, "endpoints", _endpoints),
    (5, "workspace roles", _roles),
    (6, "training-data statistics of model versions", _training_stats),
]
LATEST = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int | None:
    """The schema version of the database, None when it has no workspace tables."""
    if not conn.dialect.has_table(conn, "meta"):
        return None
    row = conn.execute(
        select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")
    ).first()
    return int(row[0]) if row else None


def _set_version(conn: Connection, version: int) -> None:
    table = schema.meta
    updated = conn.execute(
        table.update().where(table.c.key == "schema_version").values(value=str(version))
    )
    if updated.rowcount == 0:
        conn.execute(table.insert().values(key="schema_version", value=str(version)))


def upgrade(db: Database, *, create: bool) -> int:
    """Bring the schema to :data:`LATEST`; return the version found before.

    With ``create=False`` an empty database is an error: the workspace is
    missing or damaged, and nothing is created.
    """
    def step(conn: Connection) -> int:
        found = current_version(conn)
        if found is None and not create:
            raise InvalidInput(
                "the workspace database has no workspace tables: it is damaged or not a "
                "jupyter_mlws workspace; restore it from a backup or create a new workspace"
            )
        if found is not None and found > LATEST:
            raise Conflict(
                f"this workspace was written by a newer jupyter_mlws (schema {found}; this "
                f"version knows up to {LATEST}): upgrade with pip install -U jupyter_mlws"
            )
        for version, _description, apply in MIGRATIONS:
            if version > (found or 0):
                apply(conn)
                _set_version(conn, version)
        return found or 0

    # a damaged, read-only or full store is reported by the database layer (store/failures.py)
    return db.transact(step)
