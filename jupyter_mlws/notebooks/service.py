"""Notebooks as experiments: submit a parameterised notebook as a run, re-run it, sweep it.

Everything is checked before a kernel starts: the notebook (valid nbformat), the kernel,
parameter names and values, the output path.  A submitted run is recorded at once (params,
snapshot, and its :class:`~.job.NotebookJob` in ``notebook_runs``) and handed to a compute
target (``local``: a detached :mod:`.executor`), unless the caller executes it itself
(:meth:`NotebookService.execute_here`).  The executor reports through a reporter this
service builds (:meth:`NotebookService.reporter`).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager, Mapping, Sequence

from sqlalchemy import select

from .. import runs as R
from ..artifacts import copy_blob
from ..fsutil import shown_path
from ..errors import InvalidInput, NotFound
from .kernels import resolve as resolve_kernel
from ..store import schema as S
from .document import check_local, load_notebook
from .job import NotebookJob, SweepJob
from .parameters import (OVERRIDDEN_TAG, check_parameters, expand_grid, overridden, param_texts,
                         parameter_warnings, recorded_parameters)
from .reporter import LocalReporter, LocalSweepReporter, Reporter
from .template import output_path

__all__ = ["NotebookService", "Submission", "OVERRIDDEN_TAG", "SCRIPT_KERNEL"]

#: what a script run records as its kernel: it runs with the executor's own Python
SCRIPT_KERNEL = "python"


def _actor(actor: str | None) -> str:
    """Who submits: the given identity, else this process's OS user."""
    from ..access import os_user

    return os_user() if actor is None else actor


@dataclass
class Submission:
    """A submitted notebook run: its id and what was worth a warning."""

    run_id: str
    warnings: list[str] = field(default_factory=list)


