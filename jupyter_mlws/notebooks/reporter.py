"""What an executor tells the workspace about its run: the seam between executing and recording.

The executor (:mod:`.executor`, :mod:`.sweep`) never writes the workspace itself: it reports
through a :class:`Reporter` (one notebook run) or a :class:`SweepReporter` (a sweep's parent),
and the workspace records.  :class:`LocalReporter` and :class:`LocalSweepReporter` are this
machine's: they write the workspace's store directly.  An executor on another machine (SSH,
a Dask worker) gets a reporter that sends the same calls over HTTP.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ContextManager

from .. import runs as R
from ..compute.local import Process
from ..errors import MlwsError, NotFound
from ..secrets.masking import mask_file
from .job import NotebookJob

if TYPE_CHECKING:  # pragma: no cover
    from .service import NotebookService


class Reporter(ABC):
    """The run one executor executes, as the executor sees it.

    Calls come in this order: :meth:`job`, :meth:`started`, then per attempt :meth:`attempt`,
    :meth:`progress` (many), :meth:`attempt_ended`; then :meth:`environment`, :meth:`cells`,
    :meth:`store_notebook`, :meth:`store_outputs`, :meth:`copy_output` (each may raise
    ``MlwsError``, ``OSError`` or ``ValueError``, which fails the run), and last
    :meth:`ended`.  :meth:`is_canceled` is polled from another thread meanwhile.
    """

    run_id: str
    #: seconds between two heartbeats of a process that reports no other way (a sweep)
    heartbeat_interval: float = 5.0

    @abstractmethod
    def job(self) -> NotebookJob:
        """The run's spec.  Raises NotFound for a run that was not made from a notebook."""

    @abstractmethod
    def kernel_env(self) -> dict[str, str]:
        """Environment variables a kernel of this run gets, so that code in it logs to the run
        (``MLWS_WORKSPACE``, ``MLWS_RUN_ID``), and the run's secrets (:meth:`secret_env`).

        Raises MlwsError when the run's secrets cannot be read (one was deleted since)."""

    @abstractmethod
    def secret_env(self) -> dict[str, str]:
        """The run's secrets as environment variables (``--secret NAME[=ENVVAR]``), values read
        once a reporter (each read audited).  The kernel's environment is the one channel they
        reach the run's code by: never an argv, a file or the run's record."""

    def masker(self):
        """What masks the run's secrets in its logs and outputs (:mod:`jupyter_mlws.secrets.masking`)."""
        from ..secrets.masking import Masker

        if getattr(self, "_masker", None) is None:
            self._masker = Masker(self.secret_env().values())
        return self._masker

    @abstractmethod
    def started(self) -> None:
        """The run now runs, in this process (which is what cancel stops).

        Raises Conflict when the run has ended meanwhile (canceled before it started)."""

    @abstractmethod
    def live_file(self, name: str) -> Path:
        """Where to write a file the run shows while it runs (``output.ipynb``, ``stdout.log``)."""

    @abstractmethod
    def progress(self, done: int, total: int) -> None:
        """``done`` cells of ``total`` have run (in the current attempt)."""

    @abstractmethod
    def attempt(self, number: int) -> None:
        """Attempt ``number`` (1 is the first) starts; no cell of it has run."""

    @abstractmethod
    def attempt_ended(self, number: int, status: str, error: str | None) -> None:
        """How attempt ``number`` ended (a run status, and the reason when not completed)."""

    @abstractmethod
    def is_canceled(self) -> bool:
        """Whether the run was ended elsewhere (``mlws run cancel``); safe from any thread."""

    @abstractmethod
    def environment(self, kernel: str, captured: dict[str, Any]) -> None:
        """The kernel's environment (:func:`jupyter_mlws.environment.capture`)."""

    @abstractmethod
    def cells(self, records: list[dict]) -> None:
        """Per-cell records of the executed notebook (:func:`.document.cell_records`)."""

    @abstractmethod
    def store_notebook(self, name: str, path: Path) -> None:
        """Keep the executed notebook ``path`` as the run's artifact ``notebook/<name>``."""

    @abstractmethod
    def store_outputs(self, folder: Path) -> None:
        """Keep the files of ``folder`` written during the run as artifacts ``outputs/...``."""

    @abstractmethod
    def copy_output(self) -> None:
        """Copy the stored notebook to the run's output path, if it asked for one."""

    @abstractmethod
    def ended(self, status: str, error: str | None) -> str:
        """End the run; return its final status (a cancel that came first stands)."""

    @abstractmethod
    def log(self, name: str, path: Path) -> None:
        """Keep the finished log file ``path`` as the run's log ``name`` (also after :meth:`ended`;
        nothing when the run was never recorded)."""

    @abstractmethod
    def dataset_path(self, ref: str) -> str:
        """A local read-only path holding dataset version ``ref`` (``NAME:VERSION``), on the
        machine the run executes on: the version's folder, or the file of a one-file version
        (what a ``dataset:REF`` parameter is given to the notebook as)."""

    def parameters(self, job: NotebookJob) -> dict[str, Any]:
        """The job's parameters as the notebook gets them: each ``dataset:REF`` value (pinned at
        submit) replaced by :meth:`dataset_path`."""
        from ..datasets.refs import dataset_params

        named = dataset_params(job.parameters)
        return {**job.parameters, **{k: self.dataset_path(ref) for k, ref in named.items()}}


