"""Notebooks as experiments: submit a parameterised notebook as a run, re-run it, sweep it.

Everything is checked before a kernel starts: the notebook (valid nbformat),
the kernel, parameter names and values, the output path.  A submitted run is
recorded at once (params, snapshot, how to execute it) and executed by
:mod:`jupyter_mlws.executor`, in a detached process unless the caller executes
it itself.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from sqlalchemy import select

from . import runs as R
from .artifact_names import atomic_copy, safe_join, shown_path, without_roots
from .errors import InvalidInput, MlwsError, NotFound
from .kernels import resolve as resolve_kernel
from .limits import PARAM_VALUE_MAX, TAG_VALUE_MAX, param_json
from .parameters import check_parameters, expand_grid
from .store import schema as S

if TYPE_CHECKING:  # pragma: no cover
    from .run import Run
    from .workspace import Workspace


#: the tag of a notebook run listing, as a JSON list, the params given to it (the rest
#: are the notebook's defaults)
OVERRIDDEN_TAG = "overridden_params"


@dataclass
class Submission:
    """A submitted notebook run: its id and what was worth a warning."""

    run_id: str
    warnings: list[str] = field(default_factory=list)


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/")


def check_local(ref: str | os.PathLike) -> None:
    """InvalidInput for a notebook given as a URL (``s3://b/k.ipynb``, ``http://...``,
    ``file:///...``): only notebook files are submitted, never fetched."""
    if isinstance(ref, str) and _URL.match(ref):
        raise InvalidInput(f"{ref!r} is a URL: only notebook files inside the server's (or "
                           "project's) folder can be submitted; copy it there and give its path")


def load_notebook(path: Path, shown: str | None = None):
    """Read and validate a notebook; a clear error when it is missing or malformed.

    Messages name it as ``shown`` (default: relative to the current folder, else its
    name alone), never by a server's absolute path.
    """
    import nbformat

    shown = shown or shown_path(path)
    if not path.is_file():
        raise NotFound(f"no notebook at {shown!r}")
    try:
        nb = nbformat.read(str(path), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises JSON, validation and reader errors
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"{shown} is not a valid notebook ({without_roots(first, path.parent)}): "
                           "open it in Jupyter and save it again") from None
    return nb


def declared_parameters(nb) -> list[str] | None:
    """Names assigned in the cell tagged ``parameters``; None when there is no such cell."""
    found = parameter_defaults(nb)
    return None if found is None else [p["name"] for p in found]


def parameter_defaults(nb) -> list[dict] | None:
    """The cell tagged ``parameters``, read without running it: each assigned name with its
    default (``value``: the literal, or None when it is an expression; ``source``: the
    expression's text; ``type``: the literal's type name; ``text``: the literal as JSON, which
    ``-p`` and a form's ``parameter_texts`` read back as the same value (``1.0`` stays a
    float), or an expression's source).  None when there is no such cell."""
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                return []
            out = []
            for node in tree.body:
                targets = node.targets if isinstance(node, ast.Assign) else (
                    [node.target] if isinstance(node, ast.AnnAssign) else [])
                value = getattr(node, "value", None)
                for target in targets:
                    if not isinstance(target, ast.Name):
                        continue
                    try:
                        literal = ast.literal_eval(value) if value is not None else None
                        json.dumps(literal)  # a form can show and send it back
                        kind = type(literal).__name__
                    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                        literal, kind = None, "expression"
                    source = ast.get_source_segment(cell.source, value) if value else ""
                    text = json.dumps(literal, ensure_ascii=False) if kind != "expression" and source \
                        else source
                    out.append({"name": target.id, "value": literal, "type": kind,
                                "source": source, "text": text})
            return out
    return None


def recorded_parameters(nb, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """What a notebook run records as its params: every name the ``parameters`` cell
    assigns, with its default as written (``1.0`` stays a float; an expression that is
    not a literal, such as ``np.arange(3)``, as its source text), then the overrides
    (also names the cell does not declare).  A name annotated without a value counts
    only when it is overridden."""
    defaults = {p["name"]: p["source"] if p["type"] == "expression" else p["value"]
                for p in parameter_defaults(nb) or [] if p["source"]}
    return {**defaults, **overrides}


def cell_number(inserted_at: int | None, index: int) -> int | None:
    """A cell of an executed notebook as the user counts it in the notebook they submitted: 1 is
    the first cell; None for the parameters cell Papermill inserted (at ``inserted_at``, if any)."""
    if inserted_at is not None and index >= inserted_at:
        return None if index == inserted_at else index
    return index + 1


def injected_index(nb) -> int | None:
    """Where Papermill injected the parameters into an executed notebook (None: nowhere)."""
    return next((i for i, c in enumerate(nb.cells)
                 if "injected-parameters" in c.get("metadata", {}).get("tags", [])), None)


def inserted_index(injected_at: int | None, submitted: Path) -> int | None:
    """Where Papermill inserted a cell: ``injected_at``, unless the ``submitted`` notebook (an
    executed one, submitted again) already held that cell, which Papermill then replaced."""
    try:
        with open(submitted, encoding="utf-8") as f:
            cells = json.load(f).get("cells", [])
        had = any("injected-parameters" in c.get("metadata", {}).get("tags", []) for c in cells)
    except (OSError, ValueError, AttributeError, TypeError):
        had = False
    return None if had else injected_at


class NotebookService:
    """Submit, track, re-run and sweep notebook runs of a workspace."""

    def __init__(self, ws: "Workspace"):
        self.ws = ws

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
        _rerun_of: int | None = None,
        _run_id: str | None = None,
    ) -> Submission:
        """Record a notebook run and start it (see :meth:`Workspace.submit_notebook`).

        With ``isolate`` the run executes in its own copy of the snapshot (what sweeps
        do, so that children running at once never share an ``outputs/`` folder).
        """
        check_local(notebook)
        path = Path(notebook).expanduser().absolute()
        project = Path(project_dir).expanduser().absolute() if project_dir else path.parent
        if not path.is_relative_to(project):
            raise InvalidInput(f"the notebook {path.name!r} is not inside the project folder "
                               f"{shown_path(project)!r}: pass the folder that holds it")
        params = check_parameters(parameters or {})
        if not isinstance(retries, int) or not 0 <= retries <= 10:
            raise InvalidInput(f"retries must be an integer from 0 to 10, got {retries!r}")
        if timeout is not None and not (isinstance(timeout, (int, float)) and 0 < timeout < float("inf")):
            raise InvalidInput(f"timeout must be a positive number of seconds, got {timeout!r}")
        nb = load_notebook(path)
        kernel = resolve_kernel(nb.metadata, kernel, path.name).name
        warnings = _parameter_warnings(nb, params, path.name)
        experiment = experiment or path.stem
        run_name = name or None
        recorded = _param_texts(recorded_parameters(nb, params))
        if output is not None:
            self._output_path(output, run_name or f"{experiment}-N", experiment, recorded)
        files = self.ws.tracking.collect_snapshot(project)
        from .snapshot import git_info

        record = self.ws.runs.create(
            experiment, name=run_name, parent_id=parent_id, tags=tags, source_type="notebook",
            source_name=path.relative_to(project).as_posix(), git=git_info(project),
            status=R.QUEUED, run_id=_run_id)
        try:
            self.ws.runs.log_params(record.pk, recorded)
            system_tags = {"kernel": kernel, OVERRIDDEN_TAG: _overridden(params)}
            if not self.is_work_dir(path):  # where the notebook lives (a re-run keeps its source's)
                system_tags["notebook"] = str(path)
            self.ws.runs.set_tags(record.pk, system_tags)
            self.ws.artifacts.store_snapshot(record.pk, files)
            workdir = project
            if isolate:
                workdir = self.work_dir(record.id)
                self.ws.artifacts.download(record.pk, None, workdir, kind="snapshot")
            self._insert_spec(record.pk, path.relative_to(project).as_posix(), workdir, kernel,
                              params, timeout, retries, output, _rerun_of)
            if output is not None:
                self._output_path(output, record.name, experiment, recorded)
        except BaseException as exc:
            self.ws.runs.end(record.id, R.FAILED, f"could not be submitted: {exc}")
            raise
        if detach:
            self._spawn(record.id)
        return Submission(record.id, warnings)

    def submit_grid(self, notebook, grid: Mapping[str, Sequence[Any]], parameters=None, *,
                    max_parallel: int = 2, experiment: str | None = None, detach: bool = True,
                    **options) -> Submission:
        """One parent run with a child per combination of the grid, run ``max_parallel`` at a time."""
        if not isinstance(max_parallel, int) or max_parallel < 1:
            raise InvalidInput(f"max_parallel must be a positive integer, got {max_parallel!r}")
        combos = expand_grid(grid)
        base = check_parameters(parameters or {})
        check_local(notebook)
        path = Path(notebook).expanduser().absolute()
        nb = load_notebook(path)
        resolve_kernel(nb.metadata, options.get("kernel"), path.name)
        experiment = experiment or path.stem
        if options.get("output") is not None:  # before any run is recorded
            self._output_path(options["output"], options.get("name") or f"{experiment}-N",
                              experiment, _param_texts(recorded_parameters(nb, {**base, **combos[0]})))
        parent = self.ws.runs.create(experiment, source_type="sweep", source_name=path.name,
                                     tags={"grid": json.dumps(grid, default=str)[:4000],
                                           "max_parallel": max_parallel}, status=R.QUEUED)
        warnings: list[str] = []
        try:
            for combo in combos:
                sub = self.submit(path, {**base, **combo}, experiment=experiment,
                                  parent_id=parent.id, detach=False, isolate=True, **options)
                warnings = warnings or sub.warnings
        except BaseException as exc:
            self.ws.runs.end(parent.id, R.FAILED, f"could not be submitted: {exc}")
            raise
        if detach:
            self._spawn(parent.id, "--sweep", str(max_parallel))
        return Submission(parent.id, warnings)

    def rerun(self, run_id: str, overrides: Mapping[str, Any] | None = None, *,
              detach: bool = True) -> Submission:
        """Re-execute a notebook run from its snapshot, parameters and kernel."""
        source = self.ws.runs.get(run_id)
        spec = self.spec(source.pk)
        workdir = self.work_dir(f"rerun-of-{source.id}-{R.new_run_id()[:6]}")
        self.ws.artifacts.download(source.pk, None, workdir, kind="snapshot")
        params = {**spec["parameters"], **check_parameters(overrides or {})}
        tags = {"rerun_of": source.id}
        if source.tags.get("notebook"):
            tags["notebook"] = source.tags["notebook"]
        return self.submit(workdir / spec["notebook"], params, experiment=source.experiment,
                           kernel=spec["kernel"], timeout=spec["timeout"], retries=spec["retries"],
                           project_dir=workdir, tags=tags, detach=detach,
                           _rerun_of=source.pk)

    def work_dir(self, name: str) -> Path:
        """A working folder the workspace owns (removed when its run ends)."""
        path = self.ws.root / "work" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def is_work_dir(self, path: Path) -> bool:
        """Whether ``path`` is one of the workspace's own working folders."""
        return path.resolve().is_relative_to((self.ws.root / "work").resolve())

    def _spawn(self, run_id: str, *extra: str) -> None:
        """Start the executor detached: its own session, not our child (no zombie, no wait)."""
        log = self.ws.artifacts.live_file(run_id, "executor.log")
        argv = [sys.executable, "-m", "jupyter_mlws.executor", str(self.ws.root), run_id, *extra]
        with open(log, "ab") as out:
            # setsid --fork returns at once, leaving the executor to init
            subprocess.run(["setsid", "--fork", *argv], stdin=subprocess.DEVNULL, stdout=out,
                           stderr=out, check=True)

    # -- the record ---------------------------------------------------------------

    def _insert_spec(self, run_pk, notebook, workdir, kernel, params, timeout, retries, output,
                     rerun_of) -> None:
        self.ws.db.transact(lambda conn: conn.execute(S.notebook_runs.insert().values(
            run_pk=run_pk, notebook=notebook, workdir=str(workdir), kernel=kernel,
            parameters=json.dumps(params), timeout=timeout, retries=retries, attempt=0,
            cells_total=0, cells_done=0, rerun_of=rerun_of, output=output)))

    def spec(self, run_pk: int) -> dict:
        """How a notebook run executes (NotFound for other runs)."""
        t = S.notebook_runs
        with self.ws.db.read() as conn:
            row = conn.execute(select(t).where(t.c.run_pk == run_pk)).mappings().first()
        if row is None:
            raise NotFound("that run was not made from a notebook: only notebook runs re-run")
        return {**row, "parameters": json.loads(row["parameters"])}

    def _update(self, run_pk: int, **values) -> None:
        t = S.notebook_runs
        self.ws.db.transact(lambda conn: conn.execute(t.update().where(t.c.run_pk == run_pk)
                                                      .values(**values)))

    def set_progress(self, run_pk: int, done: int, total: int) -> None:
        """Record how many cells of the notebook have run."""
        self._update(run_pk, cells_done=done, cells_total=total)

    def set_attempt(self, run_pk: int, attempt: int) -> None:
        """Record the attempt now executing (1 is the first)."""
        self._update(run_pk, attempt=attempt, cells_done=0)

    def progress(self, run_id: str) -> dict:
        """Cells done and total, the attempt, and the run's status."""
        record = self.ws.runs.get(run_id)
        try:
            spec = self.spec(record.pk)
        except NotFound:
            spec = {"cells_done": 0, "cells_total": 0, "attempt": 0}
        return {"status": record.status, "done": spec["cells_done"], "total": spec["cells_total"],
                "attempt": spec["attempt"], "error": record.error}

    def record_attempt(self, run: "Run", attempt: int, status: str, error: str | None) -> None:
        """Keep the outcome of one attempt."""
        self.ws.runs.add_value(run.record.pk, "attempts", "attempt", attempt, R.now_ms(),
                               data=json.dumps({"attempt": attempt, "status": status, "error": error}))

    def record_cells(self, run: "Run", live_nb: Path, submitted: Path) -> None:
        """Per-cell timings and status from the output notebook's papermill metadata
        (``submitted``: the notebook it was executed from, to number the cells)."""
        nb_path = live_nb
        if not nb_path.is_file():
            return
        import nbformat

        nb = nbformat.read(str(nb_path), as_version=4)
        inserted_at = inserted_index(injected_index(nb), submitted)
        cells = []
        for index, cell in enumerate(nb.cells):
            meta = cell.get("metadata", {}).get("papermill", {})
            cells.append({"index": index, "number": cell_number(inserted_at, index),
                          "type": cell.cell_type,
                          "execution_count": cell.get("execution_count"),
                          "status": meta.get("status"), "start": meta.get("start_time"),
                          "duration": meta.get("duration"), "source": cell.source[:200]})
        self.ws.runs.add_value(run.record.pk, "cells", "cells", 0, R.now_ms(), data=json.dumps(cells))

    def cells(self, run_id: str) -> list[dict]:
        """Per-cell records of a notebook run, in the executed notebook's order.

        Each: ``index`` (0-based, in the executed notebook), ``number`` (the cell as the user
        counts it in the notebook they submitted, 1 the first, as error messages name it; None
        for the parameters cell Papermill inserted), ``type``, ``execution_count``, ``status``, ``start``
        (ISO text), ``duration`` (seconds), ``source`` (its first 200 characters).
        """
        record = self.ws.runs.get(run_id)
        rows = self.ws.runs.values(record.pk, "cells")
        return json.loads(rows[-1]["data"]) if rows else []

    # -- promoting a session ------------------------------------------------------------

    def promote(self, run_id: str, **options) -> Submission:
        """Turn a session run's successful cells, in execution order, into a notebook run.

        The notebook is written beside the session's (else under ``promoted/``), valid, with
        its kernel (``kernelspec`` and ``language_info``).  When the session executed the
        ``parameters`` cell of its notebook (found by the cell's id, else by its source), the
        last execution keeps the tag, so the promoted notebook takes the same parameters.
        ``options`` are :meth:`submit`'s.  Raises InvalidInput for a run that is not a session
        run or has no successful cell, and for a kernel that cannot be resolved.
        """
        import nbformat

        from .artifact_names import atomic_write

        record = self.ws.runs.get(run_id)
        if record.source_type != "session":
            raise InvalidInput(f"run {record.id} is a {record.source_type} run: only session runs "
                               "(cells tracked by %load_ext jupyter_mlws) can be promoted")
        cells = [json.loads(v["data"]) for v in self.ws.runs.values(record.pk, "cells")]
        cells = [{**c, "source": _without_tracking_magic(c["source"])} for c in cells
                 if c["status"] == "completed"]
        cells = [c for c in cells if c["source"].strip()]
        if not cells:
            raise InvalidInput(f"session run {record.id} has no successful cells to promote")
        source = _session_notebook(record)
        metadata = {"language_info": {"name": "python"}}  # the tracker runs in IPython
        metadata.update({k: source.metadata[k] for k in ("kernelspec", "language_info")
                         if source is not None and k in source.metadata})
        tagged = record.tags.get("kernel") if "kernelspec" not in metadata else None
        kernel = resolve_kernel(metadata, options.get("kernel") or (
            tagged if tagged != "unknown" else None), f"the notebook of session run {record.id}")
        params_at = _parameters_cell(cells, source)
        nb = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(c["source"], metadata={"tags": ["parameters"]}
                                             if i == params_at else {}) for i, c in enumerate(cells)],
            metadata={"language_info": dict(metadata["language_info"])})
        kernel.stamp(nb.metadata)
        nbformat.validate(nb)
        folder = Path(record.tags.get("cwd", ""))
        folder = folder if folder.is_absolute() and folder.is_dir() else self.ws.root / "promoted"
        stem = Path(record.source_name).stem if record.source_name != "unknown" else "session"
        path = folder / f"{stem}-promoted-{record.id[:8]}.ipynb"
        atomic_write(path, nbformat.writes(nb).encode())
        sub = self.submit(path, experiment=options.pop("experiment", record.experiment),
                          tags={"promoted_from": record.id, **(options.pop("tags", None) or {})},
                          project_dir=options.pop("project_dir", folder), **options)
        self.ws.runs.set_tags(record.pk, {"promoted_to": sub.run_id})
        if source is None:
            sub.warnings.append(f"the notebook of session run {record.id} ({record.source_name}) "
                                "cannot be read: the promoted notebook has no 'parameters' cell")
        elif params_at is None and _tagged_parameters(source):
            sub.warnings.append(f"session run {record.id} did not run the 'parameters' cell of its "
                                "notebook successfully: the promoted notebook has none")
        return sub

    # -- output copies ---------------------------------------------------------------

    def _output_path(self, template: str, run_name: str, experiment: str,
                     params: Mapping[str, str]) -> Path:
        """The output copy's path: ``template`` with its plain ``{name}`` fields filled
        (run_name, experiment, or a param's recorded text); InvalidInput when a field is
        not plain or unknown, or the path leaves the workspace."""
        rel = fill_template(template, {**params, "run_name": run_name, "experiment": experiment})
        try:
            return safe_join(self.ws.root, rel)
        except InvalidInput:
            raise InvalidInput(f"output path {template!r} becomes {rel!r}, which is outside the "
                               "workspace: give a relative path inside it, without '..'") from None

    def copy_output(self, run: "Run", live_nb: Path, spec: dict) -> None:
        """Copy the output notebook to the run's output path, if it asked for one."""
        if not spec.get("output"):
            return
        stored = [f for f in run.files("artifact") if f["path"].startswith("notebook/")]
        if stored:
            target = self._output_path(spec["output"], run.record.name, run.record.experiment,
                                       run.record.params)
            atomic_copy(self.ws.blobs.path(stored[0]["sha256"]), target)


