"""Run-scoped tokens: how a process elsewhere writes to its run, and only there.

A run executing on another machine (an SSH target, a Dask worker) has no database connection
of its own: it writes through a workspace server's REST API with a token the workspace issued
for that run.  :meth:`RunTokens.issue` returns the token once; the store keeps only its
sha256 (:mod:`jupyter_mlws.bearer`).  :meth:`RunTokens.verify` gives back the run a token belongs to and refuses a token
that is unknown, expired or revoked, or whose run has ended (any terminal status, however it
ended: the token dies with its run, checked on every request).

What a token may touch is decided by :meth:`RunTokens.covers`: its run and the runs below it
(the children it starts with ``run.child()``, a sweep's children), nothing else.  The server
applies it (``jupyter_mlws.server.identity`` and ``.authorizer``): a token writes and reads its
runs only; it reads no other run, no secret's value, no endpoint key and no role, and reaches
none of Jupyter's own APIs.

A token is never logged, never stored in a run's record and never part of an error message:
messages name the run, never the token.
"""

from __future__ import annotations

import math

from sqlalchemy import and_, select, text

from . import bearer
from .errors import Conflict, InvalidInput, NotFound, PermissionDenied
from .run_records import LIVE, now_ms
from .runs import RunService
from .store import schema as S
from .store.db import Database

#: what every run token starts with (so a server tells it from a user's Jupyter token)
PREFIX = "mlws_run_"
#: the lifetime of a token unless the issuer says otherwise, and the longest one: seconds
DEFAULT_TTL_S = 7 * 86400
MAX_TTL_S = 30 * 86400
#: how deep runs may nest below a token's run and still be its own
_MAX_DEPTH = 64

_UNKNOWN = ("this run token is not known to the workspace: use the token the workspace gave the "
            "run (MLWS_TOKEN), or sign in with a user's token")

# the run and its ancestors, nearest first: the runs whose tokens cover it
_ANCESTORS = text(
    "WITH RECURSIVE up(pk, parent_pk, depth) AS ("
    " SELECT pk, parent_pk, 0 FROM runs WHERE id = :run_id"
    " UNION ALL SELECT r.pk, r.parent_pk, up.depth + 1 FROM runs r JOIN up ON r.pk = up.parent_pk"
    f" WHERE up.depth < {_MAX_DEPTH})"
    " SELECT runs.id FROM up JOIN runs ON runs.pk = up.pk")


def is_run_token(value: object) -> bool:
    """Whether ``value`` has the shape of a run token (says nothing of its validity)."""
    return bearer.has_shape(value, PREFIX)


class RunTokens:
    """Issue, verify and revoke the tokens runs write to the workspace with over HTTP.

    Parameters
    ----------
    db : Database
        The metadata store (``run_tokens``, and ``runs`` for the runs' state and parents).
    runs : RunService
        Resolves run ids.
    """

    def __init__(self, db: Database, runs: RunService):
        self.db = db
        self.runs = runs

    def issue(self, run_id: str, ttl: float = DEFAULT_TTL_S) -> str:
        """A new token for the queued or running run ``run_id``, valid ``ttl`` seconds (1 to
        :data:`MAX_TTL_S`) or until the run ends, whichever comes first.

        The token is returned once and never stored (only its sha256 is): hand it to the process
        that executes the run (``MLWS_TOKEN``) and to nothing else.  Raises NotFound for an
        unknown run, Conflict for a run that has ended, InvalidInput for a bad ``ttl``.
        """
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not (
                math.isfinite(ttl) and 1 <= ttl <= MAX_TTL_S):
            raise InvalidInput(f"a run token's ttl is a number of seconds from 1 to {MAX_TTL_S}, "
                               f"got {ttl!r}")
        record = self.runs.get(run_id)
        if record.status not in LIVE:
            raise Conflict(f"run {record.id} has ended ({record.status}): a token is issued for a "
                           "queued or running run only")
        token = bearer.new(PREFIX)
        now = now_ms()
        t = S.run_tokens

        def write(conn) -> None:
            conn.execute(t.delete().where(t.c.expires_at < now))  # the table stays small
            conn.execute(t.insert().values(run_id=record.id, token_hash=bearer.digest(token),
                                           created_at=now, expires_at=now + int(ttl * 1000)))

        self.db.transact(write)
        return token

    def verify(self, token: str) -> str:
        """The id of the run ``token`` belongs to.

        Raises PermissionDenied, naming the run but never the token, when the token is unknown,
        revoked or expired, or its run is not queued or running any more.
        """
        if not is_run_token(token):
            raise PermissionDenied(_UNKNOWN)
        digest = bearer.digest(token)
        t, r = S.run_tokens, S.runs
        with self.db.read() as conn:
            row = conn.execute(
                select(t.c.token_hash, t.c.run_id, t.c.expires_at, t.c.revoked_at, r.c.status)
                .select_from(t.outerjoin(r, r.c.id == t.c.run_id))
                .where(t.c.token_hash == digest)).first()
        if row is None or not bearer.same(row.token_hash, digest):
            raise PermissionDenied(_UNKNOWN)
        if row.revoked_at is not None:
            raise PermissionDenied(f"the token of run {row.run_id} was revoked: it no longer works")
        if row.expires_at <= now_ms():
            raise PermissionDenied(f"the token of run {row.run_id} has expired: the workspace "
                                   "issues a new one when it starts the run again")
        if row.status not in LIVE:
            raise PermissionDenied(f"run {row.run_id} has ended ({row.status or 'removed'}): "
                                   "its token no longer works")
        return row.run_id

    def revoke(self, run_id: str) -> int:
        """Revoke every token of a run now; return how many were live.  (A run's tokens also stop
        working the moment it ends, without this.)"""
        full = self.runs.id_of(run_id)
        t = S.run_tokens
        return self.db.transact(lambda conn: conn.execute(
            t.update().where(and_(t.c.run_id == full, t.c.revoked_at.is_(None)))
            .values(revoked_at=now_ms())).rowcount)

    def covers(self, scope_run_id: str, run_id: str) -> bool:
        """Whether a token of run ``scope_run_id`` may touch run ``run_id`` (a whole id or a
        unique prefix): the run itself, or a run below it.  False for an unknown run (a token
        learns nothing of the runs it does not cover)."""
        if not isinstance(run_id, str) or not run_id:
            return False
        try:
            full = self.runs.id_of(run_id)
        except (NotFound, InvalidInput):
            return False
        if full == scope_run_id:
            return True
        with self.db.read() as conn:
            chain = conn.execute(_ANCESTORS, {"run_id": full}).scalars().all()
        return scope_run_id in chain
