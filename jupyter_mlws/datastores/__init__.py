"""Datastores: named places data lives (s3, gs, abfs, sftp, file through fsspec), with their
credentials in workspace secrets.  See :mod:`.service` (the records and who may do what),
:mod:`.urls` (which URLs are accepted), :mod:`.filesystems` (credentials per scheme) and
:mod:`.datastore` (one opened for use)."""

from .datastore import Datastore
from .service import DEFAULT, DatastoreService

__all__ = ["DEFAULT", "Datastore", "DatastoreService"]
