"""REST handlers under ``{base_url}mlws/api/``: parse, call the Workspace, render.

Every handler is ``@web.authenticated`` and ``@authorized`` against an
``auth_resource`` named ``mlws:<concept>``.  The authorizer is the extension's
:class:`~.authorizer.WorkspaceAuthorizer`: the server's configured Authorizer
(JupyterHub's included) decides first, then the workspace roles of the Jupyter
identity, by method: GET/HEAD ``read_action``, POST/PUT/PATCH/DELETE
``write_action`` (access management: admin).
Workspace errors become JSON ``{message, reason}`` in one place
(:meth:`MlwsHandler.write_error`).  Workspace calls run in a thread: the
event loop never waits on the database, a kernel or a file.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import re
from http.client import responses
from pathlib import PurePosixPath
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from .. import errors as E
from ..access import check_role
from ..notebooks.parameters import given_parameters
from ..runs import jsonable

#: one place maps the workspace's error kinds to HTTP
STATUS = {E.InvalidInput: 400, E.PermissionDenied: 403, E.NotFound: 404, E.AlreadyExists: 409,
          E.Conflict: 409, E.InsufficientStorage: 507, E.Unavailable: 503}
_REASONS = {400: "invalid_input", 401: "unauthenticated", 403: "permission_denied",
            404: "not_found", 405: "method_not_allowed", 409: "conflict", 503: "unavailable",
            507: "insufficient_storage"}
#: artifacts the browser may show inline: images that cannot run script
INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
#: artifacts downloaded with their own type; everything else is application/octet-stream
PLAIN_TYPES = ("text/plain", "text/csv", "application/json") + INLINE_TYPES
_CHUNK = 1 << 20


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

    @property
    def app(self):
        """The MlwsApp (handlers reach the workspace through it, never by import)."""
        return self.extensionapp

    @property
    def username(self) -> str:
        return getattr(self.current_user, "username", "") or ""

    # -- errors: one mapping ---------------------------------------------------------

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = workspace_error(self, kwargs)
        if isinstance(exc, E.MlwsError):
            status_code = status_for(exc)
            message, reason = str(exc), exc.reason
        elif isinstance(exc, web.HTTPError):
            message = exc.log_message or responses.get(status_code, "error")
            reason = _REASONS.get(status_code, "error")
        else:  # a bug of ours: logged with its traceback, never sent
            message, reason = "internal error: the server log has the details", "internal"
        self.set_status(status_code)
        self.clear_header("Content-Disposition")
        self.finish(json.dumps({"message": message, "reason": reason}))

    def log_exception(self, typ, value, tb) -> None:
        log_workspace_error(self, typ, value, tb)

    # -- helpers ---------------------------------------------------------------------

    async def call(self, fn, *args, **kwargs):
        """Run a workspace call in a thread (it may touch the database, files or a kernel)."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def ws(self):
        return await self.call(self.app.open_workspace)

    def initialize(self, name: str, route: str = "", **kwargs) -> None:
        self.route = route  # the template in ROUTES: it names the body's schema
        super().initialize(name, **kwargs)

    def body(self, any_json: bool = False) -> Any:
        """The request body, bounded (:func:`~jupyter_mlws.limits.load_json`) and checked
        against the route's schema in the OpenAPI document: an object unless ``any_json``.
        InvalidInput names what does not fit, before anything is done."""
        from ..limits import load_json
        from ..serving.jsonschema import validate
        from .openapi import request_schema

        if not self.request.body and any_json:
            raise E.InvalidInput("the request body is empty: send JSON")
        data = load_json(self.request.body) if self.request.body else {}
        if not any_json and not isinstance(data, dict):
            raise E.InvalidInput("the request body must be a JSON object")
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

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(jsonable(data), allow_nan=False, default=str))


def _run_dict(run) -> dict:
    record = getattr(run, "record", run)
    out = record.to_dict()
    if getattr(run, "warnings", None):
        out["warnings"] = list(run.warnings)
    return out


# -- workspace and experiments ------------------------------------------------------


class WorkspaceHandler(MlwsHandler):
    auth_resource = "mlws:workspace"

    @web.authenticated
    @authorized
    async def get(self):
        ws = await self.ws()
        info = await self.call(ws.describe)
        info.pop("path", None)  # no server paths to clients
        info.pop("artifacts", None)
        info["metadata"] = info["metadata"].split(":", 1)[0]
        info["you"] = {"user": self.username, "role": await self.call(self.app.role_of, self.username)}
        info["roles_enforced"] = self.app.enforce_roles
        self.reply(info)


class ExperimentsHandler(MlwsHandler):
    auth_resource = "mlws:experiments"

    @web.authenticated
    @authorized
    async def get(self):
        ws = await self.ws()
        self.reply({"experiments": await self.call(ws.list_experiments)})