class SweepReporter(ABC):
    """A sweep's parent run, as the process executing its children sees it."""

    run_id: str
    heartbeat_interval: float = 5.0

    @abstractmethod
    def started(self) -> list[str]:
        """The sweep runs in this process; return its queued children's run ids, in order."""

    @abstractmethod
    def heartbeat(self) -> None:
        """The process executing the sweep is alive."""

    @abstractmethod
    def is_canceled(self) -> bool:
        """Whether the sweep was ended elsewhere (``mlws run cancel``)."""

    @abstractmethod
    def cancel_queued(self, run_ids: list[str], reason: str) -> None:
        """End children that never started as canceled."""

    @abstractmethod
    def ended(self, canceled: bool) -> str:
        """End the sweep (canceled, else by its children's outcome); return its status."""

    @abstractmethod
    def child(self, run_id: str) -> ContextManager[Reporter]:
        """A reporter for one child, opened in the process that executes it (a forked process
        opens its own connections)."""


# -- this machine: the reporters write the store ------------------------------------------------


class LocalReporter(Reporter):
    """A notebook run executed on this machine, recorded straight into the workspace.

    Parameters
    ----------
    run_id : str
        The run.
    notebooks : NotebookService
        Records the run's spec, progress, attempts, cells and output copy.
    attach_run : callable
        ``attach_run(run_id) -> Run``: a logging handle that marks the run running and beats
        its heartbeat until it ends.
    root : Path
        The workspace folder (what a kernel's ``MLWS_WORKSPACE`` names).
    heartbeat_interval : float
        Seconds between heartbeats.
    """

    def __init__(self, run_id: str, *, notebooks: "NotebookService", attach_run: Callable[[str], Any],
                 root: Path, heartbeat_interval: float = 5.0):
        self.run_id = run_id
        self.heartbeat_interval = heartbeat_interval
        self._nb = notebooks
        self._runs, self._artifacts = notebooks.runs, notebooks.artifacts
        self._attach_run = attach_run
        self._root = root
        self._job: NotebookJob | None = None
        self._run = None
        self._secret_env: dict[str, str] | None = None

    def job(self) -> NotebookJob:
        if self._job is None:
            self._job = self._nb.job(self.run_id)
        return self._job

    def kernel_env(self) -> dict[str, str]:
        from ..config import run_env

        return {**run_env(self._root, self.run_id), **self.secret_env()}

    def secret_env(self) -> dict[str, str]:
        if self._secret_env is None:
            self._secret_env = self._nb.secrets.env_for_run(self.run_id)
        return self._secret_env

    def started(self) -> None:
        self._run = self._attach_run(self.run_id)
        self._runs.set_process(self.run_id, Process.current())

    def live_file(self, name: str) -> Path:
        return self._artifacts.live_file(self.run_id, name)

    def progress(self, done: int, total: int) -> None:
        self._nb.set_progress(self.run_id, done, total)

    def attempt(self, number: int) -> None:
        self._nb.set_attempt(self.run_id, number)

    def attempt_ended(self, number: int, status: str, error: str | None) -> None:
        self._nb.record_attempt(self.run_id, number, status, error)

    def is_canceled(self) -> bool:
        try:
            return self._runs.get(self.run_id).status != R.RUNNING
        except MlwsError:
            return False

    def environment(self, kernel: str, captured: dict[str, Any]) -> None:
        self._nb.record_environment(self.run_id, kernel, captured)

    def cells(self, records: list[dict]) -> None:
        self._nb.record_cells(self.run_id, records)

    def store_notebook(self, name: str, path: Path) -> None:
        self._artifacts.upload_file(self.run_id, f"notebook/{name}", path)

    def store_outputs(self, folder: Path) -> None:
        self._artifacts.upload_folder(self.run_id, "outputs", folder, since_ms=self._run.record.start_time)

    def copy_output(self) -> None:
        self._nb.copy_output(self.run_id)

    def _read_masker(self):
        """The run's masker; an empty one when its secrets could not be read (none reached it)."""
        from ..secrets.masking import Masker

        try:
            return self.masker()
        except MlwsError:
            return Masker()

    def ended(self, status: str, error: str | None) -> str:
        masker = self._read_masker()
        if masker:  # the live logs are stored as the run ends: the executor's own included
            for live_log in (self._artifacts.live_root / self.run_id).glob("*.log"):
                mask_file(masker, live_log)
        self._run.end(status, masker.text(error) if error else error)
        return self._run.record.status

    def dataset_path(self, ref: str) -> str:
        return self._nb.dataset_path(ref)

    def log(self, name: str, path: Path) -> None:
        try:
            record = self._runs.get(self.run_id)
        except NotFound:
            return  # never recorded (submit refused it)
        if record.id == self.run_id:
            mask_file(self._read_masker(), path)
            self._artifacts.attach_log(record.id, name, path)


