"""The records of schedules: the ``schedules`` and ``schedule_runs`` tables (migration 18).

Rows come back as dicts with their JSON columns decoded.  The writes that must happen once,
whoever does them, are conditional updates answered with RETURNING: a retry is started by the
one process whose update gave it its run (:meth:`ScheduleRecords.claim_retry_in`), a run's end
is handled by the one whose update settled it (:meth:`ScheduleRecords.settle`).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import AlreadyExists, NotFound
from ..store import schema as S

T, L, R = S.schedules, S.schedule_runs, S.runs
_JSON = {"snapshot": {}, "params": {}, "secrets": [], "notify": [], "run_options": {}}
#: what a run link is read with: the link, and its run's state
_LINK_COLUMNS = (L, R.c.status, R.c.start_time, R.c.end_time, R.c.error)


def _taken(name: str) -> AlreadyExists:
    return AlreadyExists(f"schedule {name!r} exists: choose another name, or change it with "
                         f"'mlws schedule update {name} ...' (or delete it first)")


def decode(row) -> dict[str, Any]:
    """A schedule row as a dict, its JSON columns decoded."""
    out = dict(row)
    for key, empty in _JSON.items():
        if key in out:
            out[key] = json.loads(out[key]) if out[key] else empty
    return out


def encode(values: dict[str, Any]) -> dict[str, Any]:
    """Values to write, the JSON columns encoded."""
    return {k: json.dumps(v, sort_keys=True) if k in _JSON else v for k, v in values.items()}


def _link(row) -> dict[str, Any]:
    out = dict(row)
    out["ticks"] = json.loads(out["ticks"] or "[]")
    return out


class ScheduleRecords:
    """The schedule rows of one workspace's metadata store ``db``."""

    def __init__(self, db):
        self.db = db

    # -- schedules --------------------------------------------------------------------------

    def find(self, name: str) -> dict | None:
        with self.db.read() as conn:
            row = conn.execute(select(T).where(T.c.name == name)).mappings().first()
        return None if row is None else decode(row)

    def get(self, name: str) -> dict:
        """The schedule ``name``; NotFound saying where they are listed."""
        found = self.find(name)
        if found is None:
            raise NotFound(f"no schedule {name!r}: 'mlws schedule list' shows them")
        return found

    @staticmethod
    def by_id_in(conn, schedule_id: str) -> dict | None:
        """The schedule with this id, read in the caller's transaction (None: deleted)."""
        row = conn.execute(select(T).where(T.c.id == schedule_id)).mappings().first()
        return None if row is None else decode(row)

    def by_id(self, schedule_id: str) -> dict | None:
        with self.db.read() as conn:
            return self.by_id_in(conn, schedule_id)

    def list(self) -> list[dict]:
        """Every schedule, by name."""
        with self.db.read() as conn:
            return [decode(r) for r in conn.execute(select(T).order_by(T.c.name)).mappings()]

    def active(self) -> list[dict]:
        """What the ticker watches, one query: ``id, cron, tz, since_at, catch_up`` of every
        schedule not paused."""
        query = select(T.c.id, T.c.cron, T.c.tz, T.c.since_at, T.c.catch_up).where(
            T.c.paused.is_(False))
        with self.db.read() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def on_target(self, target: str, retries_after: int) -> tuple[list[dict], int | None]:
        """What may run on compute target ``target``, one read: ``id, name, cron, tz`` of every
        schedule not paused whose runs execute there, and the earliest due time (ms) of their
        retries waiting to start that are due after ``retries_after`` (ms; None: none)."""
        on = and_(T.c.compute == target, T.c.paused.is_(False))
        retries = (select(func.min(L.c.due_at)).join(T, T.c.id == L.c.schedule_id)
                   .where(and_(on, L.c.run_id.is_(None), L.c.due_at > retries_after)))
        with self.db.read() as conn:
            rows = [dict(r) for r in conn.execute(
                select(T.c.id, T.c.name, T.c.cron, T.c.tz).where(on)).mappings()]
            due = conn.execute(retries).scalar() if rows else None
        return rows, due

    def check_free(self, name: str) -> None:
        """AlreadyExists when a schedule is named ``name``."""
        if self.find(name) is not None:
            raise _taken(name)

    def insert(self, values: dict[str, Any]) -> dict:
        """Record a new schedule; AlreadyExists when one has its name."""
        def write(conn) -> None:
            if conn.execute(select(T.c.pk).where(T.c.name == values["name"])).first():
                raise _taken(values["name"])
            conn.execute(insert(T).values(**encode(values)))

        try:
            self.db.transact(write)
        except IntegrityError:
            raise _taken(values["name"]) from None
        return self.get(values["name"])

    def update(self, schedule_id: str, values: dict[str, Any]) -> dict:
        """Change a schedule's columns; returns it (NotFound: deleted meanwhile)."""
        def write(conn) -> dict | None:
            conn.execute(update(T).where(T.c.id == schedule_id).values(**encode(values)))
            return self.by_id_in(conn, schedule_id)

        found = self.db.transact(write)
        if found is None:
            raise NotFound("the schedule was deleted meanwhile")
        return found

    def delete(self, schedule_id: str) -> None:
        """Forget a schedule and its links to runs (the runs stay)."""
        def write(conn) -> None:
            conn.execute(delete(L).where(L.c.schedule_id == schedule_id))
            conn.execute(delete(T).where(T.c.id == schedule_id))

        self.db.transact(write)

    # -- the runs of schedules ------------------------------------------------------------------

    def link_in(self, conn, values: dict[str, Any]) -> int | None:
        """Link a run (or a retry to start) to its schedule in the caller's transaction; its
        pk, or None when that (schedule, origin, nominal, attempt) is linked already."""
        values = {**values, "ticks": json.dumps(values.get("ticks") or [])}
        stmt = self.db.insert(L).values(**values).on_conflict_do_nothing(
            index_elements=["schedule_id", "origin", "nominal_at", "attempt"])
        return conn.execute(stmt.returning(L.c.pk)).scalar()

    def runs(self, schedule_id: str, limit: int = 20) -> list[dict]:
        """The schedule's runs and waiting retries, newest first, each with its run's
        ``status, start_time, end_time, error`` (None for a retry not started)."""
        query = (select(*_LINK_COLUMNS).select_from(L.outerjoin(R, R.c.id == L.c.run_id))
                 .where(L.c.schedule_id == schedule_id).order_by(L.c.pk.desc()).limit(limit))
        with self.db.read() as conn:
            return [_link(r) for r in conn.execute(query).mappings()]

    def last_runs(self, n: int) -> dict[str, list[dict]]:
        """The newest ``n`` runs of every schedule, as :meth:`runs`, by schedule id (one
        query)."""
        rank = func.row_number().over(partition_by=L.c.schedule_id,
                                      order_by=L.c.pk.desc()).label("rank")
        ranked = select(L.c.pk, rank).subquery()
        query = (select(*_LINK_COLUMNS).select_from(
            L.join(ranked, ranked.c.pk == L.c.pk).outerjoin(R, R.c.id == L.c.run_id))
            .where(ranked.c.rank <= n).order_by(L.c.pk.desc()))
        out: dict[str, list[dict]] = {}
        with self.db.read() as conn:
            for r in conn.execute(query).mappings():
                out.setdefault(r["schedule_id"], []).append(_link(r))
        return out

    def open_links(self) -> list[dict]:
        """Runs whose end is not handled yet, as :meth:`runs`, oldest first."""
        query = (select(*_LINK_COLUMNS).select_from(L.join(R, R.c.id == L.c.run_id))
                 .where(L.c.settled_at.is_(None)).order_by(L.c.pk))
        with self.db.read() as conn:
            return [_link(r) for r in conn.execute(query).mappings()]

    def due_retries(self, now: int) -> list[dict]:
        """Retries due at ``now`` (ms) whose schedule is not paused, oldest first."""
        query = (select(L).join(T, T.c.id == L.c.schedule_id)
                 .where(and_(L.c.run_id.is_(None), L.c.due_at <= now, T.c.paused.is_(False)))
                 .order_by(L.c.due_at, L.c.pk))
        with self.db.read() as conn:
            return [_link(r) for r in conn.execute(query).mappings()]

    def settle(self, pk: int, now: int, retry: dict[str, Any] | None) -> bool:
        """Mark run link ``pk``'s end handled, linking ``retry`` (a retry to start) in the same
        transaction; False when another process handled it first."""
        def write(conn) -> bool:
            done = conn.execute(update(L).where(and_(L.c.pk == pk, L.c.settled_at.is_(None)))
                                .values(settled_at=now).returning(L.c.pk)).first()
            if done is not None and retry is not None:
                self.link_in(conn, retry)
            return done is not None

        return self.db.transact(write)

    @staticmethod
    def claim_retry_in(conn, pk: int, run_id: str) -> bool:
        """Give waiting retry ``pk`` its run, in the caller's transaction; False when another
        process gave it one first."""
        return conn.execute(update(L).where(and_(L.c.pk == pk, L.c.run_id.is_(None)))
                            .values(run_id=run_id).returning(L.c.pk)).first() is not None

    def mark_started(self, pk: int, now: int) -> None:
        """Run link ``pk``'s run was handed over to execute at ``now`` (ms)."""
        self.db.transact(lambda conn: conn.execute(
            update(L).where(L.c.pk == pk).values(started_at=now)))
