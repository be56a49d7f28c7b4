"""Runs executed elsewhere: what the workspace server does for an executor on another machine.

A notebook run handed to a remote compute target (an SSH host, a Dask worker) is executed by
:mod:`jupyter_mlws.remote.executor` there, which reports through the workspace server's REST API
with the run's token (:class:`~jupyter_mlws.remote.reporter.HttpReporter`).  This module is what
those routes call:

- **the job**: :meth:`Executions.job` (the run's spec, without the server's paths or secret
  values) and :meth:`Executions.write_bundle` (its snapshot, with the notebook, as a tar);
- **attempts**: :meth:`Executions.start` records the attempt executing the run.  A target that
  executes a run again (a Dask task retried after its worker died) starts a new attempt: what the
  older one recorded is cleared and its later writes are refused (:meth:`check_attempt`, a
  Conflict), so the run's results are recorded once;
- **state**: cells done, retries, the environment, cell records, the output copy
  (:class:`~jupyter_mlws.notebooks.service.NotebookService` records them, as for a local run),
  live logs appended by offset (idempotent: a resent piece is not written twice) and the live
  executed notebook;
- **cancel**: :meth:`request_cancel`; the executor hears it on its heartbeat's reply
  (:meth:`heartbeat`), stops its kernel and ends the run itself, keeping what it produced.
"""

from __future__ import annotations

import json
import os
import re
import tarfile
import time
import uuid
from pathlib import Path
from typing import IO, Any, Callable

from sqlalchemy import insert, select, update

from . import run_records as R
from .artifacts import LIVE_NOTEBOOK  # the executed notebook among a run's live files
from .errors import Conflict, InvalidInput, NotFound
from .fsutil import atomic_write, validate_name
from .limits import DESCRIPTION_MAX, check_text
from .store import schema as S

#: the longest attempt id a target may choose, and its characters (a header's)
ATTEMPT_MAX = 200
_ATTEMPT = re.compile(r"[!-~](?:[ -~]{0,%d}[!-~])?" % (ATTEMPT_MAX - 2))
#: the most bytes one live-log append carries, and the most a live log grows to (a run's
#: captured output stops at 10 MB, see notebooks.engine.LOG_CAP_BYTES; a marker follows it)
LOG_APPEND_MAX = 1 << 20
LIVE_LOG_MAX = (10 << 20) + 4096
#: the largest live copy of the executed notebook kept while a run executes
LIVE_NOTEBOOK_MAX = 64 << 20
#: the most cell records of one executed notebook
CELL_RECORDS_MAX = 20_000
E = S.run_executions


def _attempt_id(attempt: object) -> str:
    """A target's attempt id, checked (None: a new one)."""
    if attempt is None:
        return uuid.uuid4().hex[:16]
    if not isinstance(attempt, str) or not _ATTEMPT.fullmatch(attempt):
        raise InvalidInput(f"an attempt is 1 to {ATTEMPT_MAX} printable ASCII characters (it "
                           "travels in a header), e.g. a task key and its retry number")
    return attempt


def _count(value: object, what: str, high: int) -> int:
    if type(value) is not int or not 0 <= value <= high:
        raise InvalidInput(f"{what} must be an integer from 0 to {high}, got {str(value)[:40]!r}")
    return value


