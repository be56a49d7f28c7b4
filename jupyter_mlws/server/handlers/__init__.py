"""REST handlers under ``{base_url}mlws/api/``, one module per concept.

:mod:`.base` holds :class:`~.base.MlwsHandler` (auth, the one error -> HTTP mapping, JSON
bodies checked against the OpenAPI document); every other module holds the handlers of one
concept and exports their ``ROUTES``, which :mod:`jupyter_mlws.server.routes` joins.
Nothing here imports back up.
"""

from .base import MlwsHandler, log_workspace_error, status_for, workspace_error

__all__ = ["MlwsHandler", "log_workspace_error", "status_for", "workspace_error"]
