"""``ws.secrets`` of a workspace reached over HTTP: names, versions and dates through the
server's ``/secrets`` routes (see :class:`~jupyter_mlws.secrets.service.SecretService`, whose
methods and return shapes these mirror).  A value goes up once, when it is set, in the request's
body; no route sends one back.  The server acts as the token's user: the ``actor`` a local call
names is not sent."""

from __future__ import annotations

from ..errors import PermissionDenied
from .service import RemoteService


class RemoteSecrets(RemoteService):
    """List, show, set, delete, recover, purge and audit the server's secrets."""

    name = "secrets"

    def list(self, *, deleted: bool = False) -> list[dict]:
        """Every secret's metadata (``deleted``: the deleted ones still recoverable)."""
        return self.client.call("GET", ("secrets",), query={"deleted": str(deleted).lower()})["secrets"]

    def show(self, name: str) -> dict:
        """A secret's metadata and versions (never its value)."""
        return self.client.call("GET", ("secrets", name))

    def set(self, actor, name: str, value: str, *, check_actor: bool = True) -> dict:
        """Store ``value`` as the next version of ``name``; its metadata."""
        return self.client.call("PUT", ("secrets", name), {"value": value})

    def delete(self, actor, name: str, *, check_actor: bool = True) -> dict:
        """Soft-delete ``name`` (recoverable until ``purge_at``); its metadata."""
        return self.client.call("DELETE", ("secrets", name))

    def recover(self, actor, name: str, *, check_actor: bool = True) -> dict:
        """Bring a deleted secret back; its metadata."""
        return self.client.call("POST", ("secrets", name, "recover"), {})

    def purge(self, actor, name: str, *, check_actor: bool = True) -> None:
        """Remove a deleted secret for good (owners)."""
        self.client.call("DELETE", ("secrets", name), query={"purge": "true"})

    def audit(self, name: str | None = None, *, limit: int = 100, actor=None,
              check_actor: bool = True) -> list[dict]:
        """Who read or changed ``name`` (every secret: None), newest first (owners)."""
        return self.client.call("GET", ("secrets-audit",),
                                query={"secret": name, "max_results": limit})["entries"]

    def read(self, actor, name: str, **options) -> str:
        """Not over HTTP: no route returns a value (PermissionDenied saying what to do)."""
        raise PermissionDenied(
            f"secret {name!r} cannot be read over HTTP: a run gets the secrets it was given "
            "(--secret NAME[=ENVVAR]) as environment variables where it executes")
