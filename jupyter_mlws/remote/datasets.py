"""Datasets of a workspace reached over HTTP: ``ws.datasets`` and ``ws.dataset(REF)`` of a
:class:`~.workspace.RemoteWorkspace`, through the REST API.

``ws.dataset(REF)`` is the same :class:`~jupyter_mlws.datasets.version.DatasetVersion` a local
workspace gives (``files``, ``open``, ``download``, ``mount``, ``to_pandas``): its files' bytes
come from the server, streamed (``GET datasets/REF/files/PATH``), and each is checked against
its sha256 as it arrives (Conflict when they differ; a download or mount then leaves nothing).

Read for a run (the run this process logs to here, or the run a run's token belongs to), a
version comes through that run's routes (``GET runs/RUN/datasets/REF``), which record the read
on the run, as reads on a local workspace are recorded: a run executed on another machine reads
its ``dataset:`` parameters this way (:meth:`RemoteDatasets.local_path`).
"""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

from ..datasets.refs import param_ref
from ..datasets.version import DatasetVersion
from ..errors import LocalOnly, NotFound
from ..store.blobs.base import CHUNK, check_content
from .client import Client


class RemoteDatasets:
    """The workspace's datasets over HTTP (see the module).

    Parameters
    ----------
    client : Client
        The connection to the workspace server.
    mounts : path
        The local folder holding read-only copies of versions (``mount()``), one per root hash.
    current_run : callable
        ``current_run() -> run id or None``: the run reads are recorded on.
    lock_folders : bool
        Whether a mount's folders are made read-only too (its files always are); a copy inside
        a run's scratch folder leaves them writable, so that the folder can be removed.
    """

    def __init__(self, client: Client, *, mounts: Path, current_run: Callable[[], str | None],
                 lock_folders: bool = True):
        self.client = client
        self.mounts = Path(mounts)
        self._current_run = current_run
        self._lock_folders = lock_folders

    def get(self, ref: str) -> DatasetVersion:
        """The version ``NAME`` (latest), ``NAME:VERSION`` or ``NAME@ALIAS`` names (a
        ``dataset:`` prefix is allowed).  NotFound saying what exists; PermissionDenied for a
        role (or a token) that may not read it."""
        ref = param_ref(ref) or ref
        run_id = self._current_run()
        if run_id is not None:
            data = self.client.call("GET", ("runs", run_id, "datasets", ref))
            manifest = data.pop("manifest")
            base = ("runs", run_id, "datasets", data["ref"])
            return self._version(data, base, lambda: manifest)
        data = self.client.call("GET", ("datasets", ref))
        base = ("datasets", data["ref"])  # the exact version: an alias may move meanwhile
        return self._version(data, base, lambda: self.files(data["ref"]))

    def _version(self, data: dict, base: tuple[str, ...],
                 manifest: Callable[[], list[dict]]) -> DatasetVersion:
        return DatasetVersion({**data, "pk": None}, manifest=manifest,
                              objects=lambda: HttpObjects(self.client, base, manifest),
                              mounts=self.mounts, on_read=lambda version: None,
                              lock_folders=self._lock_folders)

    def local_path(self, ref: str) -> str:
        """A local read-only path holding version ``ref``: its mounted folder, or the file of a
        one-file version (what a ``dataset:REF`` parameter is given to a notebook as)."""
        return str(self.get(ref).mount())

    def list(self) -> list[dict]:
        """Every dataset with its latest version's size, files, datastore and description."""
        return self.client.call("GET", ("datasets",))["datasets"]

    def versions(self, name: str) -> list[DatasetVersion]:
        """Every version of dataset ``name``, newest first."""
        found = self.client.call("GET", ("datasets", name, "versions"))["versions"]
        return [self._version(v, ("datasets", v["ref"]), _lazy(self.files, v["ref"]))
                for v in found]

    def show(self, ref: str) -> dict:
        """A version with the runs and model versions that used it (``used_by``)."""
        return self.client.call("GET", ("datasets", param_ref(ref) or ref))

    def files(self, ref: str) -> list[dict]:
        """The manifest of a version, ``[{"path", "sha256", "size"}]`` (no read recorded)."""
        return self.client.call("GET", ("datasets", param_ref(ref) or ref, "files"))["files"]

    def set_alias(self, name: str, alias: str, version: int) -> DatasetVersion:
        """Point ``NAME@ALIAS`` at a version (contributors)."""
        self.client.call("PUT", ("datasets", name, "aliases", alias), {"version": version})
        return self.get(f"{name}@{alias}")

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove ``NAME@ALIAS``; NotFound when there is none."""
        self.client.call("DELETE", ("datasets", name, "aliases", alias))

    def delete(self, ref: str, *, all_versions: bool = False) -> list[str]:
        """Delete the version ``NAME:3`` (or with ``all_versions`` every version of ``NAME``);
        InvalidInput for ``NAME`` alone or an alias, Conflict naming the runs and models that
        used one.  Returns the refs deleted."""
        return self.client.call("DELETE", ("datasets", param_ref(ref) or ref),
                                query={"all_versions": "true"} if all_versions else None)["deleted"]

    def register(self, name: str, source: Any = None, **options) -> None:
        """Not over HTTP: the server would read ``source`` on its own disk (LocalOnly: register
        where the files are, on a machine with the workspace, or ``POST datasets`` with a folder
        of the server's)."""
        raise LocalOnly("ws.datasets.register", self.client.url)


class HttpObjects:
    """The files of one version as :class:`DatasetVersion` reads them (``open`` and ``fetch`` by
    sha256): each a streamed GET of ``BASE/files/PATH``, checked against its sha256."""

    def __init__(self, client: Client, base: tuple[str, ...], manifest: Callable[[], list[dict]]):
        self.client = client
        self.base = base
        self._manifest = manifest
        self._paths: dict[str, str] | None = None
        self._paths_lock = threading.Lock()  # a download fetches its files from 8 threads
        self.described = f"the workspace server at {client.url}"

    def _parts(self, sha256: str) -> tuple[str, ...]:
        with self._paths_lock:
            if self._paths is None:
                paths: dict[str, str] = {}
                for f in self._manifest():
                    paths.setdefault(f["sha256"], f["path"])
                self._paths = paths  # whole, never seen half-filled by another thread
        try:
            path = self._paths[sha256]
        except KeyError:
            raise NotFound(f"no file of {self.base[-1]} holds blob {sha256[:12]}") from None
        return (*self.base, "files", *path.split("/"))

    def open(self, sha256: str) -> BinaryIO:
        """A stream of the file holding ``sha256`` (requested now: NotFound at once); Conflict
        at its end when its bytes do not hash to ``sha256``."""
        chunks = self.client.stream(self._parts(sha256))
        return io.BufferedReader(_Checked(chunks, sha256, self.described), CHUNK)

    def fetch(self, sha256: str, dest) -> int:
        """Write the file holding ``sha256`` into the local file ``dest``; return its size
        (see :meth:`BlobStore.fetch <jupyter_mlws.store.blobs.base.BlobStore.fetch>`)."""
        digest, size = hashlib.sha256(), 0
        with open(dest, "wb") as out:
            for chunk in self.client.stream(self._parts(sha256)):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        check_content(sha256, digest.hexdigest(), self.described)
        return size


class _Checked(io.RawIOBase):
    """A raw stream over ``chunks`` whose end checks their sha256 (the first is asked for at
    once, so that a refusal is raised when the stream is opened)."""

    def __init__(self, chunks: Iterator[bytes], sha256: str, described: str):
        self._chunks, self._sha256, self._described = chunks, sha256, described
        self._digest = hashlib.sha256()
        self._pending = self._next()

    def _next(self) -> bytes | None:
        chunk = next(self._chunks, None)
        if chunk is None:
            check_content(self._sha256, self._digest.hexdigest(), self._described)
            return None
        self._digest.update(chunk)
        return chunk

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self._pending is not None and not self._pending:
            self._pending = self._next()
        if self._pending is None:
            return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            close = getattr(self._chunks, "close", None)
            if close is not None:
                close()  # the generator's finally hands the connection back
        super().close()


def _lazy(read: Callable[[str], list[dict]], ref: str) -> Callable[[], list[dict]]:
    return lambda: read(ref)
