"""What happens when a schedule fires: its run recorded with the tick's claim, then started; and
what happens when that run ends: a retry, or the end handed to the notifications.

**Recorded with the claim.**  The ticker (:mod:`jupyter_mlws.ticker`) claims each tick once and
calls :meth:`ScheduleRunner.record` inside the claim's write transaction: the run is created
there (queued, tagged ``mlws.schedule``, ``mlws.schedule.nominal``, ``mlws.schedule.ticks``) with
its link to the schedule, so the claim, the run and the link commit together or not at all.
After the commit the claiming process starts it (:meth:`ScheduleRunner.start`, on a small pool
of its own): the schedule's snapshot is written over a copy of its folder as it is now, and
submitted as a normal notebook run (or pipeline run) with the schedule's parameters, compute
target and secrets, as its owner.  A run that cannot start (its notebook deleted, a compute
target gone) ends failed saying why; the schedule and every other one go on.  Should the process
die between the commit and the start, the run stays queued and :meth:`ScheduleRunner.settle`
ends it failed after :data:`ORPHAN_AFTER_S`.

**Settled once.**  :meth:`ScheduleRunner.settle` (the scheduler's periodic check) handles each
ended run once, whichever process sees it first: a failed, killed or timed-out run with retries
left links a retry (the same tick, the next attempt) due after a backoff (60 s, doubling); a
due retry gets its run in the same transaction as its claim on the link.  The runs' final ends
come back for the notifications.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import islice, takewhile
from pathlib import Path
from typing import Any, Callable

from .. import run_records as R
from ..cron import Schedule, zone
from ..errors import Conflict, InvalidInput, MlwsError, NotFound
from ..ticker import Watched
from ..ticks import CatchUp, ClaimedTick, from_ms, to_ms
from . import spec
from .records import ScheduleRecords

log = logging.getLogger(__name__)

#: the tags of a scheduled run
TAG = "mlws.schedule"
TAG_NOMINAL = "mlws.schedule.nominal"
TAG_TICKS = "mlws.schedule.ticks"
TAG_TICK_COUNT = "mlws.schedule.tick_count"
TAG_TRIGGER = "mlws.schedule.trigger"
TAG_ATTEMPT = "mlws.schedule.attempt"
TAG_RETRY_OF = "mlws.schedule.retry_of"
#: the ticks a run lists (the newest), and how far they are counted
TICKS_LISTED = 100
TICKS_COUNTED = 1000
#: seconds after which a run still queued and never started is ended failed
ORPHAN_AFTER_S = 600.0
#: the ends that are retried (a canceled run is not)
RETRIED = (R.FAILED, R.KILLED, R.TIMED_OUT)


def _what(recorded: dict) -> str:
    """A recorded run in the log's words: ``tick 2025-03-04T06:00:00+01:00, standing for 3
    ticks, retry 1``."""
    words = f"{'tick' if recorded.get('origin') == 'tick' else 'manual trigger'} " \
            f"{recorded.get('nominal', '?')}"
    if recorded.get("tick_count", 1) > 1:
        words += f", standing for {recorded['tick_count']} ticks"
    if recorded.get("attempt"):
        words += f", retry {recorded['attempt']}"
    return words


def _line(text: str, limit: int = 300) -> str:
    """An error on one line of the log, cut at ``limit`` characters."""
    one = " ".join(str(text).split())
    return one if len(one) <= limit else one[:limit - 1] + "…"


class ScheduleRunner:
    """Records, starts and settles the runs of one workspace's schedules.

    Parameters
    ----------
    db, records, runs, blobs
        The store, the schedule records, the run service and the blob store (the snapshots).
    notebooks, pipelines, compute : callable
        ``notebooks() -> NotebookService``, ``pipelines() -> PipelineService``,
        ``compute() -> ComputeService`` (built on first use).
    snapshot_max_bytes : int
        The largest folder a run copies.
    retry_backoff_s : float
        Seconds before a first retry (each further one waits twice as long).
    workers : int
        Runs started at once by this process.
    """

    def __init__(self, *, db, records: ScheduleRecords, runs, blobs,
                 notebooks: Callable[[], Any], pipelines: Callable[[], Any],
                 compute: Callable[[], Any], snapshot_max_bytes: int,
                 retry_backoff_s: float = spec.RETRY_BACKOFF_S, workers: int = 4):
        self.db, self.records, self.runs, self.blobs = db, records, runs, blobs
        self._notebooks, self._pipelines, self._compute = notebooks, pipelines, compute
        self.snapshot_max_bytes = snapshot_max_bytes
        self.retry_backoff_s = retry_backoff_s
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._parsed: dict[tuple[str, str], Schedule | None] = {}
        self._futures: list = []

    # -- what the ticker watches ------------------------------------------------------------

    def schedule_of(self, cron: str, tz: str) -> Schedule | None:
        """The parsed cron of a stored schedule, kept (None, logged once, if it no longer
        parses: a zone gone from the zone database)."""
        key = (cron, tz)
        if key not in self._parsed:
            try:
                self._parsed[key] = spec.cron_schedule(cron, tz)
            except InvalidInput as exc:
                log.error("a schedule's cron %r in %s is not acted on: %s", cron, tz, exc)
                self._parsed[key] = None
        return self._parsed[key]

    def watched(self) -> list[Watched]:
        """Every schedule not paused, as the ticker watches it (one query)."""
        out = []
        for row in self.records.active():
            schedule = self.schedule_of(row["cron"], row["tz"])
            if schedule is not None:
                out.append(Watched(row["id"], schedule, since=from_ms(row["since_at"]),
                                   catch_up=CatchUp.parse(row["catch_up"])))
        return out

    # -- recording a run ----------------------------------------------------------------------

    def record(self, conn, tick: ClaimedTick) -> dict | None:
        """The run of a claimed tick, recorded in the claim's transaction ``conn``; None when
        the schedule was deleted or paused meanwhile (the tick is consumed)."""
        row = self.records.by_id_in(conn, tick.owner_id)
        if row is None or row["paused"]:
            return None
        missed = tick.missed_after if row["catch_up"] != "skip" else None
        ticks = self._ticks(row, missed, tick.nominal)
        return self._record(conn, row, origin="tick", nominal=to_ms(tick.nominal),
                            missed_from=None if missed is None else to_ms(missed), ticks=ticks)

    def _ticks(self, row: dict, missed, nominal) -> tuple[list[int], int]:
        """The ticks a run stands for: the newest :data:`TICKS_LISTED` (ms), and how many
        (counted up to :data:`TICKS_COUNTED` + 1)."""
        schedule = self.schedule_of(row["cron"], row["tz"])
        if missed is None or schedule is None:
            return [to_ms(nominal)], 1
        fires = takewhile(lambda at: at <= nominal, schedule.entries[0].cron.fires(missed))
        found = [to_ms(at) for at in islice(fires, TICKS_COUNTED + 1)]
        return found[-TICKS_LISTED:] or [to_ms(nominal)], max(1, len(found))

    def _record(self, conn, row: dict, *, origin: str, nominal: int, missed_from: int | None,
                ticks: tuple[list[int], int], attempt: int = 0, retry_of: str | None = None,
                link: int | None = None) -> dict:
        """Create the run (queued, tagged) and its link, in ``conn``'s transaction."""
        listed, count = ticks
        where = zone(row["tz"])
        tags = {TAG: row["name"], TAG_NOMINAL: spec.iso(from_ms(nominal), where),
                TAG_TICKS: json.dumps([spec.iso(from_ms(t), where) for t in listed]),
                TAG_TICK_COUNT: count, TAG_TRIGGER: origin, TAG_ATTEMPT: attempt}
        if retry_of:
            tags[TAG_RETRY_OF] = retry_of
        if row["kind"] == "notebook":  # where it lives, as a notebook run records it
            tags["notebook"] = row["source_path"]
        run_id = R.new_run_id()
        if link is None:
            link = self.records.link_in(conn, {
                "schedule_id": row["id"], "run_id": run_id, "origin": origin,
                "nominal_at": nominal, "missed_from": missed_from, "ticks": listed,
                "tick_count": count, "attempt": attempt, "retry_of": retry_of,
                "due_at": R.now_ms(), "created_at": R.now_ms()})
            if link is None:  # its claim makes this impossible: never record it twice
                raise Conflict(f"schedule {row['name']!r}: the run of {origin} "
                               f"{spec.iso(from_ms(nominal))} (attempt {attempt}) exists")
        elif not self.records.claim_retry_in(conn, link, run_id):
            return {}
        self.runs.create_in(conn, row["experiment"], tags=tags, source_type=row["kind"],
                            source_name=row["entry"], run_id=run_id, user=row["owner"])
        return {"link": link, "run_id": run_id, "schedule": row, "origin": origin,
                "nominal": tags[TAG_NOMINAL], "tick_count": count, "attempt": attempt}

    def record_manual(self, schedule_id: str) -> dict:
        """Record a run of the schedule now (``mlws schedule trigger``), outside its cron."""
        def step(conn) -> dict:
            row = self.records.by_id_in(conn, schedule_id)
            if row is None:
                raise NotFound("the schedule was deleted meanwhile")
            now = R.now_ms()
            for offset in range(1000):  # two triggers in one millisecond: the next one
                try:
                    return self._record(conn, row, origin="manual", nominal=now + offset,
                                        missed_from=None, ticks=([now + offset], 1))
                except Conflict:
                    continue
            raise Conflict(f"schedule {row['name']!r} is being triggered too often: try again")

        return self.db.transact(step)

    # -- starting it --------------------------------------------------------------------------

    def act(self, tick: ClaimedTick, recorded: dict | None) -> None:
        """After the claim's commit: start the recorded run on this process's pool."""
        if recorded:
            self.submit(recorded)

    def submit(self, recorded: dict) -> None:
        """Start a recorded run on the pool (:meth:`join` waits for it)."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="mlws-schedule")
            self._futures = [f for f in self._futures if not f.done()]
            self._futures.append(self._pool.submit(self.start, recorded))

    def join(self, timeout: float | None = None) -> None:
        """Wait until the runs this process is starting have started."""
        from concurrent.futures import wait

        with self._pool_lock:
            futures = list(self._futures)
        wait(futures, timeout=timeout)

    def start(self, recorded: dict) -> None:
        """Start a recorded run here; a run that cannot start ends failed saying why."""
        row, run_id = recorded["schedule"], recorded["run_id"]
        what = _what(recorded)
        try:
            self._start(row, run_id)
            self.records.mark_started(recorded["link"], R.now_ms())
            log.info("schedule %r: started run %s (%s %s)", row["name"], run_id, row["kind"], what)
        except MlwsError as exc:
            log.warning("schedule %r: run %s (%s) could not start: %s", row["name"], run_id,
                        what, exc)
            self._fail(run_id, str(exc))
        except Exception as exc:  # a bug of ours: logged, and the run says it did not start
            log.exception("schedule %r: run %s (%s) could not start", row["name"], run_id, what)
            self._fail(run_id, f"the scheduler could not start it ({type(exc).__name__}): its "
                               "log has the details")

    def _fail(self, run_id: str, message: str) -> None:
        try:
            self.runs.end(run_id, R.FAILED, message)
        except Conflict:
            pass  # it ended meanwhile (the submission ended it failed, or it was canceled)

    def _start(self, row: dict, run_id: str) -> None:
        source = Path(row["source_path"])
        if not source.is_file():
            raise NotFound(
                f"{row['kind']} not found: {row['source']!r} was deleted or moved since "
                f"schedule {row['name']!r} was made or updated; restore it, point the schedule "
                f"at another file ('mlws schedule update {row['name']} --{row['kind']} FILE'), "
                "or delete the schedule")
        notebooks = self._notebooks()
        work = notebooks.work_dir(f"schedule-{run_id}")
        kept = False
        try:
            self._materialize(row, source.parent, work, work.parent)
            entry = work / row["entry"]
            if row["kind"] == "notebook":
                notebooks.submit(entry, row["params"], experiment=row["experiment"],
                                 project_dir=work, compute=row["compute"],
                                 secrets=row["secrets"] or None, actor=row["owner"],
                                 check_actor=False, _run_id=run_id, _recorded=True)
                # its executor here removes its folder when it ends; elsewhere, its snapshot
                kept = self._compute().is_local(row["compute"] or "local")
            else:
                options = row.get("run_options") or {}
                self._pipelines().run(entry, project_dir=work, parameters=row["params"],
                                      compute=row["compute"], _run_id=run_id,
                                      no_reuse=bool(options.get("no_reuse")),
                                      force=options.get("force") or ())
        finally:
            if not kept:
                shutil.rmtree(work, ignore_errors=True)

    def _materialize(self, row: dict, project: Path, work: Path, scratch: Path) -> None:
        """The schedule's folder as it is now (its data), its snapshot written over it (its
        code as it was when the schedule was made or updated)."""
        from ..artifacts import copy_blob
        from ..fsutil import safe_join
        from ..snapshot import collect

        scratch = scratch.resolve()
        for f in collect(project, max_bytes=self.snapshot_max_bytes):
            if Path(f.abspath).resolve().is_relative_to(scratch):
                continue  # other runs' working folders, when the folder is the workspace's
            target = safe_join(work, f.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f.abspath, target)
        for path, sha256 in row["snapshot"].items():
            copy_blob(self.blobs, sha256, safe_join(work, path))

    # -- settling ends ---------------------------------------------------------------------------

    def settle(self, now: int | None = None) -> list[tuple[dict, dict]]:
        """Handle every ended run once: link a retry when one is due, end runs whose start was
        lost, start the retries that are due.  Returns ``(schedule, link)`` of each run that
        ended for good (for the notifications)."""
        now = R.now_ms() if now is None else now
        self.runs.reap_stale()  # a run whose executor died ends killed
        finals = []
        schedules: dict[str, dict | None] = {}
        for link in self.records.open_links():
            if link["status"] in R.LIVE:
                self._orphan(link, now)
                continue
            sid = link["schedule_id"]
            if sid not in schedules:
                schedules[sid] = self.records.by_id(sid)
            row = schedules[sid]
            retry = self._retry_of(row, link, now)
            if not self.records.settle(link["pk"], now, retry) or row is None:
                continue  # another scheduler settled it, or its schedule was deleted
            if retry is None:
                finals.append((row, link))
                log.info("schedule %r: run %s ended %s%s", row["name"], link["run_id"],
                         link["status"], f": {_line(link['error'])}" if link["error"] else "")
            else:
                log.warning("schedule %r: run %s ended %s%s; retry %d of %d at %s",
                            row["name"], link["run_id"], link["status"],
                            f" ({_line(link['error'])})" if link["error"] else "",
                            retry["attempt"], row["retries"],
                            spec.iso(from_ms(retry["due_at"]), zone(row["tz"])))
        for pending in self.records.due_retries(now):
            self._start_retry(pending)
        return finals

    def _orphan(self, link: dict, now: int) -> None:
        if link["status"] == R.QUEUED and link["started_at"] is None \
                and now - link["created_at"] > ORPHAN_AFTER_S * 1000:
            log.warning("schedule run %s was recorded but never started (the scheduler that "
                        "recorded it stopped): ended failed", link["run_id"])
            self._fail(link["run_id"], "not started: the scheduler process that recorded it "
                                       "stopped before starting it")

    def _retry_of(self, row: dict | None, link: dict, now: int) -> dict | None:
        """The retry to link for an ended run, None when it is not retried."""
        if row is None or link["status"] not in RETRIED or link["attempt"] >= row["retries"]:
            return None
        attempt = link["attempt"] + 1
        return {"schedule_id": link["schedule_id"], "run_id": None, "origin": link["origin"],
                "nominal_at": link["nominal_at"], "missed_from": link["missed_from"],
                "ticks": link["ticks"], "tick_count": link["tick_count"], "attempt": attempt,
                "retry_of": link["run_id"], "created_at": now,
                "due_at": now + int(spec.backoff(attempt, self.retry_backoff_s) * 1000)}

    def _start_retry(self, pending: dict) -> None:
        def step(conn) -> dict | None:
            row = self.records.by_id_in(conn, pending["schedule_id"])
            if row is None:
                return None
            return self._record(conn, row, origin=pending["origin"], nominal=pending["nominal_at"],
                                missed_from=pending["missed_from"],
                                ticks=(pending["ticks"], pending["tick_count"]),
                                attempt=pending["attempt"], retry_of=pending["retry_of"],
                                link=pending["pk"]) or None

        try:
            recorded = self.db.transact(step)
        except MlwsError:
            log.exception("a retry of schedule run %s could not be recorded", pending["retry_of"])
            return
        if recorded:
            self.submit(recorded)
