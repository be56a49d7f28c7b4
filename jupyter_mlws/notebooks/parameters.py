"""Notebook parameters: names checked before any kernel starts, values typed and bounded,
and the ``parameters`` cell read without running it (names, defaults, what a run records).

Papermill pastes parameter *names* raw into code, so a name such as
``a = 1\\nimport os`` would run: names must be Python identifiers and not
keywords.  Values may hold anything (quotes, newlines, ``\"\"\"``, NUL): they are
injected through papermill's translator, which escapes them.
"""

from __future__ import annotations

import ast
import itertools
import json
import keyword
import re
from typing import Any, Iterable, Mapping

from ..errors import InvalidInput
from ..limits import (JSON_MAX_BYTES, PARAM_VALUE_MAX, PARAMS_MAX, TAG_VALUE_MAX, check_count,
                      check_json, check_text, param_json)

#: the largest value, once serialised to JSON, a parameter may carry
VALUE_MAX_BYTES = 1 << 20


def check_name(name: object) -> str:
    """A parameter name that is safe to paste into code."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise InvalidInput(
            f"parameter name {name!r} is not a Python identifier (letters, digits and _, "
            "not starting with a digit, not a keyword): rename it")
    return name


def check_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Checked parameters: at most ``PARAMS_MAX`` identifiers, JSON-serialisable values
    (valid text, nested as :func:`~.limits.check_json` allows) under the size limit."""
    if not isinstance(parameters, Mapping):
        raise InvalidInput("parameters must be a mapping of name to value")
    check_count(len(parameters), PARAMS_MAX, "parameters")
    out = {}
    for name, value in parameters.items():
        check_name(name)
        if isinstance(value, str):
            check_text(value, f"parameter {name!r}")
        elif isinstance(value, (dict, list, tuple)):
            check_json(value, f"parameter {name!r}")
        try:
            size = len(json.dumps(value).encode())
        except (TypeError, ValueError):
            raise InvalidInput(
                f"parameter {name!r}: a {type(value).__name__} cannot be passed to a notebook; "
                "use numbers, strings, booleans, None, lists and dicts") from None
        if size > VALUE_MAX_BYTES:
            raise InvalidInput(
                f"parameter {name!r} is {size / 1e6:.1f} MB, over the {VALUE_MAX_BYTES >> 20} MB limit: "
                "save the value to a file and pass its path")
        out[name] = value
    return out


#: a JSON number; YAML 1.1 (PyYAML) reads ``1e-05`` as text, JSON as the float it is
_JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def parse_value(name: str, text: str) -> Any:
    """A value typed from its text, as YAML reads it (JSON is YAML): ``0.1``, ``1e-05``,
    ``1.0`` (a float), ``[64, 32]``, ``null``, ``rf`` (text).  A JSON number is read as
    JSON, so that ``1e-05`` is a float as the recorded params write it."""
    import yaml

    check_text(text, f"parameter {name!r}")
    if len(text.encode()) > VALUE_MAX_BYTES:
        raise InvalidInput(f"parameter {name!r} is over the {VALUE_MAX_BYTES >> 20} MB limit: "
                           "save the value to a file and pass its path")
    if _JSON_NUMBER.fullmatch(text.strip()):
        try:
            return json.loads(text)
        except ValueError:  # an integer of more digits than Python converts
            raise _untyped(f"parameter {name!r}: {text[:40]!r}... has too many digits to be "
                           f"a number; pass it as text with -r {name} VALUE",
                           name, "too many digits to be a number") from None
    try:
        return yaml.safe_load(text) if text.strip() else text
    except RecursionError:
        raise InvalidInput(f"parameter {name!r} is nested too deeply: send flatter data") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at column {where.column + 1}" if where else ""
        problem = f"not valid YAML/JSON{at} ({getattr(exc, 'problem', exc)})"
        raise _untyped(f"parameter {name!r}: {text[:60]!r} is {problem}; pass it raw with "
                       f"-r {name} VALUE", name, problem) from None


def _untyped(message: str, name: str, problem: str) -> InvalidInput:
    """The error of a parameter's text that cannot be typed (passed as text, it would do): its
    ``details`` name the parameter and the problem, for a form to show at the field in its own
    words (``{"parameter", "problem", "as_text": true}``)."""
    error = InvalidInput(message)
    error.details = {"parameter": name, "problem": problem, "as_text": True}
    return error


def parse_texts(texts: object) -> dict[str, Any]:
    """Parameters given as ``{name: text}``, each typed by :func:`parse_value` (what ``-p``
    does), so that ``1.0`` typed in a form stays a float.  InvalidInput for anything else."""
    if not isinstance(texts, Mapping) or not all(isinstance(v, str) for v in texts.values()):
        raise InvalidInput("parameter_texts must be a JSON object of name: text, e.g. "
                           '{"C": "1.0", "layers": "[64, 32]"}')
    return check_parameters({check_name(k): parse_value(k, v) for k, v in texts.items()})


