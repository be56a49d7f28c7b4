"""Runs in the metadata store: create, record, end, read and search.

This is the one place that writes run rows.  The SDK's :class:`~jupyter_mlws.run.Run`
handle, the CLI and the server all come through here.
"""

from __future__ import annotations

import getpass
import json
import math
import time
from itertools import chain, islice, repeat
from operator import itemgetter
from typing import Callable, Iterable, Mapping, Sequence

from sqlalchemy import and_, func, select, text
from sqlalchemy.engine import Connection

from .errors import Conflict, InvalidInput, NotFound
from .limits import (
    PARAMS_MAX, TAGS_MAX, check_count, check_description, check_key, check_text, param_text, tag_text,
)
from .compute import local
from .store import schema as S
from .store.db import Database
# what a run is, as plain values (re-exported: callers use runs.RunRecord, runs.QUEUED, ...)
from .run_records import (  # noqa: F401
    CANCELED, COMPLETED, ENDED, FAILED, KILLED, LIVE, QUEUED, RUNNING, STATUSES, TIMED_OUT, RunPage,
    RunRecord, Series, hash_text, json_number, jsonable, make_token, new_run_id, now_ms, read_token,
    record_of, step_of,
)

#: rows per transaction when a large batch is written
BATCH_ROWS = 50_000
#: the fewest characters of a run id that name a run by prefix
MIN_PREFIX = 4
#: run ids whose key a RunService remembers (it forgets them all when this many are held)
KEYS_KEPT = 4096


def _value_out(value) -> float:
    return math.nan if value is None else float(value)


