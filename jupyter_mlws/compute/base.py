"""The compute target: what every backend (``local``, later ``ssh``, ``dask``, ``vm``) does.

A target is handed a job (a serialisable spec such as
:class:`jupyter_mlws.notebooks.job.NotebookJob`) and starts the executor for it somewhere.
The executor reports the run's status, progress and files through a reporter, never
through the target: a target only starts, watches and stops the work.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

#: the job is accepted but its executor has not started yet
QUEUED = "queued"
#: the job's executor runs
RUNNING = "running"
#: the job's executor has ended (how the run went is what the executor reported)
EXITED = "exited"
#: the target cannot tell (its machine or scheduler is out of reach)
UNKNOWN = "unknown"
STATES = (QUEUED, RUNNING, EXITED, UNKNOWN)


class Job(Protocol):
    """What a target is handed: a run id, the kind of executor, and a JSON-able spec."""

    kind: str
    run_id: str

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Handle:
    """Where a target runs a job: enough to poll, cancel and read it later, from any process.

    Attributes
    ----------
    target : str
        The target's name (``"local"``).
    run_id : str
        The run the job executes.
    data : dict
        The target's own JSON-able facts (for ``local``: ``pid``, ``host``, ``started``).
    """

    target: str
    run_id: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "run_id": self.run_id, "data": dict(self.data)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Handle":
        return cls(d["target"], d["run_id"], dict(d.get("data") or {}))


class ComputeTarget(ABC):
    """A place that executes jobs.

    Subclasses set :attr:`name` and implement the four operations.  Errors are the
    workspace's own (:mod:`jupyter_mlws.errors`): ``Unavailable`` when the target cannot be
    reached, ``InvalidInput`` for a job it cannot run.
    """

    #: the name runs record and users pass (``--compute NAME``)
    name: str = ""

    @abstractmethod
    def submit(self, job: Job) -> Handle:
        """Start the executor of ``job``; return at once.

        Parameters
        ----------
        job : Job
            The run's spec; ``job.kind`` says which executor (``"notebook"``, ``"sweep"``).

        Returns
        -------
        Handle
            How to find the job again.  Its ``data`` may be empty until the executor reports
            where it runs.

        Raises
        ------
        Unavailable
            The target could not start the executor (its machine, scheduler or disk).
        """

    @abstractmethod
    def poll(self, handle: Handle) -> str:
        """The state of the job's executor: one of :data:`STATES`.

        This is the executor's process, not the run's status: a run ends ``completed`` or
        ``failed`` by what its executor reported; an :data:`EXITED` executor whose run is
        still running died without saying so.
        """

    @abstractmethod
    def cancel(self, handle: Handle, grace: float) -> None:
        """Stop the job's executor and everything it started (a kernel included).

        Parameters
        ----------
        handle : Handle
            From :meth:`submit` (or rebuilt from what the run recorded).
        grace : float
            Seconds, >= 0, the executor has to end on its own (SIGTERM locally) before it is
            killed.  Returns once it is gone, or after ``grace`` and the kill.

        A job that has already ended, or whose process is no longer the one started for it,
        is left alone.
        """

    @abstractmethod
    def logs(self, handle: Handle) -> dict[str, bytes]:
        """The executor's own output (not the notebook's streams), by log name.

        Returns
        -------
        dict of str to bytes
            E.g. ``{"executor.log": b"..."}``; empty when there is none yet.
        """


# -- targets that execute runs on other machines --------------------------------------------------


@dataclass(frozen=True)
class RemoteLaunch:
    """What the workspace gives a target that executes runs on other machines (``ssh``,
    ``dask``): everything an executor there needs to report into this workspace over HTTP.

    Attributes
    ----------
    server_url : callable
        ``server_url() -> str``: the base URL of a workspace server serving this workspace
        (:func:`jupyter_mlws.remote.server.ensure_server`; started on first call when none is).
    issue_token : callable
        ``issue_token(run_id) -> str``: a new token scoped to that run (it dies with the run).
    secret_env : callable
        ``secret_env(run_id) -> {ENVVAR: value}``: the run's secrets, read now (audited).  They
        reach the executor through its environment, never argv or a file.
    connect : callable
        ``connect(target_name)``: an open, verified SSH connection to an ssh target.
    runs : RunService, optional
        Reads runs and ends one whose work the target lost (a Dask task its scheduler no longer
        has while the run is live).
    root, live_root : path, optional
        The workspace's folder (a runner process here opens it) and its runs' live folder
        (where a target keeps a run's runner log and state).
    environments : EnvironmentService, optional
        The runs' environments (a dask target with ``env: build`` takes a run's spec and local
        wheels from it).
    """

    server_url: Callable[[], str]
    issue_token: Callable[[str], str]
    secret_env: Callable[[str], dict]
    connect: Callable[[str], Any]
    runs: Any = None
    root: Any = None
    live_root: Any = None
    environments: Any = None


class RemoteTarget(ComputeTarget):
    """A named target whose executor runs elsewhere: ``python -m jupyter_mlws.remote.executor``
    (or :func:`jupyter_mlws.remote.executor.execute_remote` in a worker), reporting over HTTP.

    Built by the workspace for one target record (:meth:`ComputeService.get
    <jupyter_mlws.compute.targets.ComputeService.get>`: ``name``, ``type`` and its settings)
    and the :class:`RemoteLaunch` it executes runs with.  Subclasses implement
    :meth:`submit`, :meth:`poll`, :meth:`cancel` and :meth:`logs`.

    Cancel: the workspace first asks the executor to stop (it hears it on its heartbeat's
    reply, stops its kernel and ends the run itself, keeping what it produced) and waits up to
    the grace; :meth:`cancel` is then called to stop whatever is left (a process over SSH, a
    queued Dask task).  The run is ended ``canceled`` by the workspace if it still is not.
    """

    def __init__(self, target: dict, launch: RemoteLaunch):
        self.target = dict(target)
        self.name = self.target["name"]
        self.launch = launch

    #: the jobs the remote executor runs: a notebook run, a command run (``mlws run start``)
    KINDS = ("notebook", "command")

    def check_job(self, job: Job) -> None:
        """InvalidInput for a job the remote executor does not run (a sweep: its children are
        handed over one by one, each a notebook run)."""
        if job.kind not in self.KINDS:
            from ..errors import InvalidInput

            raise InvalidInput(f"a {self.target['type']} target executes notebook runs and "
                               f"commands, not a {job.kind}: a sweep's children are handed to it "
                               "one by one")

    def executor_env(self, run_id: str, *, url: str | None = None,
                     attempt: str | None = None) -> dict[str, str]:
        """The environment of ``python -m jupyter_mlws.remote.executor`` for run ``run_id``:
        ``MLWS_WORKSPACE`` (``url``, default :attr:`RemoteLaunch.server_url`), a new
        ``MLWS_TOKEN`` for the run, ``MLWS_RUN_ID``, ``MLWS_ATTEMPT`` when given, and the run's
        secrets.  Holds a token and secret values: give it to the process's environment only
        (over SSH: on stdin), never argv, a file or a log."""
        env = {**self.launch.secret_env(run_id),
               "MLWS_WORKSPACE": url or self.launch.server_url(),
               "MLWS_TOKEN": self.launch.issue_token(run_id), "MLWS_RUN_ID": run_id}
        if attempt is not None:
            env["MLWS_ATTEMPT"] = attempt
        return env
