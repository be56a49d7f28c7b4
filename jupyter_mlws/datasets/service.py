"""Versioned datasets: register a folder, file or pipeline output as the next version of a name,
find versions, alias, delete, and read lineage (``ws.datasets``; ``ws.dataset(REF)``).

Registering (:meth:`DatasetService.register`):

1. the source's files are listed (:mod:`.scan`: names checked as artifact names are, no symlink
   followed out of the tree) and hashed (sha256 each, :mod:`.hashing`), a file unchanged since
   it was last hashed (size, mtime, inode: :mod:`.hashcache`) not read again;
2. the root hash (sha256 over the sorted ``(path, sha256, size)`` list) equal to the latest
   version's, in the same datastore, makes no new version, and says so;
3. ``--tabular``: schema and per-column statistics are computed (:mod:`.tabular`) before
   anything is stored;
4. each object the datastore lacks is uploaded, once per content: an object listed by an
   earlier version in that datastore is known to be there, any other is asked for once (a HEAD
   each, or one listing of the datastore's objects when there are many: :mod:`..store.blobs.batch`),
   and the missing ones are sent many at once; a renamed file uploads nothing, one changed file
   uploads one object;
5. only then is the version row written, with its manifest, in one transaction: a register
   killed before leaves objects (reused by the next attempt) but no version.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Mapping

from .. import runs as R
from ..errors import Conflict, InvalidInput, NotFound
from ..limits import check_text
from ..models import check_name, check_version
from .hashcache import Entry, HashCache, now_ns, trusted
from .hashing import hash_files, root_hash
from .records import DatasetRecords
from .refs import dataset_params, param_ref, parse_ref
from .version import DatasetVersion

#: objects checked or uploaded at once (an object store answers each request with latency)
UPLOAD_THREADS = 8
#: seconds a datastore opened to serve files is reused (see DatasetService.open_file)
SERVED_TTL_S = 60.0
_CHUNK = 1 << 20


@dataclass(slots=True)
class Source:
    """One file to register: its name in the dataset, content hash, size, and how to read it
    (a local path, or a callable opening a binary stream)."""

    path: str
    sha256: str
    size: int
    read: str | Callable[[], BinaryIO]


@dataclass
class Registered:
    """What a register did: the version (new, or the unchanged latest) and what it cost."""

    version: DatasetVersion
    created: bool
    hashed_files: int = 0
    hashed_bytes: int = 0
    cached_files: int = 0
    uploaded_files: int = 0
    uploaded_bytes: int = 0
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    hash_seconds: float = 0.0
    upload_seconds: float = 0.0

    @property
    def message(self) -> str:
        v = self.version
        if not self.created:
            return (f"{v.ref} unchanged: the same {_count(v.file_count, 'file')} (root "
                    f"{v.root_hash[:12]}, datastore {v.datastore}); no new version")
        return (f"registered {v.ref} in datastore {v.datastore}: {_count(v.file_count, 'file')}, "
                f"{v.size} bytes, root {v.root_hash[:12]}; uploaded "
                f"{_count(self.uploaded_files, 'object')} ({self.uploaded_bytes} bytes)")

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version.to_dict(), "created": self.created,
                "message": self.message, "hashed_files": self.hashed_files,
                "hashed_bytes": self.hashed_bytes, "cached_files": self.cached_files,
                "uploaded_files": self.uploaded_files, "uploaded_bytes": self.uploaded_bytes,
                "skipped": self.skipped, "seconds": round(self.seconds, 3),
                "hash_seconds": round(self.hash_seconds, 3),
                "upload_seconds": round(self.upload_seconds, 3)}


class DatasetService:
    """Datasets of a workspace (see the module).

    Parameters
    ----------
    db : Database
        The store holding the dataset tables.
    runs : RunService
        Resolves run ids (lineage).
    objects : callable
        ``objects(datastore) -> BlobStore``: where a datastore keeps content-addressed objects;
        NotFound for an unknown datastore.
    cache : HashCache
        The change-detection cache of this machine.
    mounts : Path
        The folder holding read-only copies of versions (``mount()``).
    current_run : callable
        ``current_run() -> run id or None``: the run this process logs to, which reads are
        recorded on.
    """

    def __init__(self, db, runs, *, objects: Callable[[str], Any], cache: HashCache, mounts: Path,
                 current_run: Callable[[], str | None]):
        self.records = DatasetRecords(db, runs)
        self.runs = runs
        self._objects = objects
        self.cache = cache
        self.mounts = mounts
        self._current_run = current_run
        self._served_stores: dict[str, tuple[Any, float]] = {}
        self._served_lock = threading.Lock()

    # -- registering --------------------------------------------------------------------------

    def register(self, name: str, source: str | os.PathLike, *, datastore: str | None = None,
                 description: str = "", tags: Mapping | None = None, tabular: bool = False,
                 run: str | None = None, user: str | None = None,
                 progress: Callable[[int, int, int, int], None] | None = None) -> Registered:
        """Register the folder or file ``source`` as the next version of dataset ``name`` (see
        the module); return what was done.

        ``datastore``: where the files' objects go; None: the datastore of the dataset's latest
        version (``default`` for a new dataset).  ``tabular``: the files are CSV or Parquet
        tables of one schema; their schema and per-column statistics are recorded.  ``run``: the run that made the data (default:
        the run this process logs to, if any).  ``progress(objects, bytes, of_objects,
        of_bytes)`` hears of each object uploaded (from the uploading threads).  Raises InvalidInput (a bad name, tag or path,
        an empty folder, not tabular), NotFound (no such source or datastore), Conflict (a file
        changed while it was registered), InsufficientStorage / Unavailable (the datastore
        cannot be written; no version is recorded).
        """
        with _no_gc_pause():  # ends once _register's 10,000 files are freed
            return self._register(name, source, datastore=datastore, description=description,
                                  tags=tags, tabular=tabular, run=run, user=user,
                                  progress=progress)

    def _register(self, name, source, *, datastore, description, tags, tabular, run,
                  user, progress) -> Registered:
        from .scan import scan

        started = time.monotonic()
        name, datastore, row, store = self._checked(name, datastore, description, tags)
        found = scan(_local(source))
        files, hashed, cached = self._hash(found)
        hash_seconds = time.monotonic() - started
        stats = self._stats(files) if tabular else None
        result = self._commit(name, files, store=store, datastore=datastore, row={
            **row, "source": Path(os.fspath(source)).name, "stats": _json(stats) if stats else None,
            "created_by": user if user is not None else _os_user()}, run=run, progress=progress)
        result.hash_seconds = hash_seconds
        result.hashed_files, result.hashed_bytes = hashed
        result.cached_files, result.skipped = cached, found.skipped
        result.seconds = time.monotonic() - started
        return result

    def register_sources(self, name: str, sources: list[Source], *, datastore: str | None = None,
                         description: str = "", tags: Mapping | None = None,
                         tabular: bool = False, run: str | None = None,
                         source: str = "", user: str | None = None) -> Registered:
        """Register files already hashed (a pipeline step's outputs, read from the workspace's
        artifacts) as the next version of ``name``; as :meth:`register` otherwise."""
        started = time.monotonic()
        name, datastore, row, store = self._checked(name, datastore, description, tags)
        if not sources:
            raise InvalidInput(f"dataset {name!r}: no files to register")
        stats = self._stats(sources) if tabular else None
        result = self._commit(name, sorted(sources, key=lambda s: s.path), store=store,
                              datastore=datastore, run=run, row={
                                  **row, "source": source, "stats": _json(stats) if stats else None,
                                  "created_by": user if user is not None else _os_user()})
        result.seconds = time.monotonic() - started
        return result

    def _checked(self, name, datastore, description, tags) -> tuple[str, str, dict, Any]:
        """The checked name, the datastore (given, else the latest version's, else
        ``default``), the row's description and tags, and the datastore's objects."""
        check_name(name, "dataset name")
        row = {"description": check_text(description or "", "the description"),
               "tags": _json(R.tag_rows(tags or {}))}
        if datastore is None:
            latest = self._latest_row(name)
            datastore = latest["datastore"] if latest is not None else "default"
        return name, datastore, row, self._objects(datastore)

    def _hash(self, scanned) -> tuple[list[Source], tuple[int, int], int]:
        """Each scanned file's content hash, from the cache when the file is unchanged."""
        found = scanned.files
        # one file: its own entry (its folder's other files, another dataset's perhaps, are
        # neither read nor forgotten)
        known = (self.cache.of(found[0].abspath) if scanned.one_file
                 else self.cache.under(scanned.root))
        todo = [f for f in found if not trusted(known.get(f.abspath), f.st)]
        started = now_ns()
        try:
            digests = hash_files([(f.abspath, f.st.st_size) for f in todo])
        except OSError as exc:
            raise InvalidInput(f"cannot read a file to register: {exc.strerror}") from None
        fresh = {}
        for f, (sha, size) in zip(todo, digests):
            if size != f.st.st_size:
                raise Conflict(f"{f.path} changed while it was hashed: register again once it "
                               "is written")
            fresh[f.abspath] = Entry(size, f.st.st_mtime_ns, f.st.st_ino, f.st.st_dev, sha, started)
        listed = {f.abspath for f in found}
        self.cache.update(fresh.items(), [p for p in known if p not in listed])
        sources = [Source(f.path, (fresh.get(f.abspath) or known[f.abspath]).sha256,
                          f.st.st_size, f.abspath) for f in found]
        return sources, (len(todo), sum(f.st.st_size for f in todo)), len(found) - len(todo)

    def _stats(self, files: list[Source]) -> dict:
        from .tabular import format_of, not_tabular, table_stats

        if format_of([f.path for f in files]) is None:
            raise not_tabular([f.path for f in files])
        if all(isinstance(f.read, str) for f in files):
            return table_stats([(f.path, f.read) for f in files])
        import tempfile

        with tempfile.TemporaryDirectory(prefix="mlws-table-") as tmp:
            local = []
            for i, f in enumerate(files):
                dest = Path(tmp) / f"{i}{Path(f.path).suffix}"
                with _reader(f.read) as src, open(dest, "wb") as out:
                    for chunk in iter(lambda: src.read(_CHUNK), b""):
                        out.write(chunk)
                local.append((f.path, dest))
            return table_stats(local)

    def _commit(self, name: str, files: list[Source], *, store, datastore: str, row: dict,
                run: str | None, progress=None) -> Registered:
        triples = [(f.path, f.sha256, f.size) for f in files]
        digest = root_hash(triples)
        latest = self._latest_row(name)
        if latest is not None and (latest["root_hash"], latest["datastore"]) == (digest, datastore):
            return Registered(self._handle(latest), created=False)
        started = time.monotonic()
        uploaded = self._upload(store, datastore, files, progress)
        upload_seconds = time.monotonic() - started
        run_id = run if run is not None else self._current_run()
        pk, created = self.records.insert_version(name, datastore=datastore, root_hash=digest,
                                                  files=triples, row=row, run_id=run_id)
        result = Registered(self._handle(self.records.by_pks([pk])[0]), created=created,
                            upload_seconds=upload_seconds)
        result.uploaded_files, result.uploaded_bytes = uploaded
        return result

    def _latest_row(self, name: str) -> dict | None:
        try:
            return self.records.find(name)
        except NotFound:
            return None

    def _upload(self, store, datastore: str, files: list[Source],
                progress=None) -> tuple[int, int]:
        """Put each object ``store`` lacks (one per content; see :mod:`..store.blobs.batch`:
        one lookup per object at most, many uploads at once); ``(objects, bytes)`` uploaded."""
        from ..store.blobs import batch

        first: dict[str, Source] = {}
        for f in files:
            first.setdefault(f.sha256, f)
        unknown = set(first) - self.records.known_objects(datastore, first)
        lacking = sorted(batch.missing(store, unknown))
        total = (len(lacking), sum(first[sha].size for sha in lacking))
        done, lock = [0, 0], threading.Lock()

        def put(size: int) -> None:
            with lock:
                done[0] += 1
                done[1] += size
                counts = (done[0], done[1], *total)
            if progress is not None:
                progress(*counts)

        local = [first[sha] for sha in lacking if isinstance(first[sha].read, str)]
        batch.put_files(store, [batch.LocalFile(f.read, f.sha256, f.size, f.path) for f in local],
                        changed=lambda f: _changed(f.shown), on_put=put)
        streamed = [first[sha] for sha in lacking if not isinstance(first[sha].read, str)]
        with ThreadPoolExecutor(UPLOAD_THREADS, thread_name_prefix="mlws-upload") as pool:
            for size in pool.map(lambda source: _put(store, source), streamed):
                put(size)
        return total

    # -- finding --------------------------------------------------------------------------------

    def get(self, ref: str) -> DatasetVersion:
        """The version ``NAME`` (latest), ``NAME:VERSION`` or ``NAME@ALIAS`` names (a
        ``dataset:`` prefix is allowed); NotFound saying what exists."""
        ref = param_ref(ref) or ref
        return self._handle(self.records.find(*parse_ref(ref)))

    def _handle(self, row: dict, *, record_reads: bool = True) -> DatasetVersion:
        return DatasetVersion(row, manifest=lambda: self.records.files(row["pk"]),
                              objects=lambda: self._objects(row["datastore"]), mounts=self.mounts,
                              on_read=self._read if record_reads else lambda version: None)

    def _read(self, version: DatasetVersion) -> None:
        run_id = self._current_run()
        if run_id is not None:
            self.records.record_use(version.pk, run_id, "read")

    def list(self) -> list[dict]:
        """Every dataset with its latest version's size, files, datastore and description."""
        return self.records.listing()

    def versions(self, name: str) -> list[DatasetVersion]:
        """Every version of dataset ``name``, newest first."""
        return self.versions_page(name)[0]

    def versions_page(self, name: str, *, offset: int = 0,
                      limit: int | None = None) -> tuple[list[DatasetVersion], int]:
        """Versions of dataset ``name``, newest first, from the ``offset``-th (0: the newest), at
        most ``limit`` (None: all); and how many it has.  NotFound for no such dataset."""
        check_name(name, "dataset name")
        pks = self.records.version_pks(name)
        shown = pks[offset:] if limit is None else pks[offset:offset + limit]
        return [self._handle(r) for r in self.records.by_pks(shown)], len(pks)

    def show(self, ref: str) -> dict:
        """A version with its lineage: :meth:`DatasetVersion.to_dict` plus ``used_by`` (runs
        and model versions: :meth:`DatasetRecords.users`)."""
        version = self.get(ref)
        return version.to_dict() | {"used_by": self.records.users(version.pk)}

    def files(self, ref: str) -> list[dict]:
        """The manifest of a version, ``[{"path", "sha256", "size"}]`` (no read recorded)."""
        return self.files_page(ref)[0]

    def files_page(self, ref: str, *, offset: int = 0,
                   limit: int | None = None) -> tuple[list[dict], int]:
        """Files of a version by path, from the ``offset``-th, at most ``limit`` (None: all),
        and how many it has (no read recorded)."""
        version = self.get(ref)
        return self.records.files(version.pk, offset, limit), version.file_count

    def open_file(self, ref: str, path: str) -> BinaryIO:
        """A binary stream of file ``path`` of version ``ref`` (what the REST API serves; no
        read recorded: :meth:`read_for_run` records a run's).  NotFound for no such version or
        file."""
        row = self.records.find(*parse_ref(param_ref(ref) or ref))
        entry = self.records.file(row["pk"], path) if isinstance(path, str) else None
        if entry is None:
            raise NotFound(f"{row['name']}:{row['version']} has no file {str(path)[:200]!r}: its "
                           "files are listed by 'mlws dataset show REF --files'")
        return self._served(row["datastore"]).open(entry["sha256"])

    def _served(self, datastore: str):
        """The objects of ``datastore``, kept open for :data:`SERVED_TTL_S` seconds: a client
        reading a version file by file does not open the datastore (a secret read, a new
        connection) once per file."""
        now = time.monotonic()
        with self._served_lock:
            kept = self._served_stores.get(datastore)
            if kept is None or now - kept[1] > SERVED_TTL_S:
                kept = self._served_stores[datastore] = (self._objects(datastore), now)
        return kept[0]

    def read_for_run(self, run_id: str, ref: str) -> tuple[DatasetVersion, list[dict]]:
        """Version ``ref`` and its manifest, read by run ``run_id`` from another machine (over
        HTTP, with the run's token): recorded as the run's read, unless it was given to the run
        as an input (a ``dataset:`` parameter, recorded at submit)."""
        version = self.get(ref)
        given = any(d["ref"] == version.ref and d["how"] == "input" for d in self.of_run(run_id))
        if not given:
            self.records.record_use(version.pk, run_id, "read")
        return version, self.records.files(version.pk)

    def using_datastore(self, datastore: str) -> list[str]:
        """``NAME:VERSION`` of the versions whose files live in ``datastore`` (what keeps it
        from being deleted)."""
        return self.records.using_datastore(datastore)

    # -- aliases and deletion ---------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: int) -> DatasetVersion:
        """Point ``NAME@ALIAS`` at a version (moving it if it pointed elsewhere)."""
        check_name(alias, "alias")
        if alias.isdigit():
            raise InvalidInput(f"alias {alias!r} is a number: it would read like a version")
        if alias.lower() == "latest":
            raise InvalidInput(f"alias {alias!r} is reserved: NAME alone is the latest version; "
                               "choose another name (golden, prod...)")
        target = self.get(f"{name}:{check_version(version)}")
        dataset_pk = self.records.find(name, target.version)["dataset_pk"]
        self.records.set_alias(dataset_pk, alias, target.pk)
        return self.get(f"{name}@{alias}")

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove ``NAME@ALIAS``; NotFound when there is none."""
        check_name(name, "dataset name")
        if not self.records.delete_alias(name, alias):
            raise NotFound(f"dataset {name!r} has no alias {alias!r}")

    def delete(self, ref: str, *, all_versions: bool = False) -> list[str]:
        """Delete the version ``NAME:3``, or with ``all_versions`` every version of ``NAME``;
        return the refs deleted.

        ``NAME`` alone without ``all_versions`` is refused (InvalidInput saying how many
        versions it has and what to give), as is ``NAME@alias`` (name the version, or remove the
        alias with ``delete_alias``) and ``all_versions`` with a version.  A version a run or a
        model version used is refused (Conflict naming them), and nothing is deleted.  The
        objects stay in the datastore."""
        name, version, alias = parse_ref(param_ref(ref) or ref)
        if alias is not None:
            target = self.get(ref)
            raise InvalidInput(
                f"{name}@{alias} is an alias (of {target.ref}): delete that version with 'mlws "
                f"dataset delete {target.ref}', or remove the alias with 'mlws dataset alias "
                f"{name}@{alias} --delete'")
        if all_versions and version is not None:
            raise InvalidInput(f"all versions are deleted by the dataset's name ({name}), not "
                               f"{name}:{version}")
        if version is None and not all_versions:
            count = len(self.records.version_pks(name))
            if not count:
                self.get(name)  # NotFound saying what exists
            latest = self.get(name)
            raise InvalidInput(
                f"{name!r} names the whole dataset ({count} version{'s' if count != 1 else ''}): "
                f"delete one version by its number ('mlws dataset delete {latest.ref}'), or every "
                f"version with 'mlws dataset delete {name} --all-versions'")
        targets = [self.get(ref)] if version is not None else self.versions(name)
        for target in targets:
            users = self.records.users(target.pk)
            runs = [r["id"] for r in users["runs"] if r["how"] != "output"]
            models = [f"{m['name']}:{m['version']}" for m in users["models"]]
            if runs or models:
                named = "; ".join(part for part in (
                    f"run{'s' if len(runs) > 1 else ''} {', '.join(runs[:10])}" if runs else "",
                    f"model{'s' if len(models) > 1 else ''} {', '.join(models[:10])}" if models
                    else "") if part)
                raise Conflict(f"{target.ref} was used by {named}: it is kept as their lineage "
                               "and cannot be deleted")
        dataset_pk = self.records.find(name, targets[0].version)["dataset_pk"]
        self.records.delete_versions(dataset_pk, [t.pk for t in targets])
        return [t.ref for t in targets]

    # -- lineage ------------------------------------------------------------------------------

    def pin(self, parameters: Mapping[str, Any]) -> tuple[dict[str, Any], list[DatasetVersion]]:
        """Parameters with each ``dataset:REF`` value pinned to its exact version
        (``dataset:NAME:VERSION``), and those versions.  NotFound for an unknown one: checked
        before anything is recorded."""
        pinned, versions = dict(parameters), []
        for key, ref in dataset_params(parameters).items():
            version = self.get(ref)
            pinned[key] = f"dataset:{version.ref}"
            versions.append(version)
        return pinned, versions

    def record_inputs(self, run_id: str, versions: Iterable[DatasetVersion]) -> None:
        """Run ``run_id`` was given these versions as inputs."""
        for version in versions:
            self.records.record_use(version.pk, run_id, "input")

    def record_training(self, ref: str, model_version_pk: int) -> DatasetVersion:
        """A model version was trained on the version ``ref``."""
        version = self.get(ref)
        self.records.record_training(version.pk, model_version_pk)
        return version

    def of_run(self, run_id: str) -> list[dict]:
        """The versions run ``run_id`` used or made: ``[{"ref", "name", "version", "root_hash",
        "how"}]`` (``how``: input, read, output)."""
        return self.records.of_run(run_id)

    def of_model(self, model_version_pk: int, run_id: str | None) -> list[dict]:
        """The versions a model version was trained on (``how`` training) and those its run
        used (``run input``, ``run read``)."""
        return self.records.of_model(model_version_pk, run_id)

    def local_path(self, ref: str) -> str:
        """A local read-only path holding the version (see :meth:`DatasetVersion.mount`); what a
        notebook parameter ``dataset:REF`` is given as (the run records it as its input, at
        submit: this read is not recorded again)."""
        row = self.records.find(*parse_ref(param_ref(ref) or ref))
        return str(self._handle(row, record_reads=False).mount())


@contextmanager
def _no_gc_pause():
    """No cyclic garbage collection while a folder is registered: its 10,000 files are some
    100,000 new objects (none in a cycle), which start a full collection of the whole heap (100
    ms and more in a workspace's process, a third of an unchanged re-check); they are freed by
    reference counting all the same, before collection resumes as it was."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _local(source: str | os.PathLike) -> str | os.PathLike:
    """A local path from ``source`` (``file://`` URLs included); InvalidInput for another URL."""
    from urllib.parse import unquote, urlsplit

    text = os.fspath(source)
    if isinstance(text, str) and "://" in text:
        url = urlsplit(text)
        if url.scheme == "file" and url.netloc in ("", "localhost"):
            return unquote(url.path)
        if url.scheme == "file":
            raise InvalidInput(f"file:// URLs are absolute: file:///abs/path (file://{url.netloc[:40]}"
                               "/... names a host); or give the path itself, such as "
                               f"{url.netloc[:40]}{url.path[:80]}")
        raise InvalidInput(f"registering from a {url.scheme}:// URL is not supported yet: copy the "
                           "files to this machine (or a mounted folder) and register that path")
    return source


def _put(store, source: Source) -> int:
    """Store one object, checking its content is still the hash it was registered with; its
    size."""
    with _reader(source.read) as f:
        sha, size = store.put_chunks(iter(lambda: f.read(_CHUNK), b""))
    if sha != source.sha256:
        raise _changed(source.path)
    return size


def _changed(path: str) -> Conflict:
    return Conflict(f"{path} changed while it was registered: register again once it is written")


def _reader(read: str | Callable[[], BinaryIO]) -> BinaryIO:
    return open(read, "rb") if isinstance(read, str) else read()


def _json(value) -> str:
    import json

    return json.dumps(value)


def _count(n: int, noun: str) -> str:
    """``1 file``, ``3 files``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _os_user() -> str:
    from ..access import os_user

    return os_user()
