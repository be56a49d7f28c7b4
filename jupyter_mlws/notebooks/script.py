"""Executes a Python script run (a pipeline's script step): the executor's other engine.

A job whose file is a ``.py`` runs as ``python SCRIPT`` with this interpreter, in the job's
folder, with no kernel.  It reports exactly what a notebook run reports through its
:class:`~.reporter.Reporter` (attempts, the environment, stdout and stderr capped and masked,
``outputs/``, the status), so it executes on every compute target the notebook executor
does.  Its parameters reach it as a JSON file named by ``MLWS_PARAMETERS`` (read them with
:func:`jupyter_mlws.parameters`, :mod:`jupyter_mlws.context`); ``MLWS_WORKSPACE`` and ``MLWS_RUN_ID`` make ``mlws.log`` log
to the run.  The run ends completed (exit status 0), failed (another status, with the end of
its stderr), timed_out (the job's ``timeout``) or canceled.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

from .. import run_records as R
from ..environment import capture as capture_environment
from ..context import ENV_PARAMETERS
from ..errors import MlwsError
from .cancel import Canceled, install_cancel
from .engine import CappedLog
from .reporter import Reporter

#: seconds a script has to end after SIGTERM (a cancel, a timeout) before SIGKILL
GRACE_S = 5.0
#: characters of a failed script's stderr its reason ends with
STDERR_TAIL = 1500


def is_script(job) -> bool:
    """Whether ``job`` (a notebook job) runs a Python script rather than a notebook."""
    return str(getattr(job, "notebook", "")).endswith(".py")


def execute_script(reporter: Reporter) -> str:
    """Execute the script run of ``reporter`` (recorded ``queued``) and end it; its status."""
    from .executor import _finish, run_attempts

    job = reporter.job()
    try:
        env = reporter.kernel_env()
    except MlwsError as exc:  # its secrets cannot be read
        reporter.started()
        return reporter.ended(R.FAILED, f"its secrets could not be read: {exc}")
    reporter.started()
    masker = reporter.masker()
    params = reporter.live_file("parameters.json")
    try:
        params.write_text(json.dumps(reporter.parameters(job)))  # dataset versions as local paths
    except MlwsError as exc:
        return reporter.ended(R.FAILED, f"its dataset parameters could not be read: {exc}")
    env = {**os.environ, **env, ENV_PARAMETERS: str(params)}
    environment: dict = {}
    capturing = threading.Thread(target=lambda: environment.update(capture_environment()),
                                 name="mlws-environment", daemon=True)
    capturing.start()
    status, error = R.FAILED, "the executor stopped before the script ran"
    undo_cancel = install_cancel() if _main_thread() else None
    try:
        status, error = run_attempts(reporter, job.retries,
                                     lambda _attempt_no: _attempt(reporter, job, env, masker), masker)
    except Canceled:
        status, error = R.CANCELED, "canceled"
    finally:
        if undo_cancel is not None:
            undo_cancel()
        capturing.join()
        status = _finish(reporter, job, reporter.live_file("output.ipynb"), status, error,
                         environment)
    return status


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _attempt(reporter: Reporter, job, env: dict, masker) -> tuple[str, str | None]:
    """One execution of the script: its status and why it did not complete."""
    stdout = CappedLog(reporter.live_file("stdout.log"), masker=masker)
    stderr = CappedLog(reporter.live_file("stderr.log"), masker=masker)
    tail: list[str] = []
    reporter.progress(0, 1)
    # in the executor's process group: a cancel that stops the executor's group stops it too
    proc = subprocess.Popen([sys.executable, str(job.path)], cwd=job.workdir, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    pumps = [threading.Thread(target=_pump, args=(proc.stdout, stdout, None), daemon=True),
             threading.Thread(target=_pump, args=(proc.stderr, stderr, tail), daemon=True)]
    for pump in pumps:
        pump.start()
    try:
        status, error = _wait(reporter, proc, job)
    except BaseException:
        _stop(proc)
        raise
    finally:
        for pump in pumps:
            pump.join()
        stdout.close()
        stderr.close()
    if status == R.FAILED and error is None:
        text = masker.text("".join(tail))[-STDERR_TAIL:].strip()
        error = f"{job.notebook} exited with status {proc.returncode}" + (f":\n{text}" if text else "")
    if status == R.COMPLETED:
        reporter.progress(1, 1)
    return status, error


def _wait(reporter: Reporter, proc: subprocess.Popen, job) -> tuple[str, str | None]:
    """Wait for the script, hearing a cancel (checked every second) and the job's timeout."""
    deadline = None if job.timeout is None else time.monotonic() + job.timeout
    checked = time.monotonic()
    while True:
        try:
            code = proc.wait(0.1)
            return (R.COMPLETED, None) if code == 0 else (R.FAILED, None)
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if deadline is not None and now > deadline:
            _stop(proc)
            return R.TIMED_OUT, f"{job.notebook} ran over its timeout of {job.timeout:g} s"
        if now - checked > 1.0:
            checked = now
            if reporter.is_canceled():
                _stop(proc)
                return R.CANCELED, "canceled"


def _pump(src, log: CappedLog, tail: list[str] | None) -> None:
    """Copy a script's stream into its log (and keep its end, for a failure's reason)."""
    with src:
        for chunk in iter(lambda: src.read1(65536), b""):
            text = chunk.decode(errors="replace")
            log.write(text)
            if tail is not None:
                tail.append(text)
                while len(tail) > 1 and sum(map(len, tail)) > 4 * STDERR_TAIL:
                    tail.pop(0)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the script, SIGKILL it after :data:`GRACE_S`."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