class NotebookService:
    """Submit, track, re-run and sweep notebook runs of a workspace.

    Parameters
    ----------
    db : Database
        The store holding ``notebook_runs`` (each run's job and progress).
    runs, artifacts, blobs
        The run service, the artifact service and the blob store.
    root : Path
        The workspace folder (its ``work/`` holds runs' own copies; output paths stay inside).
    snapshot_max_bytes : int
        The largest project folder a run snapshots.
    heartbeat_interval : float
        Seconds between heartbeats of a run's executor.
    compute : ComputeService
        Where jobs execute (``local`` today).
    attach_run : callable
        ``attach_run(run_id) -> Run``: a logging handle on a queued run, marking it running.
    child_reporter : callable
        ``child_reporter(run_id)``: a context manager yielding the :class:`Reporter` of one
        child of a sweep over connections of its own (a sweep's forked child calls it; it must
        not use its parent's).
    secrets : SecretService
        Checks and records the secrets a run is given (``secrets=["NAME", "NAME=ENVVAR"]``);
        its reporter reads their values when the run executes.
    cancel_run : callable, optional
        ``cancel_run(run_id)``: stops a run wherever it executes (a sweep's children on a
        target other than ``local``, when the sweep is canceled).
    datasets : callable, optional
        ``datasets()``: the :class:`~jupyter_mlws.datasets.service.DatasetService`; a parameter
        ``dataset:REF`` is pinned to its version at submit, recorded as the run's input, and
        handed to the notebook as a local read-only path when it executes.
    """

    def __init__(self, *, db, runs, artifacts, blobs, root: Path, snapshot_max_bytes: int,
                 heartbeat_interval: float, compute, attach_run: Callable[[str], Any],
                 child_reporter: Callable[[str], ContextManager[Reporter]], secrets,
                 cancel_run: Callable[[str], Any] | None = None,
                 datasets: Callable[[], Any] | None = None):
        self.db, self.runs, self.artifacts, self.blobs = db, runs, artifacts, blobs
        self.root = root
        self.snapshot_max_bytes = snapshot_max_bytes
        self.heartbeat_interval = heartbeat_interval
        self.compute = compute
        self._attach_run = attach_run
        self._child_reporter = child_reporter
        self.secrets = secrets
        self._cancel_run = cancel_run
        self._datasets = datasets

    # -- submitting ---------------------------------------------------------------

    def submit(
        self,
        notebook: str | os.PathLike,
        parameters: Mapping[str, Any] | None = None,
        *,
        experiment: str | None = None,
        kernel: str | None = None,
        timeout: float | None = None,
        retries: int = 0,
        project_dir: str | os.PathLike | None = None,
        name: str | None = None,
        tags: Mapping | None = None,
        output: str | None = None,
        parent_id: str | None = None,
        detach: bool = True,
        isolate: bool = False,
        secrets=None,
        actor: str | None = None,
        check_actor: bool = True,
        compute: str | None = None,
        user: str | None = None,
        _rerun_of: str | None = None,
        _run_id: str | None = None,
        _recorded: bool = False,
    ) -> Submission:
        """Record a notebook run and start it (see :meth:`Workspace.submit_notebook`).

        With ``detach=False`` it is only recorded (queued), for the caller to execute.  With
        ``isolate`` the run executes in its own copy of the snapshot (what sweeps do, so that
        children running at once never share an ``outputs/`` folder).  ``secrets``
        (``["NAME", "NAME=ENVVAR"]``) are given to the run's kernel as environment variables,
        ``actor`` (default: this OS user) submitting it: a contributor or owner, unless
        ``check_actor`` is false (the caller decided).  ``compute`` names the target it executes
        on (default ``local``), recorded on the run; the run is also given that target's default
        secrets (those ``secrets`` do not replace by variable: :meth:`ComputeService.run_secrets
        <jupyter_mlws.compute.targets.ComputeService.run_secrets>`).  ``user``: who the run
        records as its user (default: this OS user; a server gives its request's user).
        With ``_recorded``, run ``_run_id`` was recorded queued by the caller (a schedule's run,
        in its tick claim's transaction): it is filled in, not created.
        """
        path, project, params, nb, kernel = self.check_input(
            notebook, parameters, project_dir=project_dir, kernel=kernel, retries=retries,
            timeout=timeout)
        target = self._target(compute)
        actor = _actor(actor)
        self.compute.require_execution(target.name, actor, check_actor)
        given = self.secrets.check_bindings(actor, self.compute.run_secrets(target.name, secrets),
                                            check_actor=check_actor)
        params, inputs = self._pin_datasets(params)
        if nb is None:  # a script (a pipeline's step): run with this Python, no kernel
            warnings, recorded = [], param_texts(params)
        else:
            warnings = parameter_warnings(nb, params, path.name)
            recorded = param_texts(recorded_parameters(nb, params))
        experiment = experiment or path.stem
        run_name = name or None
        if output is not None:
            self._output_path(output, run_name or f"{experiment}-N", experiment, recorded)
        from ..snapshot import collect, git_info

        files = collect(project, max_bytes=self.snapshot_max_bytes)
        if _recorded:
            record = self.runs.get(_run_id)
        else:
            record = self.runs.create(
                experiment, name=run_name, parent_id=parent_id, tags=tags, source_type="notebook",
                source_name=path.relative_to(project).as_posix(), git=git_info(project),
                status=R.QUEUED, run_id=_run_id, user=user)
        try:
            self.runs.log_params(record.id, recorded)
            if inputs:
                self._datasets().record_inputs(record.id, inputs)
            system_tags = {"kernel": kernel, OVERRIDDEN_TAG: overridden(params)}
            if not self.is_work_dir(path):  # where the notebook lives (a re-run keeps its source's)
                system_tags["notebook"] = str(path)
            if given:  # names only: values are read when it executes
                self.secrets.bind(actor, record.id, given, check_actor=False)
                system_tags["secrets"] = json.dumps(sorted(set(given.values())))
            self.runs.set_tags(record.id, system_tags)
            self.artifacts.store_snapshot(record.id, files)
            workdir = project
            if isolate:
                workdir = self.work_dir(record.id)
                self.artifacts.download(record.id, None, workdir, kind="snapshot")
            job = NotebookJob(record.id, path.relative_to(project).as_posix(), str(workdir), kernel,
                              params, timeout, retries, output, scratch=self.is_work_dir(workdir))
            self._insert_spec(record.id, job, _rerun_of)
            if output is not None:
                self._output_path(output, record.name, experiment, recorded)
            if compute is not None:
                self.compute.assign(record.id, compute)
        except BaseException as exc:
            self.runs.end(record.id, R.FAILED, f"could not be submitted: {exc}")
            raise
        if detach:
            self._hand_over(target, job)
        return Submission(record.id, warnings)

    def check_input(self, notebook: str | os.PathLike, parameters: Mapping[str, Any] | None = None, *,
                    project_dir: str | os.PathLike | None = None, kernel: str | None = None,
                    retries: int = 0, timeout: float | None = None,
                    grid: Mapping[str, Sequence[Any]] | None = None) -> tuple[Path, Path, dict, Any, str]:
        """A submission's own input, checked as :meth:`submit` checks it, before anything else
        (no target is asked, nothing is recorded; what a face calls before a slow check): the
        notebook is a file, not a URL, inside ``project_dir`` (a folder; default its own), a
        valid notebook whose kernel (``kernel``, else its own) is installed; ``parameters`` (and
        a ``grid``'s) are valid; ``retries`` is 0 to 10; ``timeout`` positive seconds.

        Returns ``(path, project folder, parameters, notebook, kernel name)`` (for a ``.py``
        script: no notebook, the script kernel).  Raises NotFound (no such notebook or folder),
        InvalidInput.
        """
        check_local(notebook)
        path = Path(notebook).expanduser().absolute()
        project = Path(project_dir).expanduser().absolute() if project_dir else path.parent
        if project_dir and not project.is_dir():
            raise NotFound(f"no folder {shown_path(project)!r} (the project folder): give the "
                           "folder that holds the notebook, or leave it out (the notebook's own)")
        if not path.is_relative_to(project):
            raise InvalidInput(f"the notebook {path.name!r} is not inside the project folder "
                               f"{shown_path(project)!r}: pass the folder that holds it")
        params = check_parameters(parameters or {})
        if grid:
            expand_grid(grid)
        if not isinstance(retries, int) or not 0 <= retries <= 10:
            raise InvalidInput(f"retries must be an integer from 0 to 10, got {retries!r}")
        if timeout is not None and not (isinstance(timeout, (int, float)) and 0 < timeout < float("inf")):
            raise InvalidInput(f"timeout must be a positive number of seconds, got {timeout!r}")
        if path.suffix == ".py":
            return path, project, params, None, SCRIPT_KERNEL
        nb = load_notebook(path)
        return path, project, params, nb, resolve_kernel(nb.metadata, kernel, path.name).name

    def _pin_datasets(self, params: dict) -> tuple[dict, list]:
        """``params`` with each ``dataset:REF`` pinned to its version (``dataset:NAME:N``, what
        the run records and a re-run reads again), and those versions; NotFound for an unknown
        one, before anything is recorded.  The reporter where the run executes turns each into
        a local path (:meth:`Reporter.parameters <.reporter.Reporter.parameters>`)."""
        from ..datasets.refs import dataset_params

        named = dataset_params(params)
        if not named:
            return params, []
        if self._datasets is None:
            raise InvalidInput("dataset parameters need a workspace with datasets")
        return self._datasets().pin(params)

    def dataset_path(self, ref: str) -> str:
        """A local read-only path holding dataset version ``ref`` (what a ``dataset:REF``
        parameter is given to the notebook as)."""
        if self._datasets is None:
            raise InvalidInput("dataset parameters need a workspace with datasets")
        return self._datasets().local_path(ref)

    def _target(self, compute: str | None):
        """The backend of target ``compute`` (None: ``local``), checked before anything is
        recorded: NotFound for no such target, Unavailable for one that cannot execute runs."""
        if compute is not None and not isinstance(compute, str):
            raise InvalidInput(f"compute is a target's name, got {compute!r}")
        return self.compute.target(compute or "local")

    def _hand_over(self, target, job) -> None:
        """Hand ``job`` to ``target`` (:meth:`ComputeService.hand_over
        <jupyter_mlws.compute.targets.ComputeService.hand_over>`: a refusal ends the run failed)."""
        self.compute.hand_over(target, job, self.runs)

    def submit_grid(self, notebook, grid: Mapping[str, Sequence[Any]], parameters=None, *,
                    max_parallel: int = 2, experiment: str | None = None, detach: bool = True,
                    **options) -> Submission:
        """One parent run with a child per combination of the grid, run ``max_parallel`` at a time
        (with ``compute``: each child on that target, handed over by the sweep's process here)."""
        if not isinstance(max_parallel, int) or max_parallel < 1:
            raise InvalidInput(f"max_parallel must be a positive integer, got {max_parallel!r}")
        combos = expand_grid(grid)
        base = check_parameters(parameters or {})
        check_local(notebook)
        compute = options.get("compute")
        target = self._target(compute)
        self.compute.require_execution(target.name, _actor(options.get("actor")),
                                       options.get("check_actor", True))
        elsewhere = not self.compute.is_local(target.name)
        self.secrets.check_bindings(_actor(options.get("actor")),
                                    self.compute.run_secrets(target.name, options.get("secrets")),
                                    check_actor=options.get("check_actor", True))
        path = Path(notebook).expanduser().absolute()
        nb = load_notebook(path)
        resolve_kernel(nb.metadata, options.get("kernel"), path.name)
        experiment = experiment or path.stem
        if options.get("output") is not None:  # before any run is recorded
            self._output_path(options["output"], options.get("name") or f"{experiment}-N",
                              experiment, param_texts(recorded_parameters(nb, {**base, **combos[0]})))
        parent = self.runs.create(experiment, source_type="sweep", source_name=path.name,
                                  tags={"grid": json.dumps(grid, default=str)[:4000],
                                        "max_parallel": max_parallel}, status=R.QUEUED,
                                  user=options.get("user"))
        warnings: list[str] = []
        try:
            if compute is not None:
                self.compute.assign(parent.id, compute)
            for combo in combos:
                # children elsewhere execute from their snapshot: no copy of it here
                sub = self.submit(path, {**base, **combo}, experiment=experiment,
                                  parent_id=parent.id, detach=False, isolate=not elsewhere, **options)
                warnings = warnings or sub.warnings
        except BaseException as exc:
            self.runs.end(parent.id, R.FAILED, f"could not be submitted: {exc}")
            raise
        if detach:
            self.compute.target("local").submit(SweepJob(parent.id, max_parallel))
        return Submission(parent.id, warnings)

    def rerun(self, run_id: str, overrides: Mapping[str, Any] | None = None, *,
              detach: bool = True, secrets=None, actor: str | None = None,
              check_actor: bool = True, compute: str | None = None,
              user: str | None = None) -> Submission:
        """Re-execute a notebook run from its snapshot, parameters, kernel and secrets (with
        ``secrets`` added: ``["NAME", "NAME=ENVVAR"]``), on target ``compute`` (default
        ``local``)."""
        from ..secrets.names import parse_bindings

        self._target(compute)  # before a copy of the snapshot is made
        source = self.runs.get(run_id)
        spec = self.spec(source.id)
        given = {**self.secrets.bindings(source.id), **parse_bindings(secrets)}
        workdir = self.work_dir(f"rerun-of-{source.id}-{R.new_run_id()[:6]}")
        self.artifacts.download(source.id, None, workdir, kind="snapshot")
        params = {**spec["parameters"], **check_parameters(overrides or {})}
        tags = {"rerun_of": source.id}
        if source.tags.get("notebook"):
            tags["notebook"] = source.tags["notebook"]
        sub = self.submit(workdir / spec["notebook"], params, experiment=source.experiment,
                          kernel=spec["kernel"], timeout=spec["timeout"], retries=spec["retries"],
                          project_dir=workdir, tags=tags, detach=detach, secrets=given,
                          actor=actor, check_actor=check_actor, compute=compute, user=user,
                          _rerun_of=source.id)
        if not self.compute.is_local(compute or "local"):  # it executes from its snapshot
            shutil.rmtree(workdir, ignore_errors=True)
        return sub

    def promote(self, run_id: str, **options) -> Submission:
        """Turn a session run's successful cells into a notebook run (see :mod:`.promote`)."""
        from .promote import promote

        return promote(self, run_id, **options)

    # -- executing in this process ---------------------------------------------------------

    def execute_here(self, notebook, parameters=None, *, grid: Mapping | None = None,
                     max_parallel: int = 2, on_progress: Callable[[int, int], None] | None = None,
                     on_submitted: Callable[[Submission], None] | None = None,
                     **options) -> Submission:
        """Submit a notebook run (or a sweep) and execute it in this process; return once it ended.

        A run's kernel is started first, so that it boots while the run is recorded.
        ``on_submitted`` hears of the recorded run before it executes; ``on_progress(done,
        total)`` of cells done (of a sweep: child runs ended).  A sweep forks: this process
        must run no other thread.  ``_kernel``: the run's :class:`~.kernels.EarlyKernel`, when
        the caller started it before it opened the workspace (this then shuts it down).
        """
        early = options.pop("_kernel", None)
        if grid:
            if early is not None:
                early.shutdown(now=True)  # it ran nothing: a sweep's children start their own
            sub = self.submit_grid(notebook, grid, parameters, max_parallel=max_parallel,
                                   detach=False, **options)
            if on_submitted is not None:
                on_submitted(sub)
            self.execute_sweep(sub.run_id, max_parallel, on_progress)
            return sub
        from .executor import EarlyKernel, execute

        given = bool(options.get("secrets"))
        if early is not None and given:
            early.shutdown(now=True)  # started without the run's secrets: start one with them
            early = None
        if early is None:
            run_id = R.new_run_id()
            if given:  # recorded first: the kernel starts with them
                self.secrets.bind(_actor(options.get("actor")), run_id, options["secrets"],
                                  check_actor=options.get("check_actor", True))
            reporter = self.reporter(run_id)
            try:
                early = EarlyKernel(notebook, options.get("kernel"), options.get("project_dir"),
                                    reporter.kernel_env(), run_id)
            except BaseException:
                if given:
                    self.secrets.unbind(run_id)
                raise
        else:
            reporter = self.reporter(early.run_id)
        run_id = early.run_id
        recorded = False
        try:
            kernel = options.get("kernel") or early.kernel
            sub = self.submit(notebook, parameters, detach=False, _run_id=early.run_id,
                              **{**options, "kernel": kernel})
            recorded = True
            if on_submitted is not None:
                on_submitted(sub)
            execute(reporter, kernel=early, on_progress=on_progress)
        finally:
            early.shutdown(reporter.log)
            if given and not recorded:
                self.secrets.unbind(run_id)
        return sub

    def reporter(self, run_id: str) -> LocalReporter:
        """What an executor on this machine reports run ``run_id`` through."""
        return LocalReporter(run_id, notebooks=self, attach_run=self._attach_run, root=self.root,
                             heartbeat_interval=self.heartbeat_interval)

    def sweep_reporter(self, run_id: str) -> LocalSweepReporter:
        """What a sweep executed on this machine reports through."""
        return LocalSweepReporter(run_id, runs=self.runs, child_reporter=self._child_reporter,
                                  heartbeat_interval=self.heartbeat_interval)

    def execute_sweep(self, run_id: str, max_parallel: int,
                      on_progress: Callable[[int, int], None] | None = None) -> str:
        """Execute the queued children of sweep ``run_id`` in this process, ``max_parallel`` at a
        time, each in a forked process (see :func:`.sweep.run_sweep`); return its final status."""
        from .sweep import TargetLauncher, run_sweep

        target, _handle = self.compute.target_of(run_id)
        launcher = None
        if not self.compute.is_local(target):  # each child is handed to the target
            launcher = TargetLauncher(self.compute.target(target), job=self.job,
                                      hand_over=self._hand_over, runs=self.runs,
                                      cancel_run=self._cancel_run, check=self.compute.check)
        return run_sweep(self.sweep_reporter(run_id), max_parallel, on_progress, launcher=launcher)

    # -- working folders ------------------------------------------------------------------

    def work_dir(self, name: str) -> Path:
        """A working folder the workspace owns (removed when its run ends)."""
        path = self.root / "work" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def is_work_dir(self, path: Path) -> bool:
        """Whether ``path`` is one of the workspace's own working folders."""
        return Path(path).resolve().is_relative_to((self.root / "work").resolve())

    # -- the record ---------------------------------------------------------------

    def _insert_spec(self, run_id: str, job: NotebookJob, rerun_of: str | None) -> None:
        run_pk, rerun_of = self.runs.pk_of(run_id), rerun_of and self.runs.pk_of(rerun_of)
        self.db.transact(lambda conn: conn.execute(S.notebook_runs.insert().values(
            run_pk=run_pk, notebook=job.notebook, workdir=job.workdir, kernel=job.kernel,
            parameters=json.dumps(job.parameters), timeout=job.timeout, retries=job.retries,
            attempt=0, cells_total=0, cells_done=0, rerun_of=rerun_of, output=job.output)))

    def spec(self, run_id: str) -> dict:
        """The stored record of a notebook run: its job's fields, ``attempt``, ``cells_done``,
        ``cells_total`` and ``rerun_of``.  NotFound for other runs."""
        run_pk = self.runs.pk_of(run_id)
        t = S.notebook_runs
        with self.db.read() as conn:
            row = conn.execute(select(t).where(t.c.run_pk == run_pk)).mappings().first()
        if row is None:
            raise NotFound("that run was not made from a notebook: only notebook runs re-run")
        return {**row, "parameters": json.loads(row["parameters"])}

    def job(self, run_id: str) -> NotebookJob:
        """How notebook run ``run_id`` executes (NotFound for other runs)."""
        record = self.runs.get(run_id)
        spec = self.spec(record.id)
        return NotebookJob.from_dict({**spec, "run_id": record.id,
                                      "scratch": self.is_work_dir(Path(spec["workdir"]))})

    def _update(self, run_pk: int, **values) -> None:
        t = S.notebook_runs
        self.db.transact(lambda conn: conn.execute(t.update().where(t.c.run_pk == run_pk)
                                                   .values(**values)))

    def set_progress(self, run_id: str, done: int, total: int, *, attempt: int | None = None) -> None:
        """Record how many cells of the notebook have run (a reporter's call), in ``attempt``
        (1 the first; None: the attempt recorded)."""
        values = {} if attempt is None else {"attempt": attempt}
        self._update(self.runs.pk_of(run_id), cells_done=done, cells_total=total, **values)

    def set_attempt(self, run_id: str, attempt: int) -> None:
        """Record the attempt now executing (1 is the first; a reporter's call)."""
        self._update(self.runs.pk_of(run_id), attempt=attempt, cells_done=0)

    def record_attempt(self, run_id: str, number: int, status: str, error: str | None) -> None:
        """Keep how attempt ``number`` of a run ended (a reporter's call)."""
        self.runs.add_value(run_id, "attempts", "attempt", number, R.now_ms(),
                            data=json.dumps({"attempt": number, "status": status, "error": error}))

    def record_environment(self, run_id: str, kernel: str, captured: Mapping[str, Any]) -> None:
        """Keep the environment a run's kernel executed in (:func:`jupyter_mlws.environment.capture`):
        tags ``kernel`` (unless empty: a command run's), ``env_hash`` and ``python``, and the
        artifact ``environment.json``."""
        if not captured:
            return
        from ..environment import env_hash

        self.runs.set_tags(run_id, {**({"kernel": kernel} if kernel else {}),
                                    "env_hash": env_hash(captured),
                                    "python": captured["python"].split()[0]})
        sha, size = self.blobs.put_bytes(json.dumps(captured, indent=1).encode())
        self.runs.add_files(run_id, "artifact", [("environment.json", sha, size)])

    def record_cells(self, run_id: str, records: list[dict]) -> None:
        """Keep the per-cell records of an executed notebook (a reporter's call)."""
        self.runs.add_value(run_id, "cells", "cells", 0, R.now_ms(), data=json.dumps(records))

    def progress(self, run_id: str) -> dict:
        """Cells done and total, the attempt, and the run's status."""
        record = self.runs.get(run_id)
        try:
            spec = self.spec(record.id)
        except NotFound:
            spec = {"cells_done": 0, "cells_total": 0, "attempt": 0}
        return {"status": record.status, "done": spec["cells_done"], "total": spec["cells_total"],
                "attempt": spec["attempt"], "error": record.error}

    def done(self, run_id: str) -> tuple[int, int]:
        """How far a run is, as ``(done, total)``: cells of a notebook run, ended children of a
        sweep, ``(0, 0)`` for other runs."""
        record = self.runs.get(run_id)
        if record.source_type == "sweep":
            children = self.runs.children(record.id)
            return sum(c.status not in R.LIVE for c in children), len(children)
        state = self.progress(record.id)
        return state["done"], state["total"]

    def cells(self, run_id: str) -> list[dict]:
        """Per-cell records of a notebook run, in the executed notebook's order.

        Each: ``index`` (0-based, in the executed notebook), ``number`` (the cell as the user
        counts it in the notebook they submitted, 1 the first, as error messages name it; None
        for the parameters cell Papermill inserted), ``type``, ``execution_count``, ``status``, ``start``
        (ISO text), ``duration`` (seconds), ``source`` (its first 200 characters).
        """
        record = self.runs.get(run_id)
        rows = self.runs.values(record.id, "cells")
        return json.loads(rows[-1]["data"]) if rows else []

    def keep_live_notebook(self, run_id: str) -> None:
        """Store the output notebook a killed executor left (its last save) as the run's
        artifact, with its cell records and output copy, as the executor would have at the end."""
        from .executor import store_notebook

        live_nb = self.artifacts.live_root / run_id / "output.ipynb"
        if not live_nb.is_file():
            return
        reporter = self.reporter(run_id)
        job = reporter.job()
        from .document import cell_records

        records = cell_records(live_nb, job.path)
        if records is not None:
            reporter.cells(records)
        store_notebook(reporter, job, live_nb)
        reporter.copy_output()

    # -- output copies ---------------------------------------------------------------

    def _output_path(self, template: str, run_name: str, experiment: str,
                     params: Mapping[str, str]) -> Path:
        return output_path(self.root, template, run_name, experiment, params)

    def copy_output(self, run_id: str) -> None:
        """Copy the stored output notebook to the run's output path, if it asked for one."""
        record = self.runs.get(run_id)
        spec = self.spec(record.id)
        if not spec.get("output"):
            return
        stored = [f for f in self.runs.files(record.id, "artifact") if f["path"].startswith("notebook/")]
        if stored:
            target = self._output_path(spec["output"], record.name, record.experiment, record.params)
            copy_blob(self.blobs, stored[0]["sha256"], target)
