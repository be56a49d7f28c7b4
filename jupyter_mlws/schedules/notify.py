"""What a schedule tells when one of its runs ends: its webhooks, and its owner in JupyterLab.

The schedule's watcher calls :func:`notify_run_finished` once it sees a run it started end.

1. The notice is recorded on the run, once (:class:`ScheduleNotices`): the tags
   ``mlws.schedule.notified`` (when, ISO-8601 UTC by the database's clock) and
   ``mlws.schedule.owner`` (whom it tells), written only while the run has no notice, in one
   transaction.  However many
   scheduler processes see the run end, the first one notifies and the others do nothing.
2. The webhooks whose ``on`` matches the run's outcome are posted (``failure``: failed,
   killed, timed_out; ``success``: completed; a canceled run was stopped on purpose and posts
   neither) with ``{"schedule", "run_id", "status", "nominal", "link"}`` and nothing else
   (no params, no secret, no token).  They are posted on a daemon worker thread, so the
   scheduler's tick loop never waits for a slow receiver: up to :data:`TRIES` tries per
   webhook, :data:`BACKOFF_S` apart, all within :data:`DEADLINE_S` seconds; a refused URL or a
   4xx answer is not tried again.  The outcome is kept on the run as the tag
   ``mlws.schedule.webhooks`` (URLs as :func:`redact_url` shows them) and logged.  A
   scheduler process that exits meanwhile drops what it had not posted yet.
3. The workspace server reads the new notices at each poll of its live events
   (:meth:`ScheduleNotices.watch`, from whichever process recorded them) and sends the
   ``schedule-run`` event to the schedule's owner's events streams alone
   (``server/status.py``).

:func:`notify_run_finished` never raises: what goes wrong is logged, with URLs redacted.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, select

from ..errors import MlwsError, Unavailable
from ..run_records import COMPLETED, ENDED, FAILED, KILLED, TIMED_OUT
from ..runs import tag_rows
from ..store import schema as S
from .webhooks import check_webhook_url, post_webhook, redact_url

if TYPE_CHECKING:  # pragma: no cover
    from ..runs import RunService
    from ..store.db import Database

__all__ = ["ScheduleNotices", "check_webhook_url", "notify_run_finished", "outcome",
           "post_webhook", "redact_url"]

log = logging.getLogger(__name__)

#: the run's tags a schedule's run carries (set when it starts; ``TRIGGER``: tick or manual)
SCHEDULE, NOMINAL, TRIGGER = "mlws.schedule", "mlws.schedule.nominal", "mlws.schedule.trigger"
#: the notice's tags: when it was recorded (ISO-8601 UTC, ms), whom it tells, what the webhooks did
NOTIFIED, OWNER = "mlws.schedule.notified", "mlws.schedule.owner"
WEBHOOKS = "mlws.schedule.webhooks"
#: what a webhook's ``on`` lists, and the run statuses each stands for
OUTCOMES = {"failure": (FAILED, KILLED, TIMED_OUT), "success": (COMPLETED,)}
DEFAULT_ON = ("failure",)
#: tries per webhook, the pauses between them (seconds), and the time all of them may take
TRIES, BACKOFF_S, DEADLINE_S = 3, (2.0, 8.0), 60.0
#: seconds each try may wait for a connection, and for each read
TIMEOUT_S = 10.0
#: how far back a server looks for notices committed late (seconds): a notice is stamped when
#: its transaction writes it and seen once that commits, so a slower transaction may commit a
#: slightly older stamp after a newer one was seen
SLACK_S = 30.0


def outcome(status: str) -> str | None:
    """``"failure"`` or ``"success"`` for an ended run's ``status``; None for neither."""
    return next((name for name, statuses in OUTCOMES.items() if status in statuses), None)


_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def scrub(text: str) -> str:
    """``text`` with every URL in it as :func:`redact_url` shows it (for logs and messages)."""
    return _URL.sub(lambda m: redact_url(m.group(0)), str(text))


def run_link(ws, run_id: str) -> str | None:
    """The web address of a run's page on the workspace server (``server_url`` of mlws.toml,
    else the server this process serves the workspace at); None when neither is known."""
    base = getattr(ws.config, "server_url", None) or getattr(ws, "served_at", None)
    return f"{base.rstrip('/')}/mlws/?run={run_id}" if base else None


def notify_run_finished(ws, schedule: dict, run: dict) -> threading.Thread | None:
    """Tell that a run of ``schedule`` ended (see the module's text); never raises.

    ``schedule``: the schedule as stored, with its webhooks' full URLs (``name``, ``owner``,
    ``notify``: ``[{"url", "on"}]``; a listing's redacted URLs cannot be posted to).
    ``run``: the run (``id``; its status and tags are read from the store).  Returns the worker
    thread posting the webhooks (join it to wait for them), or None when nothing is posted: the
    run has not ended, it was notified already, or no webhook's ``on`` matches.
    """
    name = schedule.get("name") if isinstance(schedule, dict) else None
    run_id = str((run or {}).get("id") or (run or {}).get("run_id") or "")
    try:
        return _notify(ws, schedule, run_id)
    except Exception as exc:  # never let a notice stop the scheduler
        log.error("schedule %r: telling that run %s ended failed: %s", name, run_id,
                  scrub(f"{type(exc).__name__}: {exc}"))
        return None


def _notify(ws, schedule: dict, run_id: str) -> threading.Thread | None:
    record = ws.runs.get(run_id)
    if record.status not in ENDED:
        log.warning("schedule %r: run %s is %s, not ended: nothing told", schedule["name"],
                    record.id, record.status)
        return None
    if not ws.schedule_notices.claim(record.id, schedule=schedule["name"],
                                     owner=schedule.get("owner") or ""):
        return None  # another scheduler told it already
    said = outcome(record.status)
    hooks = [h for h in schedule.get("notify") or () if said in h.get("on", DEFAULT_ON)]
    if not hooks:
        return None
    payload = {"schedule": schedule["name"], "run_id": record.id, "status": record.status,
               "nominal": record.tags.get(NOMINAL), "link": run_link(ws, record.id)}
    allow_private = ws.webhooks_allow_private()  # as mlws.toml says now, not at the start
    thread = threading.Thread(target=_deliver, args=(ws, record.id, hooks, payload, allow_private),
                              name=f"mlws-webhooks-{record.id}", daemon=True)
    thread.start()
    return thread


def _deliver(ws, run_id: str, hooks: list[dict], payload: dict, allow_private: bool) -> None:
    """Post ``payload`` to each webhook (the worker thread), then record what happened."""
    deadline = time.monotonic() + DEADLINE_S
    results = []
    for hook in hooks:
        url, shown = hook.get("url"), redact_url(hook.get("url"))
        if isinstance(url, str) and url.endswith("…"):  # a listing's URL, not the stored one
            error = "the schedule given has redacted webhook URLs: give the stored schedule"
        else:
            error = post_with_retries(url, payload, allow_private=allow_private,
                                      deadline=deadline)
        if error is None:
            log.info("schedule %r: run %s (%s) posted to %s", payload["schedule"], run_id,
                     payload["status"], shown)
            results.append(f"{shown} delivered")
        else:
            log.warning("schedule %r: run %s (%s) not posted to %s: %s", payload["schedule"],
                        run_id, payload["status"], shown, error)
            results.append(f"{shown} failed: {error}")
    try:
        ws.runs.set_tags(run_id, {WEBHOOKS: "; ".join(results)[:4000]})
    except Exception as exc:  # the workspace closed meanwhile: the log has it
        log.warning("schedule %r: run %s: the webhooks' outcome was not recorded: %s",
                    payload["schedule"], run_id, scrub(str(exc)))


def post_with_retries(url: str, payload: dict, *, allow_private: bool,
                      deadline: float) -> str | None:
    """Post ``payload`` to ``url`` (:func:`post_webhook`), trying again after an error that
    may pass (Unavailable) up to :data:`TRIES` times, before ``deadline`` (``time.monotonic``).
    Returns None once posted, else the last error's message (URLs redacted)."""
    error, tries = "no time was left to post", 0
    while tries < TRIES:
        left = deadline - time.monotonic()
        if left <= 0.5:
            break
        tries += 1
        try:
            post_webhook(url, payload, allow_private=allow_private, timeout=min(TIMEOUT_S, left))
            return None
        except Unavailable as exc:
            error = scrub(str(exc))
        except MlwsError as exc:  # refused, or the receiver says the request is wrong
            return scrub(str(exc))
        if tries < TRIES:
            pause = BACKOFF_S[min(tries - 1, len(BACKOFF_S) - 1)]
            if time.monotonic() + pause >= deadline:
                break
            time.sleep(pause)
    return f"{error} (after {tries} {'try' if tries == 1 else 'tries'})" if tries else error


# -- the notices, in the store ------------------------------------------------------------------


def _stamp(instant: datetime) -> str:
    """An instant as notices record it: ISO-8601 UTC with milliseconds (fixed width, so that
    text order is time order)."""
    instant = instant.astimezone(timezone.utc)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


def _earlier(stamp: str, seconds: float) -> str:
    """``stamp`` minus ``seconds``, as a stamp."""
    instant = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return _stamp(instant - timedelta(seconds=seconds))


