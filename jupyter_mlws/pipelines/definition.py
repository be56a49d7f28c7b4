"""What a pipeline is: a DAG of steps (notebooks and Python scripts), as YAML or built in code.

A definition is checked whole before anything runs (:func:`parse`): every mistake is an
``InvalidInput`` naming the step and what to do: malformed YAML, an unknown or missing field, a
duplicate step, a cycle (named ``a -> b -> a``), an input naming an unknown step or output, a
parameter name that is not an identifier, a path that leaves the project (``../x``).

The YAML form (``pipeline.yaml``)::

    name: iris                      # optional: the file's stem
    parameters: {rows: 100}         # pipeline parameters: -p rows 500; steps use "${rows}"
    steps:
      - name: prep
        script: prep.py             # or notebook: prep.ipynb (paths inside the project folder)
        parameters: {rows: "${rows}", seed: 1}
        deps: [raw.csv, data/]      # project files/folders it reads: their content is in its key
        outputs: [data.csv]         # files the step writes into its outputs/ folder
      - name: train
        notebook: train.ipynb
        inputs: {data: prep/data.csv}   # STEP/OUTPUT: given as parameter data, a local path
        outputs:
          - model.pkl
          - {file: scores.csv, dataset: scores}   # also registered as dataset "scores"

A step's ``deps`` are the project files and folders (``data/``: every file under it) it reads
from its working folder (the pipeline's snapshot of the project); their content hashes go into
its key, so that a changed ``raw.csv`` runs the step again.  A file a step reads but does not
declare is not hashed: a change to it alone lets the step be reused.

An output declared ``{file: F, dataset: NAME}`` becomes, each time the step completes (ran or
reused), the next version of dataset NAME (tabular for a .csv or .parquet file), made by the
step's run; unchanged content makes no new version.  A parameter ``dataset:NAME[:N|@alias]`` is
given to the step as a local path (see :mod:`jupyter_mlws.datasets`), its version pinned in the
step's key.

The same in code: ``Pipeline("iris", parameters={"rows": 100}).add(Step("prep", script=
"prep.py", ...))``.  An input ``NAME`` reaches its step as the file ``inputs/NAME<suffix>`` in
the step's working folder, and as the parameter ``NAME`` holding that relative path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Mapping, Sequence

from ..errors import InvalidInput

#: a step's name: a letter, then letters, digits, ``_`` or ``-``
STEP_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
#: a pipeline's name (its runs' experiment; one segment of a REST path)
PIPELINE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
#: a whole parameter value that names a pipeline parameter: ``"${rows}"``
REFERENCE = re.compile(r"\$\{([^}]*)\}")
#: the most steps a pipeline may have
STEPS_MAX = 200
#: the kinds of step and the file suffix each runs
KINDS = {"script": ".py", "notebook": ".ipynb"}
_STEP_FIELDS = {"name", "script", "notebook", "parameters", "inputs", "deps", "outputs", "kernel",
                "timeout", "retries"}
_TOP_FIELDS = {"name", "parameters", "steps", "description"}


@dataclass
class Step:
    """One step of a pipeline.

    Parameters
    ----------
    name : str
        Unique in its pipeline (a letter, then letters, digits, ``_``, ``-``).
    script, notebook : str
        The step's file, relative to the project folder (exactly one of them).
    parameters : mapping
        Injected into the notebook's ``parameters`` cell, or read by a script with
        ``jupyter_mlws.parameters()``; a value ``"${NAME}"`` is the pipeline parameter NAME.
    inputs : mapping of name to ``"STEP/OUTPUT"``
        Outputs of earlier steps this one reads (given as parameters holding their path).
    deps : list of str
        Project files and folders the step reads (relative paths; a folder stands for every
        file under it): their content is part of the step's key, so a change runs it again.
    outputs : list of str
        Files the step writes into its ``outputs/`` folder, passed on as artifacts.
    datasets : mapping of output to dataset name
        Outputs also registered as the next version of a dataset when the step completes.
    kernel, timeout, retries
        As for ``mlws run submit`` (notebooks; ``timeout`` also bounds a script).
    """

    name: str
    script: str | None = None
    notebook: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    deps: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    datasets: dict[str, str] = field(default_factory=dict)
    kernel: str | None = None
    timeout: float | None = None
    retries: int = 0

    @property
    def kind(self) -> str:
        """``script`` or ``notebook``."""
        return "script" if self.script is not None else "notebook"

    @property
    def path(self) -> str:
        """The step's file, relative to the project folder."""
        return self.script if self.script is not None else self.notebook  # type: ignore[return-value]

    def upstream(self) -> list[str]:
        """The steps whose outputs this one reads, in input order, each once."""
        return list(dict.fromkeys(ref.split("/", 1)[0] for ref in self.inputs.values()))

    def input_file(self, name: str) -> str:
        """Where input ``name`` is placed in the step's working folder: ``inputs/NAME<suffix>``."""
        output = self.inputs[name].split("/", 1)[1]
        return f"inputs/{name}{PurePosixPath(output).suffix}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, self.kind: self.path}
        for key in ("parameters", "inputs", "deps"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.outputs:
            out["outputs"] = [{"file": o, "dataset": self.datasets[o]} if o in self.datasets else o
                              for o in self.outputs]
        for key in ("kernel", "timeout"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.retries:
            out["retries"] = self.retries
        return out


@dataclass
class Pipeline:
    """A pipeline: named steps whose inputs make a DAG (see the module's docstring).

    Build one in code with :meth:`add`, read one with :func:`load` / :func:`parse`; it is
    checked whole by :func:`parse` (``Workspace.pipelines.run`` does it) before anything runs.
    """

    name: str
    steps: list[Step] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def add(self, step: Step) -> "Pipeline":
        """Append ``step``; returns the pipeline, so that calls chain."""
        self.steps.append(step)
        return self

    def step(self, name: str) -> Step:
        """The step called ``name``; InvalidInput naming the steps there are."""
        for step in self.steps:
            if step.name == name:
                return step
        raise InvalidInput(f"pipeline {self.name!r} has no step {name!r}: its steps are "
                           f"{', '.join(s.name for s in self.steps)}")

    def edges(self) -> list[tuple[str, str]]:
        """``(upstream, downstream)`` pairs, one per step that reads another's output."""
        return [(up, s.name) for s in self.steps for up in s.upstream()]

    def order(self) -> list[str]:
        """The step names in an order where every step comes after those it reads."""
        return _topological(self)

    def downstream(self, names: Sequence[str]) -> set[str]:
        """``names`` and every step that reads, directly or not, one of their outputs."""
        out, changed = set(names), True
        while changed:
            changed = False
            for step in self.steps:
                if step.name not in out and out.intersection(step.upstream()):
                    out.add(step.name)
                    changed = True
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        if self.parameters:
            out["parameters"] = self.parameters
        out["steps"] = [s.to_dict() for s in self.steps]
        return out


# -- reading and checking --------------------------------------------------------------------------


def load(text: str | bytes, default_name: str = "pipeline", shown: str = "pipeline.yaml") -> Pipeline:
    """The pipeline of YAML ``text`` (a ``pipeline.yaml``), checked by :func:`parse`.

    ``default_name`` names it when the YAML has no ``name``; ``shown`` is how messages name
    the file.  InvalidInput for malformed YAML (with its line and column) or a bad definition.
    """
    import yaml

    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise InvalidInput(f"{shown} is nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInput(f"{shown} is not valid YAML{where}: {problem}; fix it and run "
                           "again") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{shown} must be a mapping with 'steps' (a list of steps), "
                           f"got {type(data).__name__}")
    data.setdefault("name", default_name)
    return parse(data, shown)


def parse(data: Mapping[str, Any] | Pipeline, shown: str = "the pipeline") -> Pipeline:
    """A checked :class:`Pipeline` from its dict form (or a built one, checked again).

    Raises
    ------
    InvalidInput
        Naming the step and the mistake, with what to do (see the module's docstring).
    """
    if isinstance(data, Pipeline):
        data = data.to_dict()
    if not isinstance(data, Mapping):
        raise InvalidInput(f"{shown} must be a mapping with 'steps'")
    _unknown(data, _TOP_FIELDS, shown)
    from ..notebooks.parameters import check_parameters

    name = data.get("name")
    if name is None:
        raise InvalidInput(f"{shown} has no name: give it one (name: my-pipeline)")
    if not isinstance(name, str) or not PIPELINE_NAME.fullmatch(name):
        raise InvalidInput(f"{shown}: pipeline name {name!r} is not valid: a letter or digit, "
                           "then letters, digits, '.', '_' or '-' (at most 128); set name: in it")
    parameters = check_parameters(data.get("parameters") or {})
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise InvalidInput(f"{shown} has no steps: give 'steps', a list of steps, each with a "
                           "name and a script or notebook")
    if len(raw_steps) > STEPS_MAX:
        raise InvalidInput(f"{shown} has {len(raw_steps)} steps, over the {STEPS_MAX} limit")
    steps: list[Step] = []
    for raw in raw_steps:
        step = _step(raw, shown, parameters)
        if any(s.name == step.name for s in steps):
            raise InvalidInput(f"{shown}: two steps are named {step.name!r}: step names must be "
                               "unique")
        steps.append(step)
    pipeline = Pipeline(name, steps, parameters, str(data.get("description") or ""))
    _check_inputs(pipeline, shown)
    _topological(pipeline)  # a cycle is refused here, named
    return pipeline


def _unknown(data: Mapping, allowed: set[str], where: str) -> None:
    extra = sorted(str(k) for k in data if k not in allowed)
    if extra:
        raise InvalidInput(f"{where}: unknown field {extra[0]!r}: the fields are "
                           f"{', '.join(sorted(allowed))}")


def _step(raw: object, shown: str, pipeline_params: Mapping[str, Any]) -> Step:
    from ..notebooks.parameters import check_name, check_parameters

    if not isinstance(raw, Mapping):
        raise InvalidInput(f"{shown}: each step must be a mapping with a name and a script or "
                           f"notebook, got {raw!r:.60}")
    name = raw.get("name")
    if not isinstance(name, str) or not STEP_NAME.fullmatch(name):
        raise InvalidInput(f"{shown}: step name {name!r} is not valid: a letter, then letters, "
                           "digits, _ or - (at most 64)")
    where = f"{shown}, step {name!r}"
    _unknown(raw, _STEP_FIELDS, where)
    kinds = [k for k in KINDS if raw.get(k) is not None]
    if len(kinds) != 1:
        raise InvalidInput(f"{where}: give exactly one of script (a .py file) or notebook "
                           "(an .ipynb file)")
    kind = kinds[0]
    path = check_path(raw[kind], f"{where}: its {kind}")
    if not path.endswith(KINDS[kind]):
        raise InvalidInput(f"{where}: a {kind} is a {KINDS[kind]} file, got {path!r}")
    try:
        params = check_parameters(raw.get("parameters") or {})
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc}") from None
    for pname, value in params.items():
        ref = _reference(value)
        if ref is not None and ref not in pipeline_params:
            raise InvalidInput(f"{where}: parameter {pname!r} refers to ${{{ref}}}, which the "
                               "pipeline's parameters do not declare: add it there")
    inputs = raw.get("inputs") or {}
    if not isinstance(inputs, Mapping):
        raise InvalidInput(f"{where}: inputs must be a mapping of name to STEP/OUTPUT")
    for iname, ref in inputs.items():
        try:
            check_name(iname)
        except InvalidInput as exc:
            raise InvalidInput(f"{where}: input {iname!r}: {exc}") from None
        if iname in params:
            raise InvalidInput(f"{where}: {iname!r} is both a parameter and an input: an input "
                               "is given as the parameter of that name (its file's path)")
        if not isinstance(ref, str) or "/" not in ref:
            raise InvalidInput(f"{where}: input {iname!r} must be STEP/OUTPUT (e.g. "
                               f"prep/data.csv), got {ref!r}")
    deps = raw.get("deps") or []
    if isinstance(deps, str):
        deps = [deps]
    if not isinstance(deps, list):
        raise InvalidInput(f"{where}: deps must be a list of the project files and folders the "
                           "step reads, e.g. [raw.csv, data/]")
    deps = list(dict.fromkeys(check_path(d, f"{where}: dep").rstrip("/") for d in deps))
    outputs = raw.get("outputs") or []
    if not isinstance(outputs, list):
        raise InvalidInput(f"{where}: outputs must be a list of files written to outputs/")
    datasets = _output_datasets(outputs, where)
    outputs = [check_path(o["file"] if isinstance(o, Mapping) else o, f"{where}: output")
               for o in outputs]
    if len(set(outputs)) != len(outputs):
        raise InvalidInput(f"{where}: an output is listed twice")
    kernel, timeout, retries = raw.get("kernel"), raw.get("timeout"), raw.get("retries", 0) or 0
    if kernel is not None and (not isinstance(kernel, str) or not kernel):
        raise InvalidInput(f"{where}: kernel must be a kernel's name")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not 0 < timeout < float("inf")):
        raise InvalidInput(f"{where}: timeout must be a positive number of seconds")
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        raise InvalidInput(f"{where}: retries must be an integer from 0 to 10")
    return Step(name, **{kind: path}, parameters=params, inputs=dict(inputs), deps=deps,
                outputs=outputs,
                datasets=datasets, kernel=kernel, timeout=timeout, retries=retries)


