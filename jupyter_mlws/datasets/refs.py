"""How a dataset version is named: ``NAME`` (the latest), ``NAME:3``, ``NAME@alias``; and, as a
notebook or pipeline parameter, ``dataset:NAME[:3|@alias]``."""

from __future__ import annotations

from typing import Any, Mapping

from ..models import parse_ref as models_parse_ref

#: a parameter value naming a dataset version starts with this
PARAM_PREFIX = "dataset:"


def parse_ref(ref: object) -> tuple[str, int | None, str | None]:
    """``(name, version, alias)`` of ``NAME``, ``NAME:VERSION`` or ``NAME@ALIAS``; InvalidInput
    for anything else (the model registry's rule)."""
    return models_parse_ref(ref, "dataset")


def param_ref(value: Any) -> str | None:
    """The dataset reference a parameter value ``dataset:REF`` holds, else None."""
    if isinstance(value, str) and value.startswith(PARAM_PREFIX):
        return value[len(PARAM_PREFIX):]
    return None


def dataset_params(parameters: Mapping[str, Any]) -> dict[str, str]:
    """The parameters naming dataset versions: ``{parameter: REF}``."""
    return {k: ref for k, v in parameters.items() if (ref := param_ref(v)) is not None}
