"""Bearer tokens the workspace issues (run tokens, VM tokens): made, stored as a hash, matched.

A token is a prefix that says what it is for (``mlws_run_``, ``mlws_vm_``) and 32 random bytes
(URL-safe base64).  It is returned once, to whom it is for; the store keeps only its sha256
(:func:`digest`), looked up by that hash and compared in constant time (:func:`same`).  A token
is never logged nor part of a message.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new(prefix: str) -> str:
    """A new token starting with ``prefix``."""
    return prefix + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """What the store keeps of ``token``: its sha256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def has_shape(value: object, prefix: str) -> bool:
    """Whether ``value`` looks like a token made with ``prefix`` (says nothing of its validity)."""
    return isinstance(value, str) and value.startswith(prefix) and 20 < len(value) < 200


def same(stored: str, wanted: str) -> bool:
    """Whether the stored hash is the wanted one, compared in constant time."""
    return hmac.compare_digest(stored, wanted)
