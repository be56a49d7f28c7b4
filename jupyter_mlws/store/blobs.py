"""Content-addressed blobs: every file is stored once, under its sha256.

A blob is written to a temp file beside its final place, fsynced, renamed and
the directory fsynced; a blob file is therefore either absent or whole, and
never changes once written.  The same files across 1,000 run snapshots cost
one copy.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterable

from ..errors import NotFound

CHUNK = 1 << 20


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobStore:
    """Blobs in a local directory: ``<root>/<sha[:2]>/<sha[2:]>``."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._tmp = self.root / "tmp"

    def path(self, sha256: str) -> Path:
        """Where the blob with this digest lives (it may not exist)."""
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise NotFound(f"no blob {sha256!r}: a blob id is 64 hex digits")
        return self.root / sha256[:2] / sha256[2:]

    def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        return self.path(sha256).is_file()

    def put_chunks(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Store a stream of bytes; return ``(sha256, size)``."""
        self._tmp.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._tmp)
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            final = self.path(sha)
            if final.exists():
                os.unlink(tmp)
            else:
                final.parent.mkdir(exist_ok=True)
                os.replace(tmp, final)
                _fsync_dir(final.parent)
            return sha, size
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        """Store bytes; return ``(sha256, size)``."""
        sha = hashlib.sha256(data).hexdigest()
        if self.exists(sha):
            return sha, len(data)
        return self.put_chunks([data])

    def put_file(self, src: str | os.PathLike) -> tuple[str, int]:
        """Store a file's content; return ``(sha256, size)``.

        The file is hashed first, so a file already stored is never copied again.
        """
        with open(src, "rb") as f:
            digest = hashlib.file_digest(f, "sha256")
            sha, size = digest.hexdigest(), f.tell()
            if self.exists(sha):
                return sha, size
            f.seek(0)
            return self.put_chunks(iter(lambda: f.read(CHUNK), b""))

    def open(self, sha256: str) -> BinaryIO:
        """Open a stored blob for reading."""
        try:
            return open(self.path(sha256), "rb")
        except FileNotFoundError:
            raise NotFound(
                f"blob {sha256[:12]} is missing from the artifact store: restore the "
                "workspace's artifacts/ directory from a backup"
            ) from None

    def read_bytes(self, sha256: str) -> bytes:
        """The whole content of a stored blob."""
        with self.open(sha256) as f:
            return f.read()
