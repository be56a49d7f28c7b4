"""Compute backends by name, as ``"module:Class"`` strings imported when first used.

The same shape as libcloud's provider table: naming a backend costs nothing until a run
needs it (paramiko or dask load only for an ``ssh`` or ``dask`` target).  The Workspace
builds one registry; nothing is registered at import time.
"""

from __future__ import annotations

import importlib
from typing import Any, Mapping

from ..errors import InvalidInput, Unavailable
from .base import ComputeTarget

#: the backends this package ships: name -> "module:Class"
BACKENDS: Mapping[str, str] = {
    "local": "jupyter_mlws.compute.local:LocalTarget",
    "dask": "jupyter_mlws.compute.dask:DaskTarget",
    "ssh": "jupyter_mlws.compute.ssh.target:SSHTarget",
    # a notebook VM executes runs as an ssh host does, with the VM's address, login and pinned key
    "vm": "jupyter_mlws.compute.ssh.target:SSHTarget",
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
        self._bound: dict[tuple[str, str], ComputeTarget] = {}

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
        Unavailable
            The backend cannot be loaded (its module or a dependency is missing) or is not a
            :class:`ComputeTarget`.
        """
        if name not in self._built:
            if name not in self._backends:
                raise InvalidInput(f"no compute target {name!r}: use one of {', '.join(self.names())}")
            self._built[name] = self._load(name)(**self._settings.get(name, {}))
        return self._built[name]

    def has(self, name: str) -> bool:
        """Whether backend ``name`` is known (it may still fail to load)."""
        return name in self._backends

    def for_target(self, backend: str, target: Mapping[str, Any], launch: Any) -> ComputeTarget:
        """Backend ``backend`` built for one named target: ``cls(target, launch)`` (a
        :class:`~.base.RemoteTarget`), built once per target and settings.  Raises as :meth:`get`."""
        import json

        key = (str(target["name"]), json.dumps(dict(target), sort_keys=True, default=str))
        if key not in self._bound:
            if backend not in self._backends:
                raise InvalidInput(f"no compute backend {backend!r}: use one of {', '.join(self.names())}")
            for old in [k for k in self._bound if k[0] == key[0]]:  # changed since
                _close(self._bound.pop(old))
            self._bound[key] = self._load(backend)(dict(target), launch)
        return self._bound[key]

    def close(self) -> None:
        """Close the backends built so far that hold connections (a Dask target's client)."""
        for target in [*self._built.values(), *self._bound.values()]:
            _close(target)

    def _load(self, name: str) -> type[ComputeTarget]:
        """The class backend ``name`` names; Unavailable when it cannot be imported or is no
        :class:`ComputeTarget` (a missing optional dependency says which)."""
        ref = self._backends[name]
        module, _, attr = ref.partition(":")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            raise Unavailable(f"compute target {name!r} ({ref}) cannot be loaded: {exc}; "
                              "install what it needs") from None
        except AttributeError:
            raise Unavailable(f"compute target {name!r}: {module} has no {attr!r}") from None
        if not (isinstance(cls, type) and issubclass(cls, ComputeTarget)):
            raise Unavailable(f"compute target {name!r}: {ref} is not a ComputeTarget")
        return cls


def _close(target: ComputeTarget) -> None:
    """Close a backend that holds connections (a Dask target's client)."""
    close = getattr(target, "close", None)
    if close is not None:
        close()
