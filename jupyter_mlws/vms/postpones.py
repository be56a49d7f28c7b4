"""The owner's "postpone": no idle stop of a VM before a time they chose.

The idle warning (:mod:`.idle`) offers "postpone 1 h".  :meth:`IdlePostpones.postpone` records
it per owner (kind and id, e.g. ``("vm", "gpu-box")``) in the ``idle_postpones`` table; the
idle policy reads it back as ``postponed_until``.  Postponing sets the time to ``now +
duration`` unless a later one is set already: a double click does not add a second hour.
Who may postpone (the VM's owner or a workspace Owner) is checked by the caller.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, select

from ..cron import UTC, utc
from ..errors import InvalidInput
from ..store import schema as S
from ..store.db import Database
from ..ticks import from_ms, to_ms

#: the postponement the warning offers
DEFAULT = timedelta(hours=1)
#: the longest one: beyond it, turn idle shutdown off or change the timeout
MAX = timedelta(hours=24)


class IdlePostpones:
    """Postponements of idle stops, per owner.

    Parameters
    ----------
    db : Database
        The metadata store (``idle_postpones``).
    """

    def __init__(self, db: Database):
        self.db = db

    def postpone(self, owner_kind: str, owner_id: str, by: str,
                 duration: timedelta = DEFAULT, now: datetime | None = None) -> datetime:
        """No idle stop of the owner before ``now + duration``; returns that time (or the later
        one already set).  ``by``: who asked (a user name, for the record).  Raises InvalidInput
        for a duration outside 1 minute to :data:`MAX`."""
        if not isinstance(duration, timedelta) or not timedelta(minutes=1) <= duration <= MAX:
            raise InvalidInput(f"a postponement lasts from 1 minute to {MAX}, got {duration!r}")
        now = utc(now) if now is not None else datetime.now(UTC)
        wanted = to_ms(now + duration)
        t = S.idle_postpones

        def write(conn) -> int:
            current = conn.execute(select(t.c.until_at).where(self._owner(owner_kind, owner_id))).scalar()
            if current is not None and current >= wanted:
                return current
            values = dict(until_at=wanted, by=by or "", asked_at=to_ms(now))
            if current is None:
                conn.execute(t.insert().values(owner_kind=owner_kind, owner_id=owner_id, **values))
            else:
                conn.execute(t.update().where(self._owner(owner_kind, owner_id)).values(**values))
            return wanted

        return from_ms(self.db.transact(write))

    def until(self, owner_kind: str, owner_id: str, now: datetime | None = None) -> datetime | None:
        """The postponement in force at ``now`` (default: the clock), None when none is."""
        now = utc(now) if now is not None else datetime.now(UTC)
        t = S.idle_postpones
        with self.db.read() as conn:
            until = conn.execute(select(t.c.until_at).where(self._owner(owner_kind, owner_id))).scalar()
        return from_ms(until) if until is not None and until > to_ms(now) else None

    def clear(self, owner_kind: str, owner_id: str) -> None:
        """Forget the owner's postponement (the VM stopped, or was deleted)."""
        t = S.idle_postpones
        self.db.transact(lambda conn: conn.execute(t.delete().where(self._owner(owner_kind, owner_id))))

    @staticmethod
    def _owner(owner_kind: str, owner_id: str):
        t = S.idle_postpones
        return and_(t.c.owner_kind == owner_kind, t.c.owner_id == owner_id)
