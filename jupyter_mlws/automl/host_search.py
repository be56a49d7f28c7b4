"""A search that runs on an SSH host: ``--compute NAME`` with an ssh (or vm) target.

The runner (:mod:`.runner`) stays on the workspace's machine and records everything itself, as
for a local search; only the work goes to the host, over one SSH connection per attempt:

1. **connect** (each step named when it fails: DNS, TCP connect, host key, authentication),
   clean up what an earlier attempt left there (its processes stopped, its folder removed:
   :mod:`jupyter_mlws.compute.ssh.runners`), check the target's Python (**environment**: it
   must import jupyter_mlws, FLAML and LightGBM; with ``env = build`` the environment of the
   Python mlws runs with here is built there first), and upload the dataset version's table
   files and the search's job into ``WORKDIR/automl/RUN_ID`` (**transfer**);
2. start there the same two processes a local search has: the search (``python -m
   jupyter_mlws.automl.search``, FLAML) and beside it the refit, which imports FLAML, reads
   the table and captures the host's environment while the search runs, says it is ready, then
   waits for the best configuration (``python -m jupyter_mlws.automl.model``);
3. read FLAML's training log and the search's events from the host as they grow (SFTP, by
   offset): each finished trial becomes a child run here, once (:meth:`.runner.Runner.record`;
   a resumed search replays the finished ones without training, as locally);
4. keep the budget here, by the local search's rule: its clock starts when FLAML's search
   starts (as this process hears it; connecting, the upload and starting Python there are
   ``setup_s``, shown apart), and the search's process group is killed on the host at ``start
   + budget - refit reserve``, whatever trial runs (the reserve: the local one, plus the SFTP
   round trips the refit takes, measured; earlier while the refit is still getting ready);
5. hand the refit the best trial, download the model folder and the environment the host
   captured (``env_hash`` and ``environment.json`` describe the host's Python), remove the
   folder.  Storing and registering the model are the runner's, the same as a local search's.

The host gets no token and never reaches the workspace: there is nothing to record twice
(a retried attempt records only trials it did not have) and nothing for a host to write to.
A connection that is lost (the host or its sshd went away; a keepalive every ``keepalive``
seconds notices a silent one) fails the search at the execution step naming the host; its
finished trials stay, and ``mlws automl resume RUN`` goes on from them.  A cancel (SIGTERM of
the runner) stops both process groups on the host.
"""

from __future__ import annotations

import json
import posixpath
import shutil
import time
from pathlib import Path
from typing import Any

from ..compute.failures import ENVIRONMENT, EXECUTION, StepFailed
from ..errors import InvalidInput, MlwsError
from .model import READY, WRITTEN
from .runner import POLL_S, READ_S, _Search
#: the search's folder on the host, below the target's work folder
FOLDER = "automl"
#: its files there
JOB, REFIT, LOG, EVENTS, MODEL, ENVIRONMENT_FILE = ("job.json", "refit.json", "trials.jsonl",
                                                    "events.jsonl", "model", "environment.json")
#: the SFTP round trips a refit on the host takes beyond the refit (asking, the download)
REFIT_ROUND_TRIPS = 12
#: the refit's process is expected ready by this many times the search's own start-up
READY_FACTOR = 1.5
#: seconds a canceled search's processes have to end before they are killed
STOP_GRACE = 2.0


def _lost_errors() -> tuple[type[BaseException], ...]:
    import paramiko

    return (OSError, EOFError, paramiko.SSHException)


