"""The ``mlws`` command line: a thin face over :class:`~jupyter_mlws.workspace.Workspace`."""

from __future__ import annotations

from .main import main

__all__ = ["main"]
