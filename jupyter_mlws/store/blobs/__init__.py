"""Artifact bytes: the :class:`BlobStore` interface and its implementations.

The rest of the package depends on :class:`BlobStore` only; the Workspace chooses the
implementation (today always :class:`LocalBlobStore`, a directory).
"""

from .base import BlobStore, check_sha256
from .local import LocalBlobStore

__all__ = ["BlobStore", "LocalBlobStore", "check_sha256"]
