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
the run's folder and process group on the host; removed when it exits) and writes its log beside
it (``RUN_ID.log``, kept after the run: a run's live folder is cleared when the run ends, the
runner outlives that; pruned after 7 days, see :mod:`.runners`): :meth:`poll` is "is the runner
alive", :meth:`cancel` signals it (it stops the remote process group, then exits), :meth:`logs`
is its log.

**A dead runner.**  The runner holds the run's only way back to the workspace (the reverse
tunnel its executor reports through), so the runner is what is authoritative here: a runner
that died (``kill -9``, this machine restarted) while its run is live ends the run ``killed``
as soon as the workspace polls it (:meth:`poll`: ``mlws run wait``/``--wait``, a sweep
watching its children), and a cleanup runner is started at once to stop the run's processes on
the host and remove its folder.  Nobody polling, the run's heartbeats (which came from the host
through that tunnel) stop, and the workspace ends it ``killed`` after its heartbeat timeout, as
a local run; its executor on the host stops by itself once it has not reached the workspace for
that long (:class:`~jupyter_mlws.remote.reporter.HttpReporter`), and what is left there is
cleaned by the next runner on the target or ``mlws compute test``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ... import run_records as R
from ..base import EXITED, QUEUED, RUNNING, Handle, RemoteTarget
from ..local import Process, spawn_detached, stop_group
from .runners import is_dead, read_state, runner_files

LOG = "ssh-runner.log"
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
        return read_state(self._files(handle.run_id)[0])

    def poll(self, handle: Handle) -> str:
        """Whether the run's runner is alive.  A runner of this machine that died while its run
        is live ends the run ``killed`` and starts a cleanup runner (see the module's text)."""
        state = self._state(handle)
        if state is None:
            if self._files(handle.run_id)[1].exists() and not self._ended(handle):
                return QUEUED
            self._end_unstarted(handle)
            return EXITED
        if is_dead(state):
            self._end_dead(handle, state)
            return EXITED
        process = Process.from_dict(state)
        return RUNNING if process is not None and process.is_mine() else EXITED

    def _end_dead(self, handle: Handle, state: dict) -> None:
        from ...errors import Conflict, NotFound

        runs = self.launch.runs
        if runs is None or runs.get(handle.run_id).status not in R.LIVE:
            return
        try:
            runs.kill(handle.run_id, f"killed: its runner on this machine (process {state['pid']}) "
                      "died before the run ended (killed, or the machine restarted), and with it "
                      f"the connection to {self.name}: the run's processes there are stopped")
        except (Conflict, NotFound):
            return  # it ended meanwhile
        self.clean_up()

    def _end_unstarted(self, handle: Handle) -> None:
        """The runner exited and its run is still queued: nothing will start it, end it
        ``failed`` (the runner does so itself, unless it could not)."""
        from ...errors import Conflict, NotFound

        runs = self.launch.runs
        if runs is None or not self._ended(handle) or runs.get(handle.run_id).status != R.QUEUED:
            return
        try:
            runs.end(handle.run_id, R.FAILED, f"{self.name}: the execution step failed: the run's "
                     "ssh runner exited before the run started (its log: 'mlws run logs "
                     f"{handle.run_id}')")
        except (Conflict, NotFound):
            pass

    def clean_up(self) -> None:
        """Start a cleanup runner: it stops and removes what dead runners left on the host."""
        root = self.launch.root
        spawn_detached([sys.executable, "-m", RUNNER, str(root), self.name, "--cleanup"],
                       runner_files(root, f"cleanup-{self.name}")[1])

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

