"""A real Jupyter server with the extension, over a workspace in a tmp dir (pytest-jupyter).

The server's base URL is ``/a%40b/`` on purpose: no test hard-codes a path.
"""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from traitlets.config import Config

# The plugin's fixtures and hooks, for this folder only: pytest refuses ``pytest_plugins`` in a
# conftest below the rootdir's, and the other tests need neither a server nor its event loop.
from pytest_jupyter.jupyter_server import *  # noqa: E402,F401,F403


@pytest.fixture
def mlws_ws(jp_root_dir, monkeypatch):
    """The workspace the server serves; the test writes to it through the SDK."""
    from jupyter_mlws import Workspace

    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    monkeypatch.delenv("MLWS_RUN_ID", raising=False)
    ws = Workspace.create(jp_root_dir / "ws")
    yield ws
    ws.close()


@pytest.fixture
def contributors_run_locally(mlws_ws):
    """The workspace's mlws.toml opens the local target to contributors' code
    (``[compute.local] run_as_server``); the server reads it when it opens the workspace, at
    its first request."""
    with open(mlws_ws.root / "mlws.toml", "a") as f:
        f.write('\n[compute.local]\nrun_as_server = "contributor"\n')


@pytest.fixture
def mlws_config():
    """Extra config for MlwsApp / ServerApp; a test module overrides it."""
    return {}


@pytest.fixture
def jp_server_config(mlws_ws, mlws_config):
    config = {
        "ServerApp": {"jpserver_extensions": {"jupyter_mlws": True},
                      "allow_unauthenticated_access": False},
        "MlwsApp": {"workspace": str(mlws_ws.root), "poll_interval": 0.1},
    }
    for section, values in mlws_config.items():
        config.setdefault(section, {}).update(values)
    return Config(config)


class Reply:
    """A response: status, headers, and the JSON body when there is one."""

    def __init__(self, response):
        self.code = response.code
        self.headers = response.headers
        self.raw = response.body or b""
        is_json = "application/json" in self.headers.get("Content-Type", "")
        self.json = json.loads(self.raw) if is_json and self.raw else None

    def __repr__(self):
        return f"<Reply {self.code} {self.raw[:200]!r}>"


@pytest.fixture
def api(jp_fetch):
    """``await api("GET", "runs", run_id, params=..., body=..., user=...)`` under mlws/api."""
    async def call(method, *parts, params=None, body=None, user=None, headers=None):
        headers = dict(headers or {})
        if user is not None:
            headers["Authorization"] = f"token {user}-token"
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = "{}"
        response = await jp_fetch("mlws", "api", *parts, method=method, params=params, body=body,
                                  headers=headers, raise_error=False,
                                  allow_nonstandard_methods=True)
        return Reply(response)

    return call


@pytest.fixture
def subscribe(jp_ws_fetch, jp_serverapp, api):
    """``await subscribe(user=None)``: the events websocket the sidebar subscribes to (as
    ``user``, with ``Authorization: token <user>-token``), on a server whose watcher runs
    (closed after the test)."""
    opened = []

    async def open_events(user=None):
        if not opened:  # pytest-jupyter does not run the server's start phase: do what
            await jp_serverapp.extension_manager.start_all_extensions()  # ServerApp._post_start does
        assert (await api("GET", "workspace", user=user)).code == 200
        headers = {"Authorization": f"token {user}-token"} if user is not None else None
        opened.append(await jp_ws_fetch("api", "events", "subscribe", headers=headers))
        return opened[-1]

    yield open_events
    for socket in opened:
        socket.close()


@pytest.fixture
def workspace_state():
    """``workspace_state(ws)``: a dump of everything a request could change, to compare."""
    return _workspace_state


def _workspace_state(ws):
    """Everything a mutating request could change: runs with params and tags, experiments,
    models with versions and aliases, role assignments, endpoints with traffic and keys, secrets
    with their versions and state, compute targets, notebook VMs, datastores, schedules (but the next
    fire times, which move with the clock)."""
    runs = ws.search_runs(max_results=1000)
    endpoints = [(e["name"], e["state"], e["pid"], [(d["name"], d["traffic"]) for d in e["deployments"]],
                  ws.endpoints.keys(e["name"])) for e in ws.endpoints.list()]
    models = ws.models.list()
    secrets = [(s["name"], s["version"], s["state"])
               for s in ws.secrets.list() + ws.secrets.list(deleted=True)]
    return ([(r.id, r.status, r.name, r.tags, r.params, r.record.description) for r in runs],
            ws.list_experiments(), models,
            [(v.ref, v.aliases, v.tags, v.description) for m in models for v in ws.models.versions(m["name"])],
            ws.access.assignments(), endpoints, secrets, ws.compute.list(),
            ws.vms.list(deleted=True, check_actor=False), ws.datastores.list(),
            [{k: v for k, v in s.items() if k != "next"} for s in ws.schedules.list(check_actor=False)])


@pytest.fixture
def server_log(jp_serverapp, mlws_app):
    """Everything the server logs at any level (its own, the extension's, tornado's)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setLevel(logging.DEBUG)
    loggers = [jp_serverapp.log, mlws_app.log, logging.getLogger(),
               *(logging.getLogger(f"tornado.{n}") for n in ("access", "application", "general"))]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield out
    for lg, level in zip(loggers, levels):
        lg.removeHandler(handler)
        lg.setLevel(level)


@pytest.fixture
def mlws_app(jp_serverapp):
    """The running MlwsApp."""
    return jp_serverapp.extension_manager.extension_points["jupyter_mlws"].app


@pytest.fixture
def routes(mlws_app) -> dict[str, tuple[type, list[str]]]:
    """Every registered route as template -> (handler, methods it implements)."""
    return {t: (h, methods_of(h)) for t, h in route_templates(mlws_app).items()}


def route_templates(app) -> dict[str, type]:
    """Every route the extension registered, as a template under mlws/api ({} per parameter)."""
    out = {}
    for pattern, handler, *_ in app.handlers:
        if not pattern.startswith("/mlws/api"):
            continue  # the workspace page and its script (tests/server/test_auth.py)
        template = re.sub(r"\(\?P<(\w+)>([^)]*)\)", _param, pattern)
        out[template.removeprefix("/mlws/api")] = handler
    return out


def _param(m: re.Match) -> str:
    name, body = m.groups()
    return f"{{{name}}}" if body in ("[^/]+", ".+") else f"{{{name}:{body}}}"


def methods_of(handler: type) -> list[str]:
    """The HTTP methods a handler implements itself."""
    from tornado.web import RequestHandler

    return [m for m in ("get", "post", "put", "patch", "delete", "head")
            if getattr(handler, m) is not getattr(RequestHandler, m)]
