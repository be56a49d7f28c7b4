"""Blobs on any fsspec filesystem: object storage (S3, GCS, Azure Blob), SFTP, a local folder.

Every blob is stored once, under its sha256, at ``<root>/<sha[:2]>/<sha[2:]>``, and never
changes once written.  A blob appears only whole:

- on an **object store** (``s3``, ``gs``, ``abfs``, ...) a write to a key is all or nothing (an
  object, or a multipart upload, becomes visible when it completes), so a blob is uploaded once,
  straight to its final key, after its content is hashed: a stream is first spooled to a local
  temp file (``spool_dir``, named after its writer: :meth:`~FsspecBlobStore.remove_stale_temps`
  removes a killed writer's).  A writer killed mid-upload leaves no object (an unfinished
  multipart upload stays invisible; a bucket lifecycle rule, AbortIncompleteMultipartUpload,
  reclaims its parts);
- on a **filesystem** (``sftp``, ``file``) a blob is written to ``<root>/tmp/<host>_<pid>_...``
  and then renamed into place; a writer killed mid-way leaves its temp, which
  :meth:`FsspecBlobStore.remove_stale_temps` removes once its writer is gone
  (:mod:`.temps`).

Two writers of the same content write the same bytes to the same key: whichever lands last
changes nothing.  A blob already stored is never uploaded again (``put_file`` hashes first, then
asks for the key once: on S3 one HEAD, where s3fs's ``exists`` would also list it as a folder).
A file of up to :data:`IN_MEMORY_MAX` bytes is read once, hashed and sent from memory, so the
bytes sent are the bytes hashed; a larger one is hashed, then sent by the backend (multipart,
concurrent parts), and refused (the object removed) when the file changed meanwhile.

Downloads (:meth:`FsspecBlobStore.fetch`) go through the backend's own ``get_file`` (one
streamed GET on S3, concurrent ranged GETs for a large object) into a local file, whose sha256
is then checked against the blob's id.

Failures of the filesystem (a missing bucket, refused credentials, an unreachable endpoint, a
full disk) are raised as the workspace's Unavailable or InsufficientStorage, naming the store
as it was given (``shown``: a URL without credentials), never a credential.
"""

from __future__ import annotations

import errno
import hashlib
import os
import posixpath
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator

from ...errors import Conflict, InsufficientStorage, MlwsError, NotFound, Unavailable
from .base import CHUNK, BlobStore, check_content, check_sha256
from .temps import stale, temp_prefix

#: protocols whose writes become visible whole (an object, or a completed multipart upload)
ATOMIC_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az", "adl", "memory"})
#: bytes an open blob reads ahead from an object store (a stream holds at most this much)
READ_BLOCK = 8 * CHUNK
#: a file up to this size is uploaded to an object store from memory, read once (s3fs reads a
#: file under 2 x its 50 MiB part size into memory for its one PUT anyway)
IN_MEMORY_MAX = 64 * CHUNK


def protocols(fs) -> tuple[str, ...]:
    """The protocol names of an fsspec filesystem (``fs.protocol`` is a str or a tuple)."""
    return (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)


