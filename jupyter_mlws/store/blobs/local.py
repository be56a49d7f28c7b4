"""Blobs in a local directory: the embedded default :class:`~.base.BlobStore`.

Every file is stored once, under its sha256, at ``<root>/<sha[:2]>/<sha[2:]>``.  A blob
is written to a temp file beside its final place, fsynced, renamed and the directory
fsynced; a blob file is therefore either absent or whole, and never changes once written.  The same files across 1,000 run snapshots cost
one copy.  A write that fails (a full disk, a read-only folder) removes its temp
file and raises InsufficientStorage or Unavailable.

Temp files are named ``<host>_<pid>_...`` after their writer (the host is its name and
its PID namespace, so containers sharing a host name never judge each other's pids).  A writer killed
mid-way leaves its temp file; :meth:`LocalBlobStore.remove_stale_temps` (run when
a workspace opens) removes those whose writer is gone: a process of this host
that no longer runs, or, for another host's (a shared artifact store) and older
names, a file not written for :data:`~.temps.STALE_TEMP_S`.  A live writer writes its
file continuously, so it is never taken for a dead one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

from ...errors import MlwsError, NotFound
from ..failures import file_error
from .base import BlobStore, check_sha256
from .temps import stale, temp_prefix

def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobStore(BlobStore):
    """Blobs in a local directory: ``<root>/<sha[:2]>/<sha[2:]>``."""

    def __init__(self, root: str | os.PathLike, workspace_root: str | os.PathLike | None = None):
        self.root = Path(root)
        self._tmp = self.root / "tmp"
        #: the workspace folder: messages name the store relative to it
        self.workspace_root = workspace_root

    def path(self, sha256: str) -> Path:
        """Where the blob with this digest lives (it may not exist).

        Local only, not part of :class:`BlobStore`: code outside the store reads blobs with
        :meth:`open`.
        """
        check_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:]

    def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        return self.path(sha256).is_file()

    def size(self, sha256: str) -> int:
        """The size of a stored blob in bytes."""
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            raise _missing(sha256) from None

    def put_chunks(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Store a stream of bytes; return ``(sha256, size)``.

        Raises InsufficientStorage (the device is full) or Unavailable (the store cannot be
        written) with nothing stored; an error of the source itself (``chunks``) passes as is.
        """
        store = self._store
        store(self._tmp.mkdir, parents=True, exist_ok=True)
        fd, tmp = store(tempfile.mkstemp, dir=self._tmp,
                        prefix=temp_prefix())
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    store(out.write, chunk)
                store(out.flush)
                store(os.fsync, out.fileno())
            sha = digest.hexdigest()
            final = self.path(sha)
            if final.exists():
                os.unlink(tmp)
            else:
                store(final.parent.mkdir, exist_ok=True)
                store(os.replace, tmp, final)
                store(_fsync_dir, final.parent)
            return sha, size
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def _store(self, write: Callable, *args, **kwargs):
        """``write(*args, **kwargs)``, a failure of the store raised as the workspace's error."""
        try:
            return write(*args, **kwargs)
        except OSError as exc:
            raise self.error(exc) from None

    def error(self, exc: OSError) -> MlwsError:
        """The workspace error for a failed write to this store."""
        return file_error(exc, "artifact store", self.root, self.workspace_root)

    def remove_stale_temps(self, now: float | None = None) -> int:
        """Remove temp files left by writers that died mid-way (see the module); return how many.

        Safe while other processes write: a live writer's file is never removed.
        """
        now = time.time() if now is None else now
        removed = 0
        try:
            entries = list(os.scandir(self._tmp))
        except OSError:
            return 0  # none yet, or unreadable: nothing to do
        for entry in entries:
            try:
                if stale(entry.name, now - entry.stat().st_mtime):
                    os.unlink(entry.path)
                    removed += 1
            except OSError:
                continue  # gone meanwhile, or a read-only store: left for next time
        return removed

    def ids(self):
        """Every stored blob's sha256 (temps excluded), in no particular order."""
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            if len(folder.name) != 2 or not folder.is_dir():
                continue
            for entry in folder.iterdir():
                sha = folder.name + entry.name
                if len(sha) == 64 and all(c in "0123456789abcdef" for c in sha):
                    yield sha

    def open(self, sha256: str) -> BinaryIO:
        """Open a stored blob for reading."""
        try:
            return open(self.path(sha256), "rb")
        except FileNotFoundError:
            raise _missing(sha256) from None

    def copy_to(self, dest: Path) -> None:
        """Copy every blob into the folder ``dest`` (blobs never change: safe while others write)."""
        if self.root.is_dir():
            shutil.copytree(self.root, dest, ignore=shutil.ignore_patterns("tmp"))


def _missing(sha256: str) -> NotFound:
    return NotFound(f"blob {sha256[:12]} is missing from the artifact store: restore the "
                    "workspace's artifacts/ directory from a backup")