class ScheduleNotices:
    """The notices of ended schedule runs, kept as tags of the runs (see the module's text).

    Parameters
    ----------
    db : Database
        The metadata store.
    runs : RunService
        Finds a run by id.
    """

    def __init__(self, db: "Database", runs: "RunService"):
        self.db = db
        self.runs = runs

    def claim(self, run_id: str, *, schedule: str, owner: str) -> bool:
        """Record that run ``run_id`` of ``schedule`` ended and is told to ``owner`` (a workspace
        user), unless it was already: True for the one call that recorded it, False for every
        later one (whichever process makes it).  Raises NotFound for an unknown run."""
        run_pk = self.runs.pk_of(run_id)
        rows = tag_rows({OWNER: owner, SCHEDULE: schedule})
        insert = self.db.insert(S.tags).on_conflict_do_nothing(index_elements=["run_pk", "key"])

        def write(conn) -> bool:
            first = conn.execute(insert.values(run_pk=run_pk, key=NOTIFIED, value=self._now())
                                 .returning(S.tags.c.key)).first()
            if first is None:  # noticed already: nothing written
                return False
            for key in (OWNER, SCHEDULE):  # a value the run already has is kept
                conn.execute(insert.values(run_pk=run_pk, key=key, value=rows[key]))
            return True

        return self.db.transact(write)

    def _now(self):
        """The database's clock as a stamp (SQL): one clock for every process that records
        notices, so that their order is the order they were recorded in."""
        if self.db.is_sqlite:
            return func.strftime("%Y-%m-%dT%H:%M:%fZ", "now")
        return func.to_char(func.timezone("UTC", func.clock_timestamp()),
                            'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')

    def newest(self) -> str | None:
        """When the newest notice was recorded (a stamp), None when there is none."""
        with self.db.read() as conn:
            return conn.execute(select(func.max(S.tags.c.value))
                                .where(S.tags.c.key == NOTIFIED)).scalar()

    def since(self, stamp: str) -> list[dict]:
        """The notices recorded at or after ``stamp``, oldest first: ``[{"run_id", "status",
        "schedule", "nominal", "trigger", "owner", "at"}]`` (``trigger``: ``tick``, or
        ``manual`` for a run started with ``trigger``)."""
        t, r = S.tags, S.runs
        notice = t.alias("notice")
        others = {key: t.alias(f"t{i}") for i, key in enumerate((OWNER, SCHEDULE, NOMINAL,
                                                                  TRIGGER))}
        joined = notice.join(r, r.c.pk == notice.c.run_pk)
        for key, alias in others.items():
            joined = joined.outerjoin(alias, and_(alias.c.run_pk == notice.c.run_pk,
                                                  alias.c.key == key))
        query = (select(r.c.id, r.c.status, notice.c.value, *(a.c.value for a in others.values()))
                 .select_from(joined)
                 .where(notice.c.key == NOTIFIED, notice.c.value >= stamp)
                 .order_by(notice.c.value, r.c.pk))
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [{"run_id": run_id, "status": status, "at": at, "owner": owner or "",
                 "schedule": schedule or "", "nominal": nominal, "trigger": trigger or "tick"}
                for run_id, status, at, owner, schedule, nominal, trigger in rows]

    def watch(self) -> "NoticeWatch":
        """A new watcher of the notices recorded between two polls (the live events')."""
        return NoticeWatch(self)


class NoticeWatch:
    """The notices recorded between two polls; the first poll only takes a baseline.

    Each poll looks :data:`SLACK_S` seconds behind the newest notice it saw, so a notice whose
    transaction committed after a later one was seen is not missed; one seen is never given
    twice.
    """

    def __init__(self, notices: ScheduleNotices):
        self.notices = notices
        self.cursor: str | None = None
        self.seen: dict[str, str] = {}  # run id -> its notice's stamp, within the slack

    def poll(self) -> list[dict]:
        """The notices new since the previous poll (:meth:`ScheduleNotices.since`'s dicts)."""
        baseline = self.cursor is None
        if baseline:
            self.cursor = self.notices.newest() or ""
        found = self.notices.since(_earlier(self.cursor, SLACK_S) if self.cursor else "")
        new = [n for n in found if n["run_id"] not in self.seen]
        for notice in found:
            self.seen[notice["run_id"]] = notice["at"]
            self.cursor = max(self.cursor, notice["at"])
        if self.cursor:
            oldest = _earlier(self.cursor, SLACK_S)
            self.seen = {run_id: at for run_id, at in self.seen.items() if at >= oldest}
        return [] if baseline else new
