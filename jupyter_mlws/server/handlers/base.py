"""The base of every REST handler under ``{base_url}mlws/api/``: auth, errors, JSON.

Every handler is ``@web.authenticated`` and ``@authorized`` against an
``auth_resource`` named ``mlws:<concept>``.  The authorizer is the extension's
:class:`~..authorizer.WorkspaceAuthorizer`: the server's configured Authorizer
(JupyterHub's included) decides first, then the workspace roles of the Jupyter
identity, by method: GET/HEAD ``read_action``, POST/PUT/PATCH/DELETE
``write_action`` (access management: admin).
Workspace errors become JSON ``{message, reason}`` (and ``details`` when the error has facts a
client may act on) in one place
(:meth:`MlwsHandler.write_error`); request bodies are checked against the OpenAPI
document's schemas in one place (:meth:`MlwsHandler.body`).  Workspace calls run in a
thread: the event loop never waits on the database, a kernel or a file.
"""

from __future__ import annotations

import asyncio
import json
from http.client import responses
from typing import Any

from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from ... import errors as E
from ...remote.client import NOT_SIGNED_IN
from ...run_records import jsonable
from ..identity import RunPrincipal, UserPrincipal, actor_name, run_user

#: one place maps the workspace's error kinds to HTTP
STATUS = {E.InvalidInput: 400, E.PermissionDenied: 403, E.NotFound: 404, E.AlreadyExists: 409,
          E.Conflict: 409, E.InsufficientStorage: 507, E.Unavailable: 503}
_REASONS = {400: "invalid_input", 401: "unauthenticated", 403: "permission_denied",
            404: "not_found", 405: "method_not_allowed", 409: "conflict", 503: "unavailable",
            507: "insufficient_storage"}


def status_for(exc: E.MlwsError) -> int:
    """The HTTP status of a workspace error."""
    return next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 500)


def workspace_error(handler, error_kwargs: dict):
    """The exception a request failed with; a refusal by the authorizer (a 403 with its reason
    left on the handler) as the ``PermissionDenied`` it was."""
    exc = (error_kwargs.get("exc_info") or (None, None, None))[1]
    denied = getattr(handler, "mlws_denied", None)
    if denied and isinstance(exc, web.HTTPError) and exc.status_code == 403:
        return E.PermissionDenied(denied)
    return exc


def log_workspace_error(handler, typ, value, tb) -> None:
    """A workspace error is the client's (logged in a line); anything else keeps its traceback."""
    if isinstance(value, E.MlwsError):
        handler.log.info("%s %s: %s", handler.request.method, handler.request.path, value)
    else:
        web.RequestHandler.log_exception(handler, typ, value, tb)


