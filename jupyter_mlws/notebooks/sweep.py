"""Executes a sweep: its queued children, ``max_parallel`` at a time, each in a forked process.

The sweep's process imports the executor's libraries once, after the first children started,
so that every later child starts in milliseconds.  Everything goes through the sweep's
:class:`~.reporter.SweepReporter`; each child reports through its own reporter, opened in
the child.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from .. import run_records as R
from ..compute import local
from ..environment import capture as capture_environment
from .cancel import Canceled, cancel_dropped
from .executor import execute_with_kernel
from .reporter import SweepReporter


class ForkLauncher:
    """Children executed on this machine, each in a process forked from the sweep's."""

    #: seconds between two looks at the running children
    poll = 0.05

    def __init__(self, sweep: SweepReporter):
        self.sweep = sweep
        self.warm = False

    def start(self, run_id: str) -> int:
        return local.fork_session(_child(self.sweep, run_id))

    def started(self) -> None:
        """The first children started: import what every later one needs, once."""
        if not self.warm:
            _warm_up()
            self.warm = True

    def finished(self, pid: int) -> bool:
        return local.reap(pid)

    def stop(self, pids: list[int]) -> None:
        for pid in pids:
            local.signal_group(pid)
        for pid in pids:
            local.reap(pid, block=True)


class TargetLauncher:
    """Children handed to a compute target other than ``local`` (each executes there, and
    reports over HTTP); the sweep's process here watches their status.

    ``job(run_id)`` reads a child's job, ``hand_over(target, job)`` hands it to ``target``
    (recording its handle), ``runs`` reads their status, ``cancel_run(run_id)`` stops one and
    ``check(run_id)`` asks the target how a child's job is (:meth:`ComputeService.check
    <jupyter_mlws.compute.targets.ComputeService.check>`): a child whose work the target lost
    (a dead SSH runner, a Dask task its scheduler dropped) is ended there, so the sweep never
    waits for it.  Each child is checked every :attr:`check_every` seconds at most.
    """

    poll = 0.5
    check_every = 5.0

    def __init__(self, target, *, job, hand_over, runs, cancel_run, check):
        self.target, self._job, self._hand_over = target, job, hand_over
        self.runs, self._cancel_run, self._check = runs, cancel_run, check
        self._checked: dict[str, float] = {}

    def start(self, run_id: str) -> str:
        from ..errors import MlwsError

        try:
            self._hand_over(self.target, self._job(run_id))
        except MlwsError:
            pass  # the child is ended failed, saying why; the sweep goes on
        return run_id

    def started(self) -> None:
        """Nothing to prepare here: children execute elsewhere."""

    def finished(self, run_id: str) -> bool:
        if self.runs.get(run_id).status not in R.LIVE:
            return True
        now = time.monotonic()
        if now - self._checked.get(run_id, 0.0) < self.check_every:
            return False
        self._checked[run_id] = now
        self._check(run_id)  # a target that lost the child's work ends it
        return self.runs.get(run_id).status not in R.LIVE

    def stop(self, run_ids: list[str]) -> None:
        from ..errors import Conflict

        for run_id in run_ids:
            try:
                self._cancel_run(run_id)
            except Conflict:
                pass  # it ended meanwhile


def run_sweep(sweep: SweepReporter, max_parallel: int,
              on_progress: Callable[[int, int], None] | None = None, *, launcher=None) -> str:
    """Execute a sweep's queued children, ``max_parallel`` at a time; return its final status.

    ``launcher`` starts, watches and stops the children (default: a :class:`ForkLauncher`; a
    :class:`TargetLauncher` hands them to a compute target).  Forking needs a process that runs
    no other thread: the detached executor, or a process waiting for its sweep in-process
    (``mlws run submit --grid ... --wait``).  A cancel (the sweep ended elsewhere, SIGTERM
    raising ``Canceled``, or Ctrl-C) cancels the queued children and stops the running ones.
    """
    if launcher is None:
        if threading.active_count() > 1:
            raise RuntimeError("run_sweep forks: call it from a process that runs no other thread")
        launcher = ForkLauncher(sweep)
    queue = sweep.started()
    total = len(queue)
    running: list = []
    beat = checked = time.monotonic()
    try:
        while queue or running:
            while queue and len(running) < max_parallel:
                running.append(launcher.start(queue.pop(0)))
            launcher.started()
            time.sleep(launcher.poll)  # the next child starts as soon as a slot frees
            running = [child for child in running if not launcher.finished(child)]
            if on_progress is not None:
                on_progress(total - len(queue) - len(running), total)
            now = time.monotonic()
            if now - beat > sweep.heartbeat_interval:
                beat = now
                sweep.heartbeat()
            if now - checked > 0.5:
                checked = now
                if cancel_dropped() or sweep.is_canceled():  # by the user
                    raise Canceled()
    except (Canceled, KeyboardInterrupt):
        sweep.cancel_queued(queue, "the sweep was canceled")
        launcher.stop(running)
        return sweep.ended(canceled=True)
    return sweep.ended(canceled=False)


def _child(sweep: SweepReporter, run_id: str) -> Callable[[], int]:
    """What a forked child does: execute ``run_id`` through its own reporter; its exit code."""
    def work() -> int:
        with sweep.child(run_id) as reporter:
            return 0 if execute_with_kernel(reporter) == R.COMPLETED else 1
    return work


def _warm_up() -> None:
    """Import, once, what every child needs (the first children import it themselves)."""
    import nbclient  # noqa: F401
    import papermill  # noqa: F401
    from jupyter_client.kernelspec import KernelSpecManager  # noqa: F401
    from jupyter_client.manager import AsyncKernelManager  # noqa: F401

    capture_environment()  # fills the platform caches every later child reads
