"""The reporter of a notebook run executed on another machine: every call over the REST API.

:class:`HttpReporter` implements :class:`~jupyter_mlws.notebooks.reporter.Reporter` for an
executor that reaches the workspace only through a workspace server, with the run's token
(:mod:`jupyter_mlws.executions` is the server's side).  What a local run records, it sends:
the job is read from the server, the attempt is announced (:meth:`HttpReporter.started`), cells
done, live logs (appended by offset, idempotently) and the executed notebook as it changes are
shipped every half second by a background thread, and the environment, cell records, executed
notebook, ``outputs/`` and the end go up as the run ends.  Heartbeats come from here; their
reply says when the run is to stop (``mlws run cancel``), which :meth:`HttpReporter.is_canceled`
then answers.

An executor that cannot reach the workspace for as long as the workspace waits for a heartbeat
before it ends the run ``killed`` (its ``heartbeat_timeout``, told on every heartbeat's reply;
:data:`LOST_AFTER_S` until one came) stops too: its run is killed there, and nothing it does
could be recorded (e.g. the SSH runner that held its tunnel died).  Its kernel is stopped, and
the end it cannot send is not tried.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from .. import run_records as R
from ..errors import Conflict, MlwsError, PermissionDenied, Unavailable
from ..executions import LIVE_NOTEBOOK, LOG_APPEND_MAX
from ..notebooks.job import NotebookJob
from ..notebooks.reporter import Reporter
from ..secrets.masking import mask_file
from .client import Client
from .store import RemoteArtifacts

#: seconds between two shipments of live logs and progress, and between two heartbeats
SHIP_EVERY_S = 0.5
BEAT_EVERY_S = 1.0
#: seconds without reaching the workspace after which the executor stops (until a heartbeat's
#: reply tells the workspace's own heartbeat timeout)
LOST_AFTER_S = 60.0
#: the least time between two uploads of the live executed notebook
NOTEBOOK_EVERY_S = 2.0
#: the newest bytes of a target's log of the execution stored with the run
TARGET_LOG_MAX = 1 << 20
#: the folder of the run's folder that its dataset parameters are downloaded into
DATASETS_DIR = ".mlws-datasets"
_ENDED = re.compile(r"has (?:already )?ended \((\w+)\)")


def ended_status(exc: BaseException) -> str | None:
    """The status of a run a refusal says has ended (its token died with it, or a start came
    after its end), else None."""
    match = _ENDED.search(str(exc)) if isinstance(exc, (PermissionDenied, Conflict)) else None
    return match.group(1) if match and match.group(1) in R.ENDED else None


class HttpReporter(Reporter):
    """A notebook run executed here, recorded into a workspace over HTTP.

    Parameters
    ----------
    client : Client
        The connection to the workspace server, with the run's token (and ``attempt``).
    run_id : str
        The run.
    workdir : path
        The folder the notebook executes in (its bundle unpacked there, or the target's).
    secret_env : mapping, optional
        Where the run's secrets are read from, by the environment variable names its job gives
        (default: this process's environment, where its target put them).
    heartbeat_interval : float
        Seconds between heartbeats, each of which also hears whether to stop.
    on_cancel : callable, optional
        Called once, from the heartbeat's thread, when the run is to stop (an executor that
        cannot be interrupted by a signal stops its kernel there).
    target_logs : mapping, optional
        ``{log name: path}``: logs the target keeps of this execution on this machine (a Dask
        task's ``worker.log``), stored with the run as they are when it ends (their last
        :data:`TARGET_LOG_MAX` bytes, secrets masked), as the run's other logs.
    """

    def __init__(self, client: Client, run_id: str, workdir: str | os.PathLike, *,
                 secret_env: Mapping[str, str] | None = None,
                 heartbeat_interval: float = BEAT_EVERY_S,
                 on_cancel: Callable[[], None] | None = None,
                 target_logs: Mapping[str, str | os.PathLike] | None = None):
        self.client = client
        self.run_id = run_id
        self.workdir = Path(workdir)
        self.heartbeat_interval = heartbeat_interval
        self.on_cancel = on_cancel
        self.target_logs = dict(target_logs or {})
        self._source = os.environ if secret_env is None else secret_env
        self._files = RemoteArtifacts(client, None)
        self._live = Path(tempfile.mkdtemp(prefix="mlws-live-"))
        self._job: NotebookJob | None = None
        self._secret_names: list[str] = []
        self._secret_env: dict[str, str] | None = None
        self._canceled = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._progress: tuple[int, int, int] | None = None  # (retry, done, total) not yet sent
        self._retry, self._total = 1, 0
        self._sent: dict[str, int] = {}  # live log -> bytes the server has
        self._notebook_sent = (0.0, 0.0)  # (mtime sent, when)
        self._started_ms: int | None = None
        self._before_end: list[Callable[[], None]] = []
        self._ended = False
        #: seconds without reaching the workspace after which this executor gives the run up
        self.lost_after = LOST_AFTER_S
        #: the workspace was out of reach for :attr:`lost_after` seconds: the run was given up
        self.lost = False

    def _call(self, method: str, *parts: str, body: Any = None, query=None) -> Any:
        self._reachable()
        return self.client.call(method, ("runs", self.run_id, *parts), body, query=query)

    def _reachable(self) -> None:
        """Unavailable at once once the run was given up (nothing more is tried)."""
        if self.lost:
            raise Unavailable(f"the workspace could not be reached for {self.lost_after:g} s: "
                              "the run was given up")

    # -- before it starts ------------------------------------------------------------------

    def job(self) -> NotebookJob:
        """The run's job: its NotebookJob, or a :class:`~jupyter_mlws.command.CommandJob` for a
        command run (``kind`` command), which only :mod:`.command` executes."""
        if self._job is None:
            data = self._call("GET", "job")
            self._secret_names = list(data.get("secret_env") or [])
            if data.get("kind") == "command":
                from ..command import CommandJob

                self._job = CommandJob(self.run_id, [str(a) for a in data["argv"]])
            else:
                self._job = NotebookJob(self.run_id, data["notebook"], str(self.workdir),
                                        data["kernel"], data.get("parameters") or {},
                                        data.get("timeout"), int(data.get("retries") or 0))
        return self._job

    def download_bundle(self) -> list[str]:
        """Unpack the run's bundle (its snapshot, with the notebook) into :attr:`workdir`."""
        from ..executions import extract_bundle

        spool = tempfile.TemporaryFile(dir=self._live)
        try:
            for chunk in self.client.stream(("runs", self.run_id, "bundle")):
                spool.write(chunk)
            spool.seek(0)
            return extract_bundle(spool, self.workdir)
        finally:
            spool.close()

    def kernel_env(self) -> dict[str, str]:
        env = {"MLWS_WORKSPACE": self.client.base_url, "MLWS_RUN_ID": self.run_id,
               **({"MLWS_TOKEN": self.client.token} if self.client.token else {}),
               **({"MLWS_ATTEMPT": self.client.attempt} if self.client.attempt else {})}
        return {**env, **self.secret_env()}

    def secret_env(self) -> dict[str, str]:
        if self._secret_env is None:
            self.job()
            missing = [n for n in self._secret_names if n not in self._source]
            if missing:
                raise Unavailable(f"the run's secrets {', '.join(missing)} did not reach this "
                                  "executor: its target gives them in the environment")
            self._secret_env = {n: self._source[n] for n in self._secret_names}
        return self._secret_env

    # -- while it runs ---------------------------------------------------------------------

    def started(self) -> None:
        from ..compute.local import this_host

        reply = self._call("POST", "execution", body={
            **({"attempt": self.client.attempt} if self.client.attempt else {}), "host": this_host()})
        self.client.set_attempt(reply["attempt"])
        self._started_ms = R.now_ms()
        for name, work in (("mlws-heartbeat", self._beat), ("mlws-ship", self._ship_loop)):
            thread = threading.Thread(target=work, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def live_file(self, name: str) -> Path:
        return self._live / name

    def progress(self, done: int, total: int) -> None:
        self._total = total
        self._progress = (self._retry, done, total)  # sent by the shipping thread

    def attempt(self, number: int) -> None:
        if self._canceled.is_set():
            from ..notebooks.cancel import Canceled

            raise Canceled()
        self._retry = number
        self._progress = None
        self._call("POST", "progress", body={"attempt": number, "done": 0, "total": self._total})

    def attempt_ended(self, number: int, status: str, error: str | None) -> None:
        try:
            self._ship()  # its cells done first
        except MlwsError:
            pass
        self._call("POST", "attempts", body={"attempt": number, "status": status,
                                             **({"error": error} if error is not None else {})})

    def is_canceled(self) -> bool:
        return self._canceled.is_set()

    def _beat(self) -> None:
        reached = time.monotonic()
        while not self._stop.wait(self.heartbeat_interval):
            try:
                reply = self._call("POST", "heartbeat")
                reached = time.monotonic()
                stop = reply["cancel"]
                self.lost_after = float(reply.get("heartbeat_timeout") or self.lost_after)
            except PermissionDenied:  # its token died: the run ended elsewhere
                stop = True
            except MlwsError:
                # out of reach for now: the workspace marks the run killed if that lasts
                if time.monotonic() - reached < self.lost_after:
                    continue
                self.lost = stop = True
            if stop and not self._canceled.is_set():
                self._canceled.set()
                if self.on_cancel is not None:
                    self.on_cancel()

    def _ship_loop(self) -> None:
        while not self._stop.wait(SHIP_EVERY_S):
            try:
                self._ship()
            except MlwsError:
                pass  # sent again next time (an append is idempotent)

    def _ship(self, final: bool = False) -> None:
        """Send what changed: cells done, new bytes of the live logs, the executed notebook."""
        progress, self._progress = self._progress, None
        if progress is not None:
            try:
                self._call("POST", "progress", body=dict(zip(("attempt", "done", "total"), progress)))
            except MlwsError:
                self._progress = self._progress or progress
                raise
        for path in sorted(self._live.glob("*.log")):
            self._ship_log(path)
        self._ship_notebook(final)

    def _ship_log(self, path: Path) -> None:
        sent = self._sent.get(path.name)
        with open(path, "rb") as f:
            while True:
                f.seek(sent or 0)
                piece = f.read(LOG_APPEND_MAX)
                if not piece and sent is not None:
                    return  # an empty log is sent once: the run has it, as a local run does
                try:
                    reply = self.client.send("POST", ("runs", self.run_id, "logs", path.name), piece,
                                             query={"offset": sent or 0},
                                             content_type="application/octet-stream")
                except Conflict:  # the server has less than thought: send again from its start
                    self._sent[path.name] = 0
                    raise
                sent = self._sent[path.name] = int(reply["size"])

    def _ship_notebook(self, final: bool) -> None:
        path = self._live / LIVE_NOTEBOOK
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return
        sent_mtime, when = self._notebook_sent
        if mtime == sent_mtime or (not final and time.monotonic() - when < NOTEBOOK_EVERY_S):
            return
        self.client.send("PUT", ("runs", self.run_id, "live-notebook"), path.read_bytes(),
                         content_type="application/octet-stream")
        self._notebook_sent = (mtime, time.monotonic())

    # -- what it produced --------------------------------------------------------------------

    def environment(self, kernel: str, captured: dict[str, Any]) -> None:
        if captured:  # a command run's has no kernel
            self._call("PUT", "environment", body={**({"kernel": kernel} if kernel else {}),
                                                   "captured": captured})

    def cells(self, records: list[dict]) -> None:
        self._call("PUT", "cell-records", body={"cells": records})

    def store_notebook(self, name: str, path: Path) -> None:
        self._reachable()
        self._files.upload_file(self.run_id, f"notebook/{name}", path)

    def store_outputs(self, folder: Path) -> None:
        self._reachable()
        self._files.upload_folder(self.run_id, "outputs", folder, since_ms=self._started_ms)

    def copy_output(self) -> None:
        self._call("POST", "output-copy")

    def before_end(self, work: Callable[[], None]) -> None:
        """Do ``work`` before the run ends (its token dies then): e.g. stop the kernel, whose
        log :meth:`log` then sends."""
        self._before_end.append(work)

    def ended(self, status: str, error: str | None) -> str:
        for work in self._before_end:
            work()
        self._store_target_logs()
        self._stop.set()
        for thread in self._threads:
            thread.join()
        if self.lost:  # the workspace could not be reached: it ends the run killed itself
            self._ended = True
            return R.KILLED
        problems = []
        for _ in range(3):  # the last of the logs and progress, before the run ends
            try:
                self._ship(final=True)
                break
            except MlwsError as exc:
                problems = [str(exc)]
        if self._canceled.is_set() and status != R.COMPLETED:
            status, error = R.CANCELED, "canceled"  # asked to stop: a cancel that came first stands
        elif problems and status == R.COMPLETED:
            status, error = R.FAILED, "while sending the run's logs: " + problems[0]
        self._ended = True
        body = {"status": status, **({"error": error} if error is not None else {})}
        try:
            return self._call("POST", "end", body=body)["status"]
        except (PermissionDenied, Conflict) as exc:  # it ended elsewhere first: that stands
            return ended_status(exc) or status

    def _store_target_logs(self) -> None:
        """Store :attr:`target_logs` with the run (a copy of each one's end: the target goes on
        writing to its own), while the run's token still works."""
        folder = self._live / "target-logs"
        for name, path in self.target_logs.items():
            copy = folder / name
            try:
                folder.mkdir(exist_ok=True)
                with open(path, "rb") as src, open(copy, "wb") as dst:
                    size = src.seek(0, os.SEEK_END)
                    src.seek(max(0, size - TARGET_LOG_MAX))
                    shutil.copyfileobj(src, dst)
            except OSError:
                continue  # this machine's disk: the target still has it
            try:
                self.log(name, copy)
            except MlwsError:
                pass  # the workspace is out of reach: the run's end says what matters

    def log(self, name: str, path: Path) -> None:
        if self._ended or self.lost:
            return  # the run's token died with it: nothing more is recorded
        try:
            mask_file(self.masker(), path)
        except MlwsError:
            pass
        try:
            self._files.upload_file(self.run_id, name, path, "log")
        except (PermissionDenied, Conflict):
            pass  # the run ended meanwhile

    def dataset_path(self, ref: str) -> str:
        """A local read-only copy of dataset version ``ref`` (pinned at submit), downloaded
        from the workspace server with the run's token into ``.mlws-datasets/`` of the run's
        folder (removed with it), each file's sha256 checked: what a ``dataset:REF`` parameter
        is given to the notebook as, as on the local target."""
        from .datasets import RemoteDatasets

        self._reachable()
        datasets = RemoteDatasets(self.client, mounts=self.workdir / DATASETS_DIR,
                                  current_run=lambda: self.run_id, lock_folders=False)
        return datasets.local_path(ref)

    def close(self) -> None:
        """Stop the background threads and remove the live files (after :meth:`ended`)."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        shutil.rmtree(self._live, ignore_errors=True)
