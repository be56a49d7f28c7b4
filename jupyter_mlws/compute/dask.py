"""A Dask cluster as a compute target: each run, and each child of a sweep, is one Dask task.

The cluster is reached by its scheduler's address (``tcp://HOST:PORT``): a ``LocalCluster``, a
``dask scheduler`` with ``dask worker`` processes, or a cluster that dask-jobqueue or
dask-kubernetes started.  Its workers, and its scheduler (which unpickles task graphs), need
jupyter_mlws installed: ``mlws compute test`` says so when they lack it.

A run's task (:func:`.dask_tasks.run_task`) calls
:func:`~jupyter_mlws.remote.executor.execute_remote` on a worker, which reports to the
workspace server (:func:`jupyter_mlws.remote.server.ensure_server`) over HTTP with a token for
that run only.  Tasks are submitted fire-and-forget: they outlive the process that submitted
them, and are found again by their key, which the run's handle records with the scheduler's
address.  (A sweep's children are handed over one by one by the sweep's process, each a
run of its own.)

Failures:

- a scheduler that cannot be reached fails the submission (:class:`~.failures.StepFailed`
  naming the step: DNS, TCP connect, Dask scheduler, and the address): nothing is queued;
- a worker that dies mid-task: Dask runs the task again on another worker (its allowed
  failures); each try is an attempt of its own, and the workspace refuses writes from an
  attempt once a newer one started, so the run's results are recorded once;
- a task the scheduler lost (its workers died more often than Dask allows, the scheduler
  restarted): :meth:`DaskTarget.poll` ends the run ``failed`` with a reason naming the Dask
  step;
- heartbeats come from the worker's executor: a run whose executor vanished without a retry
  ends ``killed``, as a local run does;
- workers that cannot import jupyter_mlws (which could not even load the run's task: such a
  worker dies on it): the submission fails at once, naming them (asked of the workers at most
  once a minute per scheduler), and nothing is queued.

With ``env: build`` (the target's setting) a run executes in its kernel's environment, built on
the worker's machine on first use and then reused (:mod:`.dask_env`); with ``system`` (the
default) in the worker's own Python.

``distributed`` is imported only when a dask target is used (``pip install
'jupyter_mlws[dask]'``).
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from typing import Any

from .. import run_records as R
from ..errors import MlwsError, Unavailable
from .base import EXITED, QUEUED, RUNNING, UNKNOWN, Handle, Job, RemoteTarget
from .dask_tasks import (PROCESSING, WAITING, WORKER_LOG, Hidden, cancel_keys, lost_reason,
                         machine_output, mlws_version, run_task, task_key, task_states)
from .failures import ENVIRONMENT, SCHEDULER, StepFailed
from .network import DEFAULT_TIMEOUT, connect_tcp, resolve

def _distributed():
    """The ``distributed`` package, or Unavailable saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise Unavailable("dask targets need the 'distributed' package here: pip install "
                          "'jupyter_mlws[dask]'") from None
    return distributed


def connect(address: str, timeout: float = DEFAULT_TIMEOUT):
    """A new ``distributed.Client`` of the scheduler at ``address`` (close it), reached step by
    step.

    Raises
    ------
    StepFailed
        Naming the step that failed: ``dns``, ``tcp`` (connection refused, no answer) or
        ``scheduler`` (something answers on the port, but no Dask scheduler).
    Unavailable
        ``distributed`` is not installed here.
    """
    from .settings import dask_host_port

    distributed = _distributed()
    where = f"dask {address}"
    host, port = dask_host_port(address)
    connect_tcp(resolve(host, port, where), port, where, timeout).close()
    try:
        _identity(address, timeout)
        return distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, concurrent.futures.TimeoutError) as exc:
        raise StepFailed(SCHEDULER, where, f"no Dask scheduler answered on its port "
                                           f"({type(exc).__name__}): is it a 'dask scheduler', "
                                           "and of a compatible version?") from None


