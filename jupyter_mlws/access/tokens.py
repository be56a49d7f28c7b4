"""Users' API tokens: how a teammate signs in to a workspace server without JupyterHub.

A team server (``mlws server --enforce-roles``) has one shared Jupyter token, which signs in as
the server's OS user (the workspace's owner: the admin's key).  Each teammate gets a token of
their own instead: ``mlws access token create alice`` prints ``mlws_user_...`` once; a request
with ``Authorization: token mlws_user_...`` is then ``alice``, with alice's workspace role
(checked on every request, so a revoked role takes effect at once), on the workspace's API
only (``{base_url}mlws/api/``: none of Jupyter's own APIs).

- **Who manages them.** An owner creates, lists and revokes anyone's tokens; a contributor
  creates and revokes their own (a new token before the old one expires); a reader changes
  nothing, tokens included: an owner makes and revokes theirs.  Anyone with a role lists their
  own.  A token is made only for a user who has a role (grant it first).
- **Lifetime.** ``expires`` from 1 hour to 366 days (default 90 days); a token is refused
  once it has expired or was revoked, with a reason naming its id and user, never the token.
- **Storage.** Only the token's sha256 is kept (:mod:`jupyter_mlws.bearer`), with an ``id``
  (12 hex digits) that listings show and ``revoke`` takes, its note, who made it and when, when
  it expires, was last used (to the minute) and revoked.  The token is never logged, listed or
  part of a message.
"""

from __future__ import annotations

import secrets as _random
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select

from .. import bearer
from ..errors import InvalidInput, NotFound, PermissionDenied
from ..limits import check_text
from ..runs import now_ms
from ..store import schema as S

if TYPE_CHECKING:  # pragma: no cover
    from . import AccessService

#: what every user token starts with (so a server tells it from a run's, a VM's or Jupyter's)
PREFIX = "mlws_user_"
#: a token's lifetime unless its maker says otherwise, and the shortest and longest: seconds
DEFAULT_EXPIRES = "90d"
MIN_S, MAX_S = 3600, 366 * 86400
#: the longest note
NOTE_MAX = 200
#: how stale "last used" may get before a request writes it again (ms): a token used a
#: thousand times a minute costs one write a minute
_USED_EVERY_MS = 60_000
_UNKNOWN = ("this user token is not known to the workspace: ask an owner for a new one "
            "('mlws access token create USER')")


def is_user_token(value: object) -> bool:
    """Whether ``value`` has the shape of a user token (says nothing of its validity)."""
    return bearer.has_shape(value, PREFIX)


def expires_seconds(value: object) -> int:
    """Seconds of an ``expires`` (``"90d"``, ``"12h"``, ``"30m"``, or a number of seconds), from
    1 hour to 366 days; InvalidInput otherwise."""
    from ..vms.spec import parse_duration

    return parse_duration(DEFAULT_EXPIRES if value is None else value, "expires", MIN_S, MAX_S)