def _without_tracking_magic(source: str) -> str:
    """A cell's source without the lines that (re)load this extension."""
    return "\n".join(line for line in source.splitlines()
                     if not line.strip().startswith(("%load_ext jupyter_mlws", "%reload_ext jupyter_mlws")))


def _session_notebook(record):
    """The notebook a session run ran in, if it can still be read (else None)."""
    name = record.source_name
    if not name or name == "unknown":
        return None
    path = Path(name)
    if not path.is_absolute():  # a path from the server's root: the kernel ran in its folder
        if not record.tags.get("cwd"):
            return None
        path = Path(record.tags["cwd"]) / path.name
    try:
        return load_notebook(path)
    except MlwsError:
        return None


def _parameters_cell(cells: list[dict], source) -> int | None:
    """Which of the promoted ``cells`` is the session notebook's ``parameters`` cell: the last
    execution of it, known by its cell id (else, for records without one, by its source)."""
    tagged = _tagged_parameters(source)
    ids = {c.get("id") for c in tagged} - {None}
    texts = {c.source.strip() for c in tagged}
    hits = [i for i, c in enumerate(cells)
            if (c["cell_id"] in ids if c.get("cell_id") else c["source"].strip() in texts)]
    return hits[-1] if hits else None


def _tagged_parameters(nb) -> list:
    """The cells of ``nb`` (None: no notebook) tagged ``parameters``."""
    return [c for c in (nb.cells if nb is not None else [])
            if "parameters" in c.get("metadata", {}).get("tags", [])]