class Host:
    """The host of ssh (or vm) target ``name`` for one attempt of the search ``runner`` runs:
    its connection, the search's folder there and the processes started in it.  Opened on
    first use (:meth:`open`); :meth:`close` it."""

    def __init__(self, runner, name: str):
        self.runner, self.name = runner, name
        self.conn = self.watchdog = None
        self.folder = ""
        self.python = ""
        self.search = self.refit = None
        self.state = None  # the runner's state file here (.mlws/ssh-runners/RUN_ID.json)
        #: seconds a refit there takes beyond the refit itself: asking for it, hearing it is
        #: done and downloading the model (SFTP round trips, measured), and the polls between
        self.overhead = 0.0

    @property
    def where(self) -> str:
        return self.conn.where if self.conn is not None else f"compute target {self.name!r}"

    def open(self, files: list[tuple[str, str]], job: dict[str, Any]) -> None:
        """Connect, clean up, check the Python, upload the table and the job, start the
        refit's process (see the module's text).  Once per attempt; raises StepFailed naming
        the step."""
        if self.conn is not None:
            return
        from ..compute.ssh import runners

        svc, run_id = self.runner.svc, self.runner.run_id
        record = svc.compute.get(self.name)
        self.runner.log(f"connecting to {record['user']}@{record['host']}:{record['port']} "
                        f"({record['type']} target {self.name})")
        self.conn = svc.compute.connect(self.name, check_actor=False)
        self.state = runners.runner_files(svc.root, run_id)[0]
        runners.clean_leftovers(svc.root, self.name, self.conn, self.runner.log)
        earlier = runners.read_state(self.state)
        if earlier and earlier.get("target") == self.name:  # an earlier attempt of this process
            runners.clean(self.conn, earlier, self.runner.log)
        self.state.unlink(missing_ok=True)
        self.folder = posixpath.join(record["workdir"], FOLDER, run_id)
        runners.write_state(self.state, target=self.name, remote=self.folder, pgids=[])
        self.python = svc.host_python(record, run_id)
        self._check_python()
        self._upload(files, job)
        self.watchdog = self.conn.watch()

    def _check_python(self) -> None:
        from ..compute.checks import automl_advice, automl_lacking

        lacking = automl_lacking(self.conn, self.python)
        if lacking is None:
            raise StepFailed(ENVIRONMENT, self.where, f"the target's python {self.python!r} does "
                             f"not run on the host: 'mlws compute test {self.name}' says why")
        if lacking:
            raise StepFailed(ENVIRONMENT, self.where, automl_advice(self.python, lacking))

    def _upload(self, files: list[tuple[str, str]], job: dict[str, Any]) -> None:
        """The table's files into ``data/`` of the folder, and the job (its paths the host's)."""
        work = self.runner.work / "host"
        shutil.rmtree(work, ignore_errors=True)
        (work / "data").mkdir(parents=True)
        for rel, local in files:
            dest = work / "data" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                dest.hardlink_to(local)
            except OSError:
                shutil.copyfile(local, dest)
        on_host = {**job, "files": [(rel, posixpath.join("data", rel)) for rel, _ in files],
                   "log": LOG, "started": EVENTS}
        (work / JOB).write_text(json.dumps(on_host))
        sent = self.conn.put(work, self.folder)
        self.runner.log(f"uploaded the table ({sent / 1e6:.1f} MB) to the host")
        began = time.monotonic()
        self.conn.sftp.stat(self.folder)
        self.overhead = REFIT_ROUND_TRIPS * (time.monotonic() - began) + 3 * POLL_S

    def _start(self, args: list[str]):
        from ..compute.ssh import runners

        proc = self.conn.start([self.python, *args], cwd=self.folder,
                               env={"PYTHONHASHSEED": "0"})
        if proc.pgid is None:
            raise StepFailed(EXECUTION, self.where, f"the host could not start {args[1]} in the "
                             "search's folder")
        state = runners.read_state(self.state) or {}
        runners.write_state(self.state, pgids=[*state.get("pgids", []), proc.pgid])
        return proc

    def start_refit(self):
        """Start the refit's process (once): it imports FLAML and reads the table, then waits."""
        if self.refit is None:
            self.refit = self._start(["-m", "jupyter_mlws.automl.model", JOB, REFIT])
        return self.refit

    def start_search(self):
        self.search = self._start(["-m", "jupyter_mlws.automl.search", JOB])
        return self.search

    def read(self, name: str, offset: int) -> bytes:
        """The bytes of the folder's file ``name`` from ``offset`` (none while it is missing)."""
        try:
            with self.conn.sftp.open(posixpath.join(self.folder, name), "rb") as f:
                f.seek(offset)
                return f.read()
        except FileNotFoundError:
            return b""
        except _lost_errors() as exc:
            raise self.lost(exc) from None

    def write(self, name: str, data: bytes) -> None:
        """Write the folder's file ``name`` whole (renamed into place: its reader never sees
        a part of it)."""
        path = posixpath.join(self.folder, name)
        try:
            with self.conn.sftp.open(path + ".tmp", "wb") as f:
                f.write(data)
            self.conn.sftp.posix_rename(path + ".tmp", path)
        except _lost_errors() as exc:
            raise self.lost(exc) from None

    def download(self, name: str, local: Path) -> None:
        self.conn.get(posixpath.join(self.folder, name), local)

    def check(self) -> None:
        """StepFailed (execution) once the connection is lost."""
        if self.watchdog is not None and self.watchdog.lost or not self.conn.is_active():
            raise self.lost()

    def lost(self, exc: BaseException | None = None) -> StepFailed:
        """The error of a lost connection (the host, its network or its sshd went away)."""
        if self.watchdog is not None and self.watchdog.lost:
            why = (f"the host stopped answering for {self.watchdog.silent_for:.0f} s (keepalive "
                   f"every {self.watchdog.interval:g} s) while the search ran there")
        else:
            why = ("the connection to the host was lost while the search ran there (the host or "
                   "its SSH server went away)")
        return StepFailed(EXECUTION, self.where, why + "; its finished trials are kept: 'mlws "
                          f"automl resume {self.runner.run_id}' goes on from them")

    def reraise(self, exc: BaseException) -> None:
        """Raise ``exc``; a step's failure on a connection that is gone as :meth:`lost`."""
        if isinstance(exc, StepFailed) and self.conn is not None and not self.conn.is_active():
            raise self.lost() from None
        raise exc

    def pump(self, proc, sink) -> int | None:
        """Pass ``proc``'s output to ``sink`` (a binary file); its exit status once it ended."""
        try:
            return proc.poll(lambda stream, data: sink.write(data))
        except StepFailed:
            raise self.lost() from None

    def stop(self, proc, grace: float = STOP_GRACE) -> None:
        """Stop ``proc``'s process group if the connection is up (else the next attempt, or
        ``mlws compute test``, cleans it up)."""
        if proc is not None and proc.status is None and self.conn is not None \
                and self.conn.is_active():
            try:
                proc.stop(grace)
            except MlwsError:
                pass

    def close(self) -> None:
        """Stop what still runs there, remove the folder and forget the state; after a lost
        connection the state stays (a leftover: cleaned by the next connection to the target)."""
        if self.conn is None:
            return
        if self.watchdog is not None:
            self.watchdog.stop()
        up = self.conn.is_active()
        if up:
            for proc in (self.search, self.refit):
                self.stop(proc, 0.5)
            try:
                self.conn.remove(self.folder)
            except (MlwsError, OSError):
                up = False
        self.conn.close()
        if up and self.state is not None:
            self.state.unlink(missing_ok=True)
        elif self.state is not None:
            from ..compute.ssh import runners

            runners.write_state(self.state, lost=True)
        self.conn = None