def given_parameters(values: object, texts: object = None) -> dict[str, Any]:
    """Parameters as a request gives them: ``values`` already typed (a JSON object, as
    ``-r``/``-f`` give them), and ``texts`` typed from text by :func:`parse_texts` (as ``-p``
    types them); a name in both takes its text.  InvalidInput for a bad shape or value."""
    if values is not None and not isinstance(values, Mapping):
        raise InvalidInput("parameters must be a JSON object of name: value")
    typed = parse_texts(texts) if texts is not None else {}
    return {**check_parameters(values or {}), **typed}


def load_file(path: str) -> dict[str, Any]:
    """Parameters from a YAML or JSON file."""
    import yaml

    try:
        with open(path, "rb") as f:
            raw = f.read(JSON_MAX_BYTES + 1)
        if len(raw) > JSON_MAX_BYTES:
            raise InvalidInput(f"parameters file {path!r} is over the {JSON_MAX_BYTES >> 20} MiB "
                               "limit: save large values to files and pass their paths")
        data = yaml.safe_load(raw)
    except OSError as exc:
        raise InvalidInput(f"cannot read parameters file {path!r}: {exc.strerror}") from None
    except RecursionError:
        raise InvalidInput(f"parameters file {path!r} is nested too deeply") from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"parameters file {path!r} is not valid YAML/JSON: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput(f"parameters file {path!r} must hold a mapping of name to value")
    return check_parameters(data)


def expand_grid(grid: Mapping[str, Iterable[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in order (the last name varies fastest)."""
    names = [check_name(n) for n in grid]
    values = [list(v) for v in grid.values()]
    if any(not v for v in values):
        raise InvalidInput("a --grid entry needs at least one value: --grid lr=0.1,0.01")
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


def parse_grid(entries: Iterable[str]) -> dict[str, list[Any]]:
    """``lr=0.1,0.01`` entries as typed value lists."""
    grid: dict[str, list[Any]] = {}
    for entry in entries:
        name, sep, values = entry.partition("=")
        if not sep:
            raise InvalidInput(f"--grid {entry!r} is not NAME=V1,V2,...")
        check_name(name)
        grid[name] = [parse_value(name, v) for v in values.split(",")]
    return grid


# -- the parameters cell ----------------------------------------------------------------------

#: the tag of a notebook run listing, as a JSON list, the params given to it (the rest
#: are the notebook's defaults)
OVERRIDDEN_TAG = "overridden_params"


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
            return [_default(cell.source, target, getattr(node, "value", None))
                    for node in tree.body for target in _targets(node)]
    return None


def _targets(node) -> list:
    """The plain names an assignment statement assigns."""
    targets = node.targets if isinstance(node, ast.Assign) else (
        [node.target] if isinstance(node, ast.AnnAssign) else [])
    return [t for t in targets if isinstance(t, ast.Name)]


def _default(source: str, target, value) -> dict:
    """One name of the parameters cell with its default (see :func:`parameter_defaults`)."""
    try:
        literal = ast.literal_eval(value) if value is not None else None
        json.dumps(literal)  # a form can show and send it back
        kind = type(literal).__name__
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        literal, kind = None, "expression"
    text_of = ast.get_source_segment(source, value) if value else ""
    text = json.dumps(literal, ensure_ascii=False) if kind != "expression" and text_of else text_of
    return {"name": target.id, "value": literal, "type": kind, "source": text_of, "text": text}


def recorded_parameters(nb, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """What a notebook run records as its params: every name the ``parameters`` cell
    assigns, with its default as written (``1.0`` stays a float; an expression that is
    not a literal, such as ``np.arange(3)``, as its source text), then the overrides
    (also names the cell does not declare).  A name annotated without a value counts
    only when it is overridden."""
    defaults = {p["name"]: p["source"] if p["type"] == "expression" else p["value"]
                for p in parameter_defaults(nb) or [] if p["source"]}
    return {**defaults, **overrides}


def parameter_warnings(nb, params: Mapping[str, Any], name: str) -> list[str]:
    """What to tell a user whose parameters the notebook ``name`` does not declare (the one
    rule of ``run submit``, schedules and pipeline steps: warned of, passed anyway), naming
    the parameters it does declare."""
    if not params:
        return []
    declared = declared_parameters(nb)
    if declared is None:
        return [f"{name} has no cell tagged 'parameters': the parameters are injected at the top"]
    its = f"its parameters: {', '.join(declared)}" if declared else "it declares none"
    return [f"{name} does not declare parameter {p!r} in its 'parameters' cell ({its}; passed "
            "anyway)" for p in params if p not in declared]


def param_texts(params: Mapping[str, Any]) -> dict[str, str]:
    """Params as the run's params table stores them (:func:`limits.param_json`; values over
    the limit shortened, since a notebook may take a value of up to 1 MB)."""
    out = {}
    for k, v in params.items():
        text = param_json(v)
        out[k] = text if len(text) <= PARAM_VALUE_MAX else text[:PARAM_VALUE_MAX - 40] + "... (truncated)"
    return out


def overridden(params: Mapping[str, Any]) -> str:
    """The given names as a JSON list, ending in "..." where a tag cannot hold them all."""
    names = sorted(params)
    text = param_json(names)
    while len(text) > TAG_VALUE_MAX:
        names = names[:len(names) * 3 // 4]
        text = param_json([*names, "..."])
    return text
