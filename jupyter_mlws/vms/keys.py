"""SSH key pairs the workspace makes for its VMs: a node's host key (the local provider) and the
key each VM is logged in with (its private half kept as a workspace secret, never a file in
``~/.ssh``)."""

from __future__ import annotations

from typing import NamedTuple


class KeyPair(NamedTuple):
    """An ed25519 key pair: ``private`` in OpenSSH's format (no passphrase), ``public`` as an
    ``authorized_keys`` line ``"ssh-ed25519 AAAA... comment"``."""

    private: str
    public: str


def new_key_pair(comment: str = "") -> KeyPair:
    """A new ed25519 key pair (``comment`` ends the public line: e.g. the VM it is for)."""
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.OpenSSH, ser.NoEncryption())
    public = key.public_key().public_bytes(ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH).decode()
    return KeyPair(private.decode(), f"{public} {comment}".strip())


def public_text(line: str) -> str:
    """``"TYPE BASE64"`` of a public key line (its comment dropped): what a pin records."""
    return " ".join(line.split()[:2])
