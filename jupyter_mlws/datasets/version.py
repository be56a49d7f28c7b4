"""One dataset version as code holds it: ``ws.dataset("train:3")``.

Its files are read from the version's datastore by content hash.  ``download(dest)`` and
``mount()`` write them locally, atomically: into a temp folder beside the destination, each
file written and then all fsynced, renamed into place as a whole, so a reader (or a process
killed mid-way) never sees half a version.  ``mount()`` keeps one read-only copy per root hash
in the workspace (``.mlws/datasets/<root hash>``, files 0444, folders 0555), reused by every
later mount of the same content.  Each read (``files``, ``open``, ``download``, ``mount``,
``to_pandas``) is recorded as lineage on the run this process logs to, if any.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable

from ..errors import Conflict, InvalidInput, NotFound
from ..fsutil import safe_join, shown_path

if TYPE_CHECKING:  # pragma: no cover
    from ..store.blobs import BlobStore

#: files written at once (an object store answers each request with some latency)
_THREADS = 8


class DatasetVersion:
    """A registered dataset version (see the module).

    Attributes: ``name``, ``version``, ``ref`` (``NAME:VERSION``), ``root_hash``, ``size``
    (bytes), ``file_count``, ``datastore``, ``description``, ``tags``, ``aliases``,
    ``created_at`` (ms), ``run_id`` (the run that made it, or None), ``tabular`` and
    ``stats`` (format, rows, columns and per-column statistics; None unless tabular).
    ``lock_folders``: whether a mount's folders are read-only too (its files always are).
    """

    def __init__(self, row: dict, *, manifest: Callable[[], list[dict]],
                 objects: Callable[[], "BlobStore"], mounts: Path,
                 on_read: Callable[["DatasetVersion"], None], lock_folders: bool = True):
        self.pk = row["pk"]
        self.name, self.version = row["name"], row["version"]
        self.root_hash, self.size, self.file_count = row["root_hash"], row["size"], row["files"]
        self.datastore, self.description = row["datastore"], row["description"]
        self.tags, self.aliases, self.stats = row["tags"], row["aliases"], row["stats"]
        self.created_at, self.created_by = row["created_at"], row["created_by"]
        self.run_id, self.source = row.get("run_id"), row["source"]
        self._manifest, self._files = manifest, None
        self._open_objects, self._store = objects, None
        self._mounts, self._on_read = mounts, on_read
        self._lock_folders = lock_folders

    @property
    def _objects(self) -> "BlobStore":
        """The datastore's objects, opened on first read (a datastore's credentials are read
        only when its files are)."""
        if self._store is None:
            self._store = self._open_objects()
        return self._store

    @property
    def ref(self) -> str:
        """``NAME:VERSION``."""
        return f"{self.name}:{self.version}"

    @property
    def tabular(self) -> bool:
        return self.stats is not None

    def __repr__(self) -> str:
        return f"<DatasetVersion {self.ref} {self.file_count} files, {self.size} bytes>"

    def to_dict(self) -> dict[str, Any]:
        """What ``mlws dataset show --json`` prints (no local paths)."""
        return {"name": self.name, "version": self.version, "ref": self.ref,
                "root_hash": self.root_hash, "size": self.size, "files": self.file_count,
                "datastore": self.datastore, "description": self.description, "tags": self.tags,
                "aliases": self.aliases, "created_at": self.created_at,
                "created_by": self.created_by, "run_id": self.run_id, "source": self.source,
                "tabular": self.tabular, "stats": self.stats}

    # -- reading ------------------------------------------------------------------------------

    def files(self) -> list[dict]:
        """The manifest: ``[{"path", "sha256", "size"}]`` by path."""
        self._on_read(self)
        if self._files is None:
            self._files = self._manifest()
        return list(self._files)

    def open(self, path: str) -> BinaryIO:
        """A binary stream of file ``path`` of the version; NotFound when it has none."""
        for f in self.files():
            if f["path"] == path:
                return self._objects.open(f["sha256"])
        raise NotFound(f"{self.ref} has no file {path!r}: .files() lists them")

    def download(self, dest: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the version's files into folder ``dest``; return it.

        A ``dest`` that is missing or empty receives the whole version at once (written beside
        it, then renamed).  A folder already holding files is refused (InvalidInput naming up
        to five of them) unless each is one of the version's files with its content (an earlier
        download of it: the missing ones are added), or ``overwrite`` is given: then each of
        the version's files is written atomically (readers see the old file or the new one)
        and the folder's other files are left as they are.  Raises InvalidInput when ``dest``
        is a file."""
        dest = Path(dest).expanduser().absolute()
        files = self.files()
        if dest.is_file():
            raise InvalidInput(f"{shown_path(dest)!r} is a file: give a folder to download into")
        if dest.is_dir() and any(dest.iterdir()):
            from ..artifacts import copy_blob

            if not overwrite:
                _check_only_ours(dest, files, self.ref)
            for f in files:
                target = safe_join(dest, f["path"])
                if overwrite or not target.is_file():
                    copy_blob(self._objects, f["sha256"], target)
            return dest
        self._materialize(files, dest, read_only=False)
        return dest

    def mount(self) -> Path:
        """A local read-only path holding the version: its folder, or, for a version of one
        file, that file.  Written once per content (root hash), then reused."""
        files = self.files()
        folder = self._mounts / self.root_hash
        if not folder.is_dir():
            self._materialize(files, folder, read_only=True)
        return folder / files[0]["path"] if len(files) == 1 else folder

    def to_pandas(self):
        """The rows of a tabular version (CSV and Parquet files, in path order) as one pandas
        DataFrame.  InvalidInput for a version that is not tabular, or without pandas."""
        from .tabular import read_frame

        if not self.tabular:
            raise InvalidInput(f"{self.ref} is not tabular: register it with --tabular (CSV or "
                               "Parquet files), or read its files with .mount()")
        root = self.mount()
        folder = root.parent if root.is_file() else root
        return read_frame([(f["path"], folder / f["path"]) for f in self.files()])

    # -- writing locally ----------------------------------------------------------------------

    def _materialize(self, files: list[dict], dest: Path, *, read_only: bool) -> None:
        """Write ``files`` into a temp folder beside ``dest``, fsync them, rename it to
        ``dest`` (an empty ``dest`` is replaced; a concurrent writer's result is kept)."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name[:40]}.", suffix=".tmp"))
        try:
            targets = [(f["sha256"], safe_join(tmp, f["path"])) for f in files]
            objects = self._objects  # opened once, before the threads
            with ThreadPoolExecutor(_THREADS, thread_name_prefix="mlws-dataset") as pool:
                for _ in pool.map(lambda t: _write(objects, *t), targets):
                    pass
            for _sha, path in targets:  # after all writes: most of these have nothing left to do
                _fsync(path)
            if read_only:
                _read_only(tmp, self._lock_folders)
            try:
                os.rename(tmp, dest)
            except OSError:
                if read_only and dest.is_dir():
                    return  # mounted meanwhile by another process: the same content
                raise Conflict(f"{shown_path(dest)!r} was filled while the dataset was written: "
                               "download into an empty folder") from None
            _fsync(dest.parent)
        finally:
            if tmp.exists():
                _remove(tmp)


def _check_only_ours(dest: Path, files: list[dict], ref: str) -> None:
    """InvalidInput unless every file under ``dest`` is one of ``files`` with its content."""
    from .hashing import file_sha256

    ours = {f["path"]: f for f in files}
    foreign = []
    for path in sorted(p for p in dest.rglob("*") if not p.is_dir()):
        rel = path.relative_to(dest).as_posix()
        mine = ours.get(rel)
        if (mine is None or not path.is_file() or path.stat().st_size != mine["size"]
                or file_sha256(path)[0] != mine["sha256"]):
            foreign.append(rel)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise InvalidInput(
            f"{shown_path(dest)!r} holds files that are not {ref}'s ({shown}): download into an "
            "empty or new folder, or give --overwrite (overwrite=True) to write the version's "
            "files over them (other files are left as they are)")


def _write(objects: "BlobStore", sha256: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    objects.fetch(sha256, path)  # its sha256 checked


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_only(root: Path, folders: bool = True) -> None:
    """Files 0444 and, with ``folders``, folders 0555 under ``root`` (deepest first, ``root``
    last)."""
    for folder, dirs, files in os.walk(root, topdown=False):
        for name in files:
            os.chmod(os.path.join(folder, name), 0o444)
        for name in dirs if folders else ():
            os.chmod(os.path.join(folder, name), 0o555)
    if folders:
        os.chmod(root, 0o555)


def _remove(root: Path) -> None:
    """Remove a folder, read-only parts included."""
    def writable(func, path, _exc):
        os.chmod(os.path.dirname(path), stat.S_IRWXU)
        os.chmod(path, stat.S_IRWXU)
        func(path)

    shutil.rmtree(root, onerror=writable)