def _param_texts(params: Mapping[str, Any]) -> dict[str, str]:
    """Params as the run's params table stores them (:func:`limits.param_json`; values over
    the limit shortened, since a notebook may take a value of up to 1 MB)."""
    out = {}
    for k, v in params.items():
        text = param_json(v)
        out[k] = text if len(text) <= PARAM_VALUE_MAX else text[:PARAM_VALUE_MAX - 40] + "... (truncated)"
    return out


def _overridden(params: Mapping[str, Any]) -> str:
    """The given names as a JSON list, ending in "..." where a tag cannot hold them all."""
    names = sorted(params)
    text = param_json(names)
    while len(text) > TAG_VALUE_MAX:
        names = names[:len(names) * 3 // 4]
        text = param_json([*names, "..."])
    return text


def fill_template(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each plain ``{name}`` field replaced by ``values[name]`` (``{{`` and
    ``}}`` are braces).  A field with an attribute, index, ``!conversion`` or ``:format``,
    or a name not in ``values``, is an InvalidInput: only names are looked up, never
    attributes of a value."""
    import string

    if not isinstance(template, str):
        raise InvalidInput(f"an output path must be text such as 'reports/{{run_name}}.ipynb', "
                           f"not a {type(template).__name__}")
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InvalidInput(f"output path {template!r} is not a valid template ({exc}): "
                           "write {{ and }} for a literal brace") from None
    out = []
    for literal, field_name, spec, conversion in parts:
        out.append(literal)
        if field_name is None:
            continue
        shown = "{" + field_name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        shown += "}"
        if not field_name.isidentifier() or spec or conversion:
            raise InvalidInput(
                f"output path {template!r}: {shown} is not a plain field; use {{run_name}}, "
                "{experiment} or {parameter_name}, with no attribute, index, !conversion or "
                ":format (write {{ and }} for a literal brace)")
        if field_name not in values:
            raise InvalidInput(
                f"output path {template!r} names an unknown field {shown}: use {{run_name}}, "
                f"{{experiment}} or a parameter name ({_names(values)})")
        out.append(values[field_name])
    return "".join(out)


def _names(values: Mapping[str, str]) -> str:
    names = sorted(set(values) - {"run_name", "experiment"})
    return ", ".join(names) if names else "this run has none"


def _parameter_warnings(nb, params: Mapping[str, Any], name: str) -> list[str]:
    if not params:
        return []
    declared = declared_parameters(nb)
    if declared is None:
        return [f"{name} has no cell tagged 'parameters': the parameters are injected at the top"]
    return [f"{name} does not declare parameter {p!r} in its 'parameters' cell (passed anyway)"
            for p in params if p not in declared]


def stop_process_group(pid: int, grace: float) -> None:
    """SIGTERM the process group led by ``pid``, SIGKILL it if still there after ``grace`` s.

    Only a group leader is signalled (executors and launched commands start
    their own session), so a stale pid never takes its neighbours down.
    """
    import signal
    import time

    try:
        if os.getpgid(pid) != pid:
            return
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass

