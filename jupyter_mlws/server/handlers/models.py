"""Registered models: list, register a run's artifact as a version, show, edit, delete, aliases,
the training data's statistics."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import MlwsHandler


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
    """GET/DELETE ``NAME`` (every version), ``NAME:3`` or ``NAME@alias``; PATCH a version's
    description and tags (``{"description": ..., "set": {k: v}, "delete": [k]}``)."""

    auth_resource = "mlws:models"

    @web.authenticated
    @authorized
    async def get(self, ref):
        ws = await self.ws()
        self.reply(await self.call(ws.models.show, ref))

    @web.authenticated
    @authorized
    async def patch(self, ref):
        body = self.body()
        ws = await self.ws()
        await self.call(ws.models.update, ref, description=body.get("description"),
                        set_tags=body.get("set") or {}, delete_tags=body.get("delete") or [])
        self.reply(await self.call(ws.models.show, ref))

    @web.authenticated
    @authorized
    async def delete(self, ref):
        ws = await self.ws()
        self.reply({"deleted": await self.call(ws.models.delete, ref)})


class ModelTrainingDataHandler(MlwsHandler):
    """GET the per-feature statistics of a version's training data (what drift compares with)."""

    auth_resource = "mlws:models"

    @web.authenticated
    @authorized
    async def get(self, ref):
        ws = await self.ws()
        self.reply(await self.call(ws.models.training_data, ref))


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


#: (route template under mlws/api, handler)
ROUTES = [
    ("/models", ModelsHandler),
    ("/models/{ref}", ModelHandler),
    ("/models/{ref}/training-data", ModelTrainingDataHandler),
    ("/models/{name}/aliases/{alias}", ModelAliasHandler),
]