class LocalSweepReporter(SweepReporter):
    """A sweep executed on this machine, recorded straight into the workspace.

    ``child_reporter(run_id)`` is a context manager yielding one child's :class:`Reporter` over
    connections of its own: each forked child reports through those, never its parent's.
    """

    def __init__(self, run_id: str, *, runs, child_reporter: Callable[[str], ContextManager[Reporter]],
                 heartbeat_interval: float = 5.0):
        self.run_id = run_id
        self.heartbeat_interval = heartbeat_interval
        self._runs = runs
        self._child_reporter = child_reporter

    def started(self) -> list[str]:
        record = self._runs.get(self.run_id)
        if record.status == R.QUEUED:
            record = self._runs.mark_started(self.run_id)
        self._runs.set_process(record.id, Process.current())
        return [c.id for c in self._runs.children(record.id) if c.status == R.QUEUED]

    def heartbeat(self) -> None:
        self._runs.heartbeat(self.run_id)

    def is_canceled(self) -> bool:
        return self._runs.get(self.run_id).status != R.RUNNING

    def cancel_queued(self, run_ids: list[str], reason: str) -> None:
        for run_id in run_ids:
            self._runs.end(run_id, R.CANCELED, reason)

    def ended(self, canceled: bool) -> str:
        if canceled:
            if self._runs.get(self.run_id).status == R.RUNNING:
                self._runs.end(self.run_id, R.CANCELED, "canceled")
            return self._runs.get(self.run_id).status
        children = self._runs.children(self.run_id)
        failed = [c for c in children if c.status != R.COMPLETED]
        return self._runs.end(self.run_id, R.FAILED if failed else R.COMPLETED,
                              _not_completed(failed, len(children)) if failed else None).status

    def child(self, run_id: str) -> ContextManager[Reporter]:
        return self._child_reporter(run_id)


def _not_completed(failed: list, total: int) -> str:
    """A sweep's error: how many children did not complete and, so the user need not look
    each up, the first one's id, status and the first line of its error (200 characters)."""
    first = failed[0]
    why = next((line.strip() for line in (first.error or "").splitlines() if line.strip()), "")
    why = why if len(why) <= 200 else why[:199] + "…"
    return (f"{len(failed)} of {total} runs did not complete (first: {first.id} {first.status}"
            + (f": {why}" if why else "") + ")")
