"""Artifact bytes: the :class:`BlobStore` interface and its implementations.

The rest of the package depends on :class:`BlobStore` only; the Workspace chooses the
implementation: :class:`LocalBlobStore` (a directory, the default) or
:class:`~.fsspec.FsspecBlobStore` (object storage, SFTP: see :mod:`jupyter_mlws.artifact_store`),
imported from its module when used (it needs fsspec).
"""

from .base import BlobStore, check_sha256
from .local import LocalBlobStore

__all__ = ["BlobStore", "LocalBlobStore", "check_sha256"]
