"""Access: who has which role, your own, and granting or revoking roles (owners only)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...access import check_role
from .base import MlwsHandler


class AccessHandler(MlwsHandler):
    """Who has which role, and your own."""

    auth_resource = "mlws:access"
    write_action = "admin"

    @web.authenticated
    @authorized
    async def get(self):
        ws = await self.ws()
        self.reply({"you": {"user": self.username,
                            "display_name": getattr(self.current_user, "display_name", None)
                            or self.username,
                            "role": await self.call(self.app.role_of, self.username)},
                    "roles_enforced": self.app.enforce_roles,
                    "assignments": await self.call(ws.access.assignments)})


class AccessUserHandler(MlwsHandler):
    """PUT ``{"role": "reader"}`` grants a role; DELETE revokes it (owners only)."""

    auth_resource = "mlws:access"
    write_action = "admin"

    @web.authenticated
    @authorized
    async def put(self, user):
        role = check_role(self.body().get("role"))
        ws = await self.ws()
        self.reply(await self.call(ws.access.grant, self.actor, user, role,
                                   check_actor=self.app.enforce_roles))

    @web.authenticated
    @authorized
    async def delete(self, user):
        ws = await self.ws()
        await self.call(ws.access.revoke, self.actor, user,
                        check_actor=self.app.enforce_roles)
        self.set_status(204)
        self.finish()


#: (route template under mlws/api, handler)
ROUTES = [
    ("/access", AccessHandler),
    ("/access/{user}", AccessUserHandler),
]
