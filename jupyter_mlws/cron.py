"""Cron expressions in a time zone, and schedule texts made of them: when each fires.

A :class:`Cron` is a five-field expression (minute, hour, day of month, month, day of week, as
crontab(5) reads them, with croniter) evaluated on the wall clock of an IANA time zone
(zoneinfo).  A :class:`Schedule` is a text of ``ACTION CRON`` entries separated by ``;``, e.g.
``"start 0 8 * * 1-5; stop 0 19 * * 1-5"`` for a VM, or ``"run 30 2 * * *"``.

Every instant given or returned is a timezone-aware ``datetime``; returned ones are in UTC.

Daylight-saving days (the rule of Vixie cron, the cron of most Linux systems):

- a wall time that does not exist, because the clock jumps forward over it (02:30 on the
  spring-forward day in Europe/Berlin or America/New_York), fires once, at the jump: the first
  instant at which the clock has passed it (03:00 local, 01:00 UTC in Berlin).  Several such
  wall times of one expression fire once, together;
- a wall time that happens twice, because the clock is set back (01:30 on the fall-back day in
  America/New_York, 02:30 in Europe/Berlin), fires once, at its first occurrence;
- except that an expression whose minute or hour field starts with ``*`` (``*/15 * * * *``,
  ``30 * * * *``) fires by real time, not by the wall clock: it skips the wall times that do not
  exist and fires in both occurrences of those that repeat, so it keeps its rhythm.

croniter iterates the wall clock (naive times); this module maps each wall time to the instants
above.  Clocks are assumed never to jump by more than :data:`MAX_JUMP` at once (no zone has
since 2011).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Collection, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InvalidInput

UTC = timezone.utc
#: the largest change of a zone's UTC offset at one transition that the mapping handles
MAX_JUMP = timedelta(hours=3)
#: how far back :meth:`Cron.last` looks for fires, at most
_LOOKBACK_MAX = timedelta(days=366 * 30)
#: crontab's aliases; ``@reboot`` means nothing to a schedule
_ALIASES = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
            "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
            "@hourly": "0 * * * *"}
_FIELDS = (("minute", "0-59"), ("hour", "0-23"), ("day of month", "1-31"),
           ("month", "1-12 or JAN-DEC"), ("day of week", "0-7 or SUN-SAT"))
#: what croniter raises for an expression it refuses (its errors are ValueErrors)
_REFUSED = (ValueError, KeyError, TypeError, IndexError)
_FORM = ("five fields: minute hour day-of-month month day-of-week, e.g. '0 8 * * 1-5' "
         "(8:00 on weekdays)")


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Berlin``, ``UTC``).

    Raises InvalidInput for a name the zone database does not know.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a time zone is an IANA name such as 'Europe/Berlin' or 'UTC'")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {name!r}: use an IANA name such as "
                           "'Europe/Berlin', 'America/New_York' or 'UTC'") from None


def utc(instant: datetime) -> datetime:
    """``instant`` in UTC; raises InvalidInput for a naive datetime (its zone is unknown)."""
    if not isinstance(instant, datetime) or instant.tzinfo is None \
            or instant.tzinfo.utcoffset(instant) is None:
        raise InvalidInput(f"give an aware datetime (with a time zone), got {instant!r}")
    return instant.astimezone(UTC)


class Cron:
    """A cron expression evaluated in a time zone.

    Parameters
    ----------
    expr : str
        Five fields (minute hour day-of-month month day-of-week), names (``MON-FRI``, ``JAN``)
        and steps allowed, or an alias (``@hourly``, ``@daily``, ``@weekly``, ``@monthly``,
        ``@yearly``).  When both day fields are restricted, a day matching either fires (cron's
        rule).
    tz : str
        The IANA zone whose wall clock the expression reads (default UTC).

    Raises InvalidInput, naming the field and its range, for an expression cron would refuse,
    one with six or seven fields, one that never fires (``0 0 31 2 *``), or an unknown zone.
    """

    def __init__(self, expr: str, tz: str = "UTC"):
        self.expr = " ".join(str(expr).split())
        self.tz = tz
        self.zone = zone(tz)
        self._fields = _fields(self.expr)
        #: fires by real time (minute or hour is a wildcard), not by the wall clock
        self.wildcard = self._fields[0].startswith("*") or self._fields[1].startswith("*")
        self._check_fires()

    def __repr__(self) -> str:
        return f"Cron({self.expr!r}, {self.tz!r})"

    @property
    def fields(self) -> tuple[str, ...]:
        """The five fields, an alias (``@daily``) written out (``0 0 * * *``)."""
        return self._fields

    def __eq__(self, other) -> bool:
        return isinstance(other, Cron) and (self.expr, self.tz) == (other.expr, other.tz)

    def __hash__(self) -> int:
        return hash((self.expr, self.tz))

    def fires(self, after: datetime) -> Iterator[datetime]:
        """Every fire strictly after ``after``, ascending, in UTC (an endless iterator)."""
        after = utc(after)
        start = after - MAX_JUMP if self._near_jump(after) else after
        wall = start.astimezone(self.zone).replace(tzinfo=None)
        steps = _croniter(" ".join(self._fields), wall)
        pending: list[datetime] = []
        last = None
        while True:
            moment = steps.get_next(datetime)
            for instant in self._instants(moment):
                heapq.heappush(pending, instant)
            first = moment.replace(tzinfo=self.zone).astimezone(UTC)
            # near a jump, later wall times may map before earlier ones: keep a window open
            horizon = first - MAX_JUMP if self._near_jump(first) else first
            while pending and pending[0] <= horizon:
                instant = heapq.heappop(pending)
                if instant > after and instant != last:
                    last = instant
                    yield instant

    def next(self, after: datetime, n: int = 1) -> list[datetime]:
        """The next ``n`` fires strictly after ``after``, ascending, in UTC."""
        found = []
        for instant in self.fires(after):
            if len(found) == n:
                break
            found.append(instant)
        return found

    def between(self, after: datetime, until: datetime) -> list[datetime]:
        """The fires in ``(after, until]``, ascending, in UTC: what fell due in that span."""
        until = utc(until)
        found = []
        for instant in self.fires(after):
            if instant > until:
                break
            found.append(instant)
        return found

    def last(self, until: datetime, n: int = 1, after: datetime | None = None) -> list[datetime]:
        """The last ``n`` fires at or before ``until`` (and strictly after ``after`` if given),
        oldest first.  Its cost grows with ``n``, not with how far back ``after`` lies."""
        until = utc(until)
        floor = utc(after) if after is not None else until - _LOOKBACK_MAX
        span = timedelta(hours=1)
        while True:
            start = max(until - span, floor)
            found = self.between(start, until)
            if len(found) >= n or start == floor:
                return found[-n:] if n else []
            span *= 8

    def _instants(self, moment: datetime) -> list[datetime]:
        """The instants at which the wall time ``moment`` fires (see the module's rules)."""
        first = moment.replace(tzinfo=self.zone, fold=0).astimezone(UTC)
        second = moment.replace(tzinfo=self.zone, fold=1).astimezone(UTC)
        if first == second:
            return [first]
        if first.astimezone(self.zone).replace(tzinfo=None) == moment:  # it happens twice
            return [first, second] if self.wildcard else [first]
        # it does not exist: fold=1 reads it with the offset after the jump (an instant before
        # the jump), fold=0 with the offset before (an instant after it)
        return [] if self.wildcard else [self._jump_between(second, first)]

    def _jump_between(self, before: datetime, after: datetime) -> datetime:
        """The instant the zone's offset changes, between ``before`` and ``after`` (to the
        second)."""
        offset = before.astimezone(self.zone).utcoffset()
        lo, hi = int(before.timestamp()), int(after.timestamp())
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if datetime.fromtimestamp(mid, UTC).astimezone(self.zone).utcoffset() == offset:
                lo = mid
            else:
                hi = mid
        return datetime.fromtimestamp(hi, UTC)

    def _near_jump(self, instant: datetime) -> bool:
        """Whether the zone's offset changes within :data:`MAX_JUMP` of ``instant``."""
        return ((instant - MAX_JUMP).astimezone(self.zone).utcoffset()
                != (instant + MAX_JUMP).astimezone(self.zone).utcoffset())

    def _check_fires(self) -> None:
        try:
            _croniter(" ".join(self._fields), datetime(2000, 1, 1)).get_next(datetime)
        except _REFUSED:  # croniter's CroniterBadDateError: no such day in its search
            raise InvalidInput(f"cron expression {self.expr!r} never fires (no such date, e.g. "
                               "31 February): check the day and month fields") from None


def _croniter(expr: str, start: datetime):
    try:
        from croniter import croniter
    except ModuleNotFoundError:
        from .errors import missing_dependency

        raise missing_dependency("croniter", "cron") from None
    return croniter(expr, start)


def _fields(expr: str) -> tuple[str, ...]:
    """The five fields of ``expr`` (aliases expanded); raises InvalidInput naming what is
    wrong."""
    if not expr:
        raise InvalidInput(f"a cron expression is {_FORM}; got an empty one")
    if expr.startswith("@"):
        if expr.lower() not in _ALIASES:
            raise InvalidInput(f"unknown cron alias {expr!r}: use {_FORM}, or one of "
                               f"{', '.join(sorted(_ALIASES))}")
        expr = _ALIASES[expr.lower()]
    fields = tuple(expr.split())
    if len(fields) != 5:
        raise InvalidInput(f"cron expression {expr!r} has {len(fields)} field(s): it must have "
                           f"{_FORM} (no seconds or year field)")
    try:
        _croniter(" ".join(fields), datetime(2000, 1, 1))
    except _REFUSED:  # croniter's CroniterBadCronError and friends
        raise InvalidInput(_which_field(expr, fields)) from None
    return fields


def _which_field(expr: str, fields: tuple[str, ...]) -> str:
    """The message for an expression croniter refused: the first field refused on its own."""
    for index, (name, allowed) in enumerate(_FIELDS):
        probe = ["*"] * 5
        probe[index] = fields[index]
        try:
            _croniter(" ".join(probe), datetime(2000, 1, 1))
        except _REFUSED:
            return (f"cron expression {expr!r}: the {name} field {fields[index]!r} is not "
                    f"valid (allowed: {allowed}, lists a,b, ranges a-b and steps */n)")
    return f"cron expression {expr!r} is not valid: it must have {_FORM}"


@dataclass(frozen=True)
class Fire:
    """One fire of a schedule: ``at`` (UTC), the entry's ``action``, and ``entry`` (its index
    in the schedule text, from 0, which orders entries firing at the same instant)."""

    at: datetime
    action: str
    entry: int


@dataclass(frozen=True)
class Entry:
    """One ``ACTION CRON`` entry of a schedule."""

    action: str
    cron: Cron

    def __str__(self) -> str:
        return f"{self.action} {self.cron.expr}"


@dataclass(frozen=True)
class Schedule:
    """A schedule: entries ``ACTION CRON`` in one time zone.  Build it with :func:`parse`."""

    entries: tuple[Entry, ...]
    tz: str

    @property
    def text(self) -> str:
        """The schedule in its normal form: ``"start 0 8 * * 1-5; stop 0 19 * * 1-5"``."""
        return "; ".join(str(e) for e in self.entries)

    def next(self, after: datetime, n: int = 1) -> list[Fire]:
        """The next ``n`` fires of any entry strictly after ``after``, in order."""
        merged = [Fire(at, e.action, i) for i, e in enumerate(self.entries)
                  for at in e.cron.next(after, n)]
        return sorted(merged, key=_order)[:n]

    def between(self, after: datetime, until: datetime) -> list[Fire]:
        """Every fire in ``(after, until]``, in order (by instant, then by entry)."""
        merged = [Fire(at, e.action, i) for i, e in enumerate(self.entries)
                  for at in e.cron.between(after, until)]
        return sorted(merged, key=_order)

    def last(self, until: datetime, n: int = 1, after: datetime | None = None) -> list[Fire]:
        """The last ``n`` fires at or before ``until`` (after ``after`` if given), oldest
        first."""
        merged = [Fire(at, e.action, i) for i, e in enumerate(self.entries)
                  for at in e.cron.last(until, n, after)]
        return sorted(merged, key=_order)[-n:] if n else []


def _order(fire: Fire) -> tuple[datetime, int]:
    return fire.at, fire.entry


def parse(text: str, tz: str = "UTC", actions: Collection[str] | None = None) -> Schedule:
    """Parse a schedule text: entries ``ACTION CRON`` separated by ``;`` (or new lines).

    Parameters
    ----------
    text : str
        e.g. ``"start 0 8 * * 1-5; stop 0 19 * * 1-5"``.
    tz : str
        The IANA zone of every entry's wall clock.
    actions : collection of str, optional
        The actions allowed (``{"start", "stop"}`` for a VM); any identifier when None.

    Raises InvalidInput naming the entry (by number and text) and what is wrong in it: an
    empty schedule, an unknown action, a bad cron expression, an unknown zone, or the same
    entry twice.
    """
    parts = [p.strip() for p in str(text or "").replace("\n", ";").split(";") if p.strip()]
    if not isinstance(text, str) or not parts:
        raise InvalidInput("a schedule is one or more entries 'ACTION CRON' separated by ';', "
                           "e.g. 'start 0 8 * * 1-5; stop 0 19 * * 1-5'; got an empty one")
    zone(tz)  # one message for a bad zone, whatever the entries
    entries = []
    for number, part in enumerate(parts, start=1):
        entries.append(_entry(number, part, tz, actions))
    seen = set()
    for number, entry in enumerate(entries, start=1):
        if str(entry) in seen:
            raise InvalidInput(f"schedule entry {number} ({str(entry)!r}) repeats an earlier "
                               "entry: give each once")
        seen.add(str(entry))
    return Schedule(tuple(entries), tz)


def _entry(number: int, part: str, tz: str, actions: Collection[str] | None) -> Entry:
    action, _, expr = part.partition(" ")
    where = f"schedule entry {number} ({part!r})"
    if actions is not None and action not in actions:
        raise InvalidInput(f"{where}: unknown action {action!r}; it starts with one of "
                           f"{', '.join(sorted(actions))}, then a cron expression")
    if not action.isidentifier():
        raise InvalidInput(f"{where}: it starts with an action (a word), then a cron expression")
    try:
        return Entry(action, Cron(expr, tz))
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc}") from None