class UserTokens:
    """Create, list, revoke and verify users' API tokens (table ``user_tokens``).

    Parameters
    ----------
    db : Database
        The metadata store.
    access : AccessService
        The roles: who may manage whose tokens, and who may have one.
    """

    def __init__(self, db, access: AccessService):
        self.db = db
        self.access = access

    def create(self, user: str, *, expires: object = None, note: str = "",
               actor: str | None = None, check_actor: bool = True) -> dict:
        """A new token for ``user``: ``{"id", "user", "note", "created_by", "created_at",
        "expires_at", "token"}`` (times in ms).  The token is in this answer only: the store
        keeps its sha256.

        ``actor`` (default: this OS user) must be an owner, or ``user`` themselves with a
        contributor's role, unless ``check_actor`` is false (the caller decided).  Raises PermissionDenied, InvalidInput
        (a bad user name, ``expires`` or ``note``; a user without a role).
        """
        from . import check_user, os_user

        user, actor = check_user(user), os_user() if actor is None else actor
        seconds = expires_seconds(expires)
        note = _check_note(note)
        if check_actor:
            self._require_manager(actor, user)
        if self.access.role_of(user) is None:
            raise InvalidInput(f"user {user!r} has no role in this workspace: grant one first "
                               f"('mlws access grant {user} contributor'), then create the token")
        token, now = bearer.new(PREFIX), now_ms()
        row = dict(id=_random.token_hex(6), user_name=user, note=note,
                   token_hash=bearer.digest(token), created_by=actor, created_at=now,
                   expires_at=now + seconds * 1000)
        self.db.transact(lambda conn: conn.execute(S.user_tokens.insert().values(**row)))
        return {**_shown(row), "token": token}

    def list(self, user: str | None = None, *, actor: str | None = None,
             check_actor: bool = True) -> list[dict]:
        """The tokens of ``user`` (None: everyone's), newest first, each ``{"id", "user",
        "note", "created_by", "created_at", "expires_at", "last_used_at", "revoked_at",
        "revoked_by", "state"}`` (state: active, expired, revoked, or "no role": its user has no
        role now, so it is refused until one is granted again); never a token.

        An owner lists anyone's; another user (``actor``) only their own (``user`` None: theirs).
        """
        from . import check_user, os_user

        actor = os_user() if actor is None else actor
        if check_actor and not self._is_owner(actor):
            if user is not None and user != actor:
                raise PermissionDenied(f"only an owner lists other users' tokens: {actor!r} lists "
                                       "their own ('mlws access token list')")
            user = actor
        t = S.user_tokens
        query = select(t).order_by(t.c.created_at.desc(), t.c.pk.desc())
        if user is not None:
            query = query.where(t.c.user_name == check_user(user))
        with self.db.read() as conn:
            rows = conn.execute(query).mappings().all()
        roled = {a["user"] for a in self.access.assignments()} if rows else set()
        return [_shown(row, row["user_name"] in roled) for row in rows]

    def revoke(self, token_id: str, *, actor: str | None = None, check_actor: bool = True) -> dict:
        """Revoke token ``token_id`` now (its listing's entry is returned); revoking a revoked one
        changes nothing.  An owner revokes anyone's, a contributor their own.  NotFound for an
        unknown id (or another user's, to a non-owner)."""
        from . import os_user

        actor = os_user() if actor is None else actor
        if not isinstance(token_id, str) or not token_id.strip():
            raise InvalidInput("give the token's id, as 'mlws access token list' shows it")
        token_id = token_id.strip()
        t = S.user_tokens
        owner = not check_actor or self._is_owner(actor)
        if not owner:
            self.access.require(actor, "write", "access")

        def write(conn) -> dict:
            row = conn.execute(select(t).where(t.c.id == token_id)).mappings().first()
            if row is None or not (owner or row["user_name"] == actor):
                raise NotFound(f"no user token {token_id[:40]!r}: 'mlws access token list' shows "
                               "the ids")
            if row["revoked_at"] is None:
                conn.execute(t.update().where(t.c.pk == row["pk"])
                             .values(revoked_at=now_ms(), revoked_by=actor))
            return dict(conn.execute(select(t).where(t.c.pk == row["pk"])).mappings().one())

        return _shown(self.db.transact(write))

    def verify(self, token: str) -> str:
        """The user ``token`` signs in as.  PermissionDenied, naming the token's id and user but
        never the token, when it is unknown, revoked or expired.  Notes when it was used (at most
        once a minute)."""
        if not is_user_token(token):
            raise PermissionDenied(_UNKNOWN)
        digest = bearer.digest(token)
        t = S.user_tokens
        with self.db.read() as conn:
            row = conn.execute(select(t.c.pk, t.c.id, t.c.user_name, t.c.token_hash, t.c.expires_at,
                                      t.c.revoked_at, t.c.last_used_at)
                               .where(t.c.token_hash == digest)).first()
        if row is None or not bearer.same(row.token_hash, digest):
            raise PermissionDenied(_UNKNOWN)
        now = now_ms()
        if row.revoked_at is not None:
            raise PermissionDenied(f"user token {row.id} of {row.user_name!r} was revoked: ask an "
                                   "owner for a new one ('mlws access token create USER')")
        if row.expires_at <= now:
            raise PermissionDenied(f"user token {row.id} of {row.user_name!r} has expired: create "
                                   "a new one ('mlws access token create USER')")
        if row.last_used_at is None or row.last_used_at < now - _USED_EVERY_MS:
            self.db.transact(lambda conn: conn.execute(
                t.update().where(and_(t.c.pk == row.pk, or_(
                    t.c.last_used_at.is_(None), t.c.last_used_at < now - _USED_EVERY_MS)))
                .values(last_used_at=now)))
        return row.user_name

    def _is_owner(self, actor: str) -> bool:
        from . import OWNER

        return self.access.role_of(actor) == OWNER

    def _require_manager(self, actor: str, user: str) -> None:
        if actor != user and not self._is_owner(actor):
            raise PermissionDenied(f"only an owner creates tokens for other users, and {actor!r} "
                                   "is not one: create your own ('mlws access token create "
                                   f"{actor}') or ask an owner")
        if actor == user:
            self.access.require(actor, "write", "access")


def _check_note(note: object) -> str:
    if note is None:
        return ""
    if not isinstance(note, str) or len(note) > NOTE_MAX:
        raise InvalidInput(f"a token's note is text of at most {NOTE_MAX} characters")
    return check_text(note.strip(), "the note")


def _shown(row, has_role: bool = True) -> dict:
    """A token's row as listings show it (``has_role``: its user has a role now): never its
    hash."""
    now = now_ms()
    state = ("revoked" if row.get("revoked_at") is not None
             else "expired" if row["expires_at"] <= now else "active" if has_role else "no role")
    return {"id": row["id"], "user": row["user_name"], "note": row["note"],
            "created_by": row["created_by"], "created_at": row["created_at"],
            "expires_at": row["expires_at"], "last_used_at": row.get("last_used_at"),
            "revoked_at": row.get("revoked_at"), "revoked_by": row.get("revoked_by"),
            "state": state}
