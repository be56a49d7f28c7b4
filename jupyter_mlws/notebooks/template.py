"""The output path of a notebook run: a template such as ``reports/{run_name}.ipynb`` whose
plain fields are filled from the run, and which stays inside the workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from ..fsutil import safe_join
from ..errors import InvalidInput


def output_path(root: Path, template: str, run_name: str, experiment: str,
                params: Mapping[str, str]) -> Path:
    """The output copy's path: ``template`` with its plain ``{name}`` fields filled
    (run_name, experiment, or a param's recorded text); InvalidInput when a field is
    not plain or unknown, or the path leaves the workspace at ``root``."""
    rel = fill_template(template, {**params, "run_name": run_name, "experiment": experiment})
    try:
        return safe_join(root, rel)
    except InvalidInput:
        raise InvalidInput(f"output path {template!r} becomes {rel!r}, which is outside the "
                           "workspace: give a relative path inside it, without '..'") from None


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
