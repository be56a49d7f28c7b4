"""The blob store interface: content-addressed bytes, each stored once under its sha256.

A blob never changes once written, and a write is all or nothing: a failed write stores
nothing and raises InsufficientStorage or Unavailable.  Everything outside ``store/`` reads
and writes blobs through this interface only, as streams: :class:`~.local.LocalBlobStore`
(a directory) is one implementation, and an object store (issue 14) is another.

Only the methods marked abstract are the store's own; the rest are written once, here, on
top of them.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from ...errors import Conflict, NotFound, Unavailable

#: bytes read at a time when a blob is streamed in or out
CHUNK = 1 << 20


def check_sha256(sha256: str) -> str:
    """A blob id (64 lowercase hex digits), else NotFound (no such blob can exist)."""
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        raise NotFound(f"no blob {sha256!r}: a blob id is 64 hex digits")
    return sha256


def check_content(sha256: str, found: str, store: str) -> None:
    """Conflict when bytes read as blob ``sha256`` hash to ``found`` (a damaged store)."""
    if found != sha256:
        raise Conflict(f"blob {sha256[:12]} in {store} does not match its sha256 (it was damaged "
                       "or changed there): restore it from a backup of the store")


class BlobStore(ABC):
    """Where artifacts' bytes live, by content: ``put_*`` returns ``(sha256, size)``."""

    #: how messages name the store (no credentials, no server path)
    described = "the artifact store"

    @abstractmethod
    def put_chunks(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Store a stream of bytes; return ``(sha256, size)``.

        Raises InsufficientStorage (the store is full) or Unavailable (it cannot be written)
        with nothing stored; an error of the source itself (``chunks``) passes as is.
        """

    @abstractmethod
    def open(self, sha256: str) -> BinaryIO:
        """Open a stored blob for reading (a seekable binary stream); NotFound when missing."""

    @abstractmethod
    def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""

    @abstractmethod
    def size(self, sha256: str) -> int:
        """The size of a stored blob in bytes; NotFound when missing."""

    def ids(self) -> Iterator[str]:
        """Every stored blob's sha256, in no particular order (what a move copies)."""
        raise Unavailable(f"{type(self).__name__} does not list its blobs")

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        """Store bytes; return ``(sha256, size)``."""
        sha = hashlib.sha256(data).hexdigest()
        if self.exists(sha):
            return sha, len(data)
        return self.put_chunks([data])

    def put_file(self, src: str | os.PathLike) -> tuple[str, int]:
        """Store the content of the local file ``src``; return ``(sha256, size)``.

        The file is hashed first, so a file already stored is never copied again.
        """
        with open(src, "rb") as f:
            digest = hashlib.file_digest(f, "sha256")
            sha, size = digest.hexdigest(), f.tell()
            if self.exists(sha):
                return sha, size
            f.seek(0)
            return self.put_chunks(iter(lambda: f.read(CHUNK), b""))

    def fetch(self, sha256: str, dest: str | os.PathLike) -> int:
        """Write blob ``sha256`` into the local file ``dest`` (created, or truncated) and check
        that its content is the one its id names; return its size.

        ``dest`` is written in place: callers that need an atomic, durable file pass a temp
        file (``jupyter_mlws.fsutil.atomic_fetch``).  Raises NotFound (no such blob), Conflict
        (the stored bytes do not match their id: a damaged store; ``dest`` then holds them),
        Unavailable (the store cannot be read); an error writing ``dest`` (a full disk) passes
        as the OSError it is.
        """
        digest, size = hashlib.sha256(), 0
        with self.open(sha256) as src, open(dest, "wb") as out:
            for chunk in iter(lambda: src.read(CHUNK), b""):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        check_content(sha256, digest.hexdigest(), self.described)
        return size

    def read_bytes(self, sha256: str) -> bytes:
        """The whole content of a stored blob."""
        with self.open(sha256) as f:
            return f.read()

    def remove_stale_temps(self, now: float | None = None) -> int:
        """Remove what writers that died mid-way left; return how many (a store that leaves
        nothing behind has nothing to remove)."""
        return 0

    def copy_to(self, dest: Path) -> None:
        """Copy every blob into the local folder ``dest``, laid out as a
        :class:`~.local.LocalBlobStore` there reads them (what ``Workspace.backup`` does)."""
        raise Unavailable(f"a backup does not copy {type(self).__name__}: back up the artifact "
                          "store with its own tools")