# -- runs ------------------------------------------------------------------------------


class RunsHandler(MlwsHandler):
    """Search runs (GET) or submit a notebook as a run (POST)."""

    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def get(self):
        ws = await self.ws()
        page = await self.call(
            ws.runs.search, self.get_query_argument("filter", None) or None,
            experiments=self.get_query_arguments("experiment") or None,
            order_by=self.get_query_arguments("order_by") or None,
            max_results=self.int_arg("max_results", 100, 1, 50_000),
            page_token=self.get_query_argument("page_token", None) or None)
        self.reply({"runs": [r.to_dict() for r in page.runs],
                    "next_page_token": page.next_page_token})

    @web.authenticated
    @authorized
    async def post(self):
        body = self.body()
        notebook = self.app.notebook_path(body.get("notebook"))
        params = given_parameters(body.get("parameters"), body.get("parameter_texts"))
        options = {k: body[k] for k in ("experiment", "kernel", "timeout", "retries", "name", "tags")
                   if body.get(k) is not None}
        ws = await self.ws()
        run = await self.call(ws.submit_notebook, notebook, params, **options)
        self.reply(_run_dict(run), 201)


class NotebookParametersHandler(MlwsHandler):
    """GET ``?notebook=folder/train.ipynb``: its parameters cell (names, defaults, types) and kernel.

    Part of submitting, and it tells which files exist in the server's folder: contributors
    and owners only (readers read runs, not the server's files).
    """

    auth_resource = "mlws:runs"
    read_action = "write"

    @web.authenticated
    @authorized
    async def get(self):
        from ..notebooks import load_notebook, parameter_defaults

        name = self.get_query_argument("notebook", None)
        nb = await self.call(load_notebook, self.app.notebook_path(name), name)
        found = parameter_defaults(nb)
        self.reply({"notebook": name, "has_parameters_cell": found is not None,
                    "parameters": found or [],
                    "kernel": nb.metadata.get("kernelspec", {}).get("name") or "python3"})


class RunHandler(MlwsHandler):
    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def get(self, run_id):
        ws = await self.ws()
        record = await self.call(ws.runs.get, run_id)
        self.reply({**record.to_dict(), "notebook": self.app.source_notebook(record)})


class RunPartHandler(MlwsHandler):
    """GET /runs/{id}/params, /metrics: one part of the record."""

    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def get(self, run_id, part):
        ws = await self.ws()
        record = await self.call(ws.runs.get, run_id)
        self.reply({part: getattr(record, part)})


class RunTagsHandler(MlwsHandler):
    """GET the tags; PATCH ``{"set": {k: v}, "delete": [k]}`` (tags stay editable after the run)."""

    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def get(self, run_id):
        ws = await self.ws()
        self.reply({"tags": (await self.call(ws.runs.get, run_id)).tags})

    @web.authenticated
    @authorized
    async def patch(self, run_id):
        body = self.body()
        ws = await self.ws()
        self.reply({"tags": await self.call(_update_tags, ws, run_id, body.get("set") or {},
                                            body.get("delete") or [])})


def _update_tags(ws, run_id: str, to_set: dict, to_delete: list) -> dict:
    record = ws.runs.get(run_id)
    ws.runs.update_tags(record.pk, to_set, to_delete)  # all of it or nothing
    return ws.runs.get(run_id).tags


class MetricHistoryHandler(MlwsHandler):
    """Every point of a metric, or at most ``max_points`` of them with the extremes kept."""

    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def get(self, run_id, key):
        max_points = self.int_arg("max_points", None, 1, 10_000_000)
        ws = await self.ws()
        self.reply(await self.call(_history, ws, run_id, key, max_points))


def _history(ws, run_id: str, key: str, max_points: int | None) -> dict:
    from ..downsample import downsample

    points = ws.runs.metric_history(ws.runs.get(run_id).pk, key)
    shown = downsample(points, max_points) if max_points else points
    return {"key": key, "total": len(points), "downsampled": len(shown) < len(points),
            "steps": [p[0] for p in shown], "timestamps": [p[1] for p in shown],
            "values": [p[2] for p in shown]}


class RunLogsHandler(MlwsHandler):
    """Logs as text from byte ``since_bytes`` on, or their last ``tail_bytes`` (a live tail
    asks for a log's new bytes with ``name`` and the size it has)."""

    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def get(self, run_id):
        since = self.int_arg("since_bytes", 0)
        tail = self.int_arg("tail_bytes", None, 1)
        name = self.get_query_argument("name", None) or None
        ws = await self.ws()
        record, logs = await self.call(_logs, ws, run_id, name, since, tail)
        # a cut in the middle of a UTF-8 character shows as one replacement character
        self.reply({"status": record.status, "logs": {
            n: {"size": size, "offset": offset, "text": data.decode("utf-8", errors="replace")}
            for n, (size, offset, data) in logs.items()}})