def _output_datasets(outputs: list, where: str) -> dict[str, str]:
    """``{file: dataset name}`` of the outputs declared ``{file: F, dataset: NAME}``."""
    from ..models import check_name

    found = {}
    for o in outputs:
        if not isinstance(o, Mapping):
            continue
        if set(o) != {"file", "dataset"}:
            raise InvalidInput(f"{where}: an output is a file name, or {{file: F, dataset: NAME}} "
                               f"(got the fields {', '.join(map(str, o))})")
        file = check_path(o["file"], f"{where}: output")
        try:
            found[file] = check_name(o["dataset"], "dataset name")
        except InvalidInput as exc:
            raise InvalidInput(f"{where}: output {o['file']!r}: {exc}") from None
    return found


def check_path(value: object, what: str) -> str:
    """A relative path inside the project (``/``-separated), as normalised; InvalidInput for
    an absolute one, one with ``..``, a backslash or a control character."""
    from ..fsutil import validate_name

    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} must be a relative path, got {value!r}")
    try:
        return validate_name(value)
    except InvalidInput:
        raise InvalidInput(f"{what} {value!r} is not a path inside the project folder (no "
                           "absolute paths, no '..', no backslashes): move the file into the "
                           "project and give its relative path") from None


def _reference(value: object) -> str | None:
    """The pipeline parameter a whole value ``"${NAME}"`` names, else None."""
    if isinstance(value, str):
        m = REFERENCE.fullmatch(value)
        if m:
            return m.group(1)
    return None


