"""``ws.compute`` of a workspace reached over HTTP: its compute targets, through the server's
``/compute`` routes (see :class:`~jupyter_mlws.compute.targets.ComputeService`, whose methods
and return shapes these mirror).  Targets are reached from the server, never from here: a test
checks the host as the server sees it, and runs submitted over HTTP are handed to the target by
the server."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Callable

from ..errors import InvalidInput
from .service import RemoteService

LOCAL = "local"


class RemoteCompute(RemoteService):
    """List, show, create, update, delete and test the server's compute targets."""

    name = "compute"

    def list(self) -> list[dict]:
        """Every target, ``local`` first (see :meth:`ComputeService.list
        <jupyter_mlws.compute.targets.ComputeService.list>`)."""
        return self.client.call("GET", ("compute",))["targets"]

    def get(self, name: str) -> dict:
        """One target's settings; NotFound when there is none."""
        return self.client.call("GET", ("compute", name))

    def create(self, name: str, type: str, *, host_key: str | None = None,
               accept_host_key: bool = False, host_key_fingerprint: str | None = None,
               confirm: Callable | None = None, secrets=None, actor=None, check_actor=None,
               **settings) -> dict:
        """Create target ``name`` (the server acts as the token's user; ``actor`` is not sent).

        An ssh host's key is fetched by the server: without ``host_key`` or
        ``accept_host_key``, ``confirm(where, key)`` (``key.type``, ``key.fingerprint``) is
        asked about the key the server was shown, and a yes sends that fingerprint back, which
        the server checks against the key the host presents again.  Raises as
        :meth:`ComputeService.create <jupyter_mlws.compute.targets.ComputeService.create>`.
        """
        body = {"name": name, "type": type, **settings,
                **({"secrets": list(secrets)} if secrets else {}),
                **({"host_key": host_key} if host_key else {}),
                **({"accept_host_key": True} if accept_host_key else {}),
                **({"host_key_fingerprint": host_key_fingerprint} if host_key_fingerprint else {})}
        try:
            return self.client.call("POST", ("compute",), body)
        except InvalidInput as exc:
            shown = (exc.details or {}).get("fingerprint")
            if confirm is None or not shown or "host_key_fingerprint" in body:
                raise
            where = exc.details.get("host", "")
            key = SimpleNamespace(type=exc.details.get("key_type", ""), fingerprint=shown)
        if not confirm(where, key):
            raise InvalidInput(f"the host key of {where} was not accepted: nothing was created")
        return self.client.call("POST", ("compute",), {**body, "host_key_fingerprint": shown})

    def update(self, name: str, *, secrets=None, python: str | None = None,
               env: str | None = None, actor=None, check_actor=None) -> dict:
        """Change target ``name``: its default ``secrets`` (replacing the list; ``[]``: none),
        ``python``, ``env``; None leaves one as it is."""
        body = {k: v for k, v in (("secrets", None if secrets is None else list(secrets)),
                                  ("python", python), ("env", env)) if v is not None}
        return self.client.call("PATCH", ("compute", name), body)

    def delete(self, name: str, *, actor=None, check_actor=None) -> None:
        """Remove target ``name`` (Conflict for ``local`` or while runs are live on it)."""
        self.client.call("DELETE", ("compute", name))

    def test(self, name: str, *, actor=None, check_actor=None) -> dict:
        """Check target ``name`` step by step, from the server: ``{target, type, ok, checks}``."""
        return self.client.call("POST", ("compute", name, "test"), {})

    def target_of(self, run_id: str) -> tuple[str, None]:
        """The target run ``run_id`` executes on: ``(name, None)`` (its handle stays on the
        server)."""
        return self.client.call("GET", ("runs", run_id))["compute"], None

    def targets_of(self, run_ids) -> dict[str, str]:
        """``{run id: the target it executes on}`` for ``run_ids``: one request per run (a page
        of runs from :meth:`search_runs` carries its runs' targets: ``page.compute``)."""
        return {run_id: self.target_of(run_id)[0] for run_id in run_ids}

    def is_local(self, name: str) -> bool:
        """Whether ``name`` is the server's own machine (``local``)."""
        return name == LOCAL
