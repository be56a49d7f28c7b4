"""VM tokens: how the kernels of a notebook VM's JupyterLab record into the workspace.

A kernel on a VM reaches the workspace server through its keeper's reverse tunnel
(``MLWS_WORKSPACE``) and signs in with the VM's token (``MLWS_TOKEN``): it starts session runs
(``%load_ext jupyter_mlws``) and runs of its own (``ws.experiment(...).start_run()``), so a run
token (one run and its children) is too narrow, and the owner's own credentials would be too
wide (and must never leave the user's machine).  A VM token is the smallest thing between:

- it signs in as the VM's **owner** (runs record ``created_by`` = the owner), with that owner's
  workspace role **capped at contributor** (checked on every request: a revoked owner's token
  stops working);
- on the workspace's **runs and experiments** routes only: no secret, role, model, endpoint,
  compute target, VM, and none of Jupyter's own APIs (the server's contents, kernels, terminals);
- while its VM is **running**: it is issued at each start (by the VM's keeper), revoked at stop
  and delete, and refused once the VM is in any other state; it also expires after
  :data:`TTL_S`.

:meth:`VMTokens.issue` returns the token once; only its sha256 is stored
(:mod:`jupyter_mlws.bearer`).  A token is never logged nor part of a message: messages name the
VM.
"""

from __future__ import annotations

from sqlalchemy import and_, select

from .. import bearer
from ..errors import PermissionDenied
from ..run_records import now_ms
from ..store import schema as S
from . import states as ST

#: what every VM token starts with (so a server tells it from a run's or a user's)
PREFIX = "mlws_vm_"
#: the longest a token lives, seconds (a VM started again gets a new one)
TTL_S = 30 * 86400
#: the workspace concepts a VM token reaches
CONCEPTS = ("runs", "experiments")
_UNKNOWN = ("this VM token is not known to the workspace: restart the VM ('mlws vm restart "
            "NAME') to give its JupyterLab a new one")


def is_vm_token(value: object) -> bool:
    """Whether ``value`` has the shape of a VM token (says nothing of its validity)."""
    return bearer.has_shape(value, PREFIX)


class VMTokens:
    """Issue, verify and revoke VM tokens (table ``vm_tokens``; VMs' states from ``vms``)."""

    def __init__(self, db):
        self.db = db

    def issue(self, vm: dict) -> str:
        """A new token for ``vm`` (a record: ``id``, ``owner``), valid while it runs and at most
        :data:`TTL_S`.  Returned once, never stored."""
        token = bearer.new(PREFIX)
        now = now_ms()
        t = S.vm_tokens

        def write(conn) -> None:
            conn.execute(t.delete().where(t.c.expires_at < now))  # the table stays small
            conn.execute(t.insert().values(vm_id=vm["id"], owner=vm["owner"],
                                           token_hash=bearer.digest(token), created_at=now,
                                           expires_at=now + TTL_S * 1000))

        self.db.transact(write)
        return token

    def verify(self, token: str) -> tuple[str, str]:
        """``(owner, vm name)`` of ``token``.  PermissionDenied, naming the VM but never the
        token, when it is unknown, revoked, expired, or its VM is not running."""
        if not is_vm_token(token):
            raise PermissionDenied(_UNKNOWN)
        digest = bearer.digest(token)
        t, v = S.vm_tokens, S.vms
        with self.db.read() as conn:
            row = conn.execute(
                select(t.c.token_hash, t.c.owner, t.c.expires_at, t.c.revoked_at, v.c.name,
                       v.c.state)
                .select_from(t.outerjoin(v, v.c.id == t.c.vm_id))
                .where(t.c.token_hash == digest)).first()
        if row is None or not bearer.same(row.token_hash, digest):
            raise PermissionDenied(_UNKNOWN)
        if row.revoked_at is not None or row.expires_at <= now_ms():
            raise PermissionDenied(f"the token of vm {row.name!r} was revoked or has expired (the "
                                   "VM stopped or started again): it no longer works")
        if row.state != ST.RUNNING:
            raise PermissionDenied(f"vm {row.name!r} is {row.state or 'gone'}: its token works "
                                   "while it runs only")
        return row.owner, row.name

    def revoke(self, vm_id: str) -> int:
        """Revoke every live token of VM ``vm_id``; how many there were."""
        t = S.vm_tokens
        return self.db.transact(lambda conn: conn.execute(
            t.update().where(and_(t.c.vm_id == vm_id, t.c.revoked_at.is_(None)))
            .values(revoked_at=now_ms())).rowcount)
