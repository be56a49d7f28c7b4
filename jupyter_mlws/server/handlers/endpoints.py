"""REST handlers for endpoints under ``{base_url}mlws/api/endpoints``: parse, call, render.

Everything goes through ``ws.endpoints`` / ``ws.deploy``.  Creating and starting an
endpoint answer 202 at once with state ``creating``: the spawn runs in a thread and the
endpoint's own supervisor moves it to ``healthy`` or ``failed`` (with the error's type and message),
which clients watch with ``GET /endpoints/{endpoint}``.  Keys come only from
``/endpoints/{endpoint}/keys``, which needs the write role (readers get 403), and never
appear in list or show.
"""

from __future__ import annotations

from pathlib import Path

from jupyter_server.auth.decorator import authorized
from tornado import web

from ... import errors as E
from ...limits import WINDOW_MAX_S
from .base import MlwsHandler

#: the longest log tail a client may ask for, in lines
MAX_LOG_LINES = 10_000


def script_path(root: str, name) -> Path:
    """A scoring script inside the server's folder, given relative to it (no '..', no absolute path)."""
    from ...fsutil import safe_join

    if not isinstance(name, str) or not name.strip():
        raise E.InvalidInput('give the scoring script as a path inside the server\'s folder: '
                             '{"script": "serving/score.py"}')
    try:
        path = safe_join(root, name)
    except E.InvalidInput:
        raise E.InvalidInput(f"the scoring script {name!r} is not a path inside the server's folder: "
                             "give a relative path such as 'serving/score.py'") from None
    if not path.is_file():
        raise E.NotFound(f"no scoring script at {name!r} in the server's folder: give the path of "
                         "your score.py relative to it")
    return path


def _workers(value) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int):
        raise E.InvalidInput(f"workers must be a whole number from 1 to 64, got {value!r}")
    return value


class EndpointBase(MlwsHandler):
    auth_resource = "mlws:endpoints"

    async def may_serve_here(self) -> None:
        """PermissionDenied unless this request's user may have code executed on this machine's
        own account (an endpoint's process runs its scoring script and unpickles its model
        here): the compute service's rule for ``local``."""
        ws = await self.ws()
        await self.call(ws.compute.require_execution, "local", self.actor, self.checks_actor)

    def since(self) -> float:
        """The ``since`` query argument: seconds back from now (default an hour)."""
        raw = self.get_query_argument("since", None)
        if raw is None:
            return 3600.0
        try:  # the core caps the window (limits.check_window)
            return float(raw)
        except ValueError:
            raise E.InvalidInput(f"since must be a number of seconds from 1 to {WINDOW_MAX_S}, "
                                 f"got {raw!r}") from None


class EndpointsHandler(EndpointBase):
    """List endpoints (GET) or create one from a model version and a scoring script (POST, 202)."""

    @web.authenticated
    @authorized
    async def get(self):
        ws = await self.ws()
        self.reply({"endpoints": await self.call(ws.endpoints.list)})

    @web.authenticated
    @authorized
    async def post(self):
        body = self.body()
        name, model = body.get("name"), body.get("model")
        if not isinstance(name, str) or not name or not isinstance(model, str) or not model:
            raise E.InvalidInput('give the endpoint\'s name, the model version and the scoring script: '
                                 '{"name": "iris", "model": "iris:2", "script": "score.py"}')
        await self.may_serve_here()
        script = script_path(self.app.serverapp.root_dir, body.get("script"))
        deployment = body.get("deployment") or "blue"
        if not isinstance(deployment, str):
            raise E.InvalidInput(f"deployment must be a name such as 'blue', got {deployment!r}")
        ws = await self.ws()
        # validates, records the endpoint and spawns its supervisor; never waits for it
        info = await self.call(ws.deploy, model, name, script, deployment=deployment,
                               workers=_workers(body.get("workers")), wait=False)
        self.reply(info, 202)


class EndpointHandler(EndpointBase):
    """GET an endpoint (state, URL, deployments and traffic, restarts, error; never keys); DELETE it."""

    @web.authenticated
    @authorized
    async def get(self, endpoint):
        ws = await self.ws()
        self.reply(await self.call(ws.endpoints.show, endpoint))

    @web.authenticated
    @authorized
    async def delete(self, endpoint):
        ws = await self.ws()
        await self.call(ws.endpoints.delete, endpoint)
        self.set_status(204)
        self.finish()


class EndpointActionHandler(EndpointBase):
    """POST /endpoints/{endpoint}/start (202, returns at once) or /stop (waits for in-flight calls)."""

    @web.authenticated
    @authorized
    async def post(self, endpoint, action):
        ws = await self.ws()
        if action == "start":
            self.reply(await self.call(ws.endpoints.start, endpoint, wait=False), 202)
        else:
            self.reply(await self.call(ws.endpoints.stop, endpoint))


