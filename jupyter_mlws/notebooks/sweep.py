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


def run_sweep(sweep: SweepReporter, max_parallel: int,
              on_progress: Callable[[int, int], None] | None = None) -> str:
    """Execute a sweep's queued children, ``max_parallel`` at a time; return its final status.

    Forking needs a process that runs no other thread: the detached executor, or a process
    waiting for its sweep in-process (``mlws run submit --grid ... --wait``).  A cancel (the
    sweep ended elsewhere, SIGTERM raising ``Canceled``, or Ctrl-C) cancels the queued
    children and stops the running ones.
    """
    if threading.active_count() > 1:
        raise RuntimeError("run_sweep forks: call it from a process that runs no other thread")
    queue = sweep.started()
    total = len(queue)
    running: list[int] = []
    beat = checked = time.monotonic()
    warm = False
    try:
        while queue or running:
            while queue and len(running) < max_parallel:
                running.append(local.fork_session(_child(sweep, queue.pop(0))))
            if not warm:
                _warm_up()
                warm = True
            time.sleep(0.05)  # the next child starts as soon as a slot frees
            running = [pid for pid in running if not local.reap(pid)]
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
        for pid in running:
            local.signal_group(pid)
        for pid in running:
            local.reap(pid, block=True)
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
