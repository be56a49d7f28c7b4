"""Secrets: names, versions and dates; set, delete, recover and purge.  No route returns a value:
values are read by code running as a workspace user (the SDK, a run given the secret)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ... import errors as E
from ...secrets.service import AUDIT_MAX
from .base import MlwsHandler


class SecretsHandler(MlwsHandler):
    """GET: every secret's metadata (``?deleted=true``: the deleted ones still recoverable)."""

    auth_resource = "mlws:secrets"

    @web.authenticated
    @authorized
    async def get(self):
        deleted = self.bool_arg("deleted", False)
        ws = await self.ws()
        self.reply({"secrets": await self.call(ws.secrets.list, deleted=deleted)})


class SecretHandler(MlwsHandler):
    """GET metadata and versions; PUT ``{"value": "..."}`` sets the next version (contributors
    and owners); DELETE soft-deletes it, ``?purge=true`` purges a deleted one (owners)."""

    auth_resource = "mlws:secrets"

    @property
    def write_action(self) -> str:
        """Purging needs an owner; every other change a contributor."""
        if self.request.method == "DELETE":
            try:
                return "admin" if self.bool_arg("purge", False) else "write"
            except E.InvalidInput:
                return "write"  # the handler refuses the value itself
        return "write"

    @web.authenticated
    @authorized
    async def get(self, secret):
        ws = await self.ws()
        self.reply(await self.call(ws.secrets.show, secret))

    @web.authenticated
    @authorized
    async def put(self, secret):
        value = self.body().get("value")
        ws = await self.ws()
        self.reply(await self.call(ws.secrets.set, self.actor, secret, value,
                                   check_actor=self.checks_actor))

    @web.authenticated
    @authorized
    async def delete(self, secret):
        purge = self.bool_arg("purge", False)
        ws = await self.ws()
        if purge:
            await self.call(ws.secrets.purge, self.actor, secret, check_actor=self.checks_actor)
            self.set_status(204)
            return self.finish()
        self.reply(await self.call(ws.secrets.delete, self.actor, secret,
                                   check_actor=self.checks_actor))


class SecretRecoverHandler(MlwsHandler):
    """POST: bring a deleted secret back (contributors and owners)."""

    auth_resource = "mlws:secrets"

    @web.authenticated
    @authorized
    async def post(self, secret):
        self.body()  # none is taken: anything but an empty object is refused
        ws = await self.ws()
        self.reply(await self.call(ws.secrets.recover, self.actor, secret,
                                   check_actor=self.checks_actor))


class SecretsAuditHandler(MlwsHandler):
    """GET: the audit log, newest first: who read or changed which secret, when, in which run
    (``?secret=NAME``: one secret's; ``?max_results=N``, 100 by default).  Owners only; never
    a value."""

    auth_resource = "mlws:secrets"
    read_action = "admin"

    @web.authenticated
    @authorized
    async def get(self):
        name = self.get_query_argument("secret", None)
        limit = self.int_arg("max_results", 100, 1, AUDIT_MAX)
        ws = await self.ws()
        self.reply({"entries": await self.call(ws.secrets.audit, name or None, limit=limit,
                                               actor=self.actor,
                                               check_actor=self.checks_actor)})


#: (route template under mlws/api, handler)
ROUTES = [
    ("/secrets", SecretsHandler),
    ("/secrets/{secret}", SecretHandler),
    ("/secrets/{secret}/recover", SecretRecoverHandler),
    ("/secrets-audit", SecretsAuditHandler),
]
