"""This machine as a compute target, and the one home of process control.

Everything the workspace does to processes lives here:

- **start**: :func:`spawn_detached` (an executor or a server in its own session, not our
  child: no zombie, nothing to wait for), :func:`start_session` (a child we wait for, leading
  its own process group: ``mlws run start``), :func:`fork_session` (a sweep's child, forked
  from a process that imported everything once);
- **signal**: :func:`signal_group`, :func:`stop_group` (SIGTERM, then SIGKILL after a grace),
  :func:`stop_child`;
- **watch**: :func:`alive`, :func:`group_alive`, :func:`reap`;
- **own**: :class:`Process`, a pid with its host and start time, so that a pid reused by
  another program after ours ended is never signalled.

Only process-group leaders are signalled as groups: everything the workspace starts leads
its own session, and a stale pid must never take its neighbours down.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .base import EXITED, QUEUED, RUNNING, ComputeTarget, Handle, Job

#: how often a wait for a process to end looks again
POLL_S = 0.05


# -- who runs -----------------------------------------------------------------------------


def this_host() -> str:
    """The name processes of this machine are recorded under."""
    return socket.gethostname()


def _stat(pid: int) -> list[bytes] | None:
    """The fields of ``/proc/PID/stat`` after the command name (state first), None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()
    except (OSError, ValueError):
        return None


def start_ticks(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (None: no such process)."""
    fields = _stat(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def alive(pid: int | None, *, cmdline: bytes | Sequence[bytes] | None = None) -> bool:
    """Whether ``pid`` is a live process of this machine (a zombie is not).

    Parameters
    ----------
    pid : int or None
        None or 0 is never alive.
    cmdline : bytes or a sequence of them, optional
        Also require this text (one of these texts) in the process's command line, e.g.
        ``b"jupyter_mlws.endpoints.serving"``: a pid reused by another program is not ours.
    """
    if not pid or pid < 0:
        return False
    fields = _stat(pid)
    if not fields or fields[0] in (b"Z", b"X"):
        return False
    if cmdline is None:
        return True
    markers = (cmdline,) if isinstance(cmdline, bytes) else tuple(cmdline)
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            line = f.read()
    except OSError:
        return False
    return any(marker in line for marker in markers)


def group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process of process group ``pgid`` is still there."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
                return True
    return False


@dataclass(frozen=True)
class Process:
    """A process the workspace started, as recorded: enough to tell it from a reused pid.

    Attributes
    ----------
    pid : int
        Its process id.
    host : str
        The machine it runs on (:func:`this_host` there).
    started : int or None
        Its start time in clock ticks since boot (``/proc/PID/stat``); None when not
        recorded (runs of older versions), and then only pid and host are checked.
    """

    pid: int
    host: str
    started: int | None = None

    @classmethod
    def of(cls, pid: int) -> "Process":
        """Process ``pid`` of this machine, its start time read now."""
        return cls(pid, this_host(), start_ticks(pid))

    @classmethod
    def current(cls) -> "Process":
        """This process."""
        return cls.of(os.getpid())

    def is_mine(self) -> bool:
        """Whether this process still runs here and is the one recorded (not a reused pid)."""
        if self.host != this_host() or not alive(self.pid):
            return False
        return self.started is None or start_ticks(self.pid) == self.started

    def gone_here(self) -> bool:
        """Whether this process was recorded on this machine and no longer runs (its pid gone or
        reused): what ended a run's executor without saying so, as this machine can tell."""
        return self.host == this_host() and not self.is_mine()

    def to_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "host": self.host, "started": self.started}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Process | None":
        """The process of a handle's data; None when none is recorded yet."""
        return cls(int(d["pid"]), d.get("host") or "", d.get("started")) if d.get("pid") else None


# -- starting -----------------------------------------------------------------------------

#: parts of a variable's name that make it a credential of the process that starts a run (a
#: server's ``JUPYTER_TOKEN``, ``JUPYTER_TOKEN_FILE``, ``MLWS_TOKEN``, a cloud secret, a password)
CREDENTIAL_PARTS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD")
#: credentials by their whole name (the database URL a team server's mlws.toml reads, with its
#: password)
CREDENTIAL_NAMES = ("MLWS_DATABASE_URL", "DATABASE_URL")
#: what a Jupyter server or a workspace client signs in with: never a run's, on any machine
SIGN_IN_NAMES = ("JUPYTER_TOKEN", "JUPYTER_TOKEN_FILE", "MLWS_TOKEN", "JUPYTERHUB_API_TOKEN")
#: whether runs started by this process get none of its credentials (:func:`run_process_env`):
#: set by a workspace server that checks roles (its runs are its users' code, its credentials
#: the server's); a user's own processes keep theirs for their own runs (cloud keys, HF_TOKEN)
STRICT_RUN_ENV = False


