"""The base of the client-side services of a workspace reached over HTTP.

Each stands in for one service of a local :class:`~jupyter_mlws.workspace.Workspace` (``ws.compute``,
``ws.secrets``, ...) with the same method names and return shapes, backed by the server's REST
API, so that a face calls ``ws.<service>.<method>`` whichever way the workspace is reached.  A
method the server does not offer raises :class:`~jupyter_mlws.errors.LocalOnly` naming it.
"""

from __future__ import annotations

from ..errors import LocalOnly
from .client import Client


class RemoteService:
    """A service over ``client``; ``name`` is its attribute on the workspace (``compute``)."""

    name = "service"

    def __init__(self, client: Client):
        self.client = client

    def __getattr__(self, attr: str):
        if attr.startswith("_"):
            raise AttributeError(attr)
        raise LocalOnly(f"ws.{self.name}.{attr}", self.client.url)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.client.url}>"