class MlwsHandler(ExtensionHandlerMixin, APIHandler):
    """The base of every mlws handler: the workspace actions its methods need (for the
    authorizer), error mapping, JSON in and out."""

    auth_resource = "mlws:workspace"
    #: the action a GET needs: "write" for routes that return secrets or keys
    read_action = "read"
    #: the action a POST/PUT/PATCH/DELETE needs: "admin" for access management
    write_action = "write"
    #: the methods a run's token may call, on the runs it covers (see ..authorizer)
    run_token_methods: tuple[str, ...] = ()
    #: whether a run token's request must come from the attempt executing its run (see
    #: jupyter_mlws.executions): off for what an attempt reads or sends before it is one
    attempt_fenced = True

    @property
    def app(self):
        """The MlwsApp (handlers reach the workspace through it, never by import)."""
        return self.extensionapp

    @property
    def username(self) -> str:
        """The Jupyter username (what roles are granted to)."""
        return getattr(self.current_user, "username", "") or ""

    @property
    def actor(self) -> str:
        """Who this request acts as, as the workspace records it (see
        :func:`..identity.actor_name`): the username with roles enforced, else a readable name."""
        return actor_name(self.current_user, self.app.enforce_roles)

    @property
    def run_user(self) -> str:
        """Who a run this request makes records as its user (see :func:`..identity.run_user`)."""
        return run_user(self.current_user, self.app.enforce_roles)

    async def start(self, fn, *args, **kwargs):
        """Call ``fn``, a workspace call that records runs, in a thread (as :meth:`call`) as
        this request's user: the one way a route starts runs, so that every run it records
        says who started it (``user``: :attr:`run_user`; their child runs, a pipeline's steps
        and a search's trials, record their parent's)."""
        return await self.call(fn, *args, user=self.run_user, **kwargs)

    @property
    def checks_actor(self) -> bool:
        """Whether services check the actor's role themselves: with roles enforced, and for a
        user's API token (which carries its user's role on any server)."""
        return self.app.enforce_roles or isinstance(self.current_user, UserPrincipal)

    async def my_role(self) -> str | None:
        """The role of this request's user (owner for everyone when roles are not enforced,
        except a user's API token, which has its user's)."""
        return await self.call(self.app.role_of, self.username,
                               isinstance(self.current_user, UserPrincipal))

    @property
    def scope(self) -> str | None:
        """The run a request's token is scoped to (its services apply it); None for a user."""
        return self.current_user.run_id if isinstance(self.current_user, RunPrincipal) else None

    # -- errors: one mapping ---------------------------------------------------------

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = workspace_error(self, kwargs)
        details = None
        if isinstance(exc, E.MlwsError):
            status_code = status_for(exc)
            message, reason, details = str(exc), exc.reason, exc.details
        elif isinstance(exc, web.HTTPError):
            message = exc.log_message or responses.get(status_code, "error")
            reason = _REASONS.get(status_code, "error")
            if status_code == 403 and not exc.log_message and self.current_user is None:
                message = NOT_SIGNED_IN  # Jupyter's bare refusal of a request without a token
        else:  # a bug of ours: logged with its traceback, never sent
            message, reason = "internal error: the server log has the details", "internal"
        self.set_status(status_code)
        self.clear_header("Content-Disposition")
        self.finish(json.dumps({"message": message, "reason": reason,
                                **({"details": details} if details else {})}))

    def log_exception(self, typ, value, tb) -> None:
        log_workspace_error(self, typ, value, tb)

    # -- helpers ---------------------------------------------------------------------

    async def call(self, fn, *args, **kwargs):
        """Run a workspace call in a thread (it may touch the database, files or a kernel)."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def ws(self):
        return await self.call(self.app.open_workspace)

    def initialize(self, name: str, route: str = "", **kwargs) -> None:
        self.route = route  # the template in routes.ROUTES: it names the body's schema
        super().initialize(name, **kwargs)

    def body(self, any_json: bool = False, *, max_bytes: int | None = None,
             unbounded: tuple[str, ...] = (), raw: bytes | None = None) -> Any:
        """The request body, bounded (:func:`~jupyter_mlws.limits.load_json`) and checked
        against the route's schema in the OpenAPI document: an object unless ``any_json``.
        InvalidInput names what does not fit, before anything is done.

        ``max_bytes`` and ``unbounded`` are for routes whose bodies may be larger than others
        and whose large parts the service checks itself (a batch's metric points, a logged
        list): another byte limit, and the properties named in ``unbounded`` left out of the
        count of values and depth (the rest of the body is bounded as any other).  ``raw``: the
        JSON to read instead of the request's body (a multipart request's JSON part)."""
        from ...limits import JSON_MAX_BYTES, JSON_MAX_DEPTH, check_json, load_json
        from ...jsonschema import validate
        from ..openapi import request_schema

        raw = self.request.body if raw is None else raw
        if not raw and any_json:
            raise E.InvalidInput("the request body is empty: send JSON")
        data = load_json(raw, max_bytes=max_bytes or JSON_MAX_BYTES,
                         max_depth=None if unbounded else JSON_MAX_DEPTH) if raw else {}
        if not any_json and not isinstance(data, dict):
            raise E.InvalidInput("the request body must be a JSON object")
        if unbounded:
            check_json({k: v for k, v in data.items() if k not in unbounded}, "body")
        schema = request_schema(self.route, self.request.method)
        err = validate(data, schema, "body") if schema else None
        if err:
            example = schema.get("example")
            raise E.InvalidInput(err + (f": e.g. {json.dumps(example)}" if example else ""))
        return data

    def int_arg(self, name: str, default: int | None, low: int = 0, high: int = 1 << 62) -> int | None:
        raw = self.get_query_argument(name, None)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise E.InvalidInput(f"{name} must be an integer, got {raw!r}") from None
        if not low <= value <= high:
            raise E.InvalidInput(f"{name} must be from {low} to {high}, got {value}")
        return value

    def bool_arg(self, name: str, default: bool = False) -> bool:
        """A query flag: ``true``/``1`` or ``false``/``0`` (any case); absent: ``default``; else
        InvalidInput (a 400)."""
        raw = self.get_query_argument(name, None)
        if raw is None:
            return default
        if raw.lower() in ("true", "1"):
            return True
        if raw.lower() in ("false", "0"):
            return False
        raise E.InvalidInput(f"{name} must be true or false, got {raw[:40]!r}")

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(jsonable(data), allow_nan=False, default=str))