def run_process_env(keep: Sequence[str] = (), environ: Mapping[str, str] | None = None, *,
                    strict: bool | None = None) -> dict[str, str]:
    """The environment of a process started for a run on this machine (an executor, a sweep, a
    pipeline's orchestrator, an endpoint): this process's (``environ``) without what signs in to
    a server (:data:`SIGN_IN_NAMES`) and :data:`CREDENTIAL_NAMES`; ``strict`` (default
    :data:`STRICT_RUN_ENV`: a server checking roles) also without every other credential
    (:data:`CREDENTIAL_PARTS` in a name).  The names in ``keep`` stay (what the workspace's own
    stores read: :meth:`WorkspaceConfig.store_env
    <jupyter_mlws.config.WorkspaceConfig.store_env>`).  A run's own variables (``MLWS_RUN_ID``,
    its secrets) are given by whoever starts its code."""
    environ = os.environ if environ is None else environ
    strict = STRICT_RUN_ENV if strict is None else strict

    def credential(name: str) -> bool:
        upper = name.upper()
        return upper in SIGN_IN_NAMES or upper in CREDENTIAL_NAMES or (
            strict and any(part in upper for part in CREDENTIAL_PARTS))

    return {k: v for k, v in environ.items() if k in keep or not credential(k)}


def spawn_detached(argv: Sequence[str], log: Path, *, env: Mapping[str, str] | None = None,
                   cwd: str | os.PathLike | None = None) -> None:
    """Start ``argv`` in its own session, not our child (no zombie, nothing to wait for).

    Returns at once; the process's pid is not known here: the program records its own
    (:meth:`Process.current`).  Its stdout and stderr are appended to ``log``.

    Raises
    ------
    OSError, subprocess.CalledProcessError
        ``setsid`` could not be run.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        # setsid --fork returns at once, leaving the program to init
        subprocess.run(["setsid", "--fork", *argv], stdin=subprocess.DEVNULL, stdout=out,
                       stderr=out, check=True, env=None if env is None else dict(env), cwd=cwd)


def start_session(argv: Sequence[str], **popen: Any) -> subprocess.Popen:
    """Start ``argv`` as our child leading its own session and process group (what
    :func:`stop_child` stops, with everything it started).  ``popen``: :class:`subprocess.Popen`'s
    keywords.  Raises OSError when it cannot start."""
    return subprocess.Popen(list(argv), start_new_session=True, **popen)


def fork_session(work: Callable[[], int]) -> int:
    """Run ``work`` in a forked child leading a session of its own; return the child's pid.

    The child gets the default SIGTERM action, exits with ``work()``'s code (1 if it raised,
    the traceback on stderr) through ``os._exit``, never returning here.  Fork only from a
    process that runs no other thread.
    """
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        code = work()
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def reap(pid: int, *, block: bool = False) -> bool:
    """Whether our child ``pid`` has exited (and is now reaped); ``block`` waits for it."""
    try:
        return os.waitpid(pid, 0 if block else os.WNOHANG)[0] == pid
    except ChildProcessError:
        return True


# -- stopping -----------------------------------------------------------------------------


def signal_group(pgid: int, sig: int = signal.SIGTERM) -> bool:
    """Send ``sig`` to process group ``pgid``; False when it is gone (or not ours to signal)."""
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def stop_group(pid: int, grace: float, *, leader_first: bool = False, settle: float = 0.0) -> None:
    """Stop the process group led by ``pid``: SIGTERM, then SIGKILL if it is still there after
    ``grace`` seconds.

    Parameters
    ----------
    pid : int
        The group's leader.  A process that leads no group is left alone.
    grace : float
        Seconds the group has to end after SIGTERM.
    leader_first : bool
        SIGTERM the leader only (it stops its own children, as a server draining its workers
        does), then wait for the whole group.
    settle : float
        Seconds to wait, after SIGKILL, for the group to be gone.
    """
    try:
        if os.getpgid(pid) != pid:
            return
        if leader_first:
            os.kill(pid, signal.SIGTERM)
        else:
            os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + grace
    if _wait_gone(pid, deadline):
        return
    signal_group(pid, signal.SIGKILL)
    _wait_gone(pid, time.monotonic() + settle)


def _wait_gone(pgid: int, deadline: float) -> bool:
    """Wait until no live process of group ``pgid`` is left, or ``deadline``; whether it is gone."""
    while group_alive(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)
    return True


def stop_child(child: subprocess.Popen, grace: float) -> None:
    """Stop our child ``child`` (from :func:`start_session`) and its group: SIGTERM, then SIGKILL
    after ``grace`` seconds; returns once the child is reaped."""
    signal_group(child.pid, signal.SIGTERM)
    try:
        child.wait(grace)
    except subprocess.TimeoutExpired:
        signal_group(child.pid, signal.SIGKILL)
        child.wait()


# -- the target -----------------------------------------------------------------------------


class LocalTarget(ComputeTarget):
    """This machine: each job's executor a detached process of its own.

    Parameters
    ----------
    root : path
        The workspace folder the executor opens.
    live_root : path
        The folder of the runs' live files: the executor's own output goes to
        ``live_root/RUN_ID/executor.log``, beside the run's other live logs.
    python : str
        The interpreter that runs the executor (default: this one).
    keep_env : sequence of str
        Credentials the executor keeps (the workspace's stores read them); every other
        credential of this process stays out of its environment (:func:`run_process_env`).
    """

    name = "local"
    #: the module the executor runs as (``python -m``)
    EXECUTOR = "jupyter_mlws.notebooks.executor"
    LOG = "executor.log"

    def __init__(self, root: str | os.PathLike, live_root: str | os.PathLike,
                 python: str = sys.executable, keep_env: Sequence[str] = ()):
        self.root = Path(root)
        self.live_root = Path(live_root)
        self.python = python
        self.keep_env = tuple(keep_env)

    def argv(self, job: Job) -> list[str]:
        """The executor's command line for ``job``: ``WORKSPACE RUN_ID [--sweep N]``, run as
        the job's own ``module`` when it names one (a pipeline's orchestrator)."""
        extra = ["--sweep", str(job.max_parallel)] if job.kind == "sweep" else []  # type: ignore[attr-defined]
        module = getattr(job, "module", self.EXECUTOR)
        return [self.python, "-m", module, str(self.root), job.run_id, *extra]

    def submit(self, job: Job) -> Handle:
        spawn_detached(self.argv(job), self.live_root / job.run_id / self.LOG,
                       env=run_process_env(self.keep_env))
        return Handle(self.name, job.run_id)  # the executor records its process itself

    @staticmethod
    def handle(run_id: str, process: Process | None) -> Handle:
        """The handle of a run whose executor recorded ``process`` (None: not yet)."""
        return Handle(LocalTarget.name, run_id, process.to_dict() if process else {})

    def poll(self, handle: Handle) -> str:
        process = Process.from_dict(handle.data)
        if process is None:
            return QUEUED
        return RUNNING if process.is_mine() else EXITED

    def cancel(self, handle: Handle, grace: float) -> None:
        process = Process.from_dict(handle.data)
        if process is not None and process.pid != os.getpid() and process.is_mine():
            stop_group(process.pid, grace)

    def logs(self, handle: Handle) -> dict[str, bytes]:
        path = self.live_root / handle.run_id / self.LOG
        return {self.LOG: path.read_bytes()} if path.is_file() else {}


def _environ_has(pid: int, entry: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return entry in f.read().split(b"\0")
    except OSError:
        return False


def stop_marked(name: str | None, value: str | None, grace: float, *,
                pids: Sequence[int] = ()) -> None:
    """Stop every process of this user (every one, as root) whose environment holds
    ``name=value`` (a local VM's sessions carry their node's id), and ``pids``: SIGTERM, then
    SIGKILL to those still there after ``grace`` seconds.  This process is never signalled."""
    entry = f"{name}={value}".encode() if name is not None else None
    found = set(pids)
    if entry is not None:
        found |= {int(p) for p in os.listdir("/proc") if p.isdigit() and _environ_has(int(p), entry)}
    found.discard(os.getpid())
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in found:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(alive(p) for p in found):
            for pid in found:
                reap(pid)
            time.sleep(POLL_S)
        found = {p for p in found if alive(p)}
        if not found:
            return
