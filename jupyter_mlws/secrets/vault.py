"""Encryption of secret values at rest: AES-256-GCM under the workspace's key file.

Each version of a secret is encrypted alone, with a fresh 96-bit nonce, and with the secret's
name and version number as associated data: a ciphertext copied to another name or version
(by anyone who can write the database) fails to decrypt instead of passing for that secret.
A version records the id of the key it is encrypted under; the vault keeps the keys it has
read, and reads the key file again when it meets a key id it does not know (a rotation made
by another process).  ``cryptography`` is imported when a value is first encrypted or read.
"""

from __future__ import annotations

import os
import threading

from ..errors import Unavailable
from .keyfile import KeyFile, Keys

NONCE_BYTES = 12


def associated_data(name: str, version: int) -> bytes:
    """What binds a ciphertext to its secret and version."""
    return f"jupyter_mlws secret\0{name}\0{version}".encode()


def encrypt(key: bytes, name: str, version: int, value: str) -> bytes:
    """``nonce || ciphertext+tag`` of ``value`` for version ``version`` of secret ``name``."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, value.encode("utf-8"), associated_data(name, version))


def decrypt(key: bytes, name: str, version: int, blob: bytes) -> str | None:
    """The value of :func:`encrypt`'s ``blob``; None when the key, name or version is not the one
    it was encrypted for (or the blob was changed)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        plain = AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated_data(name, version))
    except (InvalidTag, ValueError):
        return None
    return plain.decode("utf-8")


class KeyMissing(Unavailable):
    """The key file is missing, or lacks the key the workspace's secrets are encrypted under (a
    machine that joined a team by copying ``mlws.toml`` has none): callers reading a secret
    for a purpose say what instead (:meth:`Vault.missing`)."""


class Vault:
    """The keys of a workspace, read from its :class:`KeyFile` when needed.

    Thread-safe; one per Workspace.  Raises Unavailable for a missing, damaged or open key file.
    """

    def __init__(self, keyfile: KeyFile):
        self.keyfile = keyfile
        self._keys: Keys | None = None
        self._lock = threading.Lock()

    def keys(self, *, reload: bool = False) -> Keys | None:
        """The key file's keys (read once, or again with ``reload``); None without a key file."""
        with self._lock:
            if self._keys is None or reload:
                fresh = self.keyfile.load()
                if fresh is not None and self._keys is not None:
                    # a key this process knew and the file dropped (a rotation ended) still decrypts
                    # what it read before; the primary is always the file's
                    fresh = Keys(fresh.primary, {**self._keys.keys, **fresh.keys})
                self._keys = fresh
            return self._keys

    def create(self) -> Keys:
        """The keys, creating the key file (mode 0600) when there is none."""
        keys = self.keys()
        if keys is None:
            with self._lock:
                self._keys = self.keyfile.create()
                keys = self._keys
        return keys

    def key(self, key_id: str) -> bytes | None:
        """The key ``key_id``, reading the file again once if it is not known yet."""
        keys = self.keys()
        if keys is None or key_id not in keys.keys:
            keys = self.keys(reload=True)
        return keys.keys.get(key_id) if keys is not None else None

    def forget(self, key_ids: set[str]) -> None:
        """Stop keeping keys the key file no longer holds (after this process's rotation)."""
        with self._lock:
            if self._keys is not None:
                self._keys = Keys(self._keys.primary,
                                  {k: v for k, v in self._keys.keys.items() if k not in key_ids})

    def missing(self) -> KeyMissing:
        """The error for a database whose secrets' key is not in the key file."""
        return KeyMissing(f"the workspace's secrets key file {self.keyfile.shown} is missing or "
                           "does not hold the key its secrets are encrypted under: restore the "
                           "key file from a backup (no secret can be read or set without it)")
