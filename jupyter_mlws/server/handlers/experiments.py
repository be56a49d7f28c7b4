"""Experiments: the list, with their run counts."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import MlwsHandler


class ExperimentsHandler(MlwsHandler):
    auth_resource = "mlws:experiments"

    @web.authenticated
    @authorized
    async def get(self):
        ws = await self.ws()
        self.reply({"experiments": await self.call(ws.list_experiments)})


#: (route template under mlws/api, handler)
ROUTES = [
    ("/experiments", ExperimentsHandler),
]