def _identity(address: str, timeout: float) -> dict:
    """The scheduler's ``identity`` answer within ``timeout`` seconds, asked from a thread of its
    own (a caller's event loop may be running); TimeoutError when it gives none.

    A ``Client`` alone waits for ever on a port that accepts a connection and then says
    nothing; this question is abandoned in time.
    """
    import asyncio

    from distributed.core import rpc

    async def ask() -> dict:
        async with rpc(address, timeout=timeout) as scheduler:
            return await asyncio.wait_for(scheduler.identity(), timeout)

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="mlws-dask-probe") as pool:
        return pool.submit(asyncio.run, asyncio.wait_for(ask(), timeout)).result(timeout + 5)


def _close(client) -> None:
    try:
        client.close()
    except Exception:  # noqa: BLE001 - a client of a dead scheduler may fail to close
        pass


def workers(client) -> dict[str, int]:
    """The scheduler's workers: address -> threads."""
    return dict(client.nthreads())


class DaskTarget(RemoteTarget):
    """A dask target: its record's ``address`` names the scheduler (see the module's text).

    Built by the workspace for one target record with its
    :class:`~jupyter_mlws.compute.base.RemoteLaunch`; ``launch.runs`` (the run service) lets
    :meth:`poll` end a run whose task was lost.
    """

    LOG = WORKER_LOG
    #: seconds reaching the scheduler may take
    timeout = DEFAULT_TIMEOUT
    #: seconds between two checks that the workers import jupyter_mlws (at a submission)
    WORKERS_CHECK_S = 60.0

    def __init__(self, target: dict, launch):
        super().__init__(target, launch)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._workers_checked: dict[str, float] = {}

    @property
    def address(self) -> str:
        return self.target["address"]

    def client(self, address: str | None = None):
        """The open client of ``address`` (default: this target's scheduler; a handle may name
        the one a run was submitted to): connected on first use, again when it was lost;
        StepFailed when the scheduler cannot be reached."""
        address = address or self.address
        with self._lock:
            client = self._clients.get(address)
            if client is not None and client.status == "running":
                return client
            if client is not None:
                self._clients.pop(address)
                _close(client)
            self._clients[address] = client = connect(address, self.timeout)
            return client

    def close(self) -> None:
        """Close the connections to the schedulers (submitted tasks go on)."""
        with self._lock:
            while self._clients:
                _close(self._clients.popitem()[1])

    # -- submit ----------------------------------------------------------------------------

    def submit(self, job: Job) -> Handle:
        """Submit notebook or command run ``job`` as one task and return once the scheduler holds it.

        Raises StepFailed (an Unavailable) when the scheduler cannot be reached: nothing was
        submitted then, and no token was issued.
        """
        self.check_job(job)
        distributed = _distributed()
        client = self.client()
        self._check_workers(client)
        env = self._environment(job)
        url = self.launch.server_url()
        key = task_key(job.run_id)
        secrets = Hidden(self.launch.secret_env(job.run_id), "run secrets")
        token = Hidden(self.launch.issue_token(job.run_id), "run token")
        future = client.submit(run_task, url, token, job.run_id, key, secrets, env, key=key,
                               pure=False)
        distributed.fire_and_forget(future)
        self._await_held(client, key)
        return Handle(self.name, job.run_id, {"scheduler": self.address, "key": key})

    def _check_workers(self, client) -> None:
        """StepFailed (environment) when workers of the scheduler cannot import jupyter_mlws
        (asked at most every :attr:`WORKERS_CHECK_S` seconds per scheduler)."""
        from .checks import workers_lacking

        now = time.monotonic()
        if now - self._workers_checked.get(self.address, -1e9) < self.WORKERS_CHECK_S:
            return
        try:
            seen = dict(client.run(mlws_version, on_error="return"))
        except Exception:  # noqa: BLE001 - the question failed, not the workers: submit anyway
            return
        lacking = workers_lacking(seen)
        if lacking:
            raise StepFailed(ENVIRONMENT, f"dask {self.address}", lacking)
        self._workers_checked[self.address] = now

    def _environment(self, job: Job):
        """With ``env: build``, the run's environment as its task carries it (its kernel's
        spec and local wheels, built here once); else None (the workers' own Python).
        Unavailable when that environment lacks jupyter_mlws."""
        if self.target.get("env", "system") != "build":
            return None
        from .dask_env import EnvRequest

        environments = self.launch.environments
        spec = environments.for_remote_run(job.kernel)  # type: ignore[attr-defined]
        return EnvRequest.of(spec, environments.local_wheels(spec))

    def _await_held(self, client, key: str) -> None:
        """Wait until the scheduler holds task ``key`` (the submission travels on the client's
        own stream: a process that exits right after must not take it with it)."""
        deadline = time.monotonic() + self.timeout
        while client.run_on_scheduler(task_states, [key])[key] is None:
            if time.monotonic() > deadline:
                raise StepFailed(SCHEDULER, f"dask {self.address}", f"the scheduler did not take "
                                 f"the run's task within {self.timeout:g} s")
            time.sleep(0.05)

    # -- watch -------------------------------------------------------------------------------

    def state(self, handle: Handle) -> str | None:
        """The scheduler's state of the handle's task (``processing``, ``waiting``, ...; None
        when it has no such task: ended and forgotten, or lost).  StepFailed when the scheduler
        cannot be reached."""
        key = handle.data["key"]
        return self.client(handle.data["scheduler"]).run_on_scheduler(task_states, [key])[key]

    def poll(self, handle: Handle) -> str:
        """The state of the handle's task; :data:`UNKNOWN` when the scheduler cannot be reached.

        A task the scheduler no longer has while its run is still queued or running was lost
        (its executor would have ended the run): the run is ended ``failed`` here, with a reason
        naming the Dask step.
        """
        try:
            state = self.state(handle)
        except MlwsError:
            return UNKNOWN
        if state is None:
            self._end_lost(handle, lost_reason(handle.data["scheduler"]))
        if state in WAITING:
            return QUEUED
        return RUNNING if state in PROCESSING else EXITED

    def _end_lost(self, handle: Handle, reason: str) -> None:
        runs = getattr(self.launch, "runs", None)
        if runs is None or runs.get(handle.run_id).status not in R.LIVE:
            return
        try:
            runs.end(handle.run_id, R.FAILED, reason)
        except MlwsError:
            pass  # it ended meanwhile

    def cancel(self, handle: Handle, grace: float) -> None:
        """Cancel the handle's task by its key, whoever submitted it: a task not started never
        runs.  (A running one stops when its executor hears the cancel on its heartbeat's reply:
        a worker cannot interrupt a task's thread.)  Returns once the scheduler let it go, or
        after ``grace`` seconds; a scheduler out of reach is left alone."""
        key = handle.data["key"]
        try:
            client = self.client(handle.data["scheduler"])
            cancel_keys(client, [key])
            deadline = time.monotonic() + grace
            while client.run_on_scheduler(task_states, [key])[key] is not None:
                if time.monotonic() >= deadline:
                    return
                time.sleep(0.1)
        except MlwsError:
            return

    def logs(self, handle: Handle) -> dict[str, bytes]:
        """``worker.log``: what the run's executor logged on the workers that ran it (each try
        under a line naming its attempt and its worker), from every machine that still has it;
        empty when none has (the run's own logs are in the workspace)."""
        try:
            outputs = self.client(handle.data["scheduler"]).run(machine_output, handle.data["key"],
                                                                on_error="return")
        except MlwsError:
            return {}
        by_machine = dict(o for o in outputs.values() if isinstance(o, tuple) and o[1])
        return {self.LOG: b"".join(by_machine[m] for m in sorted(by_machine))} if by_machine else {}