def _check_inputs(pipeline: Pipeline, shown: str) -> None:
    steps = {s.name: s for s in pipeline.steps}
    for step in pipeline.steps:
        for iname, ref in step.inputs.items():
            source, output = ref.split("/", 1)
            where = f"{shown}, step {step.name!r}: input {iname!r} ({ref})"
            if source not in steps:
                raise InvalidInput(f"{where} names no step of the pipeline: the steps are "
                                   f"{', '.join(steps)}")
            if source == step.name:
                raise InvalidInput(f"{where} reads the step's own output: a step cannot be its "
                                   "own input")
            if output not in steps[source].outputs:
                declared = ", ".join(steps[source].outputs) or "none"
                raise InvalidInput(f"{where}: step {source!r} declares no output {output!r} "
                                   f"(its outputs: {declared})")


def _topological(pipeline: Pipeline) -> list[str]:
    """Kahn's order of the steps (ties kept in the definition's order); InvalidInput naming a
    cycle when there is one."""
    pending = {s.name: set(s.upstream()) for s in pipeline.steps}
    order: list[str] = []
    while pending:
        ready = [n for n, ups in pending.items() if not ups]
        if not ready:
            raise InvalidInput(f"pipeline {pipeline.name!r} has a cycle: "
                               f"{' -> '.join(_cycle(pending))}: a step cannot read, directly or "
                               "not, its own outputs")
        for name in ready:
            order.append(name)
            del pending[name]
        for ups in pending.values():
            ups.difference_update(ready)
    return order


def _cycle(pending: Mapping[str, set[str]]) -> list[str]:
    """One cycle among steps that all still wait on another: ``[a, b, a]``."""
    path = [next(iter(pending))]
    while True:
        nxt = sorted(pending[path[-1]])[0]
        if nxt in path:  # read the other way round: as the data flows
            return list(reversed(path[path.index(nxt):] + [nxt]))
        path.append(nxt)


def resolve_parameters(step: Step, values: Mapping[str, Any]) -> dict[str, Any]:
    """The step's parameters with each ``"${NAME}"`` replaced by pipeline parameter NAME's value."""
    return {k: values[ref] if (ref := _reference(v)) is not None else v
            for k, v in step.parameters.items()}
