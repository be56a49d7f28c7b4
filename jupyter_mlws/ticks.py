"""Cron ticks acted on exactly once, however many processes watch a workspace.

A *tick* is one fire of a schedule for one owner: (owner kind, owner id, action, nominal fire
time), e.g. ``("vm", "gpu-box", "stop", 2025-03-28 18:00 UTC)``.  :class:`TickClaims` claims a
tick by inserting a row into ``tick_claims``, whose UNIQUE key is exactly that tuple, in the
same write transaction as the action's own record (the handler's ``record``): both commit, or
neither does.  A second process claiming the same tick inserts nothing and does nothing.  The
claims of one owner are also serialized and only move forward: a watcher whose view is behind
(it read the newest claim before another committed a later one) cannot claim an older tick.
This holds on SQLite (``BEGIN IMMEDIATE``) and on PostgreSQL (an advisory lock per owner,
:meth:`~jupyter_mlws.store.db.Database.serialize`).

Exactly once covers the claim and the record.  What the action does outside the database (a
cloud API call) happens after the commit, once per claim, by the process that claimed it; if
that process dies in between, the record shows the action was decided and not done, which the
owner's service reconciles (a VM recorded as ``stopping`` is stopped again).

After downtime (no watcher ran while ticks fell due), a :class:`CatchUp` policy says which of
the missed ticks are claimed: ``latest`` (the default: one claim, for the newest missed tick,
standing for the others: never a burst), ``skip`` (only ticks still on time), or ``all:N`` (the
newest N, oldest first).  For VM start/stop ``latest`` is right: the newest missed action is the
state the owner asked for now (stopped at 19:00 means stopped, whatever happened at 08:00).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Callable, Generic, TypeVar

from sqlalchemy import and_, func, select

from .cron import UTC, Fire, Schedule, utc
from .errors import InvalidInput
from .store import schema as S
from .store.db import Database

T = TypeVar("T")

#: the largest N of ``all:N``
CATCH_UP_ALL_MAX = 1000


def to_ms(instant: datetime) -> int:
    """An aware datetime as integer milliseconds since the epoch."""
    return int(utc(instant).timestamp() * 1000)


def from_ms(ms: int | None) -> datetime | None:
    """Milliseconds since the epoch as an aware UTC datetime (None stays None)."""
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


@dataclass(frozen=True)
class Tick:
    """A tick to claim: ``nominal`` is its fire time (aware), ``missed_after`` set on a catch-up
    claim (the ticks due in ``(missed_after, nominal)`` were missed and are not claimed on their
    own)."""

    owner_kind: str
    owner_id: str
    action: str
    nominal: datetime
    missed_after: datetime | None = None


@dataclass(frozen=True)
class ClaimedTick(Tick):
    """A tick this process claimed: when (``claimed_at``) and by which watcher (``claimed_by``,
    ``host:pid``)."""

    claimed_at: datetime | None = None
    claimed_by: str = ""


@dataclass(frozen=True)
class Claimed(Generic[T]):
    """A successful claim: the tick, and what the handler's ``record`` returned."""

    tick: ClaimedTick
    recorded: T


@dataclass(frozen=True)
class CatchUp:
    """Which due ticks of one owner are claimed in one pass (see the module's docstring).

    ``mode`` is ``latest``, ``skip`` or ``all``; ``limit`` the N of ``all:N``.  Build it with
    :meth:`parse`.
    """

    mode: str = "latest"
    limit: int = 1

    @classmethod
    def parse(cls, text: str | None) -> "CatchUp":
        """``"latest"`` (also None or empty), ``"skip"`` or ``"all:N"`` (N from 1 to
        :data:`CATCH_UP_ALL_MAX`).  Raises InvalidInput saying which forms exist."""
        value = str(text or "latest").strip().lower()
        if value in ("latest", "skip"):
            return cls(value, 1)
        mode, _, count = value.partition(":")
        if mode == "all" and count.isdigit() and 1 <= int(count) <= CATCH_UP_ALL_MAX:
            return cls("all", int(count))
        raise InvalidInput(f"unknown catch-up policy {text!r}: use 'latest' (one action for the "
                           "missed ticks), 'skip' (none), or 'all:N' (the newest N missed ticks, "
                           f"N from 1 to {CATCH_UP_ALL_MAX})")

    def __str__(self) -> str:
        return f"all:{self.limit}" if self.mode == "all" else self.mode

    def select(self, schedule: Schedule, after: datetime, now: datetime,
               grace: timedelta) -> list[tuple[Fire, datetime | None]]:
        """The fires in ``(after, now]`` to claim, oldest first, each with its ``missed_after``.

        A fire at most ``grace`` old is on time; older ones were missed.  The cost grows with
        the number selected, not with the length of the downtime.
        """
        if self.mode == "skip":
            chosen = schedule.between(max(after, now - grace), now)
        else:
            chosen = schedule.last(now, self.limit, after=after)
        if not chosen:
            return []
        first = schedule.next(after, 1)
        missed = bool(first) and first[0].at < chosen[0].at
        return [(fire, after if missed and i == 0 else None) for i, fire in enumerate(chosen)]


LATEST = CatchUp("latest", 1)


def watcher_name() -> str:
    """This process as a claim records it: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


class TickClaims:
    """The ``tick_claims`` table: claim ticks exactly once, read what was claimed.

    Parameters
    ----------
    db : Database
        The metadata store.
    worker : str, optional
        What claims record as their watcher (default ``host:pid``).
    """

    def __init__(self, db: Database, worker: str | None = None):
        self.db = db
        self.worker = worker or watcher_name()

    def claim(self, tick: Tick, record: Callable[..., T] | None = None,
              now: datetime | None = None) -> Claimed[T] | None:
        """Claim ``tick`` and run ``record(conn, claimed_tick)`` in the same transaction.

        Returns the :class:`Claimed` (with what ``record`` returned), or None when the tick was
        claimed already or a later tick of the same owner was (another watcher is ahead).  If
        ``record`` raises, nothing is written (the claim neither) and the exception propagates:
        the tick stays claimable.  ``now`` (aware) is the claim's time (default: the clock).
        Raises Unavailable when the store fails.
        """
        claimed = ClaimedTick(tick.owner_kind, tick.owner_id, tick.action, utc(tick.nominal),
                              tick.missed_after and utc(tick.missed_after),
                              claimed_at=utc(now) if now else datetime.now(UTC),
                              claimed_by=self.worker)

        def step(conn):
            self.db.serialize(conn, f"tick:{tick.owner_kind}:{tick.owner_id}")
            newest = self._newest(conn, tick.owner_kind, tick.owner_id)
            if newest is not None and newest > to_ms(claimed.nominal):
                return None
            final = claimed
            if claimed.missed_after is not None and newest is not None \
                    and newest > to_ms(claimed.missed_after):  # another watcher claimed some since
                final = replace(claimed, missed_after=from_ms(newest))
            if not self._insert(conn, final):
                return None
            return Claimed(final, record(conn, final) if record else None)

        return self.db.transact(step)

    def _insert(self, conn, claimed: ClaimedTick) -> bool:
        t = S.tick_claims
        stmt = self.db.insert(t).values(
            owner_kind=claimed.owner_kind, owner_id=claimed.owner_id, action=claimed.action,
            nominal_at=to_ms(claimed.nominal),
            missed_after=None if claimed.missed_after is None else to_ms(claimed.missed_after),
            claimed_at=to_ms(claimed.claimed_at), claimed_by=claimed.claimed_by,
        ).on_conflict_do_nothing(index_elements=["owner_kind", "owner_id", "action", "nominal_at"])
        # RETURNING, not rowcount: what a driver reports as rowcount here varies
        return conn.execute(stmt.returning(t.c.pk)).first() is not None

    @staticmethod
    def _newest(conn, owner_kind: str, owner_id: str) -> int | None:
        t = S.tick_claims
        return conn.execute(select(func.max(t.c.nominal_at)).where(
            and_(t.c.owner_kind == owner_kind, t.c.owner_id == owner_id))).scalar()

    def newest(self, owner_kind: str, owner_id: str) -> datetime | None:
        """The nominal time of the newest tick claimed for the owner (any action), or None."""
        with self.db.read() as conn:
            return from_ms(self._newest(conn, owner_kind, owner_id))

    def claims(self, owner_kind: str, owner_id: str, limit: int = 100) -> list[ClaimedTick]:
        """The owner's claims, newest first (at most ``limit``)."""
        t = S.tick_claims
        with self.db.read() as conn:
            rows = conn.execute(select(t).where(and_(
                t.c.owner_kind == owner_kind, t.c.owner_id == owner_id))
                .order_by(t.c.nominal_at.desc(), t.c.pk.desc()).limit(limit)).all()
        return [ClaimedTick(r.owner_kind, r.owner_id, r.action, from_ms(r.nominal_at),
                            from_ms(r.missed_after), from_ms(r.claimed_at), r.claimed_by)
                for r in rows]

    def forget(self, owner_kind: str, owner_id: str) -> int:
        """Delete every claim of an owner (when the owner is deleted); returns how many."""
        t = S.tick_claims
        return self.db.transact(lambda conn: conn.execute(t.delete().where(and_(
            t.c.owner_kind == owner_kind, t.c.owner_id == owner_id))).rowcount)

    def prune(self, before: datetime) -> int:
        """Delete claims whose nominal time is before ``before``, except each owner's newest
        (which keeps its claims moving forward); returns how many were deleted."""
        t = S.tick_claims
        newest = select(t.c.owner_kind, t.c.owner_id, func.max(t.c.nominal_at).label("top")) \
            .group_by(t.c.owner_kind, t.c.owner_id).subquery()
        keep = select(t.c.pk).join(newest, and_(
            t.c.owner_kind == newest.c.owner_kind, t.c.owner_id == newest.c.owner_id,
            t.c.nominal_at == newest.c.top))
        return self.db.transact(lambda conn: conn.execute(t.delete().where(and_(
            t.c.nominal_at < to_ms(before), t.c.pk.not_in(keep)))).rowcount)
