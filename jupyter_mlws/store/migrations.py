"""Schema migrations: numbered steps applied in order, each in one write transaction.

The schema version lives in ``meta.schema_version``.  A database written by a
newer package (a version this module does not know) is refused, never touched.
To change the schema, append a step; never edit a released one.
"""

from __future__ import annotations

import ast
import json
from typing import Callable

from sqlalchemy import and_, or_, select
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


#: params written before version 7 as Python's str(): the text of each value it can only be
_REPR_TEXTS = {"None": "null", "True": "true", "False": "false",
               "nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
#: the longest param text (limits.PARAM_VALUE_MAX; store/ does not import the core)
_PARAM_TEXT_MAX = 6000


def _json_params(conn: Connection) -> None:
    """Params in the one encoding of version 7: strings as themselves, other values as JSON.

    Before, ``log_params`` stored ``str(value)`` (``None``, ``True``, ``{'a': 1}``, ``nan``)
    while notebook runs stored JSON (``null``).  A notebook run's injected parameters are
    known exactly (typed, in ``notebook_runs.parameters``): they are re-encoded from there.
    Any other text that is exactly Python's ``str()`` of None, a bool, NaN/inf, or a
    dict/list/tuple of literals is read as that value, as the SDK call that wrote it almost
    always meant it.  The old texts cannot tell ``log_param("x", None)`` from
    ``log_param("x", "None")``: such a string is now ``null``.  Every other text is kept.
    """
    p, nb = schema.params, schema.notebook_runs
    injected: dict[tuple[int, str], str | None] = {}  # None: a string, stored as itself
    for run_pk, parameters in conn.execute(select(nb.c.run_pk, nb.c.parameters)):
        for key, value in json.loads(parameters).items():
            injected[(run_pk, key)] = None if isinstance(value, str) else _truncated(
                json.dumps(value, ensure_ascii=False))
    looks_like_repr = or_(p.c.value.in_(list(_REPR_TEXTS)), p.c.value.like("{%"),
                          p.c.value.like("[%"), p.c.value.like("(%"),
                          p.c.run_pk.in_(select(nb.c.run_pk)))
    changed: dict[tuple[int, str], tuple[str, str]] = {}
    for run_pk, key, old in conn.execute(select(p.c.run_pk, p.c.key, p.c.value)
                                         .where(looks_like_repr)).all():
        new = injected[(run_pk, key)] if (run_pk, key) in injected else _from_repr(old)
        if new is not None and new != old:
            conn.execute(p.update().where(and_(p.c.run_pk == run_pk, p.c.key == key)).values(value=new))
            changed[(run_pk, key)] = (old, new)
    _lineage_params(conn, changed)


def _truncated(text: str) -> str:
    """A long value shortened as notebook runs record it."""
    return text if len(text) <= _PARAM_TEXT_MAX else text[:_PARAM_TEXT_MAX - 40] + "... (truncated)"


def _from_repr(text: str) -> str | None:
    """The JSON of a value whose ``str()`` is ``text``, None when ``text`` is no such str()."""
    if text in _REPR_TEXTS:
        return _REPR_TEXTS[text]
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(value, (dict, list, tuple)) or repr(value) != text:
        return None  # not what str() writes for it: some other text
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):  # sets, bytes, tuple keys: JSON cannot hold them
        return None


def _lineage_params(conn: Connection, changed: dict[tuple[int, str], tuple[str, str]]) -> None:
    """Registered versions keep a copy of their run's params: convert the same values there."""
    mv = schema.model_versions
    runs = {run_pk for run_pk, _key in changed}
    if not runs:
        return
    for pk, run_pk, lineage in conn.execute(select(mv.c.pk, mv.c.run_pk, mv.c.lineage)
                                            .where(mv.c.run_pk.in_(runs))).all():
        data = json.loads(lineage)
        params = data.get("params") or {}
        hits = {k: changed[(run_pk, k)][1] for k, v in params.items()
                if (run_pk, k) in changed and changed[(run_pk, k)][0] == v}
        if hits:
            data["params"] = {**params, **hits}
            conn.execute(mv.update().where(mv.c.pk == pk).values(lineage=json.dumps(data)))


def _process_start(conn: Connection) -> None:
    """Runs record when their process started, besides its pid (``runs.pid_started``)."""
    from sqlalchemy import inspect, text

    if "pid_started" not in {c["name"] for c in inspect(conn).get_columns("runs")}:
        conn.execute(text("ALTER TABLE runs ADD COLUMN pid_started BIGINT"))


def _secrets(conn: Connection) -> None:
    for table in (schema.secrets, schema.secret_versions, schema.secret_events, schema.run_secrets):
        table.create(conn, checkfirst=True)


def _compute_targets(conn: Connection) -> None:
    for table in (schema.compute_targets, schema.run_compute):
        table.create(conn, checkfirst=True)


def _run_tokens(conn: Connection) -> None:
    schema.run_tokens.create(conn, checkfirst=True)


