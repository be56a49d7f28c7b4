"""The endpoint tables: what the service, its reports and the supervisor read and write.

Rows here are keyed by the endpoint's primary key; the service's public methods take
names.  Each method is one short transaction (or one read).
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Iterable, Mapping, Sequence

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from ..errors import AlreadyExists, NotFound
from ..store import schema as S

CREATING = "creating"


def now_ms() -> int:
    return int(time.time() * 1000)


class EndpointRecords:
    """Reads and writes of ``endpoints``, ``deployments``, their models and statistics.

    Parameters
    ----------
    db : Database
        The workspace's metadata store.
    """

    def __init__(self, db):
        self.db = db

    # -- endpoints ----------------------------------------------------------------------------

    def row(self, name: str) -> dict:
        """The endpoint's row; NotFound when there is none."""
        with self.db.read() as conn:
            row = conn.execute(select(S.endpoints).where(S.endpoints.c.name == name)).mappings().first()
        if row is None:
            raise NotFound(f"no endpoint named {name!r}: 'mlws endpoint list' shows them")
        return dict(row)

    def names(self) -> list[str]:
        with self.db.read() as conn:
            return conn.execute(select(S.endpoints.c.name).order_by(S.endpoints.c.name)).scalars().all()

    def insert(self, name: str, *, host: str, port: int | None, workers: int, settings: Mapping,
               deployment: str, entry_script: str, entry_name: str, versions: Sequence) -> None:
        """A new endpoint (state ``creating``, fresh keys) with its first deployment at 100 %."""
        now = now_ms()

        def insert(conn: Connection) -> None:
            if conn.execute(select(S.endpoints.c.pk).where(S.endpoints.c.name == name)).first():
                raise AlreadyExists(f"endpoint {name!r} exists: add a deployment with 'mlws endpoint "
                                    f"deploy {name} ...', or delete it first")
            endpoint_pk = conn.execute(S.endpoints.insert().values(
                name=name, state=CREATING, host=host, port=port or None, workers=workers,
                primary_key=secrets.token_urlsafe(32), secondary_key=secrets.token_urlsafe(32),
                config_version=1, pid=None, machine="", error=None, restarts=0, created_at=now,
                updated_at=now, settings=json.dumps(settings))).inserted_primary_key[0]
            self._put_deployment(conn, endpoint_pk, deployment, 100, entry_script, entry_name, versions)

        self.db.transact(insert)

    def update(self, endpoint_pk: int, **values) -> None:
        """Set columns of the endpoint (and its ``updated_at``)."""
        self.db.transact(lambda conn: conn.execute(
            S.endpoints.update().where(S.endpoints.c.pk == endpoint_pk)
            .values(updated_at=now_ms(), **values)))

    def new_key(self, endpoint_pk: int, key: str) -> None:
        """Replace the ``primary`` or ``secondary`` key; the workers follow the config version."""
        column = S.endpoints.c.primary_key if key == "primary" else S.endpoints.c.secondary_key

        def write(conn: Connection) -> None:
            conn.execute(S.endpoints.update().where(S.endpoints.c.pk == endpoint_pk)
                         .values({column: secrets.token_urlsafe(32)}))
            self._bump(conn, endpoint_pk)

        self.db.transact(write)

    def count_restart(self, endpoint_pk: int) -> None:
        self.db.transact(lambda conn: conn.execute(
            S.endpoints.update().where(S.endpoints.c.pk == endpoint_pk)
            .values(restarts=S.endpoints.c.restarts + 1)))

    def delete(self, endpoint_pk: int) -> None:
        """The endpoint, its deployments and its statistics."""
        def remove(conn: Connection) -> None:
            dep_pks = select(S.deployments.c.pk).where(S.deployments.c.endpoint_pk == endpoint_pk)
            conn.execute(S.deployment_models.delete().where(
                S.deployment_models.c.deployment_pk.in_(dep_pks)))
            conn.execute(S.deployments.delete().where(S.deployments.c.endpoint_pk == endpoint_pk))
            conn.execute(S.endpoint_metrics.delete().where(S.endpoint_metrics.c.endpoint_pk == endpoint_pk))
            conn.execute(S.endpoint_samples.delete().where(S.endpoint_samples.c.endpoint_pk == endpoint_pk))
            conn.execute(S.endpoints.delete().where(S.endpoints.c.pk == endpoint_pk))

        self.db.transact(remove)

    def _bump(self, conn: Connection, endpoint_pk: int) -> None:
        """A new config version: the supervisor pushes keys and traffic, or rolls over."""
        conn.execute(S.endpoints.update().where(S.endpoints.c.pk == endpoint_pk).values(
            config_version=S.endpoints.c.config_version + 1, updated_at=now_ms()))

    # -- deployments ----------------------------------------------------------------------------

    def deployments(self, endpoint_pk: int) -> list[dict]:
        """The endpoint's deployment rows, by name."""
        with self.db.read() as conn:
            return [dict(r) for r in conn.execute(
                select(S.deployments).where(S.deployments.c.endpoint_pk == endpoint_pk)
                .order_by(S.deployments.c.name)).mappings()]

    def put_deployment(self, endpoint_pk: int, name: str, entry_script: str, entry_name: str,
                       versions: Sequence) -> None:
        """Add a deployment (at 0 %) or replace one's script and models; the server rolls over."""
        def insert(conn: Connection) -> None:
            self._put_deployment(conn, endpoint_pk, name, 0, entry_script, entry_name, versions)
            self._bump(conn, endpoint_pk)

        self.db.transact(insert)

    def _put_deployment(self, conn: Connection, endpoint_pk: int, name: str, traffic: int,
                        sha: str, entry_name: str, versions) -> int:
        now = now_ms()
        models = json.dumps([{"pk": v.pk, "ref": v.ref} for v in versions])
        d = S.deployments
        existing = conn.execute(select(d.c.pk).where(and_(d.c.endpoint_pk == endpoint_pk,
                                                          d.c.name == name))).scalar()
        if existing is None:
            pk = conn.execute(d.insert().values(
                endpoint_pk=endpoint_pk, name=name, traffic=traffic, entry_script=sha,
                entry_name=entry_name, models=models, state=CREATING, error=None, created_at=now,
                updated_at=now)).inserted_primary_key[0]
        else:
            pk = existing
            conn.execute(d.update().where(d.c.pk == pk).values(
                entry_script=sha, entry_name=entry_name, models=models, state=CREATING, error=None,
                updated_at=now))
            conn.execute(S.deployment_models.delete().where(S.deployment_models.c.deployment_pk == pk))
        conn.execute(S.deployment_models.insert(),
                     [{"deployment_pk": pk, "version_pk": v.pk} for v in versions])
        return pk

    def set_traffic(self, endpoint_pk: int, names: Iterable[str], shares: Mapping[str, int]) -> None:
        """Each deployment of ``names`` takes its share (0 when ``shares`` does not name it)."""
        def write(conn: Connection) -> None:
            for dep in names:
                conn.execute(S.deployments.update().where(and_(
                    S.deployments.c.endpoint_pk == endpoint_pk, S.deployments.c.name == dep))
                    .values(traffic=shares.get(dep, 0)))
            self._bump(conn, endpoint_pk)

        self.db.transact(write)

    def set_deployments_state(self, endpoint_pk: int, names: Iterable[str], state: str,
                              error: str | None = None) -> None:
        names = list(names)
        if not names:
            return
        self.db.transact(lambda conn: conn.execute(
            S.deployments.update().where(and_(S.deployments.c.endpoint_pk == endpoint_pk,
                                              S.deployments.c.name.in_(names)))
            .values(state=state, error=error)))

    def reset_deployments(self, endpoint_pk: int) -> None:
        """Every deployment back to ``creating`` (the endpoint starts again)."""
        self.db.transact(lambda conn: conn.execute(
            S.deployments.update().where(S.deployments.c.endpoint_pk == endpoint_pk)
            .values(state=CREATING, error=None)))

    def delete_deployment(self, endpoint_pk: int, deployment_pk: int) -> None:
        def remove(conn: Connection) -> None:
            conn.execute(S.deployment_models.delete().where(
                S.deployment_models.c.deployment_pk == deployment_pk))
            conn.execute(S.deployments.delete().where(S.deployments.c.pk == deployment_pk))
            self._bump(conn, endpoint_pk)

        self.db.transact(remove)

    def serving(self, model: str, version: int | None) -> list[str]:
        """Names of the endpoints whose deployments serve ``model:version`` (None: any version)."""
        dm, d, e = S.deployment_models, S.deployments, S.endpoints
        v, m = S.model_versions, S.models
        which = m.c.name == model if version is None else and_(m.c.name == model, v.c.version == version)
        with self.db.read() as conn:
            return list(conn.execute(
                select(e.c.name).distinct().select_from(
                    dm.join(d, d.c.pk == dm.c.deployment_pk).join(e, e.c.pk == d.c.endpoint_pk)
                    .join(v, v.c.pk == dm.c.version_pk).join(m, m.c.pk == v.c.model_pk))
                .where(which).order_by(e.c.name)).scalars())

    # -- request statistics -------------------------------------------------------------------

    def write_stats(self, rows: list[dict], samples: list[dict]) -> None:
        """A batch of 10-second metric buckets and sampled payloads from the workers."""
        def write(conn: Connection) -> None:
            if rows:
                conn.execute(S.endpoint_metrics.insert(), rows)
            if samples:
                conn.execute(S.endpoint_samples.insert(), samples)

        self.db.transact(write)

    def metric_buckets(self, endpoint_pk: int, start: int, deployment: str | None = None) -> list[dict]:
        """Metric buckets starting at ``start`` (ms) or later, oldest first, JSON decoded."""
        m = S.endpoint_metrics
        query = (select(m.c.deployment, m.c.bucket_start, m.c.count, m.c.errors, m.c.statuses,
                        m.c.latency, m.c.latency_sum_ms)
                 .where(and_(m.c.endpoint_pk == endpoint_pk, m.c.bucket_start >= start))
                 .order_by(m.c.bucket_start))
        if deployment:
            query = query.where(m.c.deployment == deployment)
        with self.db.read() as conn:
            return [dict(r._mapping, statuses=json.loads(r.statuses), latency=json.loads(r.latency))
                    for r in conn.execute(query)]

    def samples(self, endpoint_pk: int, limit: int) -> list[dict]:
        """The latest sampled payloads, newest first."""
        s = S.endpoint_samples
        with self.db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(
                select(s.c.deployment, s.c.ts, s.c.status, s.c.request, s.c.response)
                .where(s.c.endpoint_pk == endpoint_pk).order_by(s.c.ts.desc()).limit(limit))]

    def sampled_requests(self, endpoint_pk: int, deployment: str, start: int,
                         limit: int = 10_000) -> list[dict]:
        """The request payloads of a deployment sampled since ``start`` (ms), newest first."""
        s = S.endpoint_samples
        with self.db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(
                select(s.c.request).where(and_(s.c.endpoint_pk == endpoint_pk,
                                               s.c.deployment == deployment, s.c.ts >= start))
                .order_by(s.c.ts.desc()).limit(limit))]
