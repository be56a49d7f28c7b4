"""A Dask cluster as a compute target: each run, and each child of a sweep, is one Dask task.

The cluster is reached by its scheduler's address (``tcp://HOST:PORT``): a ``LocalCluster``, a
``dask scheduler`` with ``dask worker`` processes, or a cluster that dask-jobqueue or
dask-kubernetes started.  Its workers, and its scheduler (which unpickles task graphs), need
jupyter_mlws installed: ``mlws compute test`` says so when they lack it.

A run's task (:func:`.dask_tasks.run_task`) executes the run on a worker through the remote
executor, which reports to the workspace server (:func:`jupyter_mlws.remote.server.ensure_server`)
over HTTP with a token for that run only.  Tasks are submitted fire-and-forget: they outlive
the process that submitted them, and are found again by their key, recorded in the run's
handle with the scheduler's address.

Failures:

- a scheduler that cannot be reached fails the submission (:class:`~.failures.StepFailed`
  naming the step: DNS, TCP connect, the Dask scheduler) and nothing is queued;
- a worker that dies mid-task: Dask runs the task again on another worker (its allowed
  failures); each try is an attempt of its own, and the workspace refuses writes from an
  attempt once a newer one started, so the run's results are recorded once;
- a task the scheduler lost (its workers died too often, the scheduler restarted): the run is
  ended ``failed`` with a reason naming the Dask step when it is next polled;
- heartbeats come from the worker's executor: a run whose executor vanished without a
  retry ends ``killed``, as a local run does.

``distributed`` is imported only when a dask target is used (``pip install
'jupyter_mlws[dask]'``).
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from pathlib import Path
from typing import Any, Callable

from .. import run_records as R
from ..errors import MlwsError, Unavailable
from .base import EXITED, QUEUED, RUNNING, UNKNOWN, ComputeTarget, Handle, Job
from .dask_tasks import (PROCESSING, WAITING, RunToken, cancel_keys, lost_reason, machine_output,
                         run_task, sweep_task, task_key, task_states)
from .failures import SCHEDULER, StepFailed
from .network import DEFAULT_TIMEOUT, connect_tcp, resolve
#: a sweep's watcher is scheduled before its children
SWEEP_PRIORITY = 10


def _distributed():
    """The ``distributed`` package, or Unavailable saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise Unavailable("dask targets need the 'distributed' package here: pip install "
                          "'jupyter_mlws[dask]'") from None
    return distributed