class _Said:
    """A binary sink that notes when ``marker`` went through it (in one write, or across two)."""

    def __init__(self, file, marker: bytes):
        self.file, self.marker = file, marker
        self.said = False
        self._tail = b""

    def write(self, data: bytes) -> None:
        self.file.write(data)
        seen = self._tail + data
        self.said = self.said or self.marker in seen
        self._tail = seen[-len(self.marker):]


class HostSearch(_Search):
    """The search process of one attempt, on ``host`` (a :class:`Host`): watched as
    :class:`~.runner._Search` watches a local one, its files read over SFTP; ``began``
    (monotonic): when the attempt started, before connecting (``setup_s`` counts from it)."""

    def __init__(self, runner, host: Host, budget: float, began: float):
        super().__init__(runner, LOG, EVENTS, budget)
        self.host, self.began = host, began

    def run(self) -> dict[str, float]:
        runner, host = self.runner, self.host
        out = runner.svc.artifacts.live_file(runner.run_id, "search.log")
        stopped_at = None
        beat = read = 0.0
        with open(out, "ab") as sink:
            refit = _Said(sink, READY.encode())
            host.start_refit()  # it imports FLAML and reads the table beside the search
            refit_began = time.monotonic()
            proc = host.start_search()
            fit_at_local = None
            try:
                while True:
                    code = host.pump(proc, sink)
                    if not refit.said:
                        host.pump(host.refit, refit)
                    now = time.monotonic()
                    # until the search starts, every look reads: its start is the clock's
                    if code is not None or fit_at_local is None or now - read >= READ_S:
                        read = now
                        self._read()
                        if self.fit_at is not None and fit_at_local is None:
                            fit_at_local = now
                    if code is not None:
                        break
                    if runner.full:
                        proc.kill()
                        break
                    # the refit, started with the search, imports and reads as much as the
                    # search did before its start: one still getting ready stops it earlier
                    getting_ready = 0.0 if refit.said or fit_at_local is None else max(
                        0.0, refit_began + READY_FACTOR * (fit_at_local - refit_began) - now)
                    if fit_at_local is not None and \
                            now >= fit_at_local + self._deadline() - getting_ready:
                        proc.kill()
                        stopped_at = time.monotonic()
                        break
                    if now - beat > min(1.0, runner.svc.heartbeat_interval):
                        beat = now
                        if fit_at_local is not None:
                            runner.add_spent(now - fit_at_local)
                        runner.heartbeat()
                        host.check()
                    time.sleep(POLL_S)
            except BaseException as exc:
                if fit_at_local is not None:  # what a resumed search has left
                    runner.add_spent(time.monotonic() - fit_at_local)
                host.stop(proc)
                host.reraise(exc)
        end = stopped_at or time.monotonic()
        self._read()  # what FLAML wrote before it was stopped: its log is flushed per trial
        if self.error:
            raise InvalidInput(self.error)
        if self.fit_at is None:
            raise MlwsError(f"{host.where}: the execution step failed: the search process ended "
                            f"(status {proc.status}) before it started: 'mlws run logs "
                            f"{runner.run_id} --name search.log' shows why")
        if stopped_at is not None:
            self._note_stopped(stopped_at)
        elif proc.status not in (0, None) and not runner.full:
            raise MlwsError(f"{host.where}: the execution step failed: the search process failed "
                            f"(status {proc.status}): 'mlws run logs {runner.run_id} --name "
                            "search.log' shows why")
        fit_at = min(fit_at_local or end, end)
        runner.add_spent(end - fit_at)
        return {"search_s": end - fit_at, "setup_s": fit_at - self.began}

    def _deadline(self) -> float:
        """Seconds after the search's start it is stopped at."""
        return self.budget - self.runner.reserve() - self.host.overhead

    def _lines(self, path: str) -> list[str]:
        from .trials import parse_lines

        data = self.host.read(path, self.offsets[path])
        self.offsets[path] += len(data)
        lines, self.rest[path] = parse_lines(self.rest[path] + data)
        return lines


