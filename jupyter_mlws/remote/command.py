"""Execute a command run (``mlws run start --compute NAME -- python train.py``) where the remote
executor runs: an SSH host, a Dask worker.

:func:`execute_command` is what :func:`~.executor.execute_remote` does for a run whose job is a
:class:`~jupyter_mlws.command.CommandJob`: the command executes in the run's folder (its snapshot,
unpacked there), a child of this process leading a session of its own, with the run's
environment (``MLWS_WORKSPACE`` naming the workspace server, the run's token and id, so that
``mlws.log`` in it logs to the run over HTTP; its secrets), this Python's folder first on its
``PATH`` (``python`` there is the one the executor runs with: on an ssh target with ``env =
build``, the run's built environment).  Everything goes through the run's
:class:`~.reporter.HttpReporter`, as for a notebook run: heartbeats, its stdout and stderr
streamed as live logs (secrets masked), the environment of this Python, ``outputs/`` and the end
(the exit status as the run's status, as :mod:`jupyter_mlws.launcher` ends a local one).  A
cancel (heard on the heartbeat's reply, or SIGTERM from the target) stops the command's session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from .. import command as C
from .. import run_records as R
from ..errors import MlwsError
from .reporter import HttpReporter


def execute_command(reporter: HttpReporter, job: C.CommandJob) -> str:
    """Execute command run ``job`` in ``reporter.workdir`` and end it; return its final status."""
    from ..environment import capture
    from ..notebooks.executor import store_results

    try:
        env = {**os.environ, **reporter.kernel_env(), "PYTHONUNBUFFERED": "1"}
        # `python` in the command is the executor's (a built environment's, on an ssh target)
        env["PATH"] = os.pathsep.join(p for p in (str(Path(sys.executable).parent),
                                                  env.get("PATH")) if p)
        masker = reporter.masker()
    except MlwsError as exc:  # a secret the run was given did not reach this machine
        reporter.started()
        return reporter.ended(R.FAILED, f"its secrets could not be read: {exc}")
    reporter.started()
    environment: dict = {}
    capturing = threading.Thread(target=lambda: environment.update(capture()),
                                 name="mlws-environment", daemon=True)
    capturing.start()  # reads this Python's packages while the command runs
    status, error = _run(reporter, job, env, masker)
    capturing.join()
    outputs = Path(reporter.workdir) / "outputs"
    status, error = store_results((lambda: reporter.environment("", environment),
                                   lambda: outputs.is_dir() and reporter.store_outputs(outputs)),
                                  status, error)
    return reporter.ended(status, error)


def _run(reporter: HttpReporter, job: C.CommandJob, env: dict, masker) -> tuple[str, str | None]:
    """Start the command, wait for it (a cancel stops it); its status and reason."""
    from ..notebooks.cancel import install_cancel

    undo = install_cancel() if threading.current_thread() is threading.main_thread() else None
    pumps: list[threading.Thread] = []
    try:
        try:
            child, pumps = C.start(job.argv, cwd=reporter.workdir, env=env, masker=masker,
                                   stdin=subprocess.DEVNULL,
                                   logs=(reporter.live_file("stdout.log"),
                                         reporter.live_file("stderr.log")))
        except OSError as exc:
            return R.FAILED, f"could not start {job.argv[0]!r}: {exc.strerror}"
        return C.wait(child, reporter.is_canceled)
    finally:
        if undo is not None:
            undo()
        for p in pumps:
            p.join()