def connect(address: str, timeout: float = DEFAULT_TIMEOUT):
    """A ``distributed.Client`` of the scheduler at ``address`` (close it), reached step by step.

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


class DaskTarget(ComputeTarget):
    """A Dask scheduler's cluster (see the module's text).

    One object is built per workspace (the registry's ``dask`` backend), without an address;
    :meth:`for_target` gives the one bound to a target's record.

    Parameters
    ----------
    runs : RunService
        Reads the runs (a sweep's queued children, whether a run is still live) and ends a run
        whose task was lost.
    tokens : RunTokens
        Issues each run's token (``issue(run_id) -> str``).
    server_url : callable
        ``server_url() -> str``: the URL of the workspace server a worker reports to (started
        if needed; called on submit only).
    live_root : path
        The folder of the runs' live logs (what :meth:`logs` reads when no worker has the
        task's output).
    address : str, optional
        The scheduler's address (``tcp://HOST:PORT``); given by :meth:`for_target`.
    target : str
        The target's name, as runs record it.
    timeout : float
        Seconds reaching the scheduler may take.
    """

    name = "dask"
    LOG = "worker.log"

    def __init__(self, *, runs, tokens, server_url: Callable[[], str], live_root, address: str | None = None,
                 target: str = "dask", timeout: float = DEFAULT_TIMEOUT,
                 _clients: dict | None = None):
        self.runs, self.tokens, self.server_url = runs, tokens, server_url
        self.live_root = Path(live_root)
        self.address, self.target, self.timeout = address, target, timeout
        self._clients: dict[str, Any] = {} if _clients is None else _clients
        self._lock = threading.Lock()

    def for_target(self, record: dict) -> "DaskTarget":
        """This backend bound to dask target ``record`` (its ``name`` and ``address``); bound
        objects share their clients."""
        return DaskTarget(runs=self.runs, tokens=self.tokens, server_url=self.server_url,
                          live_root=self.live_root, address=record["address"],
                          target=record["name"], timeout=self.timeout, _clients=self._clients)

    def close(self) -> None:
        """Close the connections to the schedulers (submitted tasks go on)."""
        while self._clients:
            _, client = self._clients.popitem()
            try:
                client.close()
            except Exception:  # noqa: BLE001 - a client of a dead scheduler may fail to close
                pass

    def client(self, address: str | None = None):
        """The open client of ``address`` (default: this target's scheduler), connected once and
        reused while it lives; StepFailed when the scheduler cannot be reached."""
        address = address or self._address()
        with self._lock:
            client = self._clients.get(address)
            if client is not None and client.status == "running":
                return client
            if client is not None:
                self._clients.pop(address)
                client.close()
            self._clients[address] = client = connect(address, self.timeout)
            return client

    def _address(self) -> str:
        if not self.address:
            raise Unavailable("this dask backend is bound to no scheduler: use "
                              "ws.compute.target(NAME) of a dask target")
        return self.address

    # -- submit ----------------------------------------------------------------------------

    def submit(self, job: Job) -> Handle:
        """Submit ``job`` as tasks on the cluster and return once the scheduler holds them.

        A notebook run is one task; a sweep is a task per queued child and one that watches the
        sweep.  Raises StepFailed (an Unavailable) when the scheduler cannot be reached:
        nothing was submitted then.
        """
        distributed = _distributed()
        client = self.client()
        url = self.server_url()
        if job.kind == "sweep":
            children = {c.id: task_key("run", c.id) for c in self.runs.children(job.run_id)
                        if c.status == R.QUEUED}
            key = task_key("sweep", job.run_id)
            futures = [client.submit(sweep_task, url, self._token(job.run_id), job.run_id, children,
                                     self._address(), key=key, pure=False, priority=SWEEP_PRIORITY)]
            futures += [client.submit(run_task, url, self._token(c), c, k, key=k, pure=False)
                        for c, k in children.items()]
            data = {"children": children}
        else:
            key = task_key("run", job.run_id)
            futures = [client.submit(run_task, url, self._token(job.run_id), job.run_id, key,
                                     key=key, pure=False)]
            data = {}
        distributed.fire_and_forget(futures)
        self._await_held(client, [f.key for f in futures])
        return Handle(self.target, job.run_id, {"scheduler": self._address(), "key": key, **data})

    def _token(self, run_id: str) -> RunToken:
        return RunToken(self.tokens.issue(run_id))

    def _await_held(self, client, keys: list[str]) -> None:
        """Wait until the scheduler holds ``keys`` (the submission travels on the client's
        own stream: a process that exits right after must not take it with it)."""
        deadline = time.monotonic() + self.timeout
        while True:
            states = client.run_on_scheduler(task_states, keys)
            if all(s is not None for s in states.values()):
                return
            if time.monotonic() > deadline:
                raise StepFailed(SCHEDULER, f"dask {self._address()}",
                                 f"the scheduler did not take the run's tasks within "
                                 f"{self.timeout:g} s")
            time.sleep(0.05)

    # -- watch -------------------------------------------------------------------------------

    def states(self, handle: Handle) -> dict[str, str | None]:
        """The scheduler's state of each of the handle's tasks, by run id (None: it has no such
        task).  StepFailed when the scheduler cannot be reached."""
        keys = {handle.run_id: handle.data["key"], **handle.data.get("children", {})}
        client = self.client(handle.data["scheduler"])
        found = client.run_on_scheduler(task_states, list(keys.values()))
        return {run_id: found.get(key) for run_id, key in keys.items()}

    def poll(self, handle: Handle) -> str:
        """The state of the handle's task (a sweep's: its watcher's); :data:`UNKNOWN` when the
        scheduler cannot be reached.

        A task the scheduler no longer has while its run is still queued or running was lost:
        that run is ended ``failed`` here, with a reason naming the Dask step (a sweep's
        children too).
        """
        try:
            states = self.states(handle)
        except MlwsError:
            return UNKNOWN
        for run_id, state in states.items():
            if state is None:
                self._end_lost(run_id, handle.data["scheduler"])
        state = states[handle.run_id]
        if state in WAITING:
            return QUEUED
        return RUNNING if state in PROCESSING else EXITED

    def _end_lost(self, run_id: str, address: str) -> None:
        if self.runs.get(run_id).status in R.LIVE:
            try:
                self.runs.end(run_id, R.FAILED, lost_reason(address))
            except MlwsError:
                pass  # it ended meanwhile

    def cancel(self, handle: Handle, grace: float) -> None:
        """Cancel the handle's tasks (by key, whoever submitted them): a task not started never
        runs, a running one stops its executor (SIGTERM, SIGKILL after a grace), whose kernel
        goes with it.  Returns once the scheduler has let them go, or after ``grace`` seconds.
        A scheduler out of reach is left alone (the run's executor hears of the cancel through
        its heartbeat)."""
        keys = [handle.data["key"], *handle.data.get("children", {}).values()]
        try:
            client = self.client(handle.data["scheduler"])
            cancel_keys(client, keys)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                if all(s is None for s in client.run_on_scheduler(task_states, keys).values()):
                    return
                time.sleep(0.1)
        except MlwsError:
            return

    def logs(self, handle: Handle) -> dict[str, bytes]:
        """``worker.log``: the output of the run's executor on the workers that ran it (each
        try under a line naming its attempt and worker), when a worker still has it; else the
        run's live logs kept in the workspace."""
        found: dict[str, bytes] = {}
        try:
            client = self.client(handle.data["scheduler"])
            outputs = client.run(machine_output, handle.data["key"], on_error="return")
            by_machine = dict(o for o in outputs.values() if isinstance(o, tuple) and o[1])
            if by_machine:
                found[self.LOG] = b"".join(by_machine[m] for m in sorted(by_machine))
        except MlwsError:
            pass
        if not found:
            folder = self.live_root / handle.run_id
            for path in sorted(folder.glob("*.log")) if folder.is_dir() else ():
                found[path.name] = path.read_bytes()
        return found


def workers(client) -> dict[str, int]:
    """The scheduler's workers: address -> threads."""
    return dict(client.nthreads())