class Executions:
    """The runs a process elsewhere executes through the REST API.

    Parameters
    ----------
    db : Database
        The metadata store (``run_executions``; runs, metrics, values and files are cleared
        through it when an attempt takes over from another).
    runs : RunService
        Reads and ends runs.
    artifacts : ArtifactService
        The runs' files and live files.
    notebooks : callable
        ``notebooks() -> NotebookService`` (built on first use): the job and what a notebook
        run records as it executes.
    secrets : SecretService
        Which secrets a run is given (names only: values never leave through here).
    """

    def __init__(self, db, *, runs, artifacts, notebooks: Callable[[], Any], secrets):
        self.db, self.runs, self.artifacts, self.secrets = db, runs, artifacts, secrets
        self._notebooks = notebooks

    @property
    def notebooks(self):
        return self._notebooks()

    # -- the job ---------------------------------------------------------------------------

    def job(self, run_id: str) -> dict:
        """What an executor elsewhere needs to execute run ``run_id``: ``kind``, ``run_id`` and
        ``secret_env`` (the names of the environment variables the run's secrets are given as;
        their values reach the executor from its target, never through the server), and

        - for a notebook run (``kind`` notebook): ``notebook`` (its path inside the bundle),
          ``kernel``, ``parameters``, ``timeout`` (seconds or None), ``retries``;
        - for a command run (``kind`` command, ``mlws run start --compute``): ``argv``.

        NotFound for a run that was made neither from a notebook nor a command."""
        job = self._job(run_id)
        out = {**job.to_dict(), "secret_env": sorted(self.secrets.bindings(job.run_id))}
        if job.kind == "notebook":  # not the server's paths
            out = {k: v for k, v in out.items() if k not in ("workdir", "output", "scratch")}
        return out

    def _job(self, run_id: str):
        """The job of run ``run_id``: a :class:`~jupyter_mlws.command.CommandJob` for a command
        run, else its :class:`~jupyter_mlws.notebooks.job.NotebookJob` (NotFound for others)."""
        from .command import CommandJob

        record = self.runs.get(run_id)
        if record.source_type == "command":
            return CommandJob.of_record(record)
        return self.notebooks.job(record.id)

    def write_bundle(self, run_id: str, out: IO[bytes]) -> int:
        """Write run ``run_id``'s bundle to ``out``: a tar of its snapshot and, for a notebook run,
        its notebook (from the snapshot, else from the folder it was submitted from), what a local
        executor would run in.  Returns the number of files (a command run taken without a
        snapshot has none)."""
        job = self._job(run_id)
        files = self.runs.files(job.run_id, "snapshot")
        names = {f["path"] for f in files}
        count = 0
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for f in files:
                with self.artifacts.blobs.open(f["sha256"]) as src:
                    tar.addfile(_member(f["path"], f["size"]), src)
                count += 1
            if job.kind == "notebook" and job.notebook not in names and job.path.is_file():
                with open(job.path, "rb") as src:
                    tar.addfile(_member(job.notebook, os.fstat(src.fileno()).st_size), src)
                count += 1
        if not count and job.kind == "notebook":
            raise NotFound(f"run {job.run_id} has no snapshot and its notebook is gone: nothing "
                           "to execute; re-submit the notebook")
        return count

    # -- attempts ----------------------------------------------------------------------------

    def start(self, run_id: str, attempt: str | None = None, host: str = "") -> dict:
        """Attempt ``attempt`` (None: a new id) starts executing run ``run_id`` on ``host``.

        The run becomes running.  When another attempt started before (a retried execution),
        what that one recorded is cleared (metrics, logged values, files other than the
        snapshot, live files, cells done) and its writes are refused from now on: the results
        come from one attempt.  Returns ``{"attempt", "attempts", "run"}`` (the run's record).

        Raises Conflict when the run has ended (a retry of a run canceled or ended meanwhile),
        NotFound, InvalidInput (a bad attempt or host).
        """
        attempt = _attempt_id(attempt)
        host = check_text(str(host or ""), "the host name")[:255]
        run_id = self.runs.id_of(run_id)
        pk = self.runs.pk_of(run_id)
        now = R.now_ms()

        def write(conn) -> tuple[bool, int]:
            status = conn.execute(select(S.runs.c.status).where(S.runs.c.pk == pk)).scalar()
            if status not in R.LIVE:
                raise Conflict(f"run {run_id} has ended ({status}): it is not executed again")
            row = conn.execute(select(E).where(E.c.run_id == run_id)).mappings().first()
            if row is not None and row["attempt"] == attempt:
                return False, row["attempts"]  # the same attempt, asking again: nothing changes
            if row is not None and row["cancel_requested_at"] is not None:
                raise Conflict(f"run {run_id} is being canceled: it is not executed again")
            if row is None:
                conn.execute(insert(E).values(run_id=run_id, attempt=attempt, host=host,
                                              started_at=now, attempts=1))
                return False, 1
            conn.execute(update(E).where(E.c.run_id == run_id).values(
                attempt=attempt, host=host, started_at=now, attempts=row["attempts"] + 1))
            return True, row["attempts"] + 1

        took_over, number = self.db.transact(write)
        if took_over:  # the older attempt's writes are refused from here on: clear what it left
            self.runs.clear_results(run_id)
            self._clear_live(run_id)
            self.notebooks.set_attempt(run_id, 0)
        self.runs.started_elsewhere(run_id, host)
        return {"attempt": attempt, "attempts": number, "run": self.runs.get(run_id)}

    def _clear_live(self, run_id: str) -> None:
        live = self.artifacts.live_root / run_id
        for path in sorted(live.rglob("*"), reverse=True) if live.is_dir() else []:
            try:
                path.unlink() if path.is_file() else path.rmdir()
            except OSError:
                pass

    def current_attempt(self, run_id: str) -> str | None:
        """The attempt executing run ``run_id`` (its whole id), None when none has started."""
        with self.db.read() as conn:
            return conn.execute(select(E.c.attempt).where(E.c.run_id == run_id)).scalar()

    def check_attempt(self, run_id: str, attempt: str | None) -> None:
        """Refuse a request made for run ``run_id`` (a run token's run) by an attempt that is not
        the one executing it: Conflict naming both (a run no attempt has started takes any)."""
        current = self.current_attempt(run_id)
        if current is None or attempt == current:
            return
        if attempt is None:
            raise Conflict(f"run {run_id} is executed by attempt {current!r}: a request that "
                           "names no attempt (X-Mlws-Attempt) is refused")
        raise Conflict(f"attempt {str(attempt)[:ATTEMPT_MAX]!r} of run {run_id} was superseded "
                       f"by attempt {current!r}: its writes are refused (the run's results come "
                       "from one attempt)")

    # -- cancel and heartbeats ---------------------------------------------------------------------

    def request_cancel(self, run_id: str) -> bool:
        """Ask the process executing run ``run_id`` to stop; whether one has started (False:
        none has, and nothing is asked: the caller ends the run itself)."""
        now = R.now_ms()
        return bool(self.db.transact(lambda conn: conn.execute(
            update(E).where(E.c.run_id == run_id, E.c.cancel_requested_at.is_(None))
            .values(cancel_requested_at=now)).rowcount) or self._cancel_asked(run_id))

    def _cancel_asked(self, run_id: str) -> bool:
        with self.db.read() as conn:
            return conn.execute(select(E.c.cancel_requested_at).where(E.c.run_id == run_id)
                                ).scalar() is not None

    def heartbeat(self, run_id: str) -> dict:
        """The process executing run ``run_id`` is alive; returns ``{"status", "cancel",
        "heartbeat_timeout"}``: the run's status, whether it is asked to stop (a cancel asked, or
        the run ended), and the seconds without a heartbeat after which the workspace ends the
        run ``killed`` (an executor that cannot reach the workspace for that long stops)."""
        self.runs.heartbeat(run_id)
        record = self.runs.get(run_id)
        return {"status": record.status,
                "cancel": record.status not in R.LIVE or self._cancel_asked(record.id),
                "heartbeat_timeout": self.runs.heartbeat_timeout}

    def cancel(self, run_id: str, target, handle, grace: float,
               keep: Callable[[str], None] | None = None) -> None:
        """Cancel run ``run_id`` executing on ``target`` (a
        :class:`~jupyter_mlws.compute.base.RemoteTarget`; ``handle`` its job's).

        A run no attempt has started is ended ``canceled`` and its target drops the job.  Else
        its executor is asked to stop (:meth:`request_cancel`) and given ``grace`` seconds to
        end the run itself, keeping what it made; then the target stops what is left, and a
        run still not ended is ended ``canceled`` here, ``keep(run_id)`` storing what its
        executor sent so far (its live logs and notebook).
        """
        if not self.request_cancel(run_id):
            try:
                self.runs.end(run_id, R.CANCELED, "canceled by the user")
            except Conflict:
                pass  # it ended meanwhile
            target.cancel(handle, grace)
            return
        ended = self.wait_ended(run_id, grace)
        target.cancel(handle, 0.0 if ended else min(grace, 5.0))
        if not ended:
            try:
                self.runs.end(run_id, R.CANCELED, f"canceled by the user: its executor on "
                              f"{target.name} did not stop within {grace:g} s and was stopped")
            except Conflict:
                return
            if keep is not None:
                keep(run_id)

    def wait_ended(self, run_id: str, timeout: float, poll: float = 0.1) -> bool:
        """Wait up to ``timeout`` seconds for run ``run_id`` to end; whether it has."""
        deadline = time.monotonic() + timeout
        while self.runs.get(run_id).status in R.LIVE:
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)
        return True

    # -- what the run records as it executes --------------------------------------------------

    def progress(self, run_id: str, attempt: int, done: int, total: int) -> None:
        """Retry ``attempt`` (1 the first) of a running run has run ``done`` of ``total`` cells."""
        _count(attempt, "attempt", 11)
        _count(done, "done", 10**6)
        _count(total, "total", 10**6)
        self._require_running(run_id)
        self.notebooks.set_progress(run_id, done, total, attempt=attempt)

    def attempt_ended(self, run_id: str, attempt: int, status: str, error: str | None) -> None:
        """How retry ``attempt`` of a running run ended (a run status, the reason if not
        completed)."""
        _count(attempt, "attempt", 11)
        if status not in R.ENDED:
            raise InvalidInput(f"unknown status {status!r}: use one of {', '.join(R.ENDED)}")
        _check_error(error)
        self._require_running(run_id)
        self.notebooks.record_attempt(run_id, attempt, status, error)

    def environment(self, run_id: str, kernel: str | None, captured: dict) -> None:
        """The environment the run's kernel executed in (``environment.capture()``'s dict:
        ``python`` and ``packages_hash`` texts, ``packages`` a list of texts, ...); ``kernel``
        None for a command run (the environment of the executor's Python)."""
        if not isinstance(captured, dict) or not isinstance(captured.get("python"), str) \
                or not isinstance(captured.get("packages_hash"), str):
            raise InvalidInput("the environment is an object with 'python' and 'packages_hash' "
                               "texts, as jupyter_mlws.environment.capture() makes it")
        packages = captured.get("packages", [])
        if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
            raise InvalidInput("the environment's 'packages' is a list of 'name==version' texts")
        kernel = "" if kernel is None else check_text(kernel, "the kernel's name")
        self._require_running(run_id)
        self.notebooks.record_environment(run_id, kernel, captured)

    def cells(self, run_id: str, records: list) -> None:
        """The per-cell records of the executed notebook (``document.cell_records``)."""
        if not isinstance(records, list) or len(records) > CELL_RECORDS_MAX \
                or not all(isinstance(r, dict) for r in records):
            raise InvalidInput(f"cells is a list of at most {CELL_RECORDS_MAX} cell records (objects)")
        self._require_running(run_id)
        self.notebooks.record_cells(run_id, records)

    def copy_output(self, run_id: str) -> None:
        """Copy the run's stored executed notebook to its output path, if it asked for one."""
        self._require_running(run_id)
        self.notebooks.copy_output(run_id)

    def append_log(self, run_id: str, name: str, offset: int, data: bytes) -> int:
        """Write ``data`` at byte ``offset`` of the running run's live log ``name`` (``*.log``);
        return the log's size.

        Idempotent: bytes the log already has are not written again (a piece resent after a
        lost answer changes nothing), so a sender appends by the size it last heard of.
        Raises Conflict when ``offset`` is past the log's end (a piece was lost: send from the
        size the message gives), InvalidInput for a bad name or a piece or log too large.
        """
        name = validate_name(name)
        if not name.endswith(".log") or "/" in name:
            raise InvalidInput(f"a live log is named NAME.log, got {name[:80]!r}")
        _count(offset, "offset", LIVE_LOG_MAX)
        if len(data) > LOG_APPEND_MAX:
            raise InvalidInput(f"an append carries at most {LOG_APPEND_MAX} bytes: send it in pieces")
        if offset + len(data) > LIVE_LOG_MAX:
            raise InvalidInput(f"live log {name!r} would pass {LIVE_LOG_MAX} bytes: a run's "
                               "captured output stops at 10 MB")
        record = self._require_running(run_id)
        path = self.artifacts.live_file(record.id, name)
        with open(path, "ab") as f:
            size = f.seek(0, os.SEEK_END)
            if offset > size:
                raise Conflict(f"live log {name!r} has {size} bytes: an append at {offset} would "
                               f"leave a gap; send from byte {size}")
            new = data[size - offset:]
            if new:
                f.write(new)
            return max(size, offset + len(data))

    def put_live_notebook(self, run_id: str, data: bytes) -> None:
        """Keep ``data`` as the running run's executed notebook so far (what a run whose
        executor vanished keeps, as a local one does)."""
        if len(data) > LIVE_NOTEBOOK_MAX:
            raise InvalidInput(f"a live notebook is at most {LIVE_NOTEBOOK_MAX >> 20} MB")
        try:
            json.loads(data)
        except ValueError:
            raise InvalidInput("the live notebook is not JSON (an .ipynb file)") from None
        record = self._require_running(run_id)
        atomic_write(self.artifacts.live_file(record.id, LIVE_NOTEBOOK), [data])

    def ended(self, run_id: str) -> None:
        """A run executed elsewhere has ended: its live logs become stored logs (what a local
        run's handle does as it ends); the live copy of its notebook is dropped (its executor
        stored the executed notebook)."""
        run_id = self.runs.id_of(run_id)
        (self.artifacts.live_root / run_id / LIVE_NOTEBOOK).unlink(missing_ok=True)
        self.artifacts.store_live_logs(run_id)

    def _require_running(self, run_id: str):
        record = self.runs.get(run_id)
        if record.status != R.RUNNING:
            raise Conflict(f"run {record.id} is {record.status}: only a running run records this")
        return record


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0
    return info


def _check_error(error: object) -> None:
    if error is None:
        return
    if not isinstance(error, str) or len(error) > DESCRIPTION_MAX:
        raise InvalidInput(f"the error is a text of at most {DESCRIPTION_MAX} characters")
    check_text(error, "the error")


def extract_bundle(stream, dest: Path, max_bytes: int | None = None) -> list[str]:
    """Unpack a bundle (:meth:`Executions.write_bundle`, read from the binary file ``stream``)
    into the folder ``dest``; return the names.  Only regular files land, inside ``dest``
    (tarfile's ``data`` filter: no links, devices, absolute names or ``..``).  With
    ``max_bytes``, InvalidInput as soon as the files add up to more (what landed stays: the
    caller removes ``dest``)."""
    names = []
    total = 0
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            if not member.isfile():
                continue
            validate_name(member.name)
            total += member.size
            if max_bytes is not None and total > max_bytes:
                raise InvalidInput(f"the files sent add up to more than {max_bytes // (1 << 20)} "
                                   "MB, the workspace's snapshot limit (snapshot_max_mb): leave "
                                   "large data out of the project folder (.gitignore, "
                                   ".mlwsignore) and read it from a dataset")
            tar.extract(member, dest, filter="data")
            names.append(member.name)
    return names
