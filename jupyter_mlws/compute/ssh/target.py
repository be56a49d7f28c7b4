"""The ``ssh`` compute backend: each run executes on an SSH host, driven by a runner here.

:meth:`SSHTarget.submit` starts a detached **runner** on this machine (``python -m
jupyter_mlws.compute.ssh.runner``, see :mod:`.runner`), which holds one SSH connection for the
run's life: it connects (a failure ends the run ``failed`` naming the step: DNS, TCP connect,
host key, authentication...), uploads the run's bundle by SFTP into ``WORKDIR/runs/RUN_ID``,
forwards a port of the host back to the workspace server (a reverse tunnel), picks the Python
to run with (the run's environment, built there once and reused; or the target's ``python``),
runs ``python -m jupyter_mlws.remote.executor`` there (its token on stdin, never argv), streams
its output to the runner's log, then removes the run's folder.

The runner records itself in ``.mlws/ssh-runners/RUN_ID.json`` in the workspace (its process,
the remote process group; removed when it exits) and writes its log beside it (``RUN_ID.log``,
kept: a run's live folder is cleared when the run ends, the runner outlives that): :meth:`poll` is "is the runner alive", :meth:`cancel` signals it (it stops the
remote process group, then exits), :meth:`logs` is its log.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ..base import EXITED, QUEUED, RUNNING, Handle, RemoteTarget
from ..local import Process, spawn_detached, stop_group

#: the runners' folder in the workspace: RUN_ID.log (its output), RUN_ID.json (its process)
RUNNERS = (".mlws", "ssh-runners")
LOG = "ssh-runner.log"


def runner_files(root, run_id: str) -> tuple[Path, Path]:
    """The runner of ``run_id``'s state file (``{"pid", "host", "started", "pgid"}``, there
    while it runs) and log, in the workspace at ``root``."""
    folder = Path(root).joinpath(*RUNNERS)
    return folder / f"{run_id}.json", folder / f"{run_id}.log"
RUNNER = "jupyter_mlws.compute.ssh.runner"


class SSHTarget(RemoteTarget):
    """Target ``target["name"]`` of type ssh (its settings: host, user, port, workdir, python,
    key_secret); see the module's text."""

    def _files(self, run_id: str) -> tuple[Path, Path]:
        if self.launch.root is None:
            from ...errors import Unavailable

            raise Unavailable("this workspace cannot run on ssh targets (no workspace folder given)")
        return runner_files(self.launch.root, run_id)

    def submit(self, job) -> Handle:
        """Start the run's runner; return at once (the runner records its process itself).
        Raises Unavailable when it cannot be started."""
        self.check_job(job)
        state, log = self._files(job.run_id)
        state.unlink(missing_ok=True)
        spawn_detached([sys.executable, "-m", RUNNER, str(self.launch.root), self.name,
                        job.run_id], log)
        return Handle(self.name, job.run_id, {})

    def _state(self, handle: Handle) -> dict | None:
        try:
            return json.loads(self._files(handle.run_id)[0].read_text())
        except (OSError, ValueError):
            return None

    def poll(self, handle: Handle) -> str:
        state = self._state(handle)
        if state is None:
            return QUEUED if self._files(handle.run_id)[1].exists() and not self._ended(handle) \
                else EXITED
        process = Process.from_dict(state)
        return RUNNING if process is not None and process.is_mine() else EXITED

    def _ended(self, handle: Handle) -> bool:
        """Whether the runner's log says it exited (it removes its state file last but one)."""
        log = self._files(handle.run_id)[1]
        return b"mlws ssh runner: exit" in log.read_bytes()[-4096:] if log.is_file() else False

    def cancel(self, handle: Handle, grace: float) -> None:
        """SIGTERM the runner: it stops the remote process group (the executor, its kernel and
        what they started), removes the run's folder and exits; killed after ``grace`` + the
        time the host needs to stop the group."""
        state = self._state(handle)
        process = Process.from_dict(state) if state else None
        if process is not None and process.pid != os.getpid() and process.is_mine():
            stop_group(process.pid, grace + 15.0)

    def logs(self, handle: Handle) -> dict[str, bytes]:
        path = self._files(handle.run_id)[1]
        return {LOG: path.read_bytes()} if path.is_file() else {}

