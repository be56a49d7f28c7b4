"""What a Dask cluster runs for the workspace: the task on its workers and the questions asked
of its scheduler.

Dask unpickles a task's function on the scheduler and on the workers, so everything here is
importable there with jupyter_mlws installed (and light: the scheduler loads this module and
nothing heavy).  The workspace side is :mod:`.dask` (the ``dask`` compute target).

- :func:`run_task`: one run, one task.  It calls
  :func:`~jupyter_mlws.remote.executor.execute_remote` in the worker, which executes the run
  with the worker's Python (a kernel of its own) and reports over HTTP with the run's token.
  Each try of the task is an attempt of its own (the task key and a fresh suffix): a try after
  a worker died is fenced from the dead one by the workspace, so results are recorded once.
  The token and the secrets travel as :class:`Hidden` arguments, whose repr (which Dask logs)
  shows neither.  What the executor logs is kept on the worker for :func:`worker_output`, and
  stored with the run as its ``worker.log`` before the run ends (``mlws run logs RUN``).
- :func:`task_states` (on the scheduler), :func:`machine_output` and :func:`mlws_version` (on
  the workers): what the target asks.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: the name a task's output is stored under with its run (``mlws run logs RUN --name worker.log``)
WORKER_LOG = "worker.log"
#: what every task key of the workspace starts with
KEY_PREFIX = "mlws-"
_KEY = re.compile(r"mlws-run-[0-9a-zA-Z]{1,64}-[0-9a-f]{8}")
#: the newest bytes of a task's output a worker hands back
OUTPUT_TAIL = 1 << 20
#: days a task's output is kept on its worker
OUTPUT_DAYS = 7
#: scheduler task states that mean "not started yet"
WAITING = frozenset({"released", "waiting", "queued", "no-worker"})
#: scheduler task states that mean "its function runs"
PROCESSING = frozenset({"processing"})


def task_key(run_id: str) -> str:
    """A fresh task key for run ``run_id``: a new one per submission, so that a re-run never
    meets the key of an earlier one."""
    return f"{KEY_PREFIX}run-{run_id}-{uuid.uuid4().hex[:8]}"


# -- on a worker: one run ------------------------------------------------------------------


def output_dir() -> Path:
    """The folder this machine keeps task outputs in, private to this user; OSError when the
    name is taken by something else (another user's folder, a link)."""
    import stat

    folder = Path(tempfile.gettempdir()) / f"mlws-dask-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise OSError(f"{folder} is not this user's private folder")
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


class _TaskOutput(logging.Handler):
    """What the executor of one task logs (records of the task's own thread), appended to the
    task's output file on this worker."""

    def __init__(self, out):
        super().__init__(logging.INFO)
        self.out = out
        self.thread = threading.get_ident()
        self.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            try:
                self.out.write((self.format(record) + "\n").encode(errors="replace"))
                self.out.flush()
            except (OSError, ValueError):
                pass


@contextmanager
def task_output(key: str, attempt: str):
    """The task's output file on this worker (private to this user), appended to; the task's
    thread's log records go there meanwhile."""
    folder = output_dir()
    _prune_outputs(folder)
    path = _output_file(key)
    # Dask runs a task again only when the worker of its previous attempt died: say so
    again = os.path.exists(path) and os.path.getsize(path) > 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as out:
        why = " (the previous attempt's worker died: Dask runs the task again)" if again else ""
        out.write(f"--- attempt {attempt} on {_worker_address()}{why}\n".encode())
        out.flush()
        handler = _TaskOutput(out)
        root = logging.getLogger()
        root.addHandler(handler)
        try:
            yield out
        finally:
            root.removeHandler(handler)


class Hidden:
    """A task's argument that must never show (a run's token, its secrets' values): its repr,
    which Dask logs, says what it is, never what it holds."""

    __slots__ = ("value", "what")

    def __init__(self, value, what: str):
        self.value, self.what = value, what

    def __repr__(self) -> str:
        return f"<{self.what}>"

    __str__ = __repr__

    def __reduce__(self):
        return (Hidden, (self.value, self.what))


def run_task(url: str, token: Hidden, run_id: str, key: str, secrets: Hidden, env=None) -> str:
    """Execute run ``run_id`` in this worker (a Dask task); return the run's final status.

    Each call is an attempt of its own (``KEY.xxxxxxxx``).  ``env`` (a
    :class:`~.dask_env.EnvRequest`): the run executes in that environment, built on this
    machine first if need be, in a process of its own; None: in this worker, with its Python.
    Never raises (Dask would log the task's arguments): an executor that failed before the run
    ended ends it ``failed`` with its reason (the environment step, or execution), when the
    workspace can still be reached.
    """
    from .failures import ENVIRONMENT, EXECUTION

    attempt = f"{key}.{uuid.uuid4().hex[:8]}"
    try:
        with task_output(key, attempt) as out:
            logs = {WORKER_LOG: str(_output_file(key))}  # stored with the run before it ends
            step = EXECUTION
            try:
                if env is None:
                    from ..remote.executor import execute_remote

                    status = execute_remote(url, token.value, run_id, attempt=attempt,
                                            secrets=secrets.value, target_logs=logs)
                else:
                    step = ENVIRONMENT
                    status = _execute_in(env, url, token, run_id, attempt, secrets, out, logs)
                    step = EXECUTION
            except Exception as exc:  # noqa: BLE001 - reported on the run, never raised to Dask
                why = f"{type(exc).__name__}: {exc}" if step == EXECUTION else str(exc)
                out.write(f"the executor failed: {why}\n".encode(errors="replace"))
                out.flush()
                _end_unended(url, token, run_id, attempt, why, step, logs, secrets)
                return f"failed: {why[:200]}"
            out.write(f"the run ended {status}\n".encode())
            return status
    except (OSError, ValueError) as exc:  # the output file: this worker's disk
        return f"not started: {type(exc).__name__}: {exc}"


def _execute_in(env, url: str, token: Hidden, run_id: str, attempt: str, secrets: Hidden, out,
                logs: dict[str, str]) -> str:
    """Execute the run in environment ``env`` (built here first if need be): its status as the
    executor's exit tells (completed, else failed: the executor ended the run itself)."""
    import json

    from .. import run_records as R
    from ..remote.executor import ENV_TARGET_LOGS
    from . import dask_env

    python = dask_env.ensure(env, lambda text: (out.write(f"{text}\n".encode()), out.flush()))
    out.flush()
    code = dask_env.run_executor(python, {**secrets.value, "MLWS_WORKSPACE": url,
                                          "MLWS_TOKEN": token.value, "MLWS_RUN_ID": run_id,
                                          "MLWS_ATTEMPT": attempt,
                                          ENV_TARGET_LOGS: json.dumps(logs)}, out)
    if code == 0:
        return R.COMPLETED
    _end_unended(url, token, run_id, attempt, f"the executor in environment {env.short_hash} "
                 f"exited with status {code} (its output: the run's {WORKER_LOG})", logs=logs,
                 secrets=secrets)
    return R.FAILED


def _end_unended(url: str, token: Hidden, run_id: str, attempt: str, why: str,
                 step: str | None = None, logs: dict[str, str] | None = None,
                 secrets: Hidden | None = None) -> None:
    """End a run whose executor failed before it ended the run: failed, at ``step`` (default
    execution), ``logs`` (:data:`WORKER_LOG`'s path) stored with it first, the run's
    ``secrets`` masked in them."""
    from .. import run_records as R
    from ..errors import MlwsError
    from ..remote.client import Client
    from ..remote.store import RemoteArtifacts, RemoteRuns
    from .failures import EXECUTION, StepFailed

    client = Client(url, token.value, attempt=attempt)  # its attempt, if it started: not refused
    try:
        runs = RemoteRuns(client)
        if runs.get(run_id).status in R.LIVE:
            for name, path in (logs or {}).items():
                _store_log(RemoteArtifacts(client, None), run_id, name, path,
                           secrets.value.values() if secrets is not None else ())
            where = f"dask worker {_worker_address()}"
            why = why if step not in (None, EXECUTION) else f"the run's executor failed: {why}"
            runs.end(run_id, R.FAILED, str(StepFailed(step or EXECUTION, where, why)))
    except MlwsError:
        pass  # ended meanwhile, or the workspace is out of reach: a poll of the target ends it
    finally:
        client.close()


def _store_log(files, run_id: str, name: str, path: str, secrets=()) -> None:
    """Store this machine's ``path`` (its newest :data:`OUTPUT_TAIL` bytes, the values
    ``secrets`` masked) as run ``run_id``'s log ``name``; nothing when it cannot be read or
    sent."""
    from ..errors import MlwsError
    from ..secrets.masking import Masker

    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - OUTPUT_TAIL))
            files.attach_log(run_id, name, Masker(secrets).bytes(f.read()))
    except (OSError, MlwsError):
        pass


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "?"


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
