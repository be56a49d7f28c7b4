"""Compute backends by name, as ``"module:Class"`` strings imported when first used.

The same shape as libcloud's provider table: naming a backend costs nothing until a run
needs it (paramiko or dask load only for an ``ssh`` or ``dask`` target).  The Workspace
builds one registry; nothing is registered at import time.
"""

from __future__ import annotations

import importlib
from typing import Any, Mapping

from ..errors import InvalidInput
from .base import ComputeTarget

#: the backends this package ships: name -> "module:Class"
BACKENDS: Mapping[str, str] = {
    "local": "jupyter_mlws.compute.local:LocalTarget",
}


class TargetRegistry:
    """The compute targets of one workspace, each built once, on first use.

    Parameters
    ----------
    settings : mapping of str to dict
        Keyword arguments each backend's class is built with, by name (``local``: ``root``,
        ``live_root``).
    backends : mapping of str to str, optional
        ``name -> "module:Class"``; default :data:`BACKENDS`.
    """

    def __init__(self, settings: Mapping[str, Mapping[str, Any]],
                 backends: Mapping[str, str] | None = None):
        self._backends = dict(BACKENDS if backends is None else backends)
        self._settings = {k: dict(v) for k, v in settings.items()}
        self._built: dict[str, ComputeTarget] = {}

    def names(self) -> list[str]:
        """The backend names, sorted."""
        return sorted(self._backends)

    def register(self, name: str, ref: str, **settings: Any) -> None:
        """Add (or replace) backend ``name`` as ``"module:Class"``, built with ``settings``."""
        if ":" not in ref:
            raise InvalidInput(f"a compute backend is 'module:Class', got {ref!r}")
        self._backends[name] = ref
        self._settings[name] = settings
        self._built.pop(name, None)

    def get(self, name: str = "local") -> ComputeTarget:
        """The target ``name``, built on first use.

        Raises
        ------
        InvalidInput
            No such backend (the message lists the known ones).
        """
        if name not in self._built:
            if name not in self._backends:
                raise InvalidInput(f"no compute target {name!r}: use one of {', '.join(self.names())}")
            module, _, attr = self._backends[name].partition(":")
            cls = getattr(importlib.import_module(module), attr)
            self._built[name] = cls(**self._settings.get(name, {}))
        return self._built[name]
