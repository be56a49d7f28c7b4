"""``ws.access`` of a workspace reached over HTTP: roles and users' API tokens through the
server's ``/access`` and ``/tokens`` routes (see :class:`~jupyter_mlws.access.AccessService` and
:class:`~jupyter_mlws.access.tokens.UserTokens`, whose methods and return shapes these mirror).
The server acts as the token's user: the ``actor`` a local call names is not sent."""

from __future__ import annotations

from .service import RemoteService


class RemoteUserTokens(RemoteService):
    """Create, list and revoke users' API tokens on the server (an owner: anyone's; a
    contributor: their own; see :mod:`jupyter_mlws.access.tokens`)."""

    name = "access.tokens"

    def create(self, user: str, *, expires: object = None, note: str = "", actor=None,
               check_actor: bool = True) -> dict:
        """A new token for ``user``, with ``"token"`` in this answer only."""
        body = {"user": user, "note": note or "", **({"expires": expires} if expires else {})}
        return self.client.call("POST", ("tokens",), body)

    def list(self, user: str | None = None, *, actor=None, check_actor: bool = True) -> list[dict]:
        """The tokens of ``user`` (None: everyone's to an owner, else yours); never a token."""
        return self.client.call("GET", ("tokens",), query={"user": user})["tokens"]

    def revoke(self, token_id: str, *, actor=None, check_actor: bool = True) -> dict:
        """Revoke token ``token_id``; its listing's entry."""
        return self.client.call("DELETE", ("tokens", token_id))


class RemoteAccess(RemoteService):
    """Who has which role on the server, granting and revoking (owners), and ``tokens``."""

    name = "access"

    def __init__(self, client):
        super().__init__(client)
        self.tokens = RemoteUserTokens(client)

    def assignments(self) -> list[dict]:
        """Every assignment as ``{"user", "role", "granted_by", "granted_at"}``."""
        return self.client.call("GET", ("access",))["assignments"]

    def grant(self, actor, user: str, role: str, *, check_actor: bool = True) -> dict:
        """Give ``user`` the role ``role`` (owners)."""
        return self.client.call("PUT", ("access", user), {"role": role})

    def revoke(self, actor, user: str, *, check_actor: bool = True) -> None:
        """Remove ``user``'s role (owners; never the last owner's)."""
        self.client.call("DELETE", ("access", user))