class EndpointTrafficHandler(EndpointBase):
    """PUT ``{"blue": 90, "green": 10}``: whole percents summing to 100."""

    @web.authenticated
    @authorized
    async def put(self, endpoint):
        shares = self.body()
        ws = await self.ws()
        self.reply(await self.call(ws.endpoints.set_traffic, endpoint, shares))


class EndpointLogsHandler(EndpointBase):
    """The last ``tail`` lines of the endpoint's log (supervisor and workers): tracebacks that
    name server paths, so contributors and owners only."""

    read_action = "write"

    @web.authenticated
    @authorized
    async def get(self, endpoint):
        tail = self.int_arg("tail", 200, 1, MAX_LOG_LINES)
        ws = await self.ws()
        self.reply({"endpoint": endpoint, "text": await self.call(ws.endpoints.logs, endpoint, tail)})


class EndpointMetricsHandler(EndpointBase):
    """Request counts, errors, status codes and latency percentiles over the last ``since`` seconds;
    with ``buckets``, a timeline of that many buckets per deployment."""

    @web.authenticated
    @authorized
    async def get(self, endpoint):
        since = self.since()
        deployment = self.get_query_argument("deployment", None) or None
        buckets = self.int_arg("buckets", None)  # the core checks the range
        ws = await self.ws()
        self.reply(await self.call(ws.endpoints.metrics, endpoint, since, deployment=deployment,
                                   buckets=buckets))


class EndpointDriftHandler(EndpointBase):
    """Per deployment and feature, how far sampled inputs of the last ``since`` seconds drift
    from the training data of the deployment's model (PSI), or why there is no verdict."""

    @web.authenticated
    @authorized
    async def get(self, endpoint):
        since = self.since()
        ws = await self.ws()
        self.reply(await self.call(ws.endpoints.drift, endpoint, since))


class EndpointDeploymentHandler(EndpointBase):
    """PUT ``{"model": "iris:2", "script": "score.py"}`` adds (or replaces) a deployment taking
    no traffic (202: it starts in the endpoint's own process; watch its state); DELETE removes
    a deployment that takes no traffic."""

    @web.authenticated
    @authorized
    async def put(self, endpoint, deployment):
        body = self.body()
        await self.may_serve_here()
        script = script_path(self.app.serverapp.root_dir, body.get("script"))
        ws = await self.ws()
        self.reply(await self.call(ws.endpoints.deploy, endpoint, deployment, body["model"], script,
                                   wait=False), 202)

    @web.authenticated
    @authorized
    async def delete(self, endpoint, deployment):
        ws = await self.ws()
        self.reply(await self.call(ws.endpoints.delete_deployment, endpoint, deployment))


class EndpointKeysHandler(EndpointBase):
    """GET the two keys; POST ``{"key": "secondary"}`` regenerates one.  Contributors and owners only."""

    read_action = "write"  # a reader never sees a key

    @web.authenticated
    @authorized
    async def get(self, endpoint):
        ws = await self.ws()
        self.reply(await self.call(ws.endpoints.keys, endpoint))

    @web.authenticated
    @authorized
    async def post(self, endpoint):
        key = self.body().get("key", "secondary")
        ws = await self.ws()
        self.reply(await self.call(ws.endpoints.regenerate, endpoint, key))


class EndpointInvokeHandler(EndpointBase):
    """POST JSON data: the endpoint's JSON answer (``?deployment=`` calls one deployment).

    The server calls with the endpoint's key, so invoking needs the write role.  The
    endpoint's refusals come back as ``{message, reason}``: its 4xx as 400/403/404, a
    failing or unreachable endpoint as 503.
    """

    @web.authenticated
    @authorized
    async def post(self, endpoint):
        data = self.body(any_json=True)
        deployment = self.get_query_argument("deployment", None) or None
        ws = await self.ws()
        self.reply(await self.call(ws.endpoints.invoke, endpoint, data, deployment=deployment))


#: (route template under mlws/api, handler), joined with the rest in ``server.routes``
ROUTES = [
    ("/endpoints", EndpointsHandler),
    ("/endpoints/{endpoint}", EndpointHandler),
    ("/endpoints/{endpoint}/{action:start|stop}", EndpointActionHandler),
    ("/endpoints/{endpoint}/traffic", EndpointTrafficHandler),
    ("/endpoints/{endpoint}/logs", EndpointLogsHandler),
    ("/endpoints/{endpoint}/metrics", EndpointMetricsHandler),
    ("/endpoints/{endpoint}/drift", EndpointDriftHandler),
    ("/endpoints/{endpoint}/deployments/{deployment}", EndpointDeploymentHandler),
    ("/endpoints/{endpoint}/keys", EndpointKeysHandler),
    ("/endpoints/{endpoint}/invoke", EndpointInvokeHandler),
]
