"""Workspace roles: who may read, change and administer a workspace.

Three roles, each including the one below it:

- ``owner``: everything, including assigning roles;
- ``contributor``: create and change runs, models, endpoints, secrets and compute targets, read
  secrets' values;
  no role changes, no purging secrets, rotating their key or reading their audit log;
- ``reader``: read only, and never endpoint keys or secrets' values.

Actions are ``read`` (reader+), ``write`` (contributor+) and ``admin`` (owner).
Assignments live in the ``role_assignments`` table.  While that table is empty
the workspace's creator (the OS user who created it, recorded by migration 5)
is its owner; the first grant writes that bootstrap owner down, so granting
someone else a role never locks the creator out.  The last owner cannot be
removed or demoted.

Any face or service checks with :meth:`AccessService.require`; for example a
service returning an endpoint's keys calls
``ws.access.require(user, "write", "endpoints")`` first, so a reader gets
PermissionDenied and never the key.  The Jupyter server applies the same
check to the Jupyter identity of each request (``jupyter_mlws.server``).  A teammate signs in to a team
server with an API token of their own (``ws.access.tokens``: :mod:`.tokens`).
"""

from __future__ import annotations

import getpass
import unicodedata

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ..errors import Conflict, InvalidInput, NotFound, PermissionDenied
from ..runs import now_ms
from ..store import schema as S
from ..store.db import Database

OWNER, CONTRIBUTOR, READER = "owner", "contributor", "reader"
ROLES = (OWNER, CONTRIBUTOR, READER)
_RANK = {READER: 1, CONTRIBUTOR: 2, OWNER: 3}
#: the least role each action needs
ACTIONS = {"read": READER, "write": CONTRIBUTOR, "admin": OWNER}
#: why an action on a concept needs more than it seems to (shown with a refusal)
_WHY = {("write", "runs"): "submitting runs, reading notebooks' parameters cells",
        ("write", "endpoints"): "changing endpoints, reading their keys and logs",
        ("write", "secrets"): "setting, deleting and recovering secrets, reading their values",
        ("admin", "secrets"): "purging secrets, rotating their key, reading the audit log",
        ("write", "compute"): "creating, deleting and testing compute targets",
        ("write", "vms"): "creating, starting, stopping and deleting notebook VMs",
        ("admin", "vms"): "deleting leftovers at the providers (compute gc --yes)",
        ("write", "schedules"): "creating, changing, triggering and deleting schedules",
        ("write", "datastores"): "registering datastores, using one whose credentials are a secret",
        ("admin", "datastores"): "deleting datastores, registering file:// ones",
        ("write", "access"): "creating and revoking your own API tokens (an owner makes a "
                             "reader's)"}
#: what else a refused user can do, before an owner's grant (a refusal naming the request)
_OTHERWISE = {("write", "access"): "an owner makes and revokes a reader's API tokens "
                                   "('mlws access token create USER'); "}
#: how a refusal names a concept whose name reads oddly there ("write access to access")
_CONCEPT_WORDS = {"access": "roles and API tokens"}
#: longest accepted user name
MAX_USER_CHARS = 256