class RunService:
    """Create, change and read runs.

    Parameters
    ----------
    db : Database
        The metadata store.
    heartbeat_timeout : float
        Seconds without a heartbeat after which a running run is marked killed.
    """

    #: the most buffered points one write takes in one transaction (a metric buffer's batch)
    batch_points = BATCH_ROWS

    def __init__(self, db: Database, heartbeat_timeout: float = 60.0):
        self.db = db
        self.heartbeat_timeout = heartbeat_timeout
        self._last_reap = 0.0
        #: called as ``keep(run id)`` for each run this process marks killed: what keeps
        #: the files the run's dead process left (the workspace stores them on the run)
        self.on_killed: list[Callable[[str], None]] = []
        self._pks: dict[str, int] = {}  # run id -> primary key (see pk_of)
        ph = db.placeholder
        self._insert_points = (
            "INSERT INTO metrics (id, run_pk, key, step, ts, value) "
            f"VALUES ({ph}, {ph}, {ph}, {ph}, {ph}, {ph})"
        )
        # the same row in the order of a buffered point: id, run, then (key, value, step, ts)
        self._insert_buffered = (
            "INSERT INTO metrics (id, run_pk, key, value, step, ts) "
            f"VALUES ({ph}, {ph}, {ph}, {ph}, {ph}, {ph})"
        )

    # -- experiments -------------------------------------------------------

    def experiment_pk(self, name: str, create: bool = True) -> int:
        """The pk of the experiment ``name``, created on first use when ``create``."""
        check_key(name, "experiment")
        with self.db.read() as conn:
            pk = conn.execute(
                select(S.experiments.c.pk).where(S.experiments.c.name == name)
            ).scalar()
        if pk is not None:
            return pk
        if not create:
            raise NotFound(f"no experiment named {name!r}: 'mlws experiment list' shows them")

        def insert(conn: Connection) -> int:
            # ON CONFLICT: two processes may create the same experiment at once
            conn.execute(self.db.insert(S.experiments)
                         .values(name=name, description="", created_at=now_ms(), run_counter=0)
                         .on_conflict_do_nothing(index_elements=["name"]))
            return conn.execute(
                select(S.experiments.c.pk).where(S.experiments.c.name == name)).scalar_one()

        return self.db.transact(insert)

    def list_experiments(self) -> list[dict]:
        """Every experiment with its number of runs and last activity."""
        e, r = S.experiments, S.runs
        query = (
            select(e.c.name, e.c.description, e.c.created_at,
                   func.count(r.c.pk), func.max(r.c.start_time))
            .select_from(e.outerjoin(r, r.c.experiment_pk == e.c.pk))
            .group_by(e.c.pk).order_by(e.c.name)
        )
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [dict(name=n, description=d, created_at=c, runs=k, last_run=m)
                for n, d, c, k, m in rows]

    # -- creating and ending -------------------------------------------------

    def create(
        self,
        experiment: str,
        *,
        name: str | None = None,
        description: str = "",
        parent_id: str | None = None,
        tags: dict | None = None,
        source_type: str = "script",
        source_name: str = "",
        git: object | None = None,
        status: str = RUNNING,
        run_id: str | None = None,
        host: str | None = None,
        started_ms: int | None = None,
        user: str | None = None,
    ) -> RunRecord:
        """Record a new run (running, or queued for an executor) and return it.

        ``host``: the run is a process's on that machine, which logs to it over HTTP; no process
        is recorded (there is none here to signal).  Without it, a running run is this
        process's (what cancel checks).  ``started_ms``: when the run's work started (ms since
        the epoch), if not now (a trial that ran elsewhere, recorded once it ended).  ``user``:
        who made it, e.g. the signed-in user of a workspace server's request (default: a child
        run's parent's user, so that a pipeline's steps and a search's trials record who started
        it; else this OS user).
        """
        insert = self._inserter(experiment, name=name, description=description,
                                parent_id=parent_id, tags=tags, source_type=source_type,
                                source_name=source_name, git=git, status=status, run_id=run_id,
                                host=host, started_ms=started_ms, user=user)
        exp_pk = self.experiment_pk(experiment)  # once the run is checked: a bad one makes none
        return self.get(self.db.transact(lambda conn: insert(conn, exp_pk)))

    def record_ended(self, experiment: str, *, parent_id: str, name: str, tags: Mapping,
                     source_type: str, source_name: str, params: Mapping,
                     points: Sequence[tuple], started_ms: int | None = None,
                     ended_ms: int | None = None) -> str:
        """Record a run whose work already ended elsewhere (a search's trial, ended in FLAML's
        process or on a Dask worker), completed, in one transaction: the run below
        ``parent_id``, its ``params``, its metric ``points`` ``(key, value, step, ts)``, its
        start and end (ms since the epoch; now when None).  Return its id.  All of it is
        recorded, or nothing.  InvalidInput for a bad name, tag, param or point; NotFound for
        no parent ``parent_id``."""
        insert = self._inserter(experiment, name=name, description="", parent_id=parent_id,
                                tags=dict(tags), source_type=source_type, source_name=source_name,
                                git=None, status=COMPLETED, run_id=None, host=None,
                                started_ms=started_ms, user=None)
        prows = param_rows(params)
        ended = now_ms() if ended_ms is None else int(ended_ms)
        exp_pk = self.experiment_pk(experiment)

        def write(conn: Connection) -> str:
            run_id = insert(conn, exp_pk)
            pk = self._pk(conn, run_id)
            conn.execute(S.runs.update().where(S.runs.c.pk == pk).values(end_time=ended))
            if prows:
                self._write_params(conn, pk, prows)
            if points:
                self._write_points(conn, pk, points)
            return run_id

        return self.db.transact(write)

    def create_in(self, conn: Connection, experiment: str, *, name: str | None = None,
                  tags: dict | None = None, source_type: str = "script", source_name: str = "",
                  run_id: str | None = None, user: str | None = None) -> str:
        """Record a new queued run inside the caller's write transaction ``conn`` (the
        experiment created there if new); return its id.  What the caller writes in the same
        transaction commits with the run, or neither does (a schedule's tick claim, see
        :mod:`jupyter_mlws.schedules.runner`).  ``user`` as for :meth:`create`.  InvalidInput
        for a bad name, tag, source or user."""
        insert = self._inserter(experiment, name=name, description="", parent_id=None, tags=tags,
                                source_type=source_type, source_name=source_name, git=None,
                                status=QUEUED, run_id=run_id, host=None, started_ms=None,
                                user=user)
        return insert(conn, None)

    def _experiment_in(self, conn: Connection, name: str) -> int:
        """The experiment ``name``'s pk, created in ``conn``'s transaction if new."""
        e = S.experiments
        pk = conn.execute(select(e.c.pk).where(e.c.name == name)).scalar()
        if pk is None:
            conn.execute(self.db.insert(e).values(name=name, description="", created_at=now_ms(),
                                                  run_counter=0)
                         .on_conflict_do_nothing(index_elements=["name"]))
            pk = conn.execute(select(e.c.pk).where(e.c.name == name)).scalar_one()
        return pk

    def _inserter(self, experiment: str, *, name, description, parent_id, tags, source_type,
                  source_name, git, status, run_id, host,
                  started_ms, user) -> Callable[[Connection, int | None], str]:
        """The checked run as ``insert(conn, experiment pk) -> run id`` (the pk None: the
        experiment is looked up, or created, in that transaction)."""
        tags_in = tag_rows(tags or {})
        check_key(experiment, "experiment")
        check_description(description)
        for text, what in ((name or "", "the run name"), (source_name, "the source name"),
                           (host or "", "the host name"), (user or "", "the user name")):
            check_text(text, what)
        run_id = run_id or new_run_id()
        started = now_ms() if started_ms is None else int(started_ms)
        me = local.Process.current() if host is None else None
        here = me is not None and status == RUNNING

        def insert(conn: Connection, exp_pk: int | None) -> str:
            exp = exp_pk if exp_pk is not None else self._experiment_in(conn, experiment)
            parent_pk = self._pk(conn, parent_id) if parent_id else None
            who = user
            if who is None and parent_pk is not None:  # a child: who started its parent
                who = conn.execute(select(S.runs.c.user_name)
                                   .where(S.runs.c.pk == parent_pk)).scalar()
            number = conn.execute(
                S.experiments.update().where(S.experiments.c.pk == exp)
                .values(run_counter=S.experiments.c.run_counter + 1)
                .returning(S.experiments.c.run_counter)
            ).scalar_one()
            pk = conn.execute(S.runs.insert().values(
                id=run_id, experiment_pk=exp, parent_pk=parent_pk, number=number,
                name=name or f"{experiment}-{number}", description=description,
                status=status, start_time=started, heartbeat_at=started,
                source_type=source_type, source_name=source_name,
                git_commit=getattr(git, "commit", None), git_branch=getattr(git, "branch", None),
                git_dirty=getattr(git, "dirty", None),
                user_name=_user() if who is None else who[:255],
                host=me.host if me else host[:255], pid=me.pid if here else None,
                pid_started=me.started if here else None, point_seq=0,
            )).inserted_primary_key[0]
            if tags_in:
                conn.execute(S.tags.insert(), [
                    dict(run_pk=pk, key=k, value=v) for k, v in tags_in.items()])
            return run_id

        return insert

    def end(self, run_id: str, status: str, error: str | None = None, *,
            ended_ms: int | None = None) -> RunRecord:
        """Mark a running run ended with ``status`` (at ``ended_ms``, ms since the epoch, if
        not now); ending an ended run is a Conflict."""
        if status not in ENDED:
            raise InvalidInput(f"unknown end status {status!r}: use one of {', '.join(ENDED)}")

        def update(conn: Connection) -> None:
            pk = self._pk(conn, run_id)
            done = conn.execute(
                S.runs.update().where(and_(S.runs.c.pk == pk, S.runs.c.status.in_([RUNNING, QUEUED])))
                .values(status=status, end_time=now_ms() if ended_ms is None else int(ended_ms),
                        error=error)
            ).rowcount
            if not done:
                current = conn.execute(select(S.runs.c.status).where(S.runs.c.pk == pk)).scalar()
                raise Conflict(f"run {run_id} has already ended ({current})")

        self.db.transact(update)
        return self.get(run_id)

    def reopen(self, run_id: str, ended: Sequence[str]) -> RunRecord:
        """Move an ended run back to queued, to be executed again by a new process (a resumed
        automated-ML search keeps its id and children); Conflict unless its status is one of
        ``ended``.  Its end time and error are cleared; what it recorded stays."""
        def update(conn: Connection) -> None:
            pk = self._pk(conn, run_id)
            done = conn.execute(
                S.runs.update().where(and_(S.runs.c.pk == pk, S.runs.c.status.in_(list(ended))))
                .values(status=QUEUED, end_time=None, error=None, pid=None, pid_started=None,
                        heartbeat_at=now_ms())).rowcount
            if not done:
                current = conn.execute(select(S.runs.c.status).where(S.runs.c.pk == pk)).scalar()
                raise Conflict(f"run {run_id} is {current}: only a run that ended "
                               f"{' or '.join(ended)} can be executed again")

        self.db.transact(update)
        return self.get(run_id)

    def kill(self, run_id: str, reason: str) -> RunRecord:
        """End a live run ``killed`` with ``reason`` (what executed it died without saying so,
        as its target saw) and hand it to the :attr:`on_killed` callbacks, as :meth:`reap_stale`
        does; Conflict when it has ended already."""
        record = self.end(run_id, KILLED, reason)
        for keep in self.on_killed:
            keep(record.id)
        return record

    def set_process(self, run_id: str, process) -> None:
        """Record the process executing a run (a :class:`~.compute.local.Process`: what cancel
        stops, once it has checked the pid is still that process)."""
        run_pk = self.pk_of(run_id)
        self.db.transact(lambda conn: conn.execute(
            S.runs.update().where(S.runs.c.pk == run_pk).values(
                pid=process.pid, host=process.host, pid_started=process.started)))

    def process_of(self, run_id: str):
        """The process recorded as executing a run (a :class:`~.compute.local.Process`: pid, host
        and start time), or None when none is."""
        with self.db.read() as conn:
            row = conn.execute(select_pid(self._pk(conn, run_id))).one()
        return local.Process(row.pid, row.host, row.pid_started) if row.pid else None

    def mark_started(self, run_id: str) -> RunRecord:
        """Move a queued run to running (an executor picked it up)."""
        def update(conn: Connection) -> None:
            pk = self._pk(conn, run_id)
            conn.execute(S.runs.update().where(and_(S.runs.c.pk == pk, S.runs.c.status == QUEUED))
                         .values(status=RUNNING, heartbeat_at=now_ms(), start_time=now_ms()))

        self.db.transact(update)
        return self.get(run_id)

    def started_elsewhere(self, run_id: str, host: str) -> RunRecord:
        """A process on ``host`` now executes the run (over HTTP): a queued run becomes running
        (its start time now), a running one stays; its heartbeat is now, and no process of this
        machine is recorded on it (there is none here to signal)."""
        now = now_ms()

        def update(conn: Connection) -> None:
            pk = self._pk(conn, run_id)
            live = and_(S.runs.c.pk == pk, S.runs.c.status.in_([RUNNING, QUEUED]))
            conn.execute(S.runs.update().where(and_(live, S.runs.c.status == QUEUED))
                         .values(status=RUNNING, start_time=now))
            conn.execute(S.runs.update().where(live).values(
                heartbeat_at=now, host=(host or "unknown")[:255], pid=None, pid_started=None))

        self.db.transact(update)
        return self.get(run_id)

    def clear_results(self, run_id: str) -> None:
        """Forget what a run recorded as it executed (an execution that another one replaced):
        its metrics, logged values and files other than its snapshot.  Its params, tags and
        snapshot, recorded at submission, stay."""
        def clear(conn: Connection) -> None:
            pk = self._pk(conn, run_id)
            for table in (S.metrics, S.latest_metrics, S.run_values):
                conn.execute(table.delete().where(table.c.run_pk == pk))
            conn.execute(S.run_files.delete().where(and_(S.run_files.c.run_pk == pk,
                                                         S.run_files.c.kind != "snapshot")))

        self.db.transact(clear)

    def heartbeat(self, run_id: str) -> bool:
        """Record that the process of a running run is alive; False when the run is not
        running (it was ended elsewhere, e.g. canceled): nothing is written then."""
        run_pk = self.pk_of(run_id)
        return bool(self.db.transact(lambda conn: conn.execute(
            S.runs.update().where(and_(S.runs.c.pk == run_pk, S.runs.c.status == RUNNING))
            .values(heartbeat_at=now_ms())).rowcount))

    def reap_stale(self, force: bool = False) -> int:
        """Mark running runs whose heartbeat is stale as killed; return how many.

        Checked at most once every few seconds per process, and the write
        happens only when a stale run exists.  Each run marked is then handed
        to the :attr:`on_killed` callbacks (in the one process that marked it).
        """
        now = time.monotonic()
        if not force and now - self._last_reap < min(5.0, self.heartbeat_timeout / 2):
            return 0
        self._last_reap = now
        limit = now_ms() - int(self.heartbeat_timeout * 1000)
        stale = and_(S.runs.c.status == RUNNING, S.runs.c.heartbeat_at < limit)
        with self.db.read() as conn:
            if conn.execute(select(S.runs.c.pk).where(stale).limit(1)).first() is None:
                return 0
        message = (f"killed: no heartbeat for {self.heartbeat_timeout:g} s "
                   "(the process that ran it died or was killed)")
        killed = self.db.transact(lambda conn: conn.execute(
            S.runs.update().where(stale)
            .values(status=KILLED, end_time=S.runs.c.heartbeat_at, error=message)
            .returning(S.runs.c.id)).scalars().all())
        for run_id in killed:
            for keep in self.on_killed:
                keep(run_id)
        return len(killed)

    # -- params, tags, metrics, values, files --------------------------------

    def log_params(self, run_id: str, values: dict) -> None:
        """Record params; a param keeps its first value (a different one is a Conflict)."""
        rows = param_rows(values)
        if not rows:
            return
        run_pk = self.pk_of(run_id)
        self.db.transact(lambda conn: self._write_params(conn, run_pk, rows))

    def _write_params(self, conn: Connection, run_pk: int, rows: dict) -> None:
        conn.execute(self.db.insert(S.params).on_conflict_do_nothing(
            index_elements=["run_pk", "key"]),
            [dict(run_pk=run_pk, key=k, value=v, num=n) for k, (v, n) in rows.items()])
        stored = dict(conn.execute(
            select(S.params.c.key, S.params.c.value)
            .where(and_(S.params.c.run_pk == run_pk, S.params.c.key.in_(list(rows))))).all())
        for key, (value, _num) in rows.items():
            if stored[key] != value:  # raising rolls the whole call back
                raise Conflict(
                    f"param {key!r} is already {stored[key]!r} on this run and params do not "
                    "change: start a new run, or record the new value as a tag or metric")

    def write_batch(self, run_id: str, *, params: Mapping | None = None, tags: Mapping | None = None,
                    points: Sequence[tuple] = (), cells: Sequence[tuple] = ()) -> None:
        """Record params, tags, metric points ``(key, value, step, ts)`` (checked as
        :meth:`~jupyter_mlws.run.Run.log` checks them) and executed cells ``(ordinal, ts,
        record)`` of a running run in one transaction: all of it, or nothing.

        Raises InvalidInput for a bad param or tag (or more than :data:`BATCH_ROWS` points), and
        Conflict when the run is not running or a param would change.
        """
        prows, trows = param_rows(params or {}), tag_rows(tags or {})
        if len(points) > BATCH_ROWS:
            raise InvalidInput(f"{len(points)} points in one batch, over the limit of {BATCH_ROWS}: "
                               "send them in several batches")
        run_pk = self.pk_of(run_id)
        upsert = self.db.upsert(S.tags, [dict(run_pk=run_pk, key=k, value=v)
                                         for k, v in trows.items()], ["run_pk", "key"]) if trows else None

        def write(conn: Connection) -> None:
            status = conn.execute(select(S.runs.c.status).where(S.runs.c.pk == run_pk)).scalar()
            if status != RUNNING:
                raise Conflict(f"run {run_id} is {status}: only a running run takes params, "
                               "metrics and cells")
            if prows:
                self._write_params(conn, run_pk, prows)
            if upsert:
                conn.execute(*upsert)
            if points:
                self._write_points(conn, run_pk, points)
            if cells:
                conn.execute(S.run_values.insert(), self._cell_rows(run_pk, cells))

        self.db.transact(write)

    def set_tags(self, run_id: str, values: dict) -> None:
        """Set (or overwrite) tags (values as :func:`~.limits.tag_text` stores them)."""
        self.update_tags(run_id, values)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag; a missing tag is NotFound."""
        self.update_tags(run_id, delete=[key])

    def update_tags(self, run_id: str, to_set: Mapping | None = None,
                    delete: Sequence[str] = ()) -> None:
        """Set some tags and delete others in one transaction: all of it or nothing.

        Raises InvalidInput for a bad key or value, or more than ``TAGS_MAX`` of either,
        and NotFound for a tag to delete that the run does not have (nothing is then set).
        """
        rows = tag_rows(to_set or {})
        check_count(len(delete), TAGS_MAX, "tags to delete")
        doomed = [check_key(k, "tag") for k in delete]
        if not rows and not doomed:
            return
        run_pk = self.pk_of(run_id)
        upsert = self.db.upsert(
            S.tags, [dict(run_pk=run_pk, key=k, value=v) for k, v in rows.items()], ["run_pk", "key"]
        ) if rows else None

        def write(conn: Connection) -> None:
            if upsert:
                conn.execute(*upsert)
            for key in doomed:
                gone = conn.execute(S.tags.delete().where(
                    and_(S.tags.c.run_pk == run_pk, S.tags.c.key == key))).rowcount
                if not gone:  # raising rolls the whole call back
                    raise NotFound(f"the run has no tag {key!r}: nothing was changed")

        self.db.transact(write)

    def set_description(self, run_id: str, description: str) -> None:
        """Replace the run's description (InvalidInput when it is not text or is over
        :data:`~.limits.DESCRIPTION_MAX` characters)."""
        text = check_description(str(description))
        run_pk = self.pk_of(run_id)
        self.db.transact(lambda conn: conn.execute(
            S.runs.update().where(S.runs.c.pk == run_pk).values(description=text)))

    def write_points(self, run_id: str, points: Sequence[tuple]) -> None:
        """Persist buffered metric points ``(key, value, step, ts)`` in logging order,
        all-or-nothing per transaction of at most BATCH_ROWS points.

        The driver binds the buffered tuples as they are (on PostgreSQL behind their id and
        run key): no transposing into columns and back.
        """
        if not points:
            return
        run_pk = self.pk_of(run_id)
        for start in range(0, len(points), BATCH_ROWS):
            part = points[start:start + BATCH_ROWS] if len(points) > BATCH_ROWS else points
            self.db.transact(lambda conn, part=part: self._write_points(conn, run_pk, part))

    def _write_points(self, conn: Connection, run_pk: int, points: Sequence[tuple]) -> None:
        n = len(points)
        seq = self._take_ids(conn, run_pk, n)
        if not self.db.is_sqlite and any(v != v for _k, v, _s, _t in points):
            # NaN is stored as NULL everywhere (SQLite's driver does it when binding)
            points = [(k, None if v != v else v, s, t) for k, v, s, t in points]
        latest = [dict(run_pk=run_pk, key=key, step=step, ts=ts, value=None if value != value
                       else value, count=count)
                  for key, value, step, ts, count in _latest_points(points)]
        cursor = conn.connection.dbapi_connection.cursor()
        if self.db.is_sqlite:
            # the first row names its id; each next one takes the id after the row before
            # (last_insert_rowid() is this connection's, in this transaction): the driver
            # binds the buffered tuples as they are, with no row built per point
            cursor.execute(self._insert_buffered, (seq, run_pk, *points[0]))
            cursor.executemany(_INSERT_NEXT.format(run_pk=int(run_pk)), islice(points, 1, None))
        else:
            cursor.executemany(self._insert_buffered, map(
                tuple.__add__, zip(range(seq, seq + n), repeat(run_pk, n)), points))
        conn.execute(_UPSERT_LATEST, latest)

    def _take_ids(self, conn: Connection, run_pk: int, n: int) -> int:
        """Reserve ``n`` point ids of a run in this transaction; return the first."""
        count = conn.execute(
            S.runs.update().where(S.runs.c.pk == run_pk)
            .values(point_seq=S.runs.c.point_seq + n).returning(S.runs.c.point_seq)
        ).scalar()
        if count >= 1 << S.POINT_BITS:
            raise Conflict(f"the run holds the most metric points a run can ({1 << S.POINT_BITS}): "
                           "log further points to a new run")
        return (run_pk << S.POINT_BITS) + count - n

    def write_series(self, run_id: str, series: Sequence["Series"]) -> None:
        """Persist checked series, all-or-nothing per transaction of at most BATCH_ROWS points.

        A point's id (the run, then its place in the run's logging order) is
        taken from the run row inside the same transaction, so concurrent
        writers of one run never collide.
        """
        run_pk = self.pk_of(run_id)
        chunk: list[Series] = []
        size = 0
        for s in series:
            for start in range(0, len(s.values), BATCH_ROWS):
                part = s.slice(start, start + BATCH_ROWS) if len(s.values) > BATCH_ROWS else s
                if size + len(part.values) > BATCH_ROWS and chunk:
                    self._transact_chunk(run_pk, chunk)
                    chunk, size = [], 0
                chunk.append(part)
                size += len(part.values)
        if chunk:
            self._transact_chunk(run_pk, chunk)

    def _transact_chunk(self, run_pk: int, chunk: list["Series"]) -> None:
        self.db.transact(lambda conn: self._write_chunk(conn, run_pk, chunk))

    def _write_chunk(self, conn: Connection, run_pk: int, chunk: list["Series"]) -> None:
        seq = self._take_ids(conn, run_pk, sum(len(s.values) for s in chunk))
        rows = []
        latest = []
        for s in chunk:
            m = len(s.values)
            values = s.stored_values()
            # row tuples are made lazily, as executemany consumes them: no list of a
            # million tuples, and nothing for the cycle collector to walk
            rows.append(zip(range(seq, seq + m), repeat(run_pk, m), repeat(s.key, m), s.steps,
                            s.stamps, values))
            last = s.last_index()
            latest.append(dict(run_pk=run_pk, key=s.key, step=s.steps[last], ts=s.stamps[last],
                               value=values[last], count=m))
            seq += m
        conn.connection.dbapi_connection.cursor().executemany(self._insert_points, chain(*rows))
        conn.execute(_UPSERT_LATEST, latest)

    def add_value(self, run_id: str, key: str, kind: str, step: int, ts: int,
                  data: str | None = None, blob: str | None = None) -> None:
        """Record a list, table or image value."""
        run_pk = self.pk_of(run_id)
        self.db.transact(lambda conn: conn.execute(S.run_values.insert().values(
            run_pk=run_pk, key=key, kind=kind, step=step, ts=ts, data=data, blob=blob)))

    def add_cells(self, run_id: str, cells: Sequence[tuple[int, int, dict]]) -> None:
        """Record executed cells ``(ordinal, ts, record)`` of a session run."""
        rows = self._cell_rows(self.pk_of(run_id), cells)
        self.db.transact(lambda conn: conn.execute(S.run_values.insert(), rows))

    @staticmethod
    def _cell_rows(run_pk: int, cells: Sequence[tuple[int, int, dict]]) -> list[dict]:
        return [dict(run_pk=run_pk, key="cells", kind="cell", step=n, ts=ts, data=json.dumps(c))
                for n, ts, c in cells]

    def add_files(self, run_id: str, kind: str, files: Iterable[tuple[str, str, int]]) -> None:
        """Record files ``(path, sha256, size)`` of a run; a path logged again is replaced."""
        run_pk = self.pk_of(run_id)
        rows = [dict(run_pk=run_pk, kind=kind, path=p, sha256=h, size=n) for p, h, n in files]
        if not rows:
            return
        stmt, params = self.db.upsert(S.run_files, rows, ["run_pk", "kind", "path"])
        self.db.transact(lambda conn: conn.execute(stmt, params))

    # -- reading ---------------------------------------------------------------

    def pk_of(self, run_id: str) -> int:
        """The primary key of the run with this id (or a unique prefix), for the methods here
        and for a service keeping its own rows keyed by a run.  A whole id resolved once is
        remembered (ids and keys never change, runs are never deleted): the logging path pays
        a dict lookup per batch, not a query."""
        pk = self._pks.get(run_id) if isinstance(run_id, str) else None
        return self._resolve(run_id)[0] if pk is None else pk

    def id_of(self, run_id: str) -> str:
        """The whole id of the run with this id or a unique prefix of it."""
        return run_id if isinstance(run_id, str) and run_id in self._pks else self._resolve(run_id)[1]

    def _resolve(self, run_id: str) -> tuple[int, str]:
        _check_run_id(run_id)
        with self.db.read() as conn:
            pk = self._pk(conn, run_id)
            full = conn.execute(select(S.runs.c.id).where(S.runs.c.pk == pk)).scalar_one()
        return self._remember(pk, full), full

    def _remember(self, pk: int, run_id: str) -> int:
        if len(self._pks) >= KEYS_KEPT:
            self._pks.clear()  # bounded: an id forgotten is looked up again
        self._pks[run_id] = pk
        return pk

    def _pk(self, conn: Connection, run_id: str) -> int:
        pk = conn.execute(select(S.runs.c.pk).where(S.runs.c.id == run_id)).scalar()
        if pk is None:
            if len(run_id) < MIN_PREFIX:
                raise NotFound(f"no run {run_id!r}: a prefix of a run id needs at least {MIN_PREFIX} "
                               "characters ('mlws run list' shows run ids)")
            matches = conn.execute(
                select(S.runs.c.pk).where(S.runs.c.id.like(_escape_like(run_id) + "%", escape="\\"))
                .limit(2)).scalars().all()
            if len(matches) == 1:
                return matches[0]
            hint = "the prefix is ambiguous" if matches else "'mlws run list' shows run ids"
            raise NotFound(f"no run {run_id!r}: {hint}")
        return pk

    def get(self, run_id: str) -> RunRecord:
        """The run with this id (or a unique prefix of at least ``MIN_PREFIX`` characters)."""
        _check_run_id(run_id)
        self.reap_stale()
        with self.db.read() as conn:
            record = self._records(conn, [self._pk(conn, run_id)])[0]
        self._remember(record.pk, record.id)  # a handle's first batch needs no lookup
        return record

    def children(self, run_id: str) -> list[RunRecord]:
        """The child runs of a run, oldest first."""
        run_pk = self.pk_of(run_id)
        with self.db.read() as conn:
            pks = conn.execute(select(S.runs.c.pk).where(S.runs.c.parent_pk == run_pk)
                               .order_by(S.runs.c.pk)).scalars().all()
            return self._records(conn, pks)

    def _records(self, conn: Connection, pks: Sequence[int]) -> list[RunRecord]:
        """Whole records for ``pks``, in that order, in four queries."""
        if not pks:
            return []
        rows = conn.execute(_RECORDS.where(S.runs.c.pk.in_(pks))).mappings().all()
        records = {row["pk"]: record_of(row) for row in rows}
        for table, attr, conv in ((S.params, "params", str), (S.tags, "tags", str)):
            for pk, key, value in conn.execute(
                    select(table.c.run_pk, table.c.key, table.c.value)
                    .where(table.c.run_pk.in_(pks)).order_by(table.c.key)):
                getattr(records[pk], attr)[key] = conv(value)
        latest = S.latest_metrics.c
        for pk, key, value, count in conn.execute(
                select(latest.run_pk, latest.key, latest.value, latest.count)
                .where(latest.run_pk.in_(pks)).order_by(latest.key)):
            records[pk].metrics[key] = _value_out(value)
            records[pk].metric_counts[key] = count
        return [records[pk] for pk in pks]

    def search(
        self,
        filter_string: str | Sequence[str] | None = None,
        *,
        experiments: Sequence[str] | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
        children: bool = False,
        ranges: Sequence[str] = (),
        keys: bool = False,
    ) -> RunPage:
        """Runs matching a filter (or all of several), one page at a time (:mod:`.search`).

        ``children``, ``ranges`` (metric names) and ``keys`` add what a runs table shows
        besides the records (:class:`RunPage`, :mod:`.run_table`).
        """
        from . import run_table
        from .search_sql import compile_search

        if not isinstance(max_results, int) or not 1 <= max_results <= 50_000:
            raise InvalidInput(f"max_results must be an integer from 1 to 50000, got {max_results!r}")
        filters = [filter_string] if filter_string is None or isinstance(filter_string, str) else list(filter_string)
        ranges = run_table.check_ranges(ranges)
        for text in [*(f or "" for f in filters), *(experiments or ()), *(order_by or ()), page_token or ""]:
            check_text(text, "the search")
        self.reap_stale()
        query_key = json.dumps([filters, list(experiments or []), list(order_by or [])])
        offset = read_token(page_token, query_key)
        with self.db.read() as conn:
            exp_pks = None
            if experiments:
                exp_pks = conn.execute(select(S.experiments.c.pk).where(
                    S.experiments.c.name.in_(list(experiments)))).scalars().all()
                if len(exp_pks) < len(set(experiments)):
                    known = set(conn.execute(select(S.experiments.c.name)).scalars())
                    missing = sorted(set(experiments) - known)
                    raise NotFound(f"no experiment named {missing[0]!r}: "
                                   "'mlws experiment list' shows them")
            query = compile_search(filters, list(order_by or []), exp_pks)
            pks = conn.execute(query.limit(max_results + 1).offset(offset)).scalars().all()
            records = self._records(conn, pks[:max_results])
            page = RunPage(records, make_token(offset + max_results, query_key)
                           if len(pks) > max_results else None)
            run_table.add_extras(conn, page, exp_pks, children=children, ranges=ranges, keys=keys)
        return page

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, int, float]]:
        """Every point of one metric as ``(step, ts, value)``, in step then logging order."""
        run_pk = self.pk_of(run_id)
        first = run_pk << S.POINT_BITS
        ph = self.db.placeholder
        with self.db.read() as conn:
            cursor = conn.connection.dbapi_connection.cursor()
            # rows come in id (logging) order, a range scan; a stable sort by step
            # is then nearly free when steps were logged in order
            cursor.execute(f"SELECT step, ts, value FROM metrics WHERE id >= {ph} AND id < {ph} "
                           f"AND key = {ph} ORDER BY id", (first, first + (1 << S.POINT_BITS), key))
            rows = cursor.fetchall()
            if not rows:
                keys = conn.execute(select(S.latest_metrics.c.key).where(
                    S.latest_metrics.c.run_pk == run_pk).order_by(S.latest_metrics.c.key)).scalars().all()
                known = ", ".join(keys[:20]) or "none yet"
                raise NotFound(f"the run has no metric {key!r} (its metrics: {known})")
        rows.sort(key=step_of)
        if any(r[2] is None for r in rows):
            rows = [(s, t, math.nan if v is None else v) for s, t, v in rows]
        return rows

    def values(self, run_id: str, key: str | None = None) -> list[dict]:
        """Lists, tables and images logged to a run."""
        v = S.run_values
        query = select(v.c.key, v.c.kind, v.c.step, v.c.ts, v.c.data, v.c.blob).where(
            v.c.run_pk == self.pk_of(run_id))
        if key is not None:
            query = query.where(v.c.key == key)
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(v.c.key, v.c.step, v.c.pk)).mappings().all()
        return [dict(row) for row in rows]

    def files(self, run_id: str, kind: str | None = None) -> list[dict]:
        """Files of a run (``kind``: artifact, snapshot or log)."""
        f = S.run_files
        query = select(f.c.kind, f.c.path, f.c.sha256, f.c.size).where(
            f.c.run_pk == self.pk_of(run_id))
        if kind:
            query = query.where(f.c.kind == kind)
        with self.db.read() as conn:
            return [dict(r) for r in conn.execute(query.order_by(f.c.kind, f.c.path)).mappings()]

    # -- for the faces ----------------------------------------------------------------

    def metric_points(self, run_id: str, key: str, max_points: int | None = None) -> dict:
        """One metric of a run as columns: every point, or at most ``max_points`` of them with
        the extremes kept (:func:`~jupyter_mlws.downsample.downsample`).

        Returns ``{"key", "total", "downsampled", "steps", "timestamps", "values"}``: ``total``
        counts every point logged, ``downsampled`` says whether some were left out.
        """
        from .downsample import downsample

        if max_points is not None and (isinstance(max_points, bool) or not isinstance(max_points, int)
                                       or max_points < 1):
            raise InvalidInput(f"max_points must be a whole number of at least 1, got {max_points!r}")
        points = self.metric_history(run_id, key)
        shown = downsample(points, max_points) if max_points else points
        return {"key": key, "total": len(points), "downsampled": len(shown) < len(points),
                "steps": [p[0] for p in shown], "timestamps": [p[1] for p in shown],
                "values": [p[2] for p in shown]}


def _select_records():
    r, e = S.runs, S.experiments
    parent = r.alias("parent")
    return (select(r, e.c.name.label("experiment"), parent.c.id.label("parent_id"))
            .select_from(r.join(e, e.c.pk == r.c.experiment_pk)
                         .outerjoin(parent, parent.c.pk == r.c.parent_pk)))


# Whole run rows with their experiment's name and parent's id, built once: an alias made per
# call costs SQLAlchemy more than the query (it makes and registers a proxy of every column)
_RECORDS = _select_records()

# SQLite: a buffered point (key, value, step, ts) of run {run_pk} whose id follows the last
# row this connection inserted
_INSERT_NEXT = ("INSERT INTO metrics (id, run_pk, key, value, step, ts) "
                "VALUES (last_insert_rowid() + 1, {run_pk}, ?, ?, ?, ?)")

# Keeps the point with the highest step (the later one among equal steps) as the latest.
_UPSERT_LATEST = text(
    "INSERT INTO latest_metrics (run_pk, key, step, ts, value, count) "
    "VALUES (:run_pk, :key, :step, :ts, :value, :count) "
    "ON CONFLICT (run_pk, key) DO UPDATE SET "
    "value = CASE WHEN excluded.step >= latest_metrics.step "
    "THEN excluded.value ELSE latest_metrics.value END, "
    "ts = CASE WHEN excluded.step >= latest_metrics.step "
    "THEN excluded.ts ELSE latest_metrics.ts END, "
    "step = CASE WHEN excluded.step >= latest_metrics.step "
    "THEN excluded.step ELSE latest_metrics.step END, "
    "count = latest_metrics.count + excluded.count"
)


def _latest_points(points: Sequence[tuple]) -> list[tuple]:
    """Each key's latest point ``(key, value, step, ts, points of the key)``: the highest step,
    the last logged among equals."""
    last = points[-1]
    if points[0][0] == last[0]:  # likely one key (the common case): passes in C over the points
        steps = list(map(itemgetter(2), points))
        if steps[-1] >= max(steps) and len(set(map(itemgetter(0), points))) == 1:
            return [(*last, len(points))]
    best: dict[str, list] = {}
    for k, v, s, t in points:
        b = best.get(k)
        if b is None:
            best[k] = [k, v, s, t, 1]
        else:
            if s >= b[2]:
                b[1], b[2], b[3] = v, s, t
            b[4] += 1
    return [tuple(b) for b in best.values()]


def select_pid(run_pk: int):
    """The query for the process (pid, host, start time) recorded on a run."""
    return select(S.runs.c.pid, S.runs.c.host, S.runs.c.pid_started).where(S.runs.c.pk == run_pk)


def _check_run_id(run_id) -> None:
    if not isinstance(run_id, str) or not run_id:
        raise InvalidInput(f"a run id must be a non-empty string, got {run_id!r}")
    check_text(run_id, "the run id")


def param_rows(params: Mapping) -> dict[str, tuple[str, float | None]]:
    """Params as stored: checked keys, ``(text, number)`` values, at most ``PARAMS_MAX``."""
    check_count(len(params), PARAMS_MAX, "params")
    return {check_key(k, "param"): param_text(k, v) for k, v in params.items()}


def tag_rows(tags: Mapping) -> dict[str, str]:
    """Tags as stored: checked keys, values as text, at most ``TAGS_MAX`` of them."""
    check_count(len(tags), TAGS_MAX, "tags")
    return {check_key(k, "tag"): tag_text(k, v) for k, v in tags.items()}


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


