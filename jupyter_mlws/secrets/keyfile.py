"""The workspace's key file: the AES keys its secrets are encrypted under, apart from the database.

Default place: ``.mlws/secrets.key`` in the workspace folder (``secrets_key`` in ``mlws.toml``
points elsewhere: a team whose metadata is on PostgreSQL gives each machine that reads secrets
the same file).  It is JSON::

    {"format": 1, "primary": "k3f9a1c2e", "keys": {"k3f9a1c2e": "<32 bytes, base64url>"}}

New values are encrypted under ``primary``; while a rotation runs the file holds the old key
too, so that every process can still read what is not re-encrypted yet.

The file is created with mode 0600 at open (``O_CREAT | O_EXCL``, never chmod-ed afterwards),
and every rewrite goes through a new file created the same way, then renamed over it.  A key
file that other users may read is refused, as OpenSSH refuses such a private key.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..errors import Unavailable

FORMAT = 1
KEY_BYTES = 32  # AES-256


@dataclass(frozen=True)
class Keys:
    """The keys of a key file: ``primary`` encrypts, any of ``keys`` (id -> key) decrypts."""

    primary: str
    keys: dict[str, bytes]

    @property
    def key(self) -> bytes:
        """The primary key."""
        return self.keys[self.primary]


def new_key_id() -> str:
    """A fresh key id: ``k`` and 8 hex digits."""
    return "k" + os.urandom(4).hex()


def new_keys(old: Keys | None = None) -> Keys:
    """A new primary key, keeping ``old``'s keys (a rotation's first step)."""
    kid = new_key_id()
    kept = dict(old.keys) if old else {}
    return Keys(kid, {**kept, kid: os.urandom(KEY_BYTES)})


class KeyFile:
    """The key file at ``path``; ``shown`` is how messages name it (never a server path).

    Methods raise Unavailable when the file cannot be read, is damaged or is open to others.
    """

    def __init__(self, path: str | os.PathLike, shown: str):
        self.path = Path(path)
        self.shown = shown

    def exists(self) -> bool:
        return self.path.is_file()

    def load(self) -> Keys | None:
        """The keys, None when there is no key file."""
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise Unavailable(f"the secrets key file {self.shown} cannot be read "
                              f"({exc.strerror}): check that it belongs to this user") from None
        with os.fdopen(fd, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            if stat.S_IMODE(mode) & 0o077:
                raise Unavailable(f"the secrets key file {self.shown} may be read by other users "
                                  f"(mode {stat.S_IMODE(mode):04o}): make it private (chmod 600) "
                                  "and consider rotating the key ('mlws secret rotate-key')")
            return _parse(f.read(), self.shown)

    def create(self) -> Keys:
        """Create the key file with a first key; if another process just made it, its keys."""
        keys = new_keys()
        try:
            self._write_new(self.path, keys)
        except FileExistsError:
            found = self.load()
            if found is None:
                raise Unavailable(f"the secrets key file {self.shown} vanished while it was "
                                  "created: try again") from None
            return found
        return keys

    def replace(self, keys: Keys) -> None:
        """Put ``keys`` in place of the file's, atomically: a reader sees the old or the new."""
        tmp = self.path.with_name(f".{self.path.name}.{os.urandom(6).hex()}.tmp")
        try:
            self._write_new(tmp, keys)
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(self.path.parent)

    def copy_to(self, dest: str | os.PathLike) -> bool:
        """Copy the key file to the new file ``dest`` (mode 0600 from its creation); False when
        there is no key file (no secret was ever set)."""
        keys = self.load()
        if keys is None:
            return False
        self._write_new(Path(dest), keys)
        return True

    def _write_new(self, path: Path, keys: Keys) -> None:
        """Write a new file with mode 0600 from its creation (O_EXCL: never an existing one)."""
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            os.write(fd, _dump(keys))
            os.fsync(fd)
        finally:
            os.close(fd)


def _dump(keys: Keys) -> bytes:
    return json.dumps({"format": FORMAT, "primary": keys.primary,
                       "keys": {kid: base64.urlsafe_b64encode(k).decode() for kid, k in keys.keys.items()}},
                      indent=1).encode() + b"\n"


def _parse(raw: bytes, shown: str) -> Keys:
    try:
        data = json.loads(raw)
        keys = {str(kid): base64.urlsafe_b64decode(k) for kid, k in data["keys"].items()}
        primary = str(data["primary"])
        fmt = int(data.get("format", 1))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise Unavailable(f"the secrets key file {shown} is damaged: restore it from a backup "
                          "(without it the workspace's secrets cannot be read)") from None
    if fmt > FORMAT:
        raise Unavailable(f"the secrets key file {shown} was written by a newer jupyter_mlws: "
                          "upgrade with pip install -U jupyter_mlws")
    if primary not in keys or any(len(k) != KEY_BYTES for k in keys.values()):
        raise Unavailable(f"the secrets key file {shown} is damaged (a key is missing or has the "
                          "wrong size): restore it from a backup")
    return Keys(primary, keys)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
