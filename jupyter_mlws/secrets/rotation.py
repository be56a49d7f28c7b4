"""Key rotation: every stored version re-encrypted under a new key, with no downtime.

1. The key file gets a new key, as its primary, beside the old one (an atomic replace): from
   then on every process that reads the file can decrypt under either.
2. The ``meta`` row naming the encrypting key moves to the new one.  A writer locks that row
   in its own transaction (:meth:`SecretService._encrypting_key`), so a write under the old key
   commits before the move, and every later write uses the new key.
3. The versions still under another key are re-encrypted, a batch per transaction, each row
   only if no one changed it meanwhile.
4. When none is left, the key file is replaced by one holding the new key alone.

Readers never stop: a reader meeting a key id it does not know reads the key file again, and
one that read a row before it was re-encrypted reads it again.  A rotation that was
interrupted (a crash between 1 and 4) leaves a key file with both keys; the next rotation
finishes it instead of starting another.  Two rotations never run at once: a lock file beside
the key file (``flock``) lets one in at a time, on this machine.  A team whose machines each
hold a copy of the key file copies the new file to them afterwards.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from typing import Callable, Iterator

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from ..errors import Conflict
from ..store import schema as S
from .keyfile import Keys, new_keys
from .service import KEY_ID, record_event
from .vault import Vault, decrypt, encrypt

V, T = S.secret_versions, S.secrets


def rotate(db, vault: Vault, actor: str, *, now: Callable[[], int], batch: int = 200) -> dict:
    """Rotate the key of the workspace behind ``db`` and ``vault`` (see the module); return
    ``{"key_id": new id, "re_encrypted": versions}``.  Conflict when there is no key yet."""
    with _exclusive(vault):
        current = _meta_key(db)
        keys = vault.keys(reload=True)
        if current is None:
            raise Conflict("the workspace has no secrets key yet: it is made with the first secret "
                           "('mlws secret set NAME'); there is nothing to rotate")
        if keys is None or current not in keys.keys:
            raise vault.missing()
        if len(keys.keys) == 1:  # 1: a new primary beside the old key
            keys = new_keys(keys)
            vault.keyfile.replace(keys)
            vault.keys(reload=True)
        # else an interrupted rotation: finish it, under the primary it chose
        db.transact(lambda conn: _move_meta(conn, keys.primary))  # 2
        done = 0
        while True:  # 3
            moved = db.transact(lambda conn: _re_encrypt(conn, vault, keys.primary, batch))
            if moved is None:
                break
            done += moved
        old = set(keys.keys) - {keys.primary}
        vault.keyfile.replace(Keys(keys.primary, {keys.primary: keys.key}))  # 4
        vault.forget(old)
        db.transact(lambda conn: record_event(conn, "", "rotate-key", actor, now()))
        return {"key_id": keys.primary, "re_encrypted": done}


def _meta_key(db) -> str | None:
    with db.read() as conn:
        return conn.execute(select(S.meta.c.value).where(S.meta.c.key == KEY_ID)).scalar()


def _move_meta(conn: Connection, key_id: str) -> None:
    meta = S.meta
    if not conn.execute(update(meta).where(meta.c.key == KEY_ID).values(value=key_id)).rowcount:
        conn.execute(insert(meta).values(key=KEY_ID, value=key_id))


def _re_encrypt(conn: Connection, vault: Vault, primary: str, batch: int) -> int | None:
    """Re-encrypt up to ``batch`` versions not under ``primary``; None when there were none."""
    rows = conn.execute(select(V.c.pk, V.c.version, V.c.key_id, V.c.ciphertext, T.c.name)
                        .join(T, T.c.pk == V.c.secret_pk).where(V.c.key_id != primary)
                        .limit(batch)).all()
    if not rows:
        return None
    new_key = vault.key(primary)
    for pk, version, key_id, blob, name in rows:
        key = vault.key(key_id)
        value = decrypt(key, name, version, bytes(blob)) if key is not None else None
        if value is None:
            raise vault.missing()
        conn.execute(update(V).where(V.c.pk == pk, V.c.key_id == key_id).values(
            key_id=primary, ciphertext=encrypt(new_key, name, version, value)))
    return len(rows)


@contextmanager
def _exclusive(vault: Vault) -> Iterator[None]:
    """One rotation at a time on this machine: an ``flock`` on a file beside the key file."""
    path = vault.keyfile.path.with_name(vault.keyfile.path.name + ".lock")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict("another rotation of the secrets key is running: wait for it to end") from None
        yield
    finally:
        os.close(fd)