def os_user() -> str:
    """The OS user running this process (the identity of the CLI and the SDK)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def check_role(role: object) -> str:
    """A known role name (case-insensitive); anything else is refused."""
    if isinstance(role, str) and role.strip().lower() in ROLES:
        return role.strip().lower()
    raise InvalidInput(f"unknown role {role!r}: use one of {', '.join(ROLES)}")


def check_user(user: object) -> str:
    """A user name: 1 to 256 characters, no control characters."""
    if (not isinstance(user, str) or not user.strip() or len(user) > MAX_USER_CHARS
            or any(unicodedata.category(ch) in ("Cc", "Cs") for ch in user)):
        raise InvalidInput(f"invalid user name {user!r}: give 1 to {MAX_USER_CHARS} printable "
                           "characters (the name users sign in with)")
    return user.strip()


def role_at_least(role: str | None, least: str) -> bool:
    """Whether ``role`` (None: no role) is ``least`` (a role name) or above it."""
    return role is not None and _RANK[role] >= _RANK[check_role(least)]


def role_allows(role: str | None, action: str) -> bool:
    """Whether ``role`` (None: no role) may perform ``action`` (read, write or admin)."""
    if action not in ACTIONS:
        raise InvalidInput(f"unknown action {action!r}: use one of {', '.join(ACTIONS)}")
    return role is not None and _RANK[role] >= _RANK[ACTIONS[action]]


class AccessService:
    """Role assignments of a workspace and the checks made against them.

    Parameters
    ----------
    db : Database
        The metadata store holding ``role_assignments``.
    """

    def __init__(self, db: Database):
        from .tokens import UserTokens

        self.db = db
        #: users' API tokens (:class:`~.tokens.UserTokens`: ``create``, ``list``, ``revoke``)
        self.tokens = UserTokens(db, self)

    # -- reading ------------------------------------------------------------------

    def creator(self) -> str:
        """The OS user who created the workspace (its owner until roles are assigned)."""
        with self.db.read() as conn:
            return _creator(conn)

    def role_of(self, user: str) -> str | None:
        """The role of ``user``, None when it has none."""
        with self.db.read() as conn:
            return _role(conn, user)

    def assignments(self) -> list[dict]:
        """Every assignment as ``{"user", "role", "granted_by", "granted_at"}``, by user.

        Before any grant this is the bootstrap owner (``granted_by`` empty).
        """
        r = S.role_assignments
        with self.db.read() as conn:
            rows = conn.execute(select(r.c.user_name, r.c.role, r.c.granted_by, r.c.granted_at)
                                .order_by(r.c.user_name)).all()
            if not rows:
                return [dict(user=_creator(conn), role=OWNER, granted_by="", granted_at=None)]
        return [dict(user=u, role=role, granted_by=g, granted_at=t) for u, role, g, t in rows]

    def allows(self, user: str, action: str) -> bool:
        """Whether ``user`` may perform ``action``."""
        return role_allows(self.role_of(user), action)

    def require(self, user: str, action: str, concept: str = "workspace",
                doing: str | None = None) -> str:
        """Return the role of ``user`` if it allows ``action`` on ``concept``; else
        PermissionDenied, naming ``doing`` (what was refused: ``POST runs/ID/cancel``) when
        given, else what that access covers, and the role an owner would grant (a user without
        a role is told so, whatever the request was)."""
        role = self.role_of(user)
        if role_allows(role, action):
            return role
        needed = ACTIONS[action]
        words = _CONCEPT_WORDS.get(concept, concept)
        if not role:  # nothing is allowed, whatever it asked: the request is beside the point
            raise PermissionDenied(
                f"user {user!r} has no role in this workspace: {action} access to {words} needs "
                f"{needed}{'' if needed == OWNER else ' or above'}; an owner gives one with "
                f"'mlws access grant {user} {needed}'")
        why = f" ({doing})" if doing else \
            f" ({_WHY[action, concept]})" if (action, concept) in _WHY else ""
        other = _OTHERWISE.get((action, concept), "")
        if needed == OWNER:  # nothing is above it, and the user cannot grant it to themselves
            raise PermissionDenied(
                f"user {user!r} has the role {role}: {action} access to {words}{why} needs "
                f"owner; {other}ask an owner to do it (or to make you one)")
        raise PermissionDenied(
            f"user {user!r} has the role {role}: {action} access to {words}{why} needs {needed} "
            f"or above; {other}an owner can raise the role with 'mlws access grant {user} "
            f"{needed}'")

    # -- changing -------------------------------------------------------------------

    def grant(self, actor: str, user: str, role: str, *, check_actor: bool = True) -> dict:
        """Give ``user`` the role ``role`` (replacing any); only an owner (``actor``) may.

        ``check_actor=False``: the caller has established that ``actor`` may administer
        (a personal Jupyter server, where every signed-in user acts as the owner).
        """
        user, role = check_user(user), check_role(role)

        def write(conn: Connection) -> None:
            if check_actor:
                self._require_owner(conn, actor)
            _materialise_bootstrap(conn)
            r = S.role_assignments
            conn.execute(r.delete().where(r.c.user_name == user))
            conn.execute(r.insert().values(user_name=user, role=role, granted_by=actor,
                                           granted_at=now_ms()))
            _keep_an_owner(conn, f"{user!r} is the last owner: grant owner to someone else first")

        self.db.transact(write)
        return dict(user=user, role=role, granted_by=actor)

    def revoke(self, actor: str, user: str, *, check_actor: bool = True) -> None:
        """Remove ``user``'s role; only an owner may, and never the last owner's."""
        user = check_user(user)

        def write(conn: Connection) -> None:
            if check_actor:
                self._require_owner(conn, actor)
            _materialise_bootstrap(conn)
            r = S.role_assignments
            if not conn.execute(r.delete().where(r.c.user_name == user)).rowcount:
                raise NotFound(f"user {user!r} has no role: 'mlws access list' shows who has one")
            _keep_an_owner(conn, f"{user!r} is the last owner: grant owner to someone else first")

        self.db.transact(write)

    def _require_owner(self, conn: Connection, actor: str) -> None:
        if _role(conn, actor) != OWNER:
            raise PermissionDenied(f"only an owner may change roles, and {actor!r} is not one: "
                                   "ask an owner ('mlws access list' shows them)")


def _creator(conn: Connection) -> str:
    return conn.execute(select(S.meta.c.value).where(S.meta.c.key == "creator")).scalar() or ""


def _role(conn: Connection, user: str) -> str | None:
    r = S.role_assignments
    role = conn.execute(select(r.c.role).where(r.c.user_name == user)).scalar()
    if role is not None:
        return role
    if not user:
        return None
    empty = conn.execute(select(r.c.user_name).limit(1)).first() is None
    return OWNER if empty and user == _creator(conn) else None


def _materialise_bootstrap(conn: Connection) -> None:
    """Write the bootstrap owner down before the first assignment replaces the bootstrap rule."""
    r = S.role_assignments
    if conn.execute(select(r.c.user_name).limit(1)).first() is None and _creator(conn):
        conn.execute(r.insert().values(user_name=_creator(conn), role=OWNER, granted_by="",
                                       granted_at=now_ms()))


def _keep_an_owner(conn: Connection, message: str) -> None:
    r = S.role_assignments
    owners = conn.execute(select(func.count()).select_from(r).where(r.c.role == OWNER)).scalar()
    if not owners:  # raising rolls the whole change back
        raise Conflict(message)
