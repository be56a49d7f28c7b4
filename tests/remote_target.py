"""A compute target for tests of the remote path: each run's executor is ``python -m
jupyter_mlws.remote.executor`` in a process of its own on this machine, given only what an
executor elsewhere is given (the server's URL, the run's token and id in its environment) and
a folder of its own.  Registered by tests in place of a backend type (``"remote_target:ProcessTarget"``)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_mlws.compute.base import Handle, RemoteTarget
from jupyter_mlws.compute.local import LocalTarget, Process, stop_group

REPO = Path(__file__).resolve().parents[1]


#: every executor process started (tests wait for them: see ``reap``)
STARTED: list[subprocess.Popen] = []


def reap(timeout: float = 60.0) -> None:
    """Wait for every executor started to exit (kill what is left after ``timeout``)."""
    while STARTED:
        proc = STARTED.pop()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            stop_group(proc.pid, 0)
            proc.wait()


class ProcessTarget(RemoteTarget):
    def submit(self, job) -> Handle:
        env = {**self.executor_env(job.run_id), "PATH": os.environ["PATH"],
               "PYTHONPATH": str(REPO), "HOME": tempfile.mkdtemp(prefix="mlws-home-")}
        cwd = tempfile.mkdtemp(prefix="mlws-elsewhere-")
        proc = subprocess.Popen([sys.executable, "-m", "jupyter_mlws.remote.executor"], env=env,
                                cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        STARTED.append(proc)
        return Handle(self.name, job.run_id, {**Process.of(proc.pid).to_dict(), "cwd": cwd})

    # its executor is a process of this machine, recorded in the handle as LocalTarget's
    poll = LocalTarget.poll
    cancel = LocalTarget.cancel

    def logs(self, handle: Handle) -> dict[str, bytes]:
        return {}
