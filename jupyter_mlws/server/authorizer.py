"""The workspace roles as a Jupyter ``Authorizer``: it decides ``mlws:<concept>`` resources.

The extension installs it around the server's own authorizer (AllowAll by default, or the one
the deployer configured, e.g. JupyterHub's): that one decides first and alone for Jupyter's own
resources; for the workspace's, the Jupyter identity must then hold a workspace role that
allows the action.  Unknown ``mlws:`` resources are denied.  With roles enforced, Jupyter's
events stream (which carries the workspace's live events) needs the reader role too.  A refusal
leaves its reason (who lacks which role, and what to do) on the handler as ``mlws_denied``,
which the workspace's handlers show verbatim.  When the roles cannot be read (the store fails)
the request is answered 503 (507 for a full disk) with the reason, never 500.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from jupyter_core.utils import ensure_async
from jupyter_server.auth.authorizer import Authorizer
from tornado import web

from .. import errors as E

if TYPE_CHECKING:  # pragma: no cover
    from .extension import MlwsApp

PREFIX = "mlws:"
#: the workspace's resources (``auth_resource`` of its handlers)
CONCEPTS = ("workspace", "experiments", "runs", "models", "endpoints", "access")
_WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class WorkspaceAuthorizer(Authorizer):
    """Workspace roles on top of ``base`` (the server's configured authorizer)."""

    def __init__(self, base: Authorizer, app: MlwsApp, **kwargs):
        super().__init__(parent=base.parent, identity_provider=base.identity_provider, **kwargs)
        self.base = base
        self.app = app

    async def is_authorized(self, handler, user, action: str, resource: str) -> bool:
        if not await ensure_async(self.base.is_authorized(handler, user, action, resource)):
            return False
        if resource == "events" and self.app.enforce_roles:
            # the live events name the workspace's runs and endpoints: its readers' alone
            return await self._allows(handler, user, "read", "workspace")
        if not resource.startswith(PREFIX):
            return True  # Jupyter's own resources: the base decides
        concept = resource[len(PREFIX):]
        if concept not in CONCEPTS:
            return False
        return await self._allows(handler, user, workspace_action(handler, action), concept)

    async def _allows(self, handler, user, action: str, concept: str) -> bool:
        """Whether the user's role allows it; a refusal's reason is left on the handler
        (``mlws_denied``) for its error page or JSON."""
        username = getattr(user, "username", "") or ""
        try:
            await asyncio.to_thread(self.app.require_role, username, action, concept)
        except E.PermissionDenied as exc:
            handler.mlws_denied = str(exc)
            return False
        except E.MlwsError as exc:  # the roles cannot be read (the store fails): no answer
            raise _cannot_decide(handler, exc) from None
        return True


def _cannot_decide(handler, exc: E.MlwsError) -> Exception:
    """What a request gets when its roles cannot be read: the workspace's handlers map the error
    themselves (503, or 507 for a full disk, with its message); Jupyter's (the events stream)
    get a tornado error with the same status and message, never a 500."""
    if str(getattr(handler, "auth_resource", "")).startswith(PREFIX):
        return exc
    from .handlers import status_for

    return web.HTTPError(status_for(exc), str(exc))


def workspace_action(handler, jupyter_action: str) -> str:
    """The workspace action a request needs: a handler's ``read_action`` (GET, HEAD) or
    ``write_action`` (other methods) when it names them, else Jupyter's action (read/write)."""
    method = handler.request.method.upper()
    if method in _WRITE_METHODS:
        return getattr(handler, "write_action", "write")
    if method in ("GET", "HEAD"):
        return getattr(handler, "read_action", "read")
    return "read" if jupyter_action == "read" else "write"


def install(app: MlwsApp) -> None:
    """Wrap the web app's authorizer (once) so that every handler's ``@authorized`` applies roles."""
    current = app.serverapp.web_app.settings["authorizer"]
    if not isinstance(current, WorkspaceAuthorizer):
        # the extension's settings are copied over the web app's once it is initialised
        app.settings["authorizer"] = app.serverapp.web_app.settings["authorizer"] = \
            WorkspaceAuthorizer(current, app)
