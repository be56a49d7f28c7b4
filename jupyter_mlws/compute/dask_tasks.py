"""What a Dask cluster runs for the workspace: the tasks on its workers and the questions asked
of its scheduler.

Dask unpickles a task's function on the scheduler and on the workers, so everything here is
importable there with jupyter_mlws installed (and light: the scheduler loads this module and
nothing heavy).  The workspace side is :mod:`.dask` (the ``dask`` compute target).

- :func:`run_task`: one run, one task.  It starts the remote executor (``python -m
  jupyter_mlws.remote.executor``, which reports over HTTP with the run's token) as a child
  process of the worker, with the run's token in its environment, never in its command line;
  each try of the task is an attempt of its own (the task key and a fresh suffix), so a try
  after a worker died is fenced from the dead one by the workspace.  The executor dies with the
  worker (``setpriv --pdeathsig``), its kernel with it; a canceled task stops it (SIGTERM, then
  SIGKILL).  Its output is kept on the worker for :func:`worker_output`.
- :func:`sweep_task`: a sweep's parent run, beside its children's tasks: it starts the parent,
  beats its heartbeat, ends children whose task the scheduler lost, cancels them all when the
  parent is canceled, and ends the parent by its children's outcome.
- :func:`task_states` (on the scheduler), :func:`worker_output` and :func:`mlws_version` (on
  the workers): what the target asks.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Mapping

#: what every task key of the workspace starts with
KEY_PREFIX = "mlws-"
_KEY = re.compile(r"mlws-(run|sweep)-[0-9a-zA-Z]{1,64}-[0-9a-f]{8}")
#: the module a worker runs a run's executor as
EXECUTOR = "jupyter_mlws.remote.executor"
#: seconds between two looks of a task at its executor (and of a sweep at its children)
WATCH_S = 0.5
SWEEP_S = 1.0
#: seconds a canceled executor has to end after SIGTERM
STOP_GRACE_S = 10.0
#: the newest bytes of a task's output a worker hands back
OUTPUT_TAIL = 1 << 20
#: days a task's output is kept on its worker
OUTPUT_DAYS = 7
#: scheduler task states that mean "not started yet"
WAITING = frozenset({"released", "waiting", "queued", "no-worker"})
#: scheduler task states that mean "its function runs"
PROCESSING = frozenset({"processing"})


def task_key(kind: str, run_id: str) -> str:
    """A fresh task key for run ``run_id`` (``kind``: ``run`` or ``sweep``); a new one per
    submission, so that a re-run never meets the key of an earlier one."""
    return f"{KEY_PREFIX}{kind}-{run_id}-{uuid.uuid4().hex[:8]}"


class RunToken:
    """A run's token as a task's argument: its text never shows in a repr (which Dask logs)."""

    __slots__ = ("value",)

    def __init__(self, value: str):
        self.value = value

    def __repr__(self) -> str:
        return "<run token>"

    __str__ = __repr__

    def __reduce__(self):
        return (RunToken, (self.value,))


# -- on a worker: one run ------------------------------------------------------------------


def output_dir() -> Path:
    """The folder this machine keeps task outputs in (private to this user)."""
    folder = Path(tempfile.gettempdir()) / f"mlws-dask-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _output_file(key: str) -> Path:
    if not _KEY.fullmatch(key):
        raise ValueError("not a task key of the workspace")
    return output_dir() / f"{key}.log"


def _prune_outputs(folder: Path) -> None:
    limit = time.time() - OUTPUT_DAYS * 86400
    for old in folder.glob("mlws-*.log"):
        try:
            if old.stat().st_mtime < limit:
                old.unlink()
        except OSError:
            pass


def _die_with_worker() -> list[str]:
    """A prefix that kills the executor when the worker's thread that started it dies (a worker
    killed mid-task): ``setpriv --pdeathsig KILL`` where util-linux has it."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


def _dropped(key: str) -> bool:
    """Whether this worker no longer runs task ``key`` (canceled by the client)."""
    try:
        from distributed import get_worker

        ts = get_worker().state.tasks.get(key)
    except (ImportError, ValueError):
        return False
    return ts is None or ts.state in ("cancelled", "released", "forgotten")


def _stop(proc: subprocess.Popen, grace: float) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def executor_env(url: str, token: str, run_id: str, attempt: str) -> dict[str, str]:
    """The environment of a run's executor: this worker's, with the run's workspace, token,
    run id and attempt (and nothing of another run)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLWS_")}
    env.update(MLWS_WORKSPACE=url, MLWS_TOKEN=token, MLWS_RUN_ID=run_id, MLWS_ATTEMPT=attempt)
    return env


def run_task(url: str, token: RunToken, run_id: str, key: str) -> str:
    """Execute run ``run_id`` on this worker (a Dask task); return how its executor ended.

    Never raises (Dask logs a failed task with its arguments): a failure to start is returned
    as text, and the run is ended by the workspace when it sees the task gone.
    """
    attempt = f"{key}.{uuid.uuid4().hex[:8]}"
    try:
        folder = output_dir()
        _prune_outputs(folder)
        fd = os.open(_output_file(key), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as out:
            out.write(f"--- attempt {attempt} on {_worker_address()}\n".encode())
            out.flush()
            proc = subprocess.Popen([*_die_with_worker(), sys.executable, "-m", EXECUTOR],
                                    env=executor_env(url, token.value, run_id, attempt),
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    cwd=folder)
    except (OSError, ValueError) as exc:
        return f"not started: {type(exc).__name__}: {exc}"
    while proc.poll() is None:
        time.sleep(WATCH_S)
        if _dropped(key):
            _stop(proc, STOP_GRACE_S)
            return "canceled"
    if proc.returncode != 0:
        _end_unended(url, token, run_id, proc.returncode, _last_line(key))
    return f"exit {proc.returncode}"


def _last_line(key: str) -> str:
    lines = (worker_output(key, 4096) or b"").decode(errors="replace").strip().splitlines()
    return lines[-1].strip()[:200] if lines else ""


def _end_unended(url: str, token: RunToken, run_id: str, code: int, last: str) -> None:
    """End a run whose executor exited (``code``) without ending it: failed, at the execution
    step, with the executor's last line of output."""
    from .. import run_records as R
    from ..errors import MlwsError
    from ..remote.client import Client
    from .failures import EXECUTION, StepFailed

    why = (f"the run's executor exited with code {code} on worker {_worker_address()} before "
           f"the run ended" + (f": {last}" if last else ""))
    client = Client(url, token.value)
    try:
        runs = _runs(client)
        if runs.get(run_id).status in R.LIVE:
            runs.end(run_id, R.FAILED, str(StepFailed(EXECUTION, "dask task", why)))
    except MlwsError:
        pass  # ended meanwhile, or the workspace is out of reach: the scheduler's watch ends it
    finally:
        client.close()


