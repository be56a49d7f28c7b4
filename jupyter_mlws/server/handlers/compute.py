"""Compute targets: list, show, create, delete, test.  No route returns a private key: an ssh
target names the secret that holds it."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import MlwsHandler


class ComputeTargetsHandler(MlwsHandler):
    """GET: every target (``local`` first); POST: create one (contributors and owners)."""

    auth_resource = "mlws:compute"

    @web.authenticated
    @authorized
    async def get(self):
        ws = await self.ws()
        self.reply({"targets": await self.call(ws.compute.list)})

    @web.authenticated
    @authorized
    async def post(self):
        body = self.body()
        name, kind = body.pop("name"), body.pop("type")
        ws = await self.ws()
        self.reply(await self.call(ws.compute.create, name, kind, actor=self.actor,
                                   check_actor=self.checks_actor, **body), status=201)


class ComputeTargetHandler(MlwsHandler):
    """GET a target's settings; PATCH ``{"secrets"?: [...], "python"?, "env"?}`` (its default
    secrets' names, its interpreter, what its runs execute with) and DELETE it (contributors
    and owners)."""

    auth_resource = "mlws:compute"

    @web.authenticated
    @authorized
    async def get(self, target):
        ws = await self.ws()
        self.reply(await self.call(ws.compute.get, target))

    @web.authenticated
    @authorized
    async def patch(self, target):
        body = self.body()
        ws = await self.ws()
        self.reply(await self.call(ws.compute.update, target, secrets=body.get("secrets"),
                                   python=body.get("python"), env=body.get("env"),
                                   actor=self.actor, check_actor=self.checks_actor))

    @web.authenticated
    @authorized
    async def delete(self, target):
        ws = await self.ws()
        await self.call(ws.compute.delete, target, actor=self.actor,
                        check_actor=self.checks_actor)
        self.set_status(204)
        self.finish()


class ComputeTestHandler(MlwsHandler):
    """POST: check the target step by step (contributors and owners: it reads the key)."""

    auth_resource = "mlws:compute"

    @web.authenticated
    @authorized
    async def post(self, target):
        self.body()  # none is taken: anything but an empty object is refused
        ws = await self.ws()
        self.reply(await self.call(ws.compute.test, target, actor=self.actor,
                                   check_actor=self.checks_actor))


#: (route template under mlws/api, handler)
ROUTES = [
    ("/compute", ComputeTargetsHandler),
    ("/compute/{target}", ComputeTargetHandler),
    ("/compute/{target}/test", ComputeTestHandler),
]
