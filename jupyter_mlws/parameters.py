"""Notebook parameters: names checked before any kernel starts, values typed and bounded.

Papermill pastes parameter *names* raw into code, so a name such as
``a = 1\\nimport os`` would run: names must be Python identifiers and not
keywords.  Values may hold anything (quotes, newlines, ``\"\"\"``, NUL): they are
injected through papermill's translator, which escapes them.
"""

from __future__ import annotations

import itertools
import json
import keyword
import re
from typing import Any, Iterable, Mapping

from .errors import InvalidInput
from .limits import JSON_MAX_BYTES, PARAMS_MAX, check_count, check_json, check_text

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
            raise InvalidInput(f"parameter {name!r}: {text[:40]!r}... has too many digits to be "
                               f"a number; pass it as text with -r {name} VALUE") from None
    try:
        return yaml.safe_load(text) if text.strip() else text
    except RecursionError:
        raise InvalidInput(f"parameter {name!r} is nested too deeply: send flatter data") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at column {where.column + 1}" if where else ""
        raise InvalidInput(
            f"parameter {name!r}: {text[:60]!r} is not valid YAML/JSON{at} "
            f"({getattr(exc, 'problem', exc)}); pass it raw with -r {name} VALUE") from None


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