class FsspecBlobStore(BlobStore):
    """Blobs under ``root`` (a path in ``fs``, no protocol) of the fsspec filesystem ``fs``.

    Parameters
    ----------
    fs : fsspec.AbstractFileSystem
        Where the bytes go, with its credentials (never read here).
    root : str
        The folder (or bucket/prefix) of the blobs inside ``fs``.
    shown : str, optional
        How messages name the store (a URL without credentials or query); default ``root``.
    atomic : bool, optional
        Whether a write to a key becomes visible whole (default: by the protocol, see
        :data:`ATOMIC_PROTOCOLS`).
    spool_dir : path, optional
        Where a stream is spooled before an upload to an object store (default: the system's
        temp folder).
    """

    def __init__(self, fs, root: str, *, shown: str | None = None, atomic: bool | None = None,
                 spool_dir: str | os.PathLike | None = None):
        self.fs = fs
        self.root = root.rstrip("/") or "/"
        self.shown = shown or self.root
        self.atomic = any(p in ATOMIC_PROTOCOLS for p in protocols(fs)) if atomic is None else atomic
        self.spool_dir = spool_dir

    def __repr__(self) -> str:
        return f"<FsspecBlobStore {self.shown}>"

    @property
    def described(self) -> str:
        return f"the blob store {self.shown}"

    def key(self, sha256: str) -> str:
        """The path of a blob in the filesystem (it may not exist)."""
        check_sha256(sha256)
        return f"{self.root}/{sha256[:2]}/{sha256[2:]}"

    # -- reading ---------------------------------------------------------------------------

    def exists(self, sha256: str) -> bool:
        """Whether the blob is stored (one request to an object store)."""
        key = self.key(sha256)
        return self._read(self._present, key)

    def _lacks(self, sha256: str) -> bool:
        """Whether a write must send blob ``sha256`` (a failure to ask says the write failed)."""
        return not self._call(self._present, self.key(sha256))

    def _present(self, key: str) -> bool:
        """Whether ``key`` holds an object: on S3 one HEAD (s3fs's ``exists`` lists the key as a
        folder too when it is missing: a second request a blob's key never needs)."""
        call_s3 = getattr(self.fs, "call_s3", None) if self.atomic else None
        if call_s3 is None or not hasattr(self.fs, "split_path"):
            return self.fs.exists(key)
        bucket, path, _version = self.fs.split_path(key)
        try:
            call_s3("head_object", getattr(self.fs, "kwargs", {}), Bucket=bucket, Key=path)
        except FileNotFoundError:
            return False
        return True

    def size(self, sha256: str) -> int:
        """The size of a stored blob in bytes; NotFound when missing."""
        key = self.key(sha256)
        try:
            return int(self._fresh(self.fs.size, key))
        except FileNotFoundError:
            raise self._missing(sha256) from None

    def open(self, sha256: str) -> BinaryIO:
        """Open a stored blob for reading: a seekable stream that fetches ranges as it is read
        (at most :data:`READ_BLOCK` bytes held at a time); NotFound when missing."""
        key = self.key(sha256)
        try:
            return self._fresh(self.fs.open, key, "rb", block_size=READ_BLOCK)
        except FileNotFoundError:
            raise self._missing(sha256) from None

    def fetch(self, sha256: str, dest: str | os.PathLike) -> int:
        """Write blob ``sha256`` into the local file ``dest`` through the backend's ``get_file``
        (on S3 one streamed GET; concurrent ranged GETs past s3fs's part size), then check its
        sha256; return its size.  See :meth:`BlobStore.fetch <.base.BlobStore.fetch>`."""
        key = self.key(sha256)
        try:
            self._fresh(self.fs.get_file, key, os.fspath(dest))
        except FileNotFoundError:
            raise self._missing(sha256) from None
        with open(dest, "rb") as f:
            digest = hashlib.file_digest(f, "sha256")
            size = f.tell()
        check_content(sha256, digest.hexdigest(), self.described)
        return size

    def _fresh(self, operation: Callable, key: str, *args, **kwargs):
        """``operation(key, ...)``, tried again once without cached listings when the key is
        missing (another machine may have written it since this process listed its folder)."""
        try:
            return self._read(operation, key, *args, **kwargs)
        except FileNotFoundError:
            self.fs.invalidate_cache(posixpath.dirname(key))
            return self._read(operation, key, *args, **kwargs)

    def ids(self) -> Iterator[str]:
        """Every stored blob's sha256 (temps excluded), in no particular order."""
        try:
            found = self._call(self.fs.find, self.root)
        except FileNotFoundError:
            return
        for path in found:
            parts = path.rstrip("/").split("/")
            sha = "".join(parts[-2:])
            if len(parts[-2]) == 2 and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha):
                yield sha

    # -- writing ---------------------------------------------------------------------------

    def put_file(self, src: str | os.PathLike) -> tuple[str, int]:
        """Store the content of the local file ``src``; return ``(sha256, size)``.

        Hashed first: a blob already stored is not uploaded again.  Raises Unavailable or
        InsufficientStorage with nothing stored; Conflict when the file changed while it was
        uploaded (nothing stored: upload it again once it is written).
        """
        with open(src, "rb") as f:
            before = os.fstat(f.fileno())
            if self.atomic and before.st_size <= IN_MEMORY_MAX:
                data = f.read()  # read once: the bytes sent are the bytes hashed
                return self.put_bytes(data)
            digest = hashlib.file_digest(f, "sha256")
            sha, size = digest.hexdigest(), f.tell()
        if self._lacks(sha):
            self._upload(str(src), sha)
            if self.atomic and _changed(before, os.stat(src)):
                self._discard(self.key(sha))
                raise Conflict(f"{os.path.basename(src)!r} changed while it was uploaded: nothing "
                               "was stored; upload it again once it is written")
        return sha, size

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        """Store ``data``; return ``(sha256, size)`` (sent once, straight to its key, when the
        store lacks it)."""
        sha = hashlib.sha256(data).hexdigest()
        if self._lacks(sha):
            if self.atomic:
                self._call(self.fs.pipe_file, self.key(sha), data)
            else:
                self._renamed([data])
        return sha, len(data)

    def put_chunks(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Store a stream of bytes; return ``(sha256, size)``.

        Raises InsufficientStorage or Unavailable with nothing stored; an error of the source
        itself (``chunks``) passes as is.
        """
        if self.atomic:
            return self._spooled(chunks)
        return self._renamed(chunks)

    def _spooled(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        """An object store's write: spool and hash locally, then upload once to the final key."""
        digest, size = hashlib.sha256(), 0
        with tempfile.NamedTemporaryFile(dir=self.spool_dir, prefix=temp_prefix()) as spool:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                spool.write(chunk)
            spool.flush()
            sha = digest.hexdigest()
            if self._lacks(sha):
                self._upload(spool.name, sha)
        return sha, size

    def _renamed(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        """A filesystem's write: into a temp beside the blobs, renamed into place when whole."""
        tmp = f"{self.root}/tmp/{temp_prefix()}{os.urandom(8).hex()}"
        digest, size = hashlib.sha256(), 0
        try:
            self._call(self.fs.makedirs, posixpath.dirname(tmp), exist_ok=True)
            out = self._call(self.fs.open, tmp, "wb")
            try:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    self._call(out.write, chunk)
            except BaseException:
                _close_quietly(out)
                raise
            self._call(out.close)
            sha = digest.hexdigest()
            final = self.key(sha)
            if self._lacks(sha):
                self._call(self.fs.makedirs, posixpath.dirname(final), exist_ok=True)
                self._call(self.fs.mv, tmp, final)
            return sha, size
        finally:
            self._discard(tmp)

    def _upload(self, local: str, sha: str) -> None:
        """Copy the local file ``local`` to blob ``sha``'s key (whole or not at all)."""
        final = self.key(sha)
        if self.atomic:
            self._call(self.fs.put_file, local, final)
            return
        with open(local, "rb") as f:
            self._renamed(iter(lambda: f.read(CHUNK), b""))

    def _discard(self, tmp: str) -> None:
        try:
            if self.fs.exists(tmp):
                self.fs.rm_file(tmp)
        except Exception:  # noqa: BLE001 - best effort: a dead writer's temp is removed later
            pass

    # -- upkeep ----------------------------------------------------------------------------

    def remove_stale_temps(self, now: float | None = None) -> int:
        """Remove temps left by writers that died mid-way (a filesystem's; an object store
        keeps none) and spooled streams of this machine's dead writers; return how many.  A
        live writer's temp is never removed."""
        now = time.time() if now is None else now
        removed = self._remove_stale_spools(now)
        if self.atomic:
            return removed
        try:
            entries = self.fs.ls(f"{self.root}/tmp", detail=True)
        except Exception:  # noqa: BLE001 - none yet, or unreachable now: left for next time
            return 0
        for entry in entries:
            name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
            if stale(name, now - _mtime(entry, now)):
                try:
                    self.fs.rm_file(entry["name"])
                    removed += 1
                except Exception:  # noqa: BLE001 - gone meanwhile: nothing to do
                    continue
        return removed

    def _remove_stale_spools(self, now: float) -> int:
        """Remove spool files of this machine's writers that died mid-upload."""
        if self.spool_dir is None:
            return 0  # the system's temp folder: not ours to sweep
        removed = 0
        try:
            entries = list(os.scandir(self.spool_dir))
        except OSError:
            return 0
        for entry in entries:
            try:
                if entry.is_file() and stale(entry.name, now - entry.stat().st_mtime):
                    os.unlink(entry.path)
                    removed += 1
            except OSError:
                continue
        return removed

    def copy_to(self, dest: Path) -> None:
        """Copy every blob into the local folder ``dest``, laid out as a LocalBlobStore's."""
        for sha in self.ids():
            target = Path(dest) / sha[:2] / sha[2:]
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.urandom(6).hex()}.tmp")
            try:
                with self.open(sha) as src, open(tmp, "wb") as out:
                    for chunk in iter(lambda: src.read(CHUNK), b""):
                        out.write(chunk)
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)

    # -- errors ----------------------------------------------------------------------------

    def _call(self, operation: Callable, *args, **kwargs):
        """``operation(*args, **kwargs)``, a failure of the store raised as the workspace's
        error (FileNotFoundError passes: callers know what is missing)."""
        try:
            return operation(*args, **kwargs)
        except (MlwsError, FileNotFoundError):
            raise
        except Exception as exc:  # noqa: BLE001 - every backend has its own error classes
            raise self.error(exc) from None

    def _read(self, operation: Callable, *args, **kwargs):
        """As :meth:`_call`, for a read: its failure says nothing was read.  A full local disk
        (a download's destination) passes as the OSError it is."""
        try:
            return operation(*args, **kwargs)
        except (MlwsError, FileNotFoundError):
            raise
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise
            raise self.error(exc, reading=True) from None
        except Exception as exc:  # noqa: BLE001 - every backend has its own error classes
            raise self.error(exc, reading=True) from None

    def error(self, exc: BaseException, *, reading: bool = False) -> MlwsError:
        """The workspace error for a failure of this store (no credential, no local path)."""
        outcome = "nothing was read" if reading else "nothing of this write was stored"
        if not reading and isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return InsufficientStorage(f"the blob store {self.shown} is full: free space there; "
                                       f"{outcome}")
        if isinstance(exc, PermissionError):
            why = "refused access (check the credentials and the bucket's or folder's permissions)"
        else:
            why = f"failed ({type(exc).__name__}: {_first_line(exc)})"
        return Unavailable(f"the blob store {self.shown} {why}: {outcome}")

    def _missing(self, sha256: str) -> NotFound:
        return NotFound(f"blob {sha256[:12]} is missing from the blob store {self.shown}: restore "
                        "it from a backup of the store")


def _changed(before: os.stat_result, after: os.stat_result) -> bool:
    """Whether a file was written between two ``stat`` calls."""
    return ((before.st_size, before.st_mtime_ns, before.st_ino)
            != (after.st_size, after.st_mtime_ns, after.st_ino))


def _close_quietly(f) -> None:
    try:
        f.close()
    except Exception:  # noqa: BLE001 - the write failed already: that error is the one raised
        pass


def _mtime(entry: dict, default: float) -> float:
    """An ls entry's last write, seconds since the epoch (each backend names it its way)."""
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = entry.get(key)
        if isinstance(value, (int, float)):
            return float(value)
        if hasattr(value, "timestamp"):
            return value.timestamp()
    return default


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else "no detail")[:300]