def _environments(conn: Connection) -> None:
    schema.environments.create(conn, checkfirst=True)


def _run_executions(conn: Connection) -> None:
    schema.run_executions.create(conn, checkfirst=True)


def _pipelines(conn: Connection) -> None:
    for table in (schema.pipeline_runs, schema.pipeline_steps):
        table.create(conn, checkfirst=True)


def _vms(conn: Connection) -> None:
    for table in (schema.vms, schema.vm_events):
        table.create(conn, checkfirst=True)


def _ticks(conn: Connection) -> None:
    for table in (schema.tick_claims, schema.idle_postpones):
        table.create(conn, checkfirst=True)


def _vm_tokens(conn: Connection) -> None:
    schema.vm_tokens.create(conn, checkfirst=True)


def _schedules(conn: Connection) -> None:
    for table in (schema.schedules, schema.schedule_runs):
        table.create(conn, checkfirst=True)


#: the columns of a VM's busy lease (version 19), with their SQL types
_VM_LEASE = (("busy_host", "TEXT"), ("busy_pid", "BIGINT"), ("busy_started", "BIGINT"),
             ("busy_at", "BIGINT"), ("busy_step", "TEXT"))


def _vm_leases(conn: Connection) -> None:
    """VMs record who does their busy step and when it last beat (``vms.busy_*``)."""
    from sqlalchemy import inspect, text

    have = {c["name"] for c in inspect(conn).get_columns("vms")}
    for name, kind in _VM_LEASE:
        if name not in have:
            conn.execute(text(f"ALTER TABLE vms ADD COLUMN {name} {kind}"))


def _datastores(conn: Connection) -> None:
    schema.datastores.create(conn, checkfirst=True)


def _schedule_run_options(conn: Connection) -> None:
    """A pipeline schedule's reuse options (``schedules.run_options``, JSON)."""
    from sqlalchemy import inspect, text

    if "run_options" not in {c["name"] for c in inspect(conn).get_columns("schedules")}:
        conn.execute(text("ALTER TABLE schedules ADD COLUMN run_options TEXT NOT NULL "
                          "DEFAULT '{}'"))


def _datasets(conn: Connection) -> None:
    for table in (schema.datasets, schema.dataset_versions, schema.dataset_files,
                  schema.dataset_aliases, schema.dataset_uses):
        table.create(conn, checkfirst=True)


def _user_tokens(conn: Connection) -> None:
    schema.user_tokens.create(conn, checkfirst=True)


#: (version, description, step); versions are consecutive from 1
MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "initial schema", _initial),
    (2, "notebook runs", _notebook_runs),
    (3, "model registry", _registry),
    (4, "endpoints", _endpoints),
    (5, "workspace roles", _roles),
    (6, "training-data statistics of model versions", _training_stats),
    (7, "params in one encoding: strings as themselves, other values as JSON", _json_params),
    (8, "the start time of a run's process, so that a reused pid is never signalled", _process_start),
    (9, "secrets: the workspace's key vault (values encrypted at rest), its audit, runs' secrets",
     _secrets),
    (10, "compute targets: named SSH hosts and Dask schedulers, and where each run executes",
     _compute_targets),
    (11, "run-scoped tokens: what a process elsewhere writes to its run over HTTP with", _run_tokens),
    (12, "environments built on compute targets: spec, state, path, sizes, last use", _environments),
    (13, "runs executed elsewhere: the attempt executing each (older ones fenced off), cancels asked",
     _run_executions),
    (14, "pipelines: a pipeline run's definition and options, and each step's state, child run, "
         "reuse key and its parts, why it ran or was reused, and its outputs", _pipelines),
    (15, "notebook VMs: their provider, node, connection, scripts and state, and its history",
     _vms),
    (16, "cron ticks claimed exactly once (VM start/stop, schedules); idle-shutdown postponements",
     _ticks),
    # 19: numbered by the lead for session 7's wave 2 (17 and 18 land with other branches)
    (17, "notebook VMs' JupyterLab tokens: what a VM's kernels record into the workspace with",
     _vm_tokens),
    (18, "schedules: notebooks and pipelines run on a cron (their snapshot, settings and owner), "
         "and the runs each started, its retries included", _schedules),
    (19, "notebook VMs' busy leases: who does a step (host, pid, start), its last beat and step, "
         "so that a step whose process died is found and ended", _vm_leases),
    (20, "datastores: named fsspec URLs (s3, gs, abfs, sftp, file) and their credentials' secret",
     _datastores),
    (21, "versioned datasets: versions (root hash, datastore, tabular statistics), manifests, "
         "aliases, and lineage (runs and model versions that used them)", _datasets),
    (22, "a pipeline schedule's reuse options: every step run (--no-reuse) or some forced",
     _schedule_run_options),
    (23, "users' API tokens: what a teammate signs in to a workspace server with (only their "
         "sha256 kept), who made them, when they expire, were last used or revoked", _user_tokens),
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
