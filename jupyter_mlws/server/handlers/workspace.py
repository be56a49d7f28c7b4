"""The workspace itself: what it is and who you are in it, the API's description, and the
JSON 404 for any other path under mlws/api."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ... import errors as E
from .base import MlwsHandler


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
        info["you"] = {"user": self.username, "role": await self.my_role()}
        info["roles_enforced"] = self.app.enforce_roles
        self.reply(info)


class OpenAPIHandler(MlwsHandler):
    auth_resource = "mlws:workspace"

    @web.authenticated
    @authorized
    async def get(self):
        from ..openapi import document

        self.reply(document(self.base_url))


class NotFoundHandler(MlwsHandler):
    """Any other path under mlws/api: authenticated, then a JSON 404 (registered last)."""

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


#: (route template under mlws/api, handler); the catch-all is added last by ``routes``
ROUTES = [
    ("/workspace", WorkspaceHandler),
    ("/openapi.json", OpenAPIHandler),
]
