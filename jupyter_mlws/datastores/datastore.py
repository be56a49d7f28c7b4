"""One datastore opened for use: its filesystem, its root, its content-addressed objects."""

from __future__ import annotations

from functools import cached_property
from typing import Callable

from ..fsutil import validate_name
from ..store.blobs.fsspec import FsspecBlobStore
from .urls import Location

#: where a datastore keeps content-addressed objects (datasets' files), under its root
OBJECTS = ".mlws/objects"


class Datastore:
    """A datastore ready for use (what :meth:`DatastoreService.get
    <jupyter_mlws.datastores.service.DatastoreService.get>` returns).

    Attributes
    ----------
    name : str
    url : str
        The URL as shown: no credentials, no query.
    root : str
        The datastore's folder inside :attr:`fs` (``bucket/prefix``, ``/abs/path``).
    fs : fsspec.AbstractFileSystem
        The filesystem, with the credentials of the datastore's secret; connected on first use
        (an sftp connection, an object store's client).
    objects : BlobStore
        Content-addressed objects (sha256, written once) under ``<root>/.mlws/objects``.
    """

    def __init__(self, name: str, location: Location, connect: Callable[[], object]):
        self.name = name
        self.location = location
        self.url = location.shown
        self.root = location.root
        self._connect = connect

    def __repr__(self) -> str:
        return f"<Datastore {self.name!r} {self.url}>"

    @cached_property
    def fs(self):
        """The fsspec filesystem (built, and for sftp connected, on first use)."""
        return self._connect()

    @cached_property
    def objects(self) -> FsspecBlobStore:
        """The datastore's content-addressed objects (a :class:`~jupyter_mlws.store.blobs.BlobStore`);
        on a filesystem (sftp, file), temps of writers that died are swept first."""
        objects = FsspecBlobStore(self.fs, self.join(OBJECTS), shown=f"{self.url}/{OBJECTS}")
        objects.remove_stale_temps()
        return objects

    def join(self, rel: str) -> str:
        """The path in :attr:`fs` of ``rel`` under the datastore's root.

        ``rel`` is checked as an artifact name is (:func:`~jupyter_mlws.fsutil.validate_name`):
        InvalidInput for ``..``, an absolute path, backslashes, control characters, or a
        percent-encoded form of any of them.
        """
        return f"{self.root.rstrip('/')}/{validate_name(rel)}"

    def close(self) -> None:
        """Close the filesystem's connection, if it holds one (sftp)."""
        fs = self.__dict__.get("fs")
        if fs is not None and hasattr(fs, "connection"):
            fs.close()

    def __enter__(self) -> "Datastore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
