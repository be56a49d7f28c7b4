"""The watcher loop: finds the ticks that fell due, claims each once, hands it to its handler.

A :class:`Ticker` is told, per owner kind (``"vm"``, ``"schedule"``), where to read the owners'
schedules (a ``source``) and what to do with a claimed tick (a :class:`Handler`).  Each pass
(:meth:`Ticker.tick`) looks, for every owner, at the ticks due since the owner's newest claim
(or since its schedule was set), lets the owner's :class:`~jupyter_mlws.ticks.CatchUp` policy
choose, and claims them through :class:`~jupyter_mlws.ticks.TickClaims`: the handler's
``record`` runs in the claim's transaction, its ``act`` after the commit.  Any number of
tickers, in a Jupyter server extension or a standalone process, may watch one workspace: each
tick is claimed by one of them.

Where a ticker left off lives in the store (the newest claim), not in the process: a restarted
ticker, or another one, continues from there.  A pass costs one read and nothing else for an
owner with nothing due: each owner's next fire time is kept between passes, and :meth:`run`
sleeps until the earliest one (at most ``interval``, so that new and changed schedules are seen).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

from .cron import UTC, Schedule, utc
from .errors import InvalidInput
from .ticks import LATEST, CatchUp, ClaimedTick, Tick, TickClaims

log = logging.getLogger(__name__)

#: how long claims are kept for the record (each owner's newest is always kept)
KEEP_CLAIMS = timedelta(days=30)
_PRUNE_EVERY = timedelta(hours=1)
_FAR = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Watched:
    """One owner's schedule, as a source lists it.

    ``since`` (aware): when the schedule was set; ticks at or before it are never due (a new
    schedule does not act on the past).  ``catch_up``: the policy after downtime.
    """

    owner_id: str
    schedule: Schedule
    since: datetime
    catch_up: CatchUp = LATEST


@dataclass(frozen=True)
class Handler:
    """What a ticker does with the claimed ticks of one owner kind.

    ``record(conn, tick)`` runs inside the claim's write transaction (``conn`` is its SQLAlchemy
    connection): write the action's record there (e.g. the VM's new desired state), so that the
    claim and the record commit together.  Raise to leave the tick unclaimed (it is tried again
    at the next pass); return to consume it, also when there is nothing to do (the owner is
    gone).  ``act(tick, recorded)``, optional, runs after the commit with what ``record``
    returned: the side effect outside the database.  It runs on the ticker's thread: hand long
    work (a VM start) to a thread of its own.  Its errors are logged, never retried.
    """

    record: Callable[[Any, ClaimedTick], Any]
    act: Callable[[ClaimedTick, Any], None] | None = None


class Ticker:
    """The loop that claims due ticks and hands them to handlers.

    Parameters
    ----------
    claims : TickClaims
        The claims of the workspace this ticker watches.
    interval : float
        The longest time between two passes, seconds (default 30): how soon a new or changed
        schedule is seen.  Passes also happen at each owner's next fire time.
    grace : float, optional
        Seconds after its fire time during which a tick is on time (what ``skip`` keeps);
        default ``max(60, 3 * interval)``.
    clock : callable, optional
        Returns the current time as an aware datetime (default: the system clock in UTC); tests
        pass a controllable one.
    """

    def __init__(self, claims: TickClaims, *, interval: float = 30.0,
                 grace: float | None = None, clock: Callable[[], datetime] | None = None):
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
            raise InvalidInput(f"a ticker's interval is a positive number of seconds, got "
                               f"{interval!r}")
        self.claims = claims
        self.interval = float(interval)
        self.grace = timedelta(seconds=grace if grace is not None else max(60.0, 3 * interval))
        self.clock = clock or (lambda: datetime.now(UTC))
        self._watched: dict[str, tuple[Callable[[], Iterable[Watched]], Handler]] = {}
        #: (kind, owner id) -> (what its schedule was, the first instant something may be due)
        self._next: dict[tuple[str, str], tuple[tuple, datetime]] = {}
        self._pruned_at: datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, owner_kind: str, source: Callable[[], Iterable[Watched]],
              handler: Handler) -> None:
        """Watch the owners of ``owner_kind``: ``source()`` lists them (called at every pass;
        keep it one query), ``handler`` acts on their claimed ticks."""
        if owner_kind in self._watched:
            raise InvalidInput(f"owner kind {owner_kind!r} is watched already")
        self._watched[owner_kind] = (source, handler)

    def tick(self, now: datetime | None = None) -> list[ClaimedTick]:
        """One pass at ``now`` (default: the clock): claim and hand over every due tick.

        Returns the ticks this process claimed, in order.  A failing source, record or act is
        logged and skips that owner kind, owner or tick only.
        """
        now = utc(now) if now is not None else utc(self.clock())
        claimed: list[ClaimedTick] = []
        for kind, (source, handler) in self._watched.items():
            try:
                owners = list(source())
            except Exception:
                log.exception("listing the %s schedules failed; trying again at the next pass", kind)
                owners = []
            listed = {w.owner_id for w in owners}
            for key in [k for k in self._next if k[0] == kind and k[1] not in listed]:
                del self._next[key]
            for watched in owners:
                claimed += self._owner(kind, watched, handler, now)
        self._prune(now)
        return claimed

    def next_due(self) -> datetime | None:
        """The earliest next fire time among the owners seen at the last pass (None if none)."""
        times = [at for _ident, at in self._next.values()]
        return min(times) if times else None

    def _owner(self, kind: str, watched: Watched, handler: Handler,
               now: datetime) -> list[ClaimedTick]:
        key = (kind, watched.owner_id)
        ident = (watched.schedule, utc(watched.since), watched.catch_up)
        known = self._next.get(key)
        if known is not None and known[0] == ident and now < known[1]:
            return []  # nothing fell due since the last pass
        newest = self.claims.newest(kind, watched.owner_id)
        after = max(newest, ident[1]) if newest is not None else ident[1]
        claimed = []
        for fire, missed_after in watched.catch_up.select(watched.schedule, after, now, self.grace):
            tick = Tick(kind, watched.owner_id, fire.action, fire.at, missed_after)
            try:
                got = self.claims.claim(tick, handler.record, now=now)
            except Exception:
                log.exception("recording the %s tick of %s %r at %s failed; trying again at the "
                              "next pass", tick.action, kind, tick.owner_id, tick.nominal.isoformat())
                self._next.pop(key, None)
                return claimed
            if got is not None:
                claimed.append(got.tick)
                self._act(handler, got.tick, got.recorded)
        upcoming = watched.schedule.next(now, 1)
        self._next[key] = (ident, upcoming[0].at if upcoming else _FAR)
        return claimed

    @staticmethod
    def _act(handler: Handler, tick: ClaimedTick, recorded: Any) -> None:
        if handler.act is None:
            return
        try:
            handler.act(tick, recorded)
        except Exception:
            log.exception("the %s of %s %r (tick %s) failed after it was recorded", tick.action,
                          tick.owner_kind, tick.owner_id, tick.nominal.isoformat())

    def _prune(self, now: datetime) -> None:
        if self._pruned_at is not None and now - self._pruned_at < _PRUNE_EVERY:
            return
        self._pruned_at = now
        try:
            self.claims.prune(now - KEEP_CLAIMS)
        except Exception:
            log.exception("pruning old tick claims failed")

    # -- the loop ----------------------------------------------------------------------------

    def run(self, stop: threading.Event | None = None) -> None:
        """Pass after pass until ``stop`` is set (default: :meth:`stop` was called): a pass at
        every owner's next fire time, and at least every ``interval`` seconds."""
        stop = stop or self._stop
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # the store is down: keep watching, it may come back
                log.exception("a ticker pass failed; trying again")
            stop.wait(self._sleep())

    def _sleep(self) -> float:
        upcoming = self.next_due()
        if upcoming is None:
            return self.interval
        until = (upcoming - utc(self.clock())).total_seconds()
        return min(self.interval, max(0.05, until + 0.01))

    def start(self) -> None:
        """Run the loop on a daemon thread (``mlws-ticker``) until :meth:`stop`."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="mlws-ticker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop's thread and wait for its pass to end (``timeout`` seconds at most)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
