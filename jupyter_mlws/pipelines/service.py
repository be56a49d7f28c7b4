"""Pipelines of a workspace: run one, read its runs and why each step ran or was reused.

``ws.pipelines.run("pipeline.yaml")`` checks the definition and every option before anything is
recorded, snapshots the project folder once (every step executes from that snapshot, so an
edit made while the pipeline runs changes nothing), records the parent run (source type
``pipeline``) with its steps pending, and hands it to a detached orchestrator
(:mod:`.orchestrator`), or executes it in this process with ``wait=True``.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Mapping, Sequence

from .. import run_records as R
from ..errors import InvalidInput, NotFound
from .definition import Pipeline, Step, load, parse
from .keys import Key, dep_hashes
from .records import PipelineRecords

#: the default number of steps running at once
MAX_PARALLEL = 4
#: the source type of a pipeline's parent run
SOURCE_TYPE = "pipeline"


class PipelineJob:
    """What the ``local`` target starts for a pipeline run: its orchestrator, detached."""

    kind = "pipeline"
    module = "jupyter_mlws.pipelines.orchestrator"

    def __init__(self, run_id: str):
        self.run_id = run_id

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "run_id": self.run_id}


class PipelineService:
    """Run pipelines and read their runs.

    Parameters
    ----------
    db, runs, artifacts, blobs
        The store, the run service, the artifact service and the blob store.
    notebooks : callable
        ``notebooks() -> NotebookService`` (built on first use): submits each step's run.
    compute : callable
        ``compute() -> ComputeService``: the target steps execute on, checked first.
    environments : callable
        ``environments() -> EnvironmentService``: the spec hash in each step's key.
    cancel_run : callable
        ``cancel_run(run_id)``: stops a step's run wherever it executes.
    datasets : callable, optional
        ``datasets() -> DatasetService``: outputs declared ``{file, dataset}`` become dataset
        versions; ``dataset:REF`` parameters are pinned in a step's key.
    heartbeat_interval : float
        Seconds between two heartbeats of an orchestrator.
    snapshot_max_bytes : int
        The largest project folder a pipeline run snapshots.
    """

    def __init__(self, *, db, runs, artifacts, blobs, notebooks: Callable[[], Any],
                 compute: Callable[[], Any], environments: Callable[[], Any],
                 cancel_run: Callable[[str], Any], heartbeat_interval: float,
                 snapshot_max_bytes: int, datasets: Callable[[], Any] | None = None):
        self.db, self.runs, self.artifacts, self.blobs = db, runs, artifacts, blobs
        self._datasets = datasets
        self._notebooks, self._compute, self._environments = notebooks, compute, environments
        self.cancel_run = cancel_run
        self.heartbeat_interval = heartbeat_interval
        self.snapshot_max_bytes = snapshot_max_bytes
        self.records = PipelineRecords(db, runs)

    @property
    def notebooks(self):
        return self._notebooks()

    @property
    def compute(self):
        return self._compute()

    # -- running ----------------------------------------------------------------------------

    def run(self, definition: str | os.PathLike | Pipeline | Mapping, *,
            project_dir: str | os.PathLike | None = None,
            parameters: Mapping[str, Any] | None = None, compute: str | None = None,
            only: Sequence[str] = (), from_step: str | None = None, force: Sequence[str] = (),
            no_reuse: bool = False, max_parallel: int = MAX_PARALLEL, wait: bool = False,
            on_progress: Callable[[int, int], None] | None = None,
            on_submitted: Callable[[str], None] | None = None, user: str | None = None,
            _run_id: str | None = None, actor: str | None = None,
            check_actor: bool = True) -> str:
        """Start a pipeline run; return its (parent) run id.

        Parameters
        ----------
        definition : path, Pipeline or dict
            A ``pipeline.yaml`` file, or a pipeline built in code (:class:`~.definition.Pipeline`).
        project_dir : path, optional
            The folder the steps' paths are relative to, snapshotted once (default: the YAML
            file's folder, else the current folder).
        parameters : mapping, optional
            ``{name: value}`` for the pipeline's parameters, ``{"STEP.name": value}`` for one
            step's parameter.  A name the pipeline does not declare, or a step it does not
            have, is refused; a ``STEP.name`` that neither the step nor its notebook's
            ``parameters`` cell declares is passed anyway and warned of, as ``mlws run
            submit`` does (:meth:`describe`'s ``warnings``).
        compute : str, optional
            The compute target every step executes on (default ``local``).
        only : names, optional
            Run only these steps; the others are skipped, their outputs taken from their
            latest completed run.
        from_step : str, optional
            Run this step and every step after it; the earlier ones are skipped likewise.
        force : names, optional
            Run these steps (and every step after them) even when they could be reused.
        no_reuse : bool
            Run every step.
        max_parallel : int
            Steps running at once (1 to 64).
        wait : bool
            Execute here and return once it ended (else a detached orchestrator does).
        on_progress : callable, optional
            With ``wait``: ``on_progress(done, total)`` as steps end.
        on_submitted : callable, optional
            Hears the run id once it is recorded, before it executes.
        user : str, optional
            Who the run records as its user (default: this OS user; a server gives its
            request's user); its steps' runs record the same.
        _run_id : str, optional
            A queued run the caller recorded (a schedule's run, in its tick claim's
            transaction): it becomes the parent run, filled in rather than created.
        actor, check_actor : optional
            Who starts it (default this OS user), and whether that is checked here: on
            ``local`` its steps execute as this machine's account, an owner's action
            unless mlws.toml opens it (:meth:`ComputeService.require_execution
            <jupyter_mlws.compute.targets.ComputeService.require_execution>`).

        Raises
        ------
        InvalidInput
            A bad definition or option (nothing is recorded); a skipped step with no completed
            run to take its outputs from.
        NotFound
            A step's file, or the compute target, does not exist.
        PermissionDenied
            ``actor`` may not have its steps executed on ``local`` (nothing is recorded).
        """
        self.compute.require_execution(compute, actor, check_actor)
        pipeline, project, shown, options, files = self._prepare(
            definition, project_dir, parameters, compute, only, from_step, force, no_reuse,
            max_parallel)
        from ..snapshot import git_info

        self._end_orphans(pipeline.name)
        if _run_id is not None:
            record = self.runs.get(_run_id)
            self.runs.set_tags(record.id, {"pipeline": pipeline.name})
        else:
            record = self.runs.create(pipeline.name, source_type=SOURCE_TYPE, source_name=shown,
                                      git=git_info(project), status=R.QUEUED,
                                      tags={"pipeline": pipeline.name}, user=user)
        try:
            if pipeline.parameters or options["parameters"]:
                from ..notebooks.parameters import param_texts

                self.runs.log_params(record.id, param_texts(
                    {**pipeline.parameters, **options["parameters"]}))
            self.artifacts.store_snapshot(record.id, files)
            self.records.create(record.id, pipeline.name, pipeline.to_dict(), options,
                                pipeline.order())
        except BaseException as exc:
            self.runs.end(record.id, R.FAILED, f"could not be recorded: {exc}")
            raise
        if on_submitted is not None:
            on_submitted(record.id)
        if wait:
            self.execute(record.id, on_progress)
        else:
            self.compute.target("local").submit(PipelineJob(record.id))
        return record.id

    def check(self, definition: str | os.PathLike | Pipeline | Mapping, *,
              project_dir: str | os.PathLike | None = None,
              parameters: Mapping[str, Any] | None = None,
              compute: str | None = None) -> list[str]:
        """Check a pipeline and a run's options as :meth:`run` does first (the definition, its
        steps' files, the parameters, the compute target), recording nothing; return what
        :meth:`run` would warn of (``STEP.NAME`` parameters a notebook step does not declare).
        Raises as :meth:`run` does."""
        return self._prepare(definition, project_dir, parameters, compute, (), None, (), False,
                             MAX_PARALLEL)[3]["warnings"]

    def _prepare(self, definition, project_dir, parameters, compute, only, from_step, force,
                 no_reuse, max_parallel) -> tuple[Pipeline, Path, str, dict, list]:
        """What :meth:`run` checks before anything is recorded: ``(pipeline, project folder,
        its source's name, options, the project's snapshot files)``."""
        pipeline, project, shown = self._definition(definition, project_dir)
        options = self._options(pipeline, parameters, compute, only, from_step, force, no_reuse,
                                max_parallel)
        from ..snapshot import collect

        files = collect(project, max_bytes=self.snapshot_max_bytes)
        paths = {f.path for f in files}
        for step in pipeline.steps:
            self._check_file(step, project, paths)
            dep_hashes(step.name, step.deps, dict.fromkeys(paths, ""))  # InvalidInput first
        options["warnings"] = self._parameter_warnings(pipeline, project,
                                                       options["step_parameters"])
        selected = set(options["selected"])
        after = pipeline.downstream(selected) - selected
        options["warnings"] += [f"-p {name}.{p} has no effect: step {name} does not run "
                                "(it is not in --only) and nothing that runs reads it"
                                for name in sorted(after)
                                for p in options["step_parameters"].get(name, {})]
        for name in pipeline.order():  # in DAG order: the first step without outputs is named
            if name not in selected:
                self.latest_done(pipeline, name, None)  # InvalidInput when there is none
        if options.get("compute"):
            self.compute.target(options["compute"])  # NotFound / Unavailable first
        return pipeline, project, shown, options, files

    def _end_orphans(self, name: str) -> None:
        """End the live runs of pipeline ``name`` whose orchestrator died (a process of this
        machine that is gone): ``killed``, their queued steps canceled.  Their running steps run
        on; a new run waits for them rather than start them again."""
        from ..errors import Conflict

        for run_id in self.records.runs_of(name, 20):
            record = self.runs.get(run_id)
            process = self.runs.process_of(record.id) if record.status == R.RUNNING else None
            if process is None or not process.gone_here():
                continue
            try:
                self.runs.end(record.id, R.KILLED, "killed: its orchestrator process died (the "
                                                   "steps it had started ran on)")
            except Conflict:
                continue
            for child in self.runs.children(record.id):
                if child.status == R.QUEUED:
                    try:
                        self.runs.end(child.id, R.CANCELED, "its pipeline's orchestrator died "
                                                            "before it started")
                    except Conflict:
                        pass
            for row in self.records.steps(record.id):
                if row.state == "pending":
                    self.records.update(record.id, row.name, state="canceled",
                                        reason="not run: the orchestrator died")

    def execute(self, run_id: str, on_progress: Callable[[int, int], None] | None = None) -> str:
        """Execute recorded pipeline run ``run_id`` in this process; return its final status."""
        from .orchestrator import Orchestrator

        return Orchestrator(self, self.runs.id_of(run_id), on_progress).execute()

    def _definition(self, definition, project_dir) -> tuple[Pipeline, Path, str]:
        """The checked pipeline, its project folder and how to name its source."""
        if isinstance(definition, (str, os.PathLike)):
            path = Path(definition).expanduser().absolute()
            if not path.is_file():
                raise NotFound(f"no pipeline file at {os.fspath(definition)!r}")
            pipeline = load(path.read_bytes(), default_name=path.stem, shown=path.name)
            project = Path(project_dir).expanduser().absolute() if project_dir else path.parent
            return pipeline, project, path.name
        pipeline = parse(definition)
        project = Path(project_dir or ".").expanduser().absolute()
        return pipeline, project, pipeline.name

    def _options(self, pipeline: Pipeline, parameters, compute, only, from_step, force,
                 no_reuse, max_parallel) -> dict:
        """The run's options, checked: parameters by name, steps named, one way to choose."""
        from ..notebooks.parameters import check_parameters

        names = pipeline.order()
        for name in [*only, *([from_step] if from_step else []), *force]:
            pipeline.step(name)  # InvalidInput naming the steps
        if only and from_step:
            raise InvalidInput("give --only or --from, not both")
        if force and no_reuse:
            raise InvalidInput("give --force STEP or --no-reuse, not both")
        if isinstance(max_parallel, bool) or not isinstance(max_parallel, int) \
                or not 1 <= max_parallel <= 64:
            raise InvalidInput(f"max_parallel must be an integer from 1 to 64, got {max_parallel!r}")
        if compute is not None and (not isinstance(compute, str) or not compute):
            raise InvalidInput(f"compute is a target's name, got {compute!r}")
        pipeline_params, step_params = {}, {}
        for name, value in (parameters or {}).items():
            if isinstance(name, str) and "." in name:
                step_name, pname = name.split(".", 1)
                step = pipeline.step(step_name)
                if pname in step.inputs:
                    raise InvalidInput(f"{name}: {pname!r} is an input of step {step_name!r}, "
                                       "given by its upstream step: it cannot be set")
                step_params.setdefault(step_name, {})[pname] = value
            elif name in pipeline.parameters:
                pipeline_params[name] = value
            else:
                declared = ", ".join(pipeline.parameters) or "none"
                raise InvalidInput(f"the pipeline declares no parameter {name!r} (its "
                                   f"parameters: {declared}); set a step's with STEP.NAME")
        check_parameters(pipeline_params)
        for values in step_params.values():
            check_parameters(values)
        if only:
            selected = [n for n in names if n in set(only)]
            for name in names:  # a step between two selected ones would read stale outputs
                if name not in selected and name in pipeline.downstream(selected) and \
                        pipeline.downstream([name]).intersection(selected):
                    after = sorted(pipeline.downstream([name]).intersection(selected))
                    raise InvalidInput(f"--only: step {name!r} is not selected, but it reads "
                                       f"the outputs of a selected step and {after[0]!r} reads "
                                       f"its own: add {name} to --only")
        elif from_step:
            selected = [n for n in names if n in pipeline.downstream([from_step])]
        else:
            selected = names
        return {"parameters": pipeline_params, "step_parameters": step_params,
                "compute": compute, "only": list(only), "from": from_step, "force": list(force),
                "no_reuse": bool(no_reuse), "max_parallel": max_parallel, "selected": selected}

    @staticmethod
    def _parameter_warnings(pipeline: Pipeline, project: Path,
                            step_parameters: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """``STEP.NAME`` parameters given to a notebook step that neither the step nor its
        notebook's ``parameters`` cell declares: warned of and passed anyway, as ``mlws run
        submit`` does (:func:`~jupyter_mlws.notebooks.parameters.parameter_warnings`)."""
        from ..notebooks.document import load_notebook
        from ..notebooks.parameters import parameter_warnings

        out = []
        for name, values in step_parameters.items():
            step = pipeline.step(name)
            given = {k: v for k, v in values.items() if k not in step.parameters}
            if step.kind == "notebook" and given:
                nb = load_notebook(project / step.path, step.path)
                out += [f"step {name!r}: {w}" for w in parameter_warnings(nb, given, step.path)]
        return out

    def _check_file(self, step: Step, project: Path, snapshot: set[str]) -> None:
        """The step's file exists in the project and its snapshot: NotFound / InvalidInput."""
        where = project / step.path
        if not where.resolve().is_relative_to(project.resolve()):
            raise InvalidInput(f"step {step.name!r}: {step.path!r} leaves the project folder "
                               "(a link to elsewhere): copy the file into the project")
        if not where.is_file():
            raise NotFound(f"step {step.name!r}: no {step.kind} {step.path!r} in the project "
                           "folder")
        if step.path not in snapshot:
            raise InvalidInput(f"step {step.name!r}: {step.path!r} is left out of the project's "
                               "snapshot (.gitignore or .mlwsignore): un-ignore it")
        if step.kind == "notebook":
            from ..notebooks.document import load_notebook
            from ..notebooks.kernels import resolve

            resolve(load_notebook(where, step.path).metadata, step.kernel, step.path)

    # -- what the orchestrator asks ----------------------------------------------------------------

    def submit_step(self, parent: str, pipeline: Pipeline, step: Step, params: dict,
                    input_files: Mapping[str, tuple[str, int]], compute: str | None) -> str:
        """Record step ``step``'s child run of pipeline run ``parent`` (queued, not handed over):
        its folder is the pipeline's snapshot with its inputs in ``inputs/``."""
        from ..artifacts import copy_blob
        from ..fsutil import safe_join

        nbs = self.notebooks
        run_id = R.new_run_id()
        workdir = nbs.work_dir(run_id)
        self.artifacts.download(parent, None, workdir, kind="snapshot")
        for path, (sha, _size) in input_files.items():
            copy_blob(self.blobs, sha, safe_join(workdir, path))
        try:
            nbs.submit(workdir / step.path, params, experiment=pipeline.name, kernel=step.kernel,
                       timeout=step.timeout, retries=step.retries, project_dir=workdir,
                       name=step.name, parent_id=parent, detach=False, compute=compute,
                       check_actor=False, _run_id=run_id,
                       tags={"pipeline": pipeline.name, "pipeline_step": step.name})
            # inputs are part of the step's snapshot, even where an ignore rule leaves them out
            have = {f["path"] for f in self.runs.files(run_id, "snapshot")}
            self.runs.add_files(run_id, "snapshot", [(p, sha, size) for p, (sha, size)
                                                     in input_files.items() if p not in have])
        finally:
            if not self.compute.is_local(compute or "local"):  # it executes from its snapshot
                shutil.rmtree(workdir, ignore_errors=True)
        return run_id

    def linked_child(self, parent: str, pipeline: Pipeline, step: Step, source: str,
                     outputs: Mapping[str, dict]) -> str:
        """A completed child run of ``parent`` for a step not executed: it holds ``source``'s
        outputs (the same blobs) and is tagged ``reused_from``."""
        record = self.runs.create(pipeline.name, name=step.name, parent_id=parent,
                                  source_type="notebook", source_name=step.path, status=R.QUEUED,
                                  tags={"pipeline": pipeline.name, "pipeline_step": step.name,
                                        "reused_from": source})
        self.runs.add_files(record.id, "artifact", [(f"outputs/{name}", o["sha256"], o["size"])
                                                    for name, o in outputs.items()])
        self.runs.end(record.id, R.COMPLETED)
        return record.id

    def register_datasets(self, run_id: str, step: Step, outputs: Mapping[str, dict]) -> list[str]:
        """Register each output of ``step`` declared ``{file, dataset}`` (its blob, from run
        ``run_id``) as the next version of its dataset, made by that run (unchanged content
        makes no new version); the versions' refs."""
        if not step.datasets or self._datasets is None:
            return []
        from ..datasets.service import Source
        from ..datasets.tabular import format_of

        refs = []
        for output, name in step.datasets.items():
            meta = outputs[output]
            source = Source(PurePosixPath(output).name, meta["sha256"], meta["size"],
                            functools.partial(self.blobs.open, meta["sha256"]))
            done = self._datasets().register_sources(
                name, [source], run=run_id, tabular=format_of([output]) is not None,
                source=f"{step.name}/{output}",
                description=f"output {output} of pipeline step {step.name}")
            refs.append(done.version.ref)
        return refs

    def pin_datasets(self, params: dict) -> dict:
        """``params`` with each ``dataset:REF`` pinned to its version (a new version of an input
        dataset changes the step's key)."""
        if self._datasets is None:
            return params
        return self._datasets().pin(params)[0]

    def outputs_of(self, run_id: str, step: Step) -> dict | None:
        """``{output: {sha256, size}}`` of the step's declared outputs in run ``run_id``'s files;
        None when one is missing (or its blob is gone)."""
        files = {f["path"]: f for f in self.runs.files(run_id, "artifact")}
        out = {}
        for name in step.outputs:
            f = files.get(f"outputs/{name}")
            if f is None or not self.blobs.exists(f["sha256"]):
                return None
            out[name] = {"sha256": f["sha256"], "size": f["size"]}
        return out

    def missing_outputs(self, run_id: str, step: Step) -> list[str]:
        """The declared outputs run ``run_id`` did not write, as ``outputs/NAME``."""
        files = {f["path"] for f in self.runs.files(run_id, "artifact")}
        return [f"outputs/{n}" for n in step.outputs if f"outputs/{n}" not in files]

    def latest_done(self, pipeline: Pipeline, step: str, exclude: str | None) -> tuple[str, dict]:
        """The run whose outputs a skipped step takes: its latest completed (or reused) run in
        this pipeline whose declared outputs are all there, as ``(run id, outputs)``.
        InvalidInput when there is none."""
        for row in self.records.latest_done(pipeline.name, step, exclude):
            source = row.source_id or row.run_id
            outputs = self.outputs_of(source, pipeline.step(step)) if source else None
            if outputs is not None:
                return source, outputs
        raise InvalidInput(f"step {step!r} is not selected to run, and has no completed run "
                           "to take its outputs from: run the pipeline without --only/--from "
                           "first (or include that step)")

    def previous(self, pipeline: str, step: str, exclude: str) -> tuple[Key | None, str | None]:
        """The key of step ``step``'s latest completed run in pipeline ``pipeline`` (not in run
        ``exclude``), and that run: what a step that runs again is compared with."""
        for row in self.records.latest_done(pipeline, step, exclude):
            if row.parts:
                return Key.from_dict(row.parts), row.source_id or row.run_id
        return None, None

    def kernel_of(self, step: Step, snapshot: Mapping[str, str]) -> str:
        """The kernel notebook step ``step`` runs with (its ``kernel``, else its notebook's)."""
        import nbformat

        from ..notebooks.kernels import resolve

        if step.kernel:
            return step.kernel
        nb = nbformat.reads(self.blobs.read_bytes(snapshot[step.path]).decode(), as_version=4)
        return resolve(nb.metadata, None, step.path).name

    def environment_spec(self, kernel: str | None):
        """The spec of the environment a step runs in (its hash is the key's ``environment``):
        kernel ``kernel``'s (a notebook), or this interpreter's (a script, which the executor
        runs with it)."""
        envs = self._environments()
        return envs.of_kernel(kernel) if kernel else envs.current()

    def environment_changes(self, before_run: str | None, spec) -> list[str]:
        """What changed from the environment run ``before_run`` executed in to ``spec``, an item
        each (:meth:`~jupyter_mlws.environments.spec.Difference.changes`); [] when that run
        recorded none (a step reused from a run before environment specs)."""
        from ..environments.spec import diff
        from ..errors import MlwsError

        if before_run is None:
            return []
        try:
            before = self._environments().of_run(before_run)
        except MlwsError:
            return []
        return diff(before, spec).changes()

    # -- reading ----------------------------------------------------------------------------------

    def list(self) -> list[dict]:
        """Every pipeline that has runs: ``name``, ``runs`` (how many), ``last_run`` (its id),
        ``last_status`` and ``last_start`` (ms), by name."""
        out = []
        for p in self.records.pipelines():
            last = self.runs.get(p["last_run"])
            out.append({**p, "last_status": last.status, "last_start": last.start_time})
        return out

    def runs_of(self, name: str, limit: int = 100) -> list[dict]:
        """Pipeline ``name``'s runs, newest first: each run's ``id``, ``status``, ``start_time``,
        ``end_time``, ``error`` and ``states`` (how many steps are in each state).  NotFound
        for a pipeline that never ran."""
        ids = self.records.runs_of(name, limit)
        if not ids:
            raise NotFound(f"no pipeline {name!r} has run here ('mlws pipeline list' shows those "
                           "that did)")
        out = []
        for run_id in ids:
            record = self.runs.get(run_id)
            states: dict[str, int] = {}
            for row in self.records.steps(run_id):
                states[row.state] = states.get(row.state, 0) + 1
            out.append({"id": record.id, "status": record.status, "start_time": record.start_time,
                        "end_time": record.end_time, "error": record.error, "states": states})
        return out

    def show(self, name: str) -> dict:
        """Pipeline ``name`` as its latest run defined it: ``name``, ``definition`` (its steps),
        ``edges`` and ``runs`` (the newest 10, as :meth:`runs_of`)."""
        runs = self.runs_of(name, 10)
        stored = self.records.get(runs[0]["id"])
        pipeline = parse(stored["definition"])
        return {"name": name, "definition": pipeline.to_dict(), "edges": pipeline.edges(),
                "runs": runs}

    def describe(self, run_id: str) -> dict:
        """Pipeline run ``run_id`` as its page (and the sidebar's graph) shows it.

        Returns ``{"run": the parent run's details, "pipeline": name, "options": {...},
        "steps": [...], "edges": [[upstream, downstream], ...]}``; each step has ``name``,
        ``kind`` (script, notebook), ``path``, ``inputs``, ``outputs`` (declared; ``files``:
        name -> {sha256, size} once done), ``state`` (pending, running, completed, reused,
        skipped, failed, blocked, canceled), ``run_id`` (its child run), ``run_status``,
        ``reused_from`` (the run whose outputs it holds), ``reason`` (why it ran or was reused,
        in words), ``changed`` (what changed in its key: code, parameters, inputs,
        environment; or forced, no earlier run), ``key`` and ``started_at``/``ended_at`` (ms).
        ``warnings``: what the run was warned of when it started (``STEP.NAME`` parameters a
        notebook step does not declare).  NotFound for a run that is not a pipeline run.
        """
        record = self.runs.get(run_id)
        stored = self.records.get(record.id)
        if stored is None:
            raise NotFound(f"run {record.id} is not a pipeline run")
        pipeline = parse(stored["definition"])
        rows = {row.name: row for row in self.records.steps(record.id)}
        steps = []
        for step in pipeline.steps:
            row = rows[step.name]
            status = self.runs.get(row.run_id).status if row.run_id else None
            steps.append({
                "name": step.name, "kind": step.kind, "path": step.path,
                "inputs": step.inputs, "outputs": step.outputs, "files": row.outputs or {},
                "state": row.state, "run_id": row.run_id, "run_status": status,
                "reused_from": row.source_id if row.state in ("reused", "skipped") else None,
                "reason": row.reason, "changed": row.changed, "key": row.key,
                "started_at": row.started_at, "ended_at": row.ended_at})
        return {"run": record.details(), "pipeline": stored["name"],
                "options": {k: v for k, v in stored["options"].items()
                            if k not in ("selected", "warnings")},
                "warnings": stored["options"].get("warnings", []),
                "steps": steps, "edges": [list(e) for e in pipeline.edges()]}