def _runs(client):
    from ..remote.store import RemoteRuns

    return RemoteRuns(client)


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "?"


# -- on a worker: a sweep's parent -----------------------------------------------------------


def sweep_task(url: str, token: RunToken, parent_id: str, children: Mapping[str, str],
               address: str) -> str:
    """Watch sweep ``parent_id`` while its children (``run id -> task key``) run as tasks of
    their own; return its final status.

    It leaves its worker's thread to the children (``secede``), so it takes no slot.  Run
    again after its worker died, it picks up where the sweep is.
    """
    from distributed import get_client, secede

    from .. import run_records as R
    from ..errors import Conflict, MlwsError
    from ..remote.client import Client
    from ..remote.store import RemoteRuns

    secede()
    runs = RemoteRuns(Client(url, token.value))
    try:
        if runs.get(parent_id).status == R.QUEUED:
            runs.mark_started(parent_id)
    except (Conflict, MlwsError) as exc:
        return f"not started: {exc}"
    while True:
        try:
            status = _sweep_step(runs, get_client(), parent_id, children, address)
        except MlwsError:
            status = None  # the workspace server is out of reach for now: look again
        if status is not None:
            return status
        time.sleep(SWEEP_S)


def _sweep_step(runs, client, parent_id: str, children: Mapping[str, str], address: str) -> str | None:
    """One look at a sweep: its final status once it ended, else None."""
    from .. import run_records as R

    parent = runs.get(parent_id)
    kids = {c.id: c for c in runs.children(parent_id)}
    live = [c for c in kids.values() if c.status in R.LIVE]
    if parent.status != R.RUNNING:  # canceled (or ended) by the user
        cancel_keys(client, [children[c.id] for c in live if c.id in children])
        for child in live:
            _end(runs, child.id, R.CANCELED, "the sweep was canceled")
        return parent.status
    if not live:
        failed = [c for c in kids.values() if c.status != R.COMPLETED]
        return runs.end(parent_id, R.FAILED if failed else R.COMPLETED,
                        f"{len(failed)} of {len(kids)} runs did not complete" if failed else None).status
    keys = {c.id: children[c.id] for c in live if c.id in children}
    states = client.run_on_scheduler(task_states, list(keys.values()))
    for run_id, key in keys.items():
        if states.get(key) is None:  # gone while its run is live: lost
            runs_now = runs.get(run_id)
            if runs_now.status in R.LIVE:
                _end(runs, run_id, R.FAILED, lost_reason(address))
    runs.heartbeat(parent_id)
    return None


def _end(runs, run_id: str, status: str, reason: str) -> None:
    from ..errors import MlwsError

    try:
        runs.end(run_id, status, reason)
    except MlwsError:
        pass  # ended meanwhile


def lost_reason(address: str) -> str:
    """Why a run whose task the scheduler no longer has ended failed (names the Dask step)."""
    from .failures import EXECUTION, StepFailed

    return str(StepFailed(EXECUTION, f"dask {address}",
                          "the scheduler lost the run's task before the run ended (its workers "
                          "died while running it more often than Dask allows, or the scheduler "
                          "restarted): submit the run again"))


def cancel_keys(client, keys: list[str]) -> None:
    """Cancel tasks ``keys`` on ``client``'s scheduler, whoever submitted them."""
    if keys:
        from distributed import Future

        client.cancel([Future(k, client) for k in keys], force=True, reason="canceled by the user")


# -- on the scheduler and the workers: questions ---------------------------------------------


def task_states(keys: list[str], dask_scheduler=None) -> dict[str, Any]:
    """On the scheduler: the state of each task (``processing``, ``waiting``, ...; None for a
    task it does not know: finished and forgotten, lost, or never submitted)."""
    out: dict[str, Any] = {}
    for key in keys:
        ts = dask_scheduler.tasks.get(key)
        out[key] = None if ts is None else ts.state
    return out


def worker_output(key: str, limit: int = OUTPUT_TAIL) -> bytes | None:
    """On a worker: the newest ``limit`` bytes of task ``key``'s output here (None: none)."""
    try:
        path = _output_file(key)
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - limit))
            return f.read()
    except (OSError, ValueError):
        return None


def machine_output(key: str) -> tuple[str, bytes | None]:
    """On a worker: ``(this machine and user, task key's output)``; workers of one machine share
    the output folder, so the caller keeps one answer per machine."""
    import socket

    return f"{socket.gethostname()}:{os.getuid()}", worker_output(key)


def mlws_version() -> str:
    """On a worker (or the scheduler): the jupyter_mlws it imports."""
    from .. import __version__

    return __version__
