"""The workspace's own web page, ``{base_url}mlws/``: the sidebar's views on a page of their own.

It is what ``mlws server`` (a team server with no notebooks, files or kernels) opens, and it is
there in any Jupyter server with the extension.  The page and its script (built from
``labextension/src/standalone.tsx`` into ``static/``) need sign-in and a workspace role, like
every API route.
"""

from __future__ import annotations

import asyncio
import html
import json
from pathlib import Path

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import AuthenticatedFileHandler, JupyterHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from .. import errors as E
from .handlers.base import log_workspace_error, status_for, workspace_error

STATIC = Path(__file__).parent / "static"
SCRIPT = "mlws.js"

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<script id="jupyter-config-data" type="application/json">{config}</script>
<script src="{script}" defer></script>
</head>
<body></body>
</html>
"""


class _PageErrors:
    """A workspace error (a user without the role the authorizer asked for) as an HTML error
    page with the workspace's message."""

    auth_resource = "mlws:workspace"

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = workspace_error(self, kwargs)
        if isinstance(exc, E.MlwsError):
            status_code = status_for(exc)
            self.set_status(status_code)
            page = web.HTTPError(status_code, str(exc).replace("%", "%%"))
            kwargs["exc_info"] = (web.HTTPError, page, None)
        super().write_error(status_code, **kwargs)

    def log_exception(self, typ, value, tb) -> None:
        log_workspace_error(self, typ, value, tb)


class WorkspacePageHandler(_PageErrors, ExtensionHandlerMixin, JupyterHandler):
    """GET the page: a script and the settings it needs (base URL; never a token or a path)."""

    @web.authenticated
    @authorized
    async def get(self):
        if not (STATIC / SCRIPT).is_file():
            raise web.HTTPError(503, "the workspace page is not built: run 'jlpm build' in "
                                     "labextension/, or reinstall jupyter_mlws")
        try:
            ws = await asyncio.to_thread(self.extensionapp.open_workspace)
            title = f"{ws.name} · ML workspace"
        except E.MlwsError:
            title = "ML workspace"  # the page itself says what is missing
        self.xsrf_token  # noqa: B018 - sets the _xsrf cookie the page's requests send back
        config = {"baseUrl": self.base_url, "wsUrl": "", "appName": "jupyter_mlws"}
        stamp = int((STATIC / SCRIPT).stat().st_mtime)
        self.set_header("Cache-Control", "no-cache")
        self.finish(_PAGE.format(
            title=html.escape(title),
            config=json.dumps(config).replace("</", "<\\/"),
            script=html.escape(f"{self.base_url}mlws/static/{SCRIPT}?v={stamp}")))


class WorkspaceAssetHandler(_PageErrors, ExtensionHandlerMixin, AuthenticatedFileHandler):
    """The page's script and its assets."""


def page_handlers() -> list[tuple[str, type, dict] | tuple[str, type]]:
    """The page's routes (under the server's base URL)."""
    return [(r"/mlws/?", WorkspacePageHandler),
            (r"/mlws/static/(.*)", WorkspaceAssetHandler, {"path": str(STATIC)})]
