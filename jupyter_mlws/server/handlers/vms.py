"""Notebook VMs under ``{base_url}mlws/api/vms``: list, show, create, start, stop, restart,
delete, open, logs, postpone (an idle stop); and ``/vms-gc``, the leftovers at the providers.

Creating, starting, stopping, restarting and deleting answer 202 at once (the input checked
first: a bad provider, size, image or region is a 400 and nothing is recorded); the provider's
work goes on in a thread of the workspace's VM service, and clients watch ``GET /vms/{vm}``.
Connection details (host, port, login, host key, secrets' names) reach only the VM's owner and
workspace owners; readers see state.  No route returns a private key or a credential.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import MlwsHandler


class VMBase(MlwsHandler):
    auth_resource = "mlws:vms"

    def who(self) -> dict:
        return {"actor": self.actor, "check_actor": self.checks_actor}


class VMsHandler(VMBase):
    """GET: every VM; POST: create one (202, state creating)."""

    @web.authenticated
    @authorized
    async def get(self):
        ws = await self.ws()
        self.reply({"vms": await self.call(ws.vms.list, deleted=self.bool_arg("all"), **self.who())})

    @web.authenticated
    @authorized
    async def post(self):
        body = self.body()
        name = body.pop("name")
        ws = await self.ws()
        self.reply(await self.call(ws.vms.create, name, wait=False, **body, **self.who()),
                   status=202)


class VMHandler(VMBase):
    """GET a VM with its history; DELETE it (202, state deleting)."""

    @web.authenticated
    @authorized
    async def get(self, vm):
        ws = await self.ws()
        self.reply(await self.call(ws.vm_idle.show, vm, **self.who()))

    @web.authenticated
    @authorized
    async def delete(self, vm):
        ws = await self.ws()
        self.reply(await self.call(ws.vms.delete, vm, wait=False, **self.who()), status=202)


class VMActionHandler(VMBase):
    """POST start, stop or restart (202)."""

    @web.authenticated
    @authorized
    async def post(self, vm, action):
        self.body()  # none is taken: anything but an empty object is refused
        ws = await self.ws()
        self.reply(await self.call(getattr(ws.vms, action), vm, wait=False, **self.who()),
                   status=202)


class VMOpenHandler(VMBase):
    """POST: ``{"url", "expires_at"}`` opening the running VM's JupyterLab (its owner or a
    workspace owner; 409 while the VM is not running; 503 naming the failing tunnel step)."""

    @web.authenticated
    @authorized
    async def post(self, vm):
        self.body()  # none is taken
        ws = await self.ws()
        self.reply(await self.call(ws.vms.open, vm, **self.who()))


class VMPostponeHandler(VMBase):
    """POST ``{}`` or ``{"hours": H}``: no idle stop for an hour (or H), ``{"postponed_until":
    ms}`` (its owner or a workspace owner; 409 while the VM is not running)."""

    @web.authenticated
    @authorized
    async def post(self, vm):
        hours = self.body().get("hours", 1.0)
        ws = await self.ws()
        self.reply(await self.call(ws.vm_idle.postpone, vm, hours=hours, **self.who()))


class VMLogsHandler(VMBase):
    """GET the VM's log as ``{"log": text}`` (its owner or a workspace owner)."""

    read_action = "write"

    @web.authenticated
    @authorized
    async def get(self, vm):
        tail = self.int_arg("tail", None, 1, 1 << 30)
        ws = await self.ws()
        data = await self.call(ws.vms.logs, vm, tail=tail, **self.who())
        self.reply({"log": data.decode("utf-8", "replace")})


class VMsGcHandler(VMBase):
    """GET lists the leftovers and abandoned steps (contributors: it reads credentials); POST
    deletes them: a workspace owner all, a contributor their own (the service decides)."""

    read_action = "write"
    write_action = "write"

    @web.authenticated
    @authorized
    async def get(self):
        ws = await self.ws()
        self.reply(await self.call(ws.vms.gc, **self.who()))

    @web.authenticated
    @authorized
    async def post(self):
        self.body()
        ws = await self.ws()
        self.reply(await self.call(ws.vms.gc, delete=True, **self.who()))


#: (route template under mlws/api, handler)
ROUTES = [
    ("/vms", VMsHandler),
    ("/vms-gc", VMsGcHandler),
    ("/vms/{vm}", VMHandler),
    ("/vms/{vm}/logs", VMLogsHandler),
    ("/vms/{vm}/open", VMOpenHandler),
    ("/vms/{vm}/postpone", VMPostponeHandler),
    ("/vms/{vm}/{action:start|stop|restart}", VMActionHandler),
]
