"""The SDK's side of runs: start, attach, find and hand out :class:`~jupyter_mlws.run.Run` handles.

The Workspace builds one :class:`Tracking` with its collaborators; a Run handle works
through it (it is the handle's :class:`~jupyter_mlws.run.RunServices`), never through the
Workspace.  Every way a run of this process begins comes through here: a script's
``start_run``, a child run, the run of a command this process launches (``mlws run start``),
a run started elsewhere and attached to (the command's own process, a notebook executor), and a
kernel's session run (the cell tracker).
"""

from __future__ import annotations

import __main__
import os
import sys
import time
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

from . import runs as R
from .artifacts import ArtifactService
from .config import ENV_RUN_ID, WorkspaceConfig
from .errors import Conflict, InvalidInput, NotFound
from .metrics import MetricWriter
from .models import ModelRegistry
from .run import Run, activate, active_runs

__all__ = ["ENV_RUN_ID", "Experiment", "RunList", "Tracking"]


class Experiment:
    """A named group of runs; created in the store by its first run."""

    def __init__(self, tracking: "Tracking", name: str):
        self.tracking = tracking
        self.name = name

    def __repr__(self) -> str:
        return f"<Experiment {self.name!r}>"

    def start_run(
        self,
        name: str | None = None,
        *,
        tags: Mapping | None = None,
        description: str = "",
        snapshot: bool | str | os.PathLike = True,
        outputs: str | None = "outputs",
    ) -> Run:
        """Start a run; use it as a context manager so that it ends with the block.

        Parameters
        ----------
        name : str, optional
            A display name (default ``<experiment>-<number>``).
        tags : mapping, optional
            Tags set at start.
        description : str
            Free text.
        snapshot : bool or path
            Keep a snapshot of the source folder (the script's folder, else the
            current directory), or of the folder given.  ``False`` skips it.
        outputs : str or None
            A folder whose files are uploaded as artifacts when the run ends.
        """
        return self.tracking.start(self.name, name=name, tags=tags, description=description,
                                   snapshot=snapshot, outputs=outputs)

    def search_runs(self, filter_string: str | None = None, **kwargs) -> "RunList":
        """Search this experiment's runs (see :meth:`Workspace.search_runs`)."""
        return self.tracking.search(filter_string, experiments=[self.name], **kwargs)


class RunList(list):
    """A page of runs; ``next_page_token`` fetches the next page (None at the end);
    ``compute``: run id -> its target, when the page came with it (see
    :class:`~jupyter_mlws.run_records.RunPage`), else None."""

    def __init__(self, runs: list[Run], next_page_token: str | None,
                 compute: dict[str, str] | None = None):
        super().__init__(runs)
        self.next_page_token = next_page_token
        self.compute = compute


