"""Access: who has which role, your own, granting or revoking roles (owners only), and users'
API tokens (an owner manages anyone's, a user their own: :mod:`jupyter_mlws.access.tokens`)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...access import check_role
from ..identity import is_anonymous
from .base import MlwsHandler


class AccessHandler(MlwsHandler):
    """Who has which role, and your own."""

    auth_resource = "mlws:access"
    write_action = "admin"

    @web.authenticated
    @authorized
    async def get(self):
        ws = await self.ws()
        # who you are as the workspace records you (a personal server's token user: its OS
        # user, not Jupyter's random "Anonymous" id and name: identity.actor_name)
        anonymous = is_anonymous(self.current_user)
        self.reply({"you": {"user": self.actor,
                            "display_name": self.actor if anonymous else
                            getattr(self.current_user, "display_name", None) or self.actor,
                            "role": await self.my_role()},
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
                                   check_actor=self.checks_actor))

    @web.authenticated
    @authorized
    async def delete(self, user):
        ws = await self.ws()
        await self.call(ws.access.revoke, self.actor, user,
                        check_actor=self.checks_actor)
        self.set_status(204)
        self.finish()


class TokensHandler(MlwsHandler):
    """GET ``?user=U`` lists users' API tokens (an owner's: anyone's; else your own), POST
    ``{"user", "expires", "note"}`` creates one (a contributor: their own; the service decides
    whose): the token is in that answer only."""

    auth_resource = "mlws:access"

    @web.authenticated
    @authorized
    async def get(self):
        ws = await self.ws()
        self.reply({"tokens": await self.call(
            ws.access.tokens.list, self.get_query_argument("user", None) or None,
            actor=self.actor, check_actor=self.checks_actor)})

    @web.authenticated
    @authorized
    async def post(self):
        body = self.body()
        ws = await self.ws()
        self.reply(await self.call(ws.access.tokens.create, body.get("user") or self.actor,
                                   expires=body.get("expires"), note=body.get("note", ""),
                                   actor=self.actor, check_actor=self.checks_actor), 201)


class TokenHandler(MlwsHandler):
    """DELETE revokes a user's API token (an owner: anyone's; a contributor: their own)."""

    auth_resource = "mlws:access"

    @web.authenticated
    @authorized
    async def delete(self, token_id):
        ws = await self.ws()
        self.reply(await self.call(ws.access.tokens.revoke, token_id, actor=self.actor,
                                   check_actor=self.checks_actor))


#: (route template under mlws/api, handler)
ROUTES = [
    ("/access", AccessHandler),
    ("/access/{user}", AccessUserHandler),
    ("/tokens", TokensHandler),
    ("/tokens/{token_id}", TokenHandler),
]