def _logs(ws, run_id: str, name: str | None, since: int, tail: int | None):
    record = ws.runs.get(run_id)
    return record, ws.artifacts.read_log_parts(record.pk, record.id, name, since, tail)


class RunFilesHandler(MlwsHandler):
    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def get(self, run_id):
        kind = _kind(self.get_query_argument("kind", None), allow_log=True)
        ws = await self.ws()
        record = await self.call(ws.runs.get, run_id)
        self.reply({"files": await self.call(ws.runs.files, record.pk, kind)})


def _kind(kind: str | None, allow_log: bool = False) -> str | None:
    allowed = ("artifact", "snapshot", "log") if allow_log else ("artifact", "snapshot")
    if kind is not None and kind not in allowed:
        raise E.InvalidInput(f"unknown file kind {kind!r}: use one of {', '.join(allowed)}")
    return kind


class ArtifactHandler(MlwsHandler):
    """One artifact's bytes: only images inline; everything else an attachment, sandboxed."""

    auth_resource = "mlws:runs"

    @property
    def content_security_policy(self) -> str:
        # even if a browser renders it, the document gets a unique origin and no script
        return super().content_security_policy + "; sandbox"

    @web.authenticated
    @authorized
    async def get(self, run_id, path):
        kind = _kind(self.get_query_argument("kind", None), allow_log=True) or "artifact"
        ws = await self.ws()
        record = await self.call(ws.runs.get, run_id)
        f = await self.call(ws.artifacts.open, record.pk, path, kind)
        try:
            name = PurePosixPath(path).name
            guessed = mimetypes.guess_type(name)[0] or ""
            ctype = guessed if guessed in PLAIN_TYPES else "application/octet-stream"
            disposition = "inline" if guessed in INLINE_TYPES else "attachment"
            self.set_header("Content-Type", ctype)
            self.set_header("Content-Disposition", f"{disposition}; filename*=UTF-8''{_quote(name)}")
            self.set_header("X-Content-Type-Options", "nosniff")
            while chunk := await self.call(f.read, _CHUNK):
                self.write(chunk)
                await self.flush()
        finally:
            await self.call(f.close)
        self.finish(set_content_type=ctype)


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


class RunActionHandler(MlwsHandler):
    """POST /runs/{id}/cancel, /rerun (``{"parameters": {...}, "parameter_texts": {...}}``), /promote."""

    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def post(self, run_id, action):
        body = self.body()
        ws = await self.ws()
        if action == "cancel":
            run = await self.call(ws.cancel_run, run_id)
        elif action == "rerun":
            params = given_parameters(body.get("parameters"), body.get("parameter_texts"))
            run = await self.call(ws.rerun, run_id, params)
        else:
            run = await self.call(ws.promote, run_id)
        self.reply(_run_dict(run), 200 if action == "cancel" else 201)


# -- models ----------------------------------------------------------------------------


class ModelsHandler(MlwsHandler):
    """List models (GET) or register a run's artifact as the next version (POST)."""

    auth_resource = "mlws:models"

    @web.authenticated
    @authorized
    async def get(self):
        ws = await self.ws()
        self.reply({"models": await self.call(ws.models.list)})

    @web.authenticated
    @authorized
    async def post(self):
        body = self.body()
        ws = await self.ws()
        version = await self.call(ws.models.register, body["name"], run=body["run"],
                                  artifact=body["artifact"], tags=body.get("tags") or {},
                                  description=body.get("description") or "")
        self.reply(version.to_dict(), 201)


class ModelHandler(MlwsHandler):
    """GET/DELETE ``NAME`` (every version), ``NAME:3`` or ``NAME@alias``."""

    auth_resource = "mlws:models"

    @web.authenticated
    @authorized
    async def get(self, ref):
        ws = await self.ws()
        self.reply(await self.call(_model, ws, ref))

    @web.authenticated
    @authorized
    async def delete(self, ref):
        ws = await self.ws()
        self.reply({"deleted": await self.call(ws.models.delete, ref)})


def _model(ws, ref: str) -> dict:
    from ..models import parse_ref

    name, version, alias = parse_ref(ref)
    if version is not None or alias is not None:
        return ws.models.resolve(ref).to_dict()
    return {"name": name, "versions": [v.to_dict() for v in ws.models.versions(name)]}


