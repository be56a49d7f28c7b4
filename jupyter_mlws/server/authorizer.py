"""The workspace roles as a Jupyter ``Authorizer``: it decides ``mlws:<concept>`` resources.

The extension installs it around the server's own authorizer (AllowAll by default, or the one
the deployer configured, e.g. JupyterHub's): that one decides first and alone for Jupyter's own
resources; for the workspace's, the Jupyter identity must then hold a workspace role that
allows the action.  Unknown ``mlws:`` resources are denied.  With roles enforced, Jupyter's
events stream (which carries the workspace's live events) needs the reader role too, for as
long as it is open: the authorizer keeps the streams it let in, and the extension has it decide
again for each before it publishes workspace events (:meth:`end_refused_streams`), so a
revoked user's stream closes.  It keeps every events stream it lets in (roles enforced or
not): they are where a user's personal events go (:meth:`streams_of`: a schedule's
``schedule-run`` to its owner).  A refusal leaves its
reason (who lacks which role, and what to do) on the handler as ``mlws_denied``, which the
workspace's handlers show verbatim.
When the roles cannot be read (the store fails) the request is answered 503 (507 for a full
disk) with the reason, never 500.

A request signed in with a run's token (a :class:`~.identity.RunPrincipal`) is decided here
alone: the server's authorizer knows nothing of runs.  It may use only the ``mlws:runs`` routes
whose handler lists the method in ``run_token_methods``, and only on runs its token covers (its
run and the runs below it): no other run, no secret, endpoint, model or role, and none of
Jupyter's own resources (its events stream included).  A request signed in with a notebook
VM's token (a :class:`~.identity.VMPrincipal`) is decided here alone too: the ``mlws:runs`` and
``mlws:experiments`` routes, read or write (never admin), as the VM's owner's role allows.  A
request signed in with a user's API token (a :class:`~.identity.UserPrincipal`) is decided here
alone as well: the workspace's routes, as that user's role allows (whether or not roles are
enforced: the token was made for a teammate), and none of Jupyter's own resources.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING

from jupyter_core.utils import ensure_async
from jupyter_server.auth.authorizer import Authorizer
from tornado import web
from tornado.websocket import WebSocketHandler

from .. import errors as E
from ..remote.client import ATTEMPT_HEADER
from .identity import RunPrincipal, UserPrincipal, VMPrincipal

if TYPE_CHECKING:  # pragma: no cover
    from .extension import MlwsApp

PREFIX = "mlws:"
#: the workspace's resources (``auth_resource`` of its handlers)
CONCEPTS = ("workspace", "experiments", "runs", "models", "endpoints", "access", "secrets",
            "compute", "environments", "vms", "schedules", "datastores", "datasets")
_WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
#: the close frame of a stream whose user may no longer read it (RFC 6455 "policy violation";
#: a close reason holds at most 123 bytes)
REFUSED_CODE = 1008
REFUSED_REASON = "your workspace role no longer allows reading the workspace's events"
UNCHECKED_REASON = "the workspace roles cannot be read now: subscribe again later"


class WorkspaceAuthorizer(Authorizer):
    """Workspace roles on top of ``base`` (the server's configured authorizer)."""

    def __init__(self, base: Authorizer, app: MlwsApp, **kwargs):
        super().__init__(parent=base.parent, identity_provider=base.identity_provider, **kwargs)
        self.base = base
        self.app = app
        #: the events streams let in with roles enforced, while they live
        self._streams: weakref.WeakSet[WebSocketHandler] = weakref.WeakSet()

    async def is_authorized(self, handler, user, action: str, resource: str) -> bool:
        if isinstance(user, RunPrincipal):
            return await self._allows_run(handler, user, resource)
        if isinstance(user, VMPrincipal):
            return await self._allows_vm(handler, user, resource, action)
        if isinstance(user, UserPrincipal):
            return await self._allows_user(handler, user, resource, action)
        if not await ensure_async(self.base.is_authorized(handler, user, action, resource)):
            return False
        if resource == "events":
            # the live events name the workspace's runs and endpoints: its readers' alone
            allowed = (not self.app.enforce_roles
                       or await self._allows(handler, user, "read", "workspace"))
            if allowed and isinstance(handler, WebSocketHandler):
                self._streams.add(handler)  # decided again while it is open; its user's own events
            return allowed
        if not resource.startswith(PREFIX):
            return True  # Jupyter's own resources: the base decides
        concept = resource[len(PREFIX):]
        if concept not in CONCEPTS:
            return False
        return await self._allows(handler, user, workspace_action(handler, action), concept)

    async def end_refused_streams(self) -> int:
        """Decide again for every open events stream (as when it was opened) and close, with
        code 1008, each one its user may no longer open: a revoked role, or one that no longer
        reads.  When the roles cannot be read, the stream is closed too (its user may subscribe
        again).  Returns how many streams were closed.  The extension calls this before it
        publishes workspace events, so none reaches a stream refused by then.
        """
        closed = 0
        for handler in list(self._streams):
            if handler.ws_connection is None:
                continue  # not open yet (decided again next time), or closed already
            reason = REFUSED_REASON
            try:
                allowed = await self.is_authorized(handler, handler.current_user, "execute", "events")
            except (E.MlwsError, web.HTTPError) as exc:  # the roles cannot be read
                allowed, reason = False, UNCHECKED_REASON
                handler.mlws_denied = getattr(exc, "log_message", None) or str(exc)
            if not allowed and handler.ws_connection is not None:
                self._streams.discard(handler)
                self.log.info("jupyter_mlws: events stream of %r closed: %s",
                              getattr(handler.current_user, "username", ""),
                              getattr(handler, "mlws_denied", reason))
                handler.close(REFUSED_CODE, reason)
                closed += 1
        return closed

    def streams_of(self, username: str) -> list[WebSocketHandler]:
        """The open events streams that get ``username``'s personal events: that Jupyter user's
        (with roles enforced), or every open one (roles not enforced: a personal server, where
        each signed-in user acts as the workspace's owner).  Call it after
        :meth:`end_refused_streams`, so that no refused stream is among them."""
        return [handler for handler in list(self._streams) if handler.ws_connection is not None
                and (not self.app.enforce_roles
                     or getattr(handler.current_user, "username", None) == username)]

    async def _allows_run(self, handler, user: RunPrincipal, resource: str) -> bool:
        """Whether a run's token may make this request (see the module's docstring); a refusal's
        reason is left on the handler."""
        method = handler.request.method.upper()
        if resource != PREFIX + "runs" or method not in getattr(handler, "run_token_methods", ()):
            handler.mlws_denied = (f"a run's token reads and writes its run only (run {user.run_id}): "
                                   "it cannot make this request")
            return False
        run_id = handler.path_kwargs.get("run_id")  # None: its service applies the token's scope
        fenced = getattr(handler, "attempt_fenced", True)
        attempt = handler.request.headers.get(ATTEMPT_HEADER) if fenced else None
        try:
            covered = await asyncio.to_thread(self.app.run_token_allows, user.run_id, run_id,
                                              fenced, attempt)
        except E.Conflict:
            raise  # another attempt executes the run: the workspace's handler answers 409
        except E.MlwsError as exc:
            raise _cannot_decide(handler, exc) from None
        if not covered:
            handler.mlws_denied = (f"this token belongs to run {user.run_id}: it cannot read or "
                                   f"write run {run_id[:40]!r}")
        return covered

    async def _allows_vm(self, handler, user: VMPrincipal, resource: str, action: str) -> bool:
        """Whether a VM's token may make this request: runs and experiments only, as its owner
        with at most a contributor's rights (see :mod:`jupyter_mlws.vms.tokens`)."""
        from ..vms.tokens import CONCEPTS

        concept = resource[len(PREFIX):] if resource.startswith(PREFIX) else None
        needed = workspace_action(handler, action)
        if concept not in CONCEPTS or needed not in ("read", "write"):
            handler.mlws_denied = (f"the token of vm {user.vm!r} reaches the workspace's runs and "
                                   "experiments only: it cannot make this request")
            return False
        return await self._allows(handler, user, needed, concept)

    async def _allows_user(self, handler, user: UserPrincipal, resource: str, action: str) -> bool:
        """Whether a user's API token may make this request: a workspace route its user's role
        allows (see :mod:`jupyter_mlws.access.tokens`)."""
        concept = resource[len(PREFIX):] if resource.startswith(PREFIX) else None
        if concept not in CONCEPTS:
            handler.mlws_denied = ("a user's API token reaches the workspace's API only: it "
                                   "cannot make this request")
            return False
        return await self._allows(handler, user, workspace_action(handler, action), concept,
                                  always=True)

    async def _allows(self, handler, user, action: str, concept: str, always: bool = False) -> bool:
        """Whether the user's role allows it; a refusal's reason is left on the handler
        (``mlws_denied``) for its error page or JSON.  ``always``: apply the roles even when
        they are not enforced (a user's API token)."""
        username = getattr(user, "username", "") or ""
        try:
            await asyncio.to_thread(self.app.require_role, username, action, concept,
                                    _request_line(handler), always)
        except E.PermissionDenied as exc:
            handler.mlws_denied = str(exc)
            return False
        except E.MlwsError as exc:  # the roles cannot be read (the store fails): no answer
            raise _cannot_decide(handler, exc) from None
        return True


def _request_line(handler) -> str | None:
    """The request a refusal names: ``POST runs/ID/cancel`` (its path below the workspace's
    API, without the query); None for a request outside it (a page, the events stream)."""
    request = getattr(handler, "request", None)
    path = getattr(request, "path", "") or ""
    marker = "/mlws/api/"
    if marker not in path:
        return None
    return f"{request.method} {path.split(marker, 1)[1][:200]}"


def _cannot_decide(handler, exc: E.MlwsError) -> Exception:
    """What a request gets when its roles cannot be read: the workspace's handlers map the error
    themselves (503, or 507 for a full disk, with its message); Jupyter's (the events stream)
    get a tornado error with the same status and message, never a 500."""
    if str(getattr(handler, "auth_resource", "")).startswith(PREFIX):
        return exc
    from .handlers.base import status_for

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


def install(app: MlwsApp) -> WorkspaceAuthorizer:
    """Wrap the web app's authorizer (once) so that every handler's ``@authorized`` applies roles;
    returns the wrapper."""
    current = app.serverapp.web_app.settings["authorizer"]
    if not isinstance(current, WorkspaceAuthorizer):
        # the extension's settings are copied over the web app's once it is initialised
        current = app.settings["authorizer"] = app.serverapp.web_app.settings["authorizer"] = \
            WorkspaceAuthorizer(current, app)
    return current
