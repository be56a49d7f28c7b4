"""Datastores: list, show, register, delete.  No route returns a credential: a datastore names
the secret that holds them, and its URL is shown without a query."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import MlwsHandler


def _shown(record: dict) -> dict:
    """A record as a client sees it: the built-in default's folder without the server's path."""
    if record["builtin"] and record["scheme"] == "file":
        return {**record, "url": "datastores/default (in the workspace's folder)"}
    return record


class DatastoresHandler(MlwsHandler):
    """GET: every datastore (``default`` first); POST: register one (contributors and owners)."""

    auth_resource = "mlws:datastores"

    @web.authenticated
    @authorized
    async def get(self):
        ws = await self.ws()
        rows = await self.call(lambda: ws.datastores.list())
        self.reply({"datastores": [_shown(r) for r in rows]})

    @web.authenticated
    @authorized
    async def post(self):
        body = self.body()
        name, url = body.pop("name"), body.pop("url")
        ws = await self.ws()
        record = await self.call(lambda: ws.datastores.register(
            name, url, user=self.actor, check_actor=self.checks_actor, **body))
        self.reply(_shown(record), status=201)


class DatastoreHandler(MlwsHandler):
    """GET a datastore; DELETE its record (owners)."""

    auth_resource = "mlws:datastores"
    write_action = "admin"  # DELETE, its one write

    @web.authenticated
    @authorized
    async def get(self, datastore):
        ws = await self.ws()
        self.reply(_shown(await self.call(lambda: ws.datastores.get_record(datastore))))

    @web.authenticated
    @authorized
    async def delete(self, datastore):
        ws = await self.ws()
        await self.call(lambda: ws.datastores.delete(datastore, user=self.actor,
                                                     check_actor=self.checks_actor))
        self.set_status(204)
        self.finish()


#: (route template under mlws/api, handler)
ROUTES = [
    ("/datastores", DatastoresHandler),
    ("/datastores/{datastore}", DatastoreHandler),
]