class ModelAliasHandler(MlwsHandler):
    """PUT ``{"version": 3}`` points NAME@ALIAS at a version; DELETE removes the alias."""

    auth_resource = "mlws:models"

    @web.authenticated
    @authorized
    async def put(self, name, alias):
        version = int(self.body()["version"])
        ws = await self.ws()
        self.reply((await self.call(ws.models.set_alias, name, alias, version)).to_dict())

    @web.authenticated
    @authorized
    async def delete(self, name, alias):
        ws = await self.ws()
        await self.call(ws.models.delete_alias, name, alias)
        self.set_status(204)
        self.finish()


# -- access ------------------------------------------------------------------------


class AccessHandler(MlwsHandler):
    """Who has which role, and your own."""

    auth_resource = "mlws:access"
    write_action = "admin"

    @web.authenticated
    @authorized
    async def get(self):
        ws = await self.ws()
        self.reply({"you": {"user": self.username,
                            "display_name": getattr(self.current_user, "display_name", None)
                            or self.username,
                            "role": await self.call(self.app.role_of, self.username)},
                    "roles_enforced": self.app.enforce_roles,
                    "assignments": await self.call(ws.access.assignments)})


class AccessUserHandler(MlwsHandler):
    """PUT ``{"role": "reader"}`` grants a role; DELETE revokes it (owners only)."""

    auth_resource = "mlws:access"
    write_action = "admin"

    @web.authenticated
    @authorized
    async def put(self, user):
        role = check_role(self.body().get("role"))
        ws = await self.ws()
        self.reply(await self.call(ws.access.grant, self.username, user, role,
                                   check_actor=self.app.enforce_roles))

    @web.authenticated
    @authorized
    async def delete(self, user):
        ws = await self.ws()
        await self.call(ws.access.revoke, self.username, user,
                        check_actor=self.app.enforce_roles)
        self.set_status(204)
        self.finish()


# -- the API's description and everything else ----------------------------------------


class OpenAPIHandler(MlwsHandler):
    auth_resource = "mlws:workspace"

    @web.authenticated
    @authorized
    async def get(self):
        from .openapi import document

        self.reply(document(self.base_url))


class NotFoundHandler(MlwsHandler):
    """Any other path under mlws/api: authenticated, then a JSON 404."""

    auth_resource = "mlws:workspace"

    async def prepare(self) -> None:
        await super(MlwsHandler, self).prepare()  # no role lookup: nothing is served here

    def _missing(self, **kwargs):
        raise E.NotFound(f"no API route {self.request.method} {self.request.path}: "
                         f"{self.base_url}mlws/api/openapi.json lists the routes")

    get = web.authenticated(authorized(_missing))
    post = web.authenticated(authorized(_missing))
    put = web.authenticated(authorized(_missing))
    patch = web.authenticated(authorized(_missing))
    delete = web.authenticated(authorized(_missing))
    head = web.authenticated(authorized(_missing))


#: (route template under mlws/api, handler); ``{path}`` spans slashes, other parameters do not
ROUTES = [
    ("/workspace", WorkspaceHandler),
    ("/openapi.json", OpenAPIHandler),
    ("/experiments", ExperimentsHandler),
    ("/runs", RunsHandler),
    ("/runs/{run_id}", RunHandler),
    ("/runs/{run_id}/{part:params|metrics}", RunPartHandler),
    ("/runs/{run_id}/tags", RunTagsHandler),
    ("/runs/{run_id}/metrics/{key}", MetricHistoryHandler),
    ("/runs/{run_id}/logs", RunLogsHandler),
    ("/runs/{run_id}/files", RunFilesHandler),
    ("/runs/{run_id}/artifacts/{path}", ArtifactHandler),
    ("/runs/{run_id}/{action:cancel|rerun|promote}", RunActionHandler),
    ("/notebook-parameters", NotebookParametersHandler),
    ("/models", ModelsHandler),
    ("/models/{ref}", ModelHandler),
    ("/models/{name}/aliases/{alias}", ModelAliasHandler),
    ("/access", AccessHandler),
    ("/access/{user}", AccessUserHandler),
]
API_PREFIX = "mlws/api"


def route_pattern(template: str) -> str:
    """The tornado pattern of a route template (named groups, one path segment each)."""
    def group(m: re.Match) -> str:
        name, _, choices = m.group(1).partition(":")
        body = choices or (".+" if name == "path" else "[^/]+")
        return f"(?P<{name}>{body})"

    return "/" + API_PREFIX + re.sub(r"\{([^}]+)\}", group, template)


def handlers() -> list[tuple[str, type]]:
    """Every route of the extension, the catch-all 404 last."""
    from .endpoint_handlers import ROUTES as ENDPOINT_ROUTES

    return [(route_pattern(t), h, {"route": t}) for t, h in ROUTES + ENDPOINT_ROUTES] + [
        (rf"/{API_PREFIX}(?P<rest>/.*)?", NotFoundHandler)]
