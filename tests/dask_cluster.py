"""Real Dask clusters for the tests: a ``dask scheduler`` and ``dask worker`` processes, each in a
session of its own (``setsid``) and stopped by killing its process group, and a
``LocalCluster`` held by a small Python process of its own (as a notebook would hold one).

Every process binds 127.0.0.1; the workers inherit this process's environment (its
``PYTHONPATH`` included), so that they import the jupyter_mlws under test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
#: seconds a cluster may take to come up
START_TIMEOUT = 60.0
#: the LocalCluster's holder: prints its scheduler's address, then waits to be killed
LOCAL_CLUSTER = """
import sys, time
from distributed import LocalCluster
cluster = LocalCluster(n_workers=int(sys.argv[1]), threads_per_worker=1, processes=True,
                       host="127.0.0.1", dashboard_address=None)
print(cluster.scheduler_address, flush=True)
while True:
    time.sleep(3600)
"""


#: a dask worker in a Python where jupyter_mlws cannot be imported
WITHOUT_MLWS = """
import sys
sys.modules["jupyter_mlws"] = None
from distributed.cli.dask_worker import main
sys.argv[0] = "dask-worker"
main()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(argv: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    out = open(log, "ab")
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env=env)
    finally:
        out.close()


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, grace: float = 10.0) -> None:
    """Stop ``proc``'s process group (``sig``, then SIGKILL after ``grace``) and reap it."""
    try:
        os.killpg(proc.pid, sig)
        proc.wait(grace)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_for_workers(address: str, n: int, timeout: float = START_TIMEOUT) -> list[str]:
    """Wait until the scheduler at ``address`` has exactly ``n`` workers; their addresses."""
    from distributed import Client

    deadline = time.monotonic() + timeout
    with Client(address, timeout=timeout, set_as_default=False) as client:
        while True:
            workers = sorted(client.nthreads())
            if len(workers) == n:
                return workers
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(workers)} workers joined {address}, not {n}")
            time.sleep(0.1)


class Cluster:
    """A ``dask scheduler`` and ``dask worker`` processes (one worker process each, one thread).

    ``workers`` maps a worker's name to its process (its group: nanny, worker and what the
    worker started).
    """

    def __init__(self, scheduler_env: dict | None = None):
        """``scheduler_env``: the scheduler's environment (its Dask settings, e.g.
        ``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES``), default this process's."""
        self.folder = Path(tempfile.mkdtemp(prefix="mlws-dask-"))
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.scheduler_env = scheduler_env
        self.scheduler: subprocess.Popen | None = None
        self.workers: dict[str, subprocess.Popen] = {}
        self._count = 0

    def start(self, n_workers: int = 2) -> "Cluster":
        self.scheduler = _start([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port",
                                 str(self.port), "--no-dashboard"], self.folder / "scheduler.log",
                                env=self.scheduler_env)
        for _ in range(n_workers):
            self.add_worker(wait=False)
        wait_for_workers(self.address, n_workers)
        return self

    def add_worker(self, *, without_mlws: bool = False, wait: bool = True) -> str:
        """Start one more worker; its name.  ``without_mlws``: a worker whose Python cannot
        import jupyter_mlws (it is blocked in ``sys.modules``), without a nanny (whose worker
        would be a fresh interpreter)."""
        self._count += 1
        name = f"w{self._count}"
        options = [self.address, "--name", name, "--nthreads", "1", "--no-dashboard"]
        if without_mlws:
            argv = [sys.executable, "-c", WITHOUT_MLWS, *options, "--no-nanny"]
        else:
            argv = [str(BIN / "dask"), "worker", *options, "--nworkers", "1"]
        self.workers[name] = _start(argv, self.folder / f"{name}.log")
        if wait:
            wait_for_workers(self.address, len(self.workers))
        return name

    def kill_worker(self, name: str) -> None:
        """SIGKILL worker ``name``'s whole process group (as a machine that dies)."""
        stop(self.workers.pop(name), signal.SIGKILL)

    def stop(self) -> None:
        for proc in self.workers.values():
            stop(proc)
        self.workers.clear()
        if self.scheduler is not None:
            stop(self.scheduler)

    def log(self, name: str = "scheduler") -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")


class LocalClusterProcess:
    """A ``distributed.LocalCluster`` held by a Python process of its own: its ``address``."""

    def __init__(self, n_workers: int = 2):
        self.folder = Path(tempfile.mkdtemp(prefix="mlws-localcluster-"))
        with open(self.folder / "cluster.log", "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", LOCAL_CLUSTER, str(n_workers)],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=log, start_new_session=True, text=True)
        self.address = self.proc.stdout.readline().strip()
        if not self.address.startswith("tcp://"):
            self.stop()
            raise RuntimeError("the LocalCluster did not start: " +
                               (self.folder / "cluster.log").read_text(errors="replace")[-2000:])
        wait_for_workers(self.address, n_workers)

    def stop(self) -> None:
        stop(self.proc)
        self.proc.stdout.close()
