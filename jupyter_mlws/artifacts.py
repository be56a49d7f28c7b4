"""A run's files: artifacts, the source snapshot and logs, all stored as blobs.

Names are checked by :mod:`jupyter_mlws.fsutil`; content goes to the
content-addressed blob store (any :class:`~jupyter_mlws.store.blobs.BlobStore`, read and
written as streams); the run's file table maps names to digests.
Logs of a running run are appended to ``live/<run id>/`` in the workspace and
become blobs when the run ends.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from .fsutil import atomic_fetch, safe_join, validate_name
from .errors import InvalidInput, NotFound
from .limits import check_key, check_upload_size, check_value_size
from .runs import RunService
from .store.blobs import BlobStore

#: the executed notebook a notebook run writes among its live files as it runs (not a log)
LIVE_NOTEBOOK = "output.ipynb"

ARTIFACT, SNAPSHOT, LOG = "artifact", "snapshot", "log"
KINDS = (ARTIFACT, SNAPSHOT, LOG)
#: the image formats a run may log, told by their first bytes (SVG: see :func:`image_format`)
IMAGE_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF87a", "gif"),
                    (b"GIF89a", "gif"))
IMAGE_FORMATS = ("png", "jpeg", "gif", "webp", "svg")
#: bytes of an SVG file read for its <svg element (past an XML declaration, comments, a doctype)
_SVG_HEAD = 4096
#: files downloaded at once
DOWNLOAD_THREADS = 4


def image_format(data: bytes) -> str | None:
    """The format of an image's bytes (one of ``IMAGE_FORMATS``), None if they are not one.

    Read from the content, never the name: PNG, JPEG, GIF and WebP by their signatures; SVG
    as text that begins with ``<`` and opens an ``<svg`` element within its first 4 KB.
    """
    for signature, fmt in IMAGE_SIGNATURES:
        if data.startswith(signature):
            return fmt
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    head = data[:_SVG_HEAD].decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    return "svg" if head.startswith("<") and "<svg" in head else None


def check_image(data: bytes, what: str) -> str:
    """The format of ``data``; InvalidInput, naming ``what``, if it is empty or not an image."""
    fmt = image_format(data)
    if fmt is None:
        found = "an empty file" if not data else "not an image"
        raise InvalidInput(f"{what} is {found}: log a PNG, JPEG, GIF, WebP or SVG file "
                           "(or a matplotlib figure)")
    return fmt


def copy_blob(blobs: BlobStore, sha256: str, dest: str | os.PathLike) -> int:
    """Write a stored blob to the local file ``dest`` atomically (a temp file beside it, fsynced,
    renamed), its content checked against its sha256; return its size.  NotFound, Conflict (a
    damaged blob) or Unavailable leave ``dest`` as it was."""
    return atomic_fetch(dest, lambda tmp: blobs.fetch(sha256, tmp))


def copy_blobs(blobs: BlobStore, targets: list[tuple[str, Path]]) -> None:
    """:func:`copy_blob` each ``(sha256, dest)``, :data:`DOWNLOAD_THREADS` at a time (an object
    store answers each request with some latency); the first error is raised once all stop."""
    if len(targets) < 2:
        for sha, dest in targets:
            copy_blob(blobs, sha, dest)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(DOWNLOAD_THREADS, len(targets)),
                            thread_name_prefix="mlws-download") as pool:
        for _ in pool.map(lambda t: copy_blob(blobs, *t), targets):
            pass


def _safe_name(name: str) -> bool:
    try:
        return validate_name(name) == name
    except InvalidInput:
        return False


class ArtifactService:
    """Store and fetch a run's files.

    Parameters
    ----------
    runs : RunService
        Where the file table lives.
    blobs : BlobStore
        Where the bytes live.
    live_root : Path
        Directory for logs of running runs.
    max_file_bytes : int, optional
        The largest file a run stores (InvalidInput past it); None: no limit.
    """

    def __init__(self, runs: RunService, blobs: BlobStore, live_root: Path,
                 max_file_bytes: int | None = None):
        self.runs = runs
        self.blobs = blobs
        self.live_root = live_root
        self.max_file_bytes = max_file_bytes

    def upload_file(self, run_id: str, name: str, path: str | os.PathLike, kind: str = ARTIFACT,
                    shown: str | None = None) -> str:
        """Store one file as ``name``; return the normalised name.

        ``shown``: how messages name the file (default: its path).  Raises InvalidInput for a
        bad name, a missing file or one over ``max_file_bytes`` (nothing stored).
        """
        name = validate_name(name)
        if kind not in KINDS:
            raise InvalidInput(f"unknown file kind {kind!r}: use one of {', '.join(KINDS)}")
        if not os.path.isfile(path):
            raise InvalidInput(f"cannot upload {shown or str(path)!r}: it is not a file")
        self.check_size(shown or str(path), os.path.getsize(path))
        sha, size = self.blobs.put_file(path)
        self.runs.add_files(run_id, kind, [(name, sha, size)])
        return name

    def check_size(self, name: str, size: int) -> None:
        """InvalidInput when a file of ``size`` bytes is over the workspace's limit."""
        if self.max_file_bytes is not None:
            check_upload_size(name, size, self.max_file_bytes)

    def add_image(self, run_id: str, key: str, step: int, ts: int, data: bytes) -> str:
        """Record ``data`` as the image logged as ``key`` at ``step`` (``ts`` in ms); return its
        format.  InvalidInput, and nothing recorded, for a bad key, bytes that are not a PNG,
        JPEG, GIF, WebP or SVG image (told by the content), or over 16 MB."""
        check_key(key, "image")
        check_value_size(key, "image", len(data))
        fmt = check_image(data, f"image {key!r}")
        sha, size = self.blobs.put_bytes(data)
        self.runs.add_value(run_id, key, "image", step, ts,
                            data=json.dumps({"size": size, "format": fmt}), blob=sha)
        return fmt

    def upload_folder(self, run_id: str, name: str, path: str | os.PathLike,
                      since_ms: int | None = None) -> list[str]:
        """Store every regular file below ``path`` under the prefix ``name``.

        With ``since_ms``, only files modified since then: a run's ``outputs/``
        never picks up what an earlier run left in the same folder.
        """
        files = folder_files(name, path, since_ms)
        for rel, file in files:
            self.check_size(str(file), file.stat().st_size)
        entries = [(rel, *self.blobs.put_file(file)) for rel, file in files]
        self.runs.add_files(run_id, ARTIFACT, entries)
        return [e[0] for e in entries]

    def store_snapshot(self, run_id: str, files) -> int:
        """Store snapshot files (from :func:`jupyter_mlws.snapshot.collect`); return the bytes.

        A file whose name could not be downloaded safely (a backslash, a control
        character) is left out.  InvalidInput names a file that cannot be read (anymore).
        """
        from .snapshot import READ_ERRORS, unreadable

        entries = []
        for f in files:
            if _safe_name(f.path):
                try:
                    entries.append((f.path, *self.blobs.put_file(f.abspath)))
                except READ_ERRORS as exc:
                    raise unreadable(f.path, exc.strerror or type(exc).__name__) from None
        self.runs.add_files(run_id, SNAPSHOT, entries)
        return sum(e[2] for e in entries)

    # -- logs ----------------------------------------------------------------

    def live_file(self, run_id: str, name: str) -> Path:
        """A file of a running run (a log being appended to); logs become blobs at the end."""
        path = safe_join(self.live_root / run_id, validate_name(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def attach_log(self, run_id: str, name: str, source: str | os.PathLike | bytes) -> None:
        """Store a log given as bytes or as a file path."""
        name = validate_name(name)
        if isinstance(source, bytes):
            self.check_size(name, len(source))
            sha, size = self.blobs.put_bytes(source)
        else:
            self.check_size(str(source), os.path.getsize(source))
            sha, size = self.blobs.put_file(source)
        self.runs.add_files(run_id, LOG, [(name, sha, size)])

    def store_live_logs(self, run_id: str) -> None:
        """Turn the live logs of an ending run into stored blobs (an empty one is not kept: an
        executor that printed nothing left no log)."""
        live = self.live_root / run_id
        if not live.is_dir():
            return
        entries = [(rel, *self.blobs.put_file(p)) for rel, p in self._live_logs(run_id).items()]
        self.runs.add_files(run_id, LOG, entries)
        shutil.rmtree(live, ignore_errors=True)

    def read_log(self, run_id: str, name: str | None = None,
                 tail: int | None = None) -> dict[str, bytes]:
        """The logs of a run by name: stored ones, else the live files of a running run (with
        ``tail``, each one's last bytes)."""
        parts = self.read_log_parts(run_id, name, tail=tail)
        return {n: data for n, (_size, _offset, data) in parts.items()}

    def read_log_parts(self, run_id: str, name: str | None = None, since: int = 0,
                       tail: int | None = None, offsets: Mapping[str, int] | None = None,
                       ) -> dict[str, tuple[int, int, bytes]]:
        """Each log as ``(size, offset, bytes from offset on)``: from byte ``since`` (or its own
        entry in ``offsets``), or only the last ``tail`` bytes; only that part is read (a live
        tail of a 10 MB log stays cheap)."""
        run_id = self.runs.id_of(run_id)  # a unique prefix names the run too
        wanted = [validate_name(name)] if name else None
        files = {f["path"]: (self.blobs.open, f["sha256"]) for f in self.runs.files(run_id, LOG)
                 if not wanted or f["path"] in wanted}
        for rel, p in self._live_logs(run_id).items():
            if rel not in files and (not wanted or rel in wanted):
                files[rel] = (lambda path: open(path, "rb"), p)
        if wanted and not files:
            raise NotFound(f"the run has no log {name!r}: 'mlws run logs RUN' lists them")
        out = {}
        for n, (opener, where) in files.items():
            with opener(where) as f:
                size = f.seek(0, os.SEEK_END)  # any seekable stream, not only a local file
                start = (offsets or {}).get(n, since)
                offset = min(max(start, size - tail if tail is not None else 0), size)
                f.seek(offset)
                out[n] = (size, offset, f.read(size - offset))
        return out

    def live_log_sizes(self, run_id: str) -> dict[str, int]:
        """The sizes of a running run's live logs (what a live tail watches)."""
        return {rel: p.stat().st_size for rel, p in self._live_logs(run_id).items()}

    def _live_logs(self, run_id: str) -> dict[str, Path]:
        """A running run's live log files by name (none once the run has stored them): not the
        executed notebook as it changes (:data:`LIVE_NOTEBOOK`, no log), nor a log still empty
        (the same logs ``run logs`` shows once the run has ended, and ``--follow`` while it
        runs)."""
        live = self.live_root / run_id
        if not live.is_dir():
            return {}
        return {rel: p for p in sorted(live.rglob("*"))
                if (rel := p.relative_to(live).as_posix()) != LIVE_NOTEBOOK and p.is_file()
                and p.stat().st_size > 0}

    # -- reading files back ----------------------------------------------------

    def open(self, run_id: str, name: str, kind: str = ARTIFACT):
        """Open one stored file of a run for reading."""
        name = validate_name(name)
        for f in self.runs.files(run_id, kind):
            if f["path"] == name:
                return self.blobs.open(f["sha256"])
        raise NotFound(f"the run has no {kind} {name!r}: 'mlws run show RUN' lists its files")

    def download(self, run_id: str, path: str | None, dest: str | os.PathLike,
                 kind: str = ARTIFACT) -> list[Path]:
        """Copy files at or below ``path`` into ``dest``, keeping their relative names."""
        files = select_files(self.runs.files(run_id, kind), path, kind)
        targets = [(f["sha256"], safe_join(dest, f["path"])) for f in files]
        copy_blobs(self.blobs, targets)
        return [target for _sha, target in targets]


def folder_files(name: str, path: str | os.PathLike, since_ms: int | None = None) -> list[tuple[str, Path]]:
    """The regular files below the folder ``path`` as ``(artifact name under the prefix
    name, file)``, by name; with ``since_ms``, only those modified since then (a run's
    ``outputs/`` never picks up what an earlier run left in the same folder).  InvalidInput
    when ``path`` is not a folder or a name is not a safe artifact name."""
    prefix = validate_name(name)
    root = Path(path)
    if not root.is_dir():
        raise InvalidInput(f"cannot upload {str(path)!r}: it is not a folder")
    out = []
    for file in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        if since_ms is not None and file.stat().st_mtime * 1000 < since_ms - 50:
            continue  # older than the run (50 ms of slack: file times lag the clock a little)
        out.append((validate_name(f"{prefix}/{file.relative_to(root).as_posix()}"), file))
    return out


def select_files(files: list[dict], path: str | None, kind: str) -> list[dict]:
    """The files (rows of a run's file list) at or below ``path`` (all when None); NotFound
    when there is none."""
    prefix = validate_name(path) if path else ""
    chosen = [f for f in files
              if not prefix or f["path"] == prefix or f["path"].startswith(prefix + "/")]
    if not chosen:
        what = f"no {kind} at {prefix!r}" if prefix else f"no {kind}s"
        raise NotFound(f"the run has {what}: 'mlws run show RUN' lists its files")
    return chosen