def refit_on_host(runner, host: Host, top) -> tuple[float, Path, dict | None]:
    """Refit trial ``top`` on the host (its refit process waits for it), download the model
    folder into the runner's work folder; its seconds (from asking to having the model here),
    the folder, and the environment the host captured (None when it could not)."""
    began = time.monotonic()
    host.start_refit()
    host.write(REFIT, json.dumps({"trial": json.loads(top.to_tag()), "task": runner.spec.task,
                                  "metric": runner.metric, "n_jobs": runner.trial_jobs}).encode())
    out = runner.svc.artifacts.live_file(runner.run_id, "search.log")
    beat = 0.0
    with open(out, "ab") as file:
        sink = _Said(file, WRITTEN.encode())
        try:  # the model is written once the process says so (its exit is not waited for)
            while (code := host.pump(host.refit, sink)) is None and not sink.said:
                now = time.monotonic()
                if now - beat > min(1.0, runner.svc.heartbeat_interval):
                    beat = now
                    runner.heartbeat()
                    host.check()
                time.sleep(POLL_S)
        except BaseException as exc:
            host.stop(host.refit)
            host.reraise(exc)
    if not sink.said:
        raise MlwsError(f"{host.where}: the execution step failed: the refit of the best "
                        f"configuration failed there (status {code}): 'mlws run logs "
                        f"{runner.run_id} --name search.log' shows why")
    model_dir = runner.work / "model"
    shutil.rmtree(model_dir, ignore_errors=True)
    host.download(MODEL, model_dir)
    captured = None
    try:
        host.download(ENVIRONMENT_FILE, runner.work / ENVIRONMENT_FILE)
        captured = json.loads((runner.work / ENVIRONMENT_FILE).read_text())
    except (MlwsError, OSError, ValueError):
        pass
    seconds = time.monotonic() - began
    runner.log(f"refit {top.estimator} (trial {top.number}) on {host.where} in {seconds:.2f} s")
    return seconds, model_dir, captured