class Tracking:
    """Run handles over the run, artifact and model services.

    Parameters
    ----------
    runs : RunService
        Where runs are recorded: the store's service, or its HTTP stand-in
        (:class:`~jupyter_mlws.remote.store.RemoteRuns`) for a workspace reached by URL.
    artifacts : ArtifactService
        Where their files go (snapshots, outputs, logs, images), or its stand-in
        (:class:`~jupyter_mlws.remote.store.RemoteArtifacts`).
    models : ModelRegistry
        Where a run registers models.
    config : WorkspaceConfig
        Read when used: ``heartbeat_interval`` (seconds between the heartbeats of a run this
        process logs to) and ``snapshot_max_mb`` (the largest source snapshot a run keeps).
    owner : object, optional
        What handles give faces as their ``workspace`` (the Workspace); never called here.
    """

    def __init__(self, runs: R.RunService, artifacts: ArtifactService, models: ModelRegistry,
                 config: WorkspaceConfig, *, owner: object = None):
        self.runs = runs
        self.artifacts = artifacts
        self.models = models
        self.config = config
        self.owner = owner

    # -- handles ------------------------------------------------------------------

    def handle(self, record: R.RunRecord, writer: MetricWriter | None = None) -> Run:
        """A handle on a recorded run; it logs through ``writer`` when given one."""
        return Run(self, record, writer, workspace=self.owner)

    def get(self, run_id: str) -> Run:
        """The run with this id (or a unique prefix): this process's own handle while it logs."""
        for run in active_runs():
            if run.id == run_id and run.services is self:
                return run
        return self.handle(self.runs.get(run_id))

    def search(self, filter_string: str | None = None, *, experiments: Sequence[str] | None = None,
               order_by: Sequence[str] | None = None, max_results: int = 100,
               page_token: str | None = None) -> RunList:
        """One page of runs matching a filter (see :meth:`RunService.search`)."""
        page = self.runs.search(filter_string, experiments=experiments, order_by=order_by,
                                max_results=max_results, page_token=page_token)
        return RunList([self.handle(r) for r in page.runs], page.next_page_token, page.compute)

    def compare(self, run_ids: Sequence[str]) -> dict:
        """Params and last metrics of several runs side by side."""
        if len(run_ids) < 2:
            raise InvalidInput("compare needs at least two runs")
        records = [self.runs.get(r) for r in run_ids]
        return {
            "runs": [r.id for r in records],
            "names": [r.name for r in records],
            "status": [r.status for r in records],
            "params": _side_by_side([r.params for r in records]),
            "metrics": _side_by_side([r.metrics for r in records]),
        }

    # -- logs ---------------------------------------------------------------------

    def logs(self, run_id: str, name: str | None = None, tail: int | None = None) -> dict[str, bytes]:
        """The logs of a run (stored, or live while it runs); with ``tail``, each log's last bytes."""
        record = self.runs.get(run_id)
        return self.artifacts.read_log(record.id, name, tail=tail)

    def follow_logs(self, run_id: str, name: str | None = None, *, interval: float = 0.5,
                    on_poll: Callable[[], object] | None = None) -> Iterator[tuple[str, bytes]]:
        """Yield ``(log name, bytes)`` as a run's logs grow, until the run has ended and all of
        it is read; ``on_poll()`` is called before each look (e.g. to ask the run's target)."""
        offsets: dict[str, int] = {}
        while True:
            if on_poll is not None:
                on_poll()
            record = self.runs.get(run_id)
            live = record.status in R.LIVE
            try:
                parts = self.artifacts.read_log_parts(record.id, name, offsets=offsets)
            except (NotFound, FileNotFoundError):
                if not live:
                    raise
                parts = {}  # that log is not written yet, or is being stored as the run ends
            for log_name, (size, _offset, data) in sorted(parts.items()):
                offsets[log_name] = size
                if data:
                    yield log_name, data
            if not live:
                return
            time.sleep(interval)

    # -- logging handles ----------------------------------------------------------

    def writer(self, run_id: str) -> MetricWriter:
        """The metric buffer of a run this process logs to (points, cell records, heartbeat)."""
        return MetricWriter(lambda pts: self.runs.write_points(run_id, pts),
                            lambda: self.runs.heartbeat(run_id),
                            write_records=lambda cells: self.runs.add_cells(run_id, cells),
                            heartbeat_interval=self.config.heartbeat_interval,
                            batch_max=self.runs.batch_points)

    def end_all(self) -> None:
        """End the runs this process started through here and still logs to (innermost first)."""
        for run in reversed(active_runs()):
            if run.services is self:
                run.end()

    # -- starting and attaching ---------------------------------------------------

    def start(self, experiment: str, *, name: str | None = None, tags: Mapping | None = None,
              description: str = "", parent: Run | None = None,
              snapshot: bool | str | os.PathLike = True, outputs: str | None = None) -> Run:
        """Create a running run owned by this process (the SDK's start_run and child)."""
        from .snapshot import git_info

        source_type, source_name, source_dir = _source()
        parent_id = parent.id if parent else self._env_parent()
        snap_dir = Path(snapshot) if isinstance(snapshot, (str, os.PathLike)) else source_dir
        files = self.collect_snapshot(snap_dir) if snapshot and parent is None else []
        record = self.runs.create(
            experiment, name=name, description=description, parent_id=parent_id, tags=tags,
            source_type=source_type, source_name=source_name, git=git_info(snap_dir))
        if files:
            self._store_snapshot(record.id, files)
        run = self.handle(record, self.writer(record.id))
        outputs_dir = os.path.abspath(outputs) if outputs and parent is None else None
        return activate(run, outputs_dir)

    def attach(self, run_id: str) -> Run:
        """A logging handle on a running run started elsewhere (e.g. by ``mlws run start``)."""
        record = self.runs.get(run_id)
        if record.status == R.QUEUED:
            record = self.runs.mark_started(run_id)
        if record.status != R.RUNNING:
            raise Conflict(f"run {record.id} is {record.status}: only a running run takes logs")
        return self.handle(record, self.writer(record.id))

    def start_command(self, experiment: str, command: str, *, cwd: Path, name: str | None = None,
                      tags: Mapping | None = None, files: Sequence = ()) -> Run:
        """Create the running run of a command this process launches in ``cwd`` (``mlws run
        start``; see :mod:`jupyter_mlws.launcher`), ``files`` its snapshot.

        This process only beats the heartbeat: the command logs to the run through its id.
        Its ``outputs/`` (in ``cwd``) is uploaded when the run ends.
        """
        from .snapshot import git_info

        record = self.runs.create(experiment, name=name, tags=tags, source_type="command",
                                  source_name=command, git=git_info(cwd))
        if files:
            self._store_snapshot(record.id, files)
        return activate(self.handle(record, self.writer(record.id)), str(cwd / "outputs"))

    def _store_snapshot(self, run_id: str, files) -> None:
        """Store a new run's snapshot; when that fails (a file that cannot be read, a full disk)
        the run ends ``failed`` saying why, and the error is raised: nothing stays running."""
        try:
            self.artifacts.store_snapshot(run_id, files)
        except BaseException as exc:
            self.runs.end(run_id, R.FAILED, f"could not be started: its snapshot: {exc}")
            raise

    def start_session(self, notebook: str, *, kernel: str = "unknown",
                      cwd: str | os.PathLike | None = None) -> Run:
        """Start the session run of a kernel running ``notebook`` in ``cwd`` (default: here).

        Its experiment is the notebook's name (``sessions`` for an unknown one); it ends
        when this process ends (see :func:`jupyter_mlws.run.activate`).
        """
        from .snapshot import git_info

        cwd = Path(cwd) if cwd is not None else Path.cwd()
        record = self.runs.create(
            experiment=session_experiment(notebook), source_type="session", source_name=notebook,
            git=git_info(cwd), tags={"kernel": kernel, "cwd": str(cwd)})
        return activate(self.attach(record.id), outputs_dir=None)

    def collect_snapshot(self, folder: Path):
        """The files of ``folder`` a run's snapshot keeps (see :func:`jupyter_mlws.snapshot.collect`)."""
        from .snapshot import collect

        return collect(folder, max_bytes=self.config.snapshot_max_mb * 1024 * 1024)

    def _env_parent(self) -> str | None:
        """The run this process was started for, if any (a managed run's id)."""
        run_id = os.environ.get(ENV_RUN_ID)
        if not run_id:
            return None
        try:
            self.runs.get(run_id)
        except NotFound:
            return None
        return run_id


def _side_by_side(dicts: list[dict]) -> dict[str, list]:
    keys = sorted(set().union(*dicts))
    return {k: [d.get(k) for d in dicts] for k in keys}


def session_experiment(notebook: str) -> str:
    """The experiment of a notebook's session runs: its name, ``sessions`` when unknown."""
    return Path(notebook).stem if notebook != "unknown" else "sessions"


def _source() -> tuple[str, str, Path]:
    """What is running: (source type, name, folder to snapshot)."""
    main_file = getattr(__main__, "__file__", None)
    if main_file and not main_file.endswith("ipykernel_launcher.py") and os.path.isfile(main_file):
        path = Path(main_file).absolute()
        return "script", path.name, path.parent
    if "ipykernel" in sys.modules:
        return "notebook", os.environ.get("JPY_SESSION_NAME", "unknown"), Path.cwd()
    return "interactive", "", Path.cwd()
