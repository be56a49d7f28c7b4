"""Where a workspace keeps its blobs: a local folder, or object storage named by a URL.

``artifacts`` in ``mlws.toml`` is a folder (default ``artifacts/`` in the workspace) or a URL
(``s3://BUCKET/PREFIX[?endpoint_url=...&region=...]``, ``gs://...``, ``abfs://...``,
``file:///...``; see :mod:`jupyter_mlws.datastores.urls`).  With a URL, blobs live under
``PREFIX/blobs`` through :class:`~jupyter_mlws.store.blobs.fsspec.FsspecBlobStore`, and the
``default`` datastore under ``PREFIX/datastores/default``: every machine of a team reaches both,
with no shared disk.  The object store's credentials come from its provider's default chain on
each machine (for S3: ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, a profile, an instance
role), never from the workspace's files.

:func:`move_blobs` copies every blob to another store, resumably (blobs already there are
skipped), checking each one's sha256 as it streams; ``mlws workspace move-artifacts`` then
switches the config.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

from . import config as C
from .errors import InvalidInput, MlwsError
from .store.blobs import BlobStore, LocalBlobStore
from .store.blobs.base import CHUNK

#: schemes artifacts may live on (sftp needs a secret's key, which a workspace opens without)
ARTIFACT_SCHEMES = ("s3", "gs", "abfs", "file")


def location(artifacts: str):
    """The checked location of an artifacts URL; InvalidInput for a scheme artifacts cannot use."""
    from .datastores.urls import parse

    loc = parse(artifacts)
    if loc.scheme not in ARTIFACT_SCHEMES:
        raise InvalidInput(f"artifacts cannot live on {loc.scheme}://: use s3://, gs://, abfs:// "
                           "or a folder (file:///PATH)")
    return loc


def open_blob_store(cfg: C.WorkspaceConfig) -> BlobStore:
    """The blob store ``cfg`` names (nothing is contacted yet)."""
    if not cfg.artifacts_url:
        return LocalBlobStore(cfg.artifact_root / "blobs", cfg.root)
    return blob_store_at(cfg.artifacts_url, spool_dir=_spool_dir(cfg))


def blob_store_at(url: str, *, spool_dir: Path | None = None) -> BlobStore:
    """The blob store under the artifacts URL ``url`` (its ``blobs/`` folder)."""
    from .datastores.filesystems import open_filesystem
    from .store.blobs.fsspec import FsspecBlobStore

    loc = location(url)
    return FsspecBlobStore(open_filesystem(loc), f"{loc.root}/blobs", shown=f"{loc.shown}/blobs",
                           spool_dir=spool_dir)


def check_reachable(url: str) -> None:
    """Reach the object store of artifacts URL ``url`` (its bucket must exist).  Raises
    InvalidInput (a refused URL, a missing bucket) or Unavailable (it cannot be reached)."""
    from .datastores.filesystems import open_filesystem, probe, why
    from .errors import Unavailable

    loc = location(url)
    try:
        probe(open_filesystem(loc), loc)
    except MlwsError:
        raise
    except Exception as exc:  # noqa: BLE001 - each backend has its own errors
        raise Unavailable(f"the artifact store {loc.shown} cannot be reached: {why(exc)} (its "
                          "credentials come from the environment, e.g. AWS_ACCESS_KEY_ID)") from None


def _spool_dir(cfg: C.WorkspaceConfig) -> Path | None:
    """Where streams are spooled before an upload: the workspace's local scratch folder."""
    folder = cfg.artifact_root / "spool"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # the system's temp folder
    return folder


def default_datastore(cfg: C.WorkspaceConfig) -> tuple[object, Callable]:
    """The ``default`` datastore's location and filesystem maker: ``datastores/default`` in the
    workspace folder, or beside the blobs on object storage."""
    from .datastores.filesystems import open_filesystem
    from .datastores.urls import Location

    if cfg.artifacts_url:
        base = location(cfg.artifacts_url)
        loc = Location(base.scheme, base.host, f"{base.root}/datastores/default",
                       options=dict(base.options))
    else:
        loc = Location("file", "", str(cfg.root / "datastores" / "default"))
    return loc, lambda: open_filesystem(loc)


def move_blobs(source: BlobStore, target: BlobStore, *,
               on_blob: Callable[[str, int, bool], None] | None = None,
               source_named: str = "the old artifact store") -> dict:
    """Copy every blob of ``source`` missing from ``target``; return ``{"blobs", "copied",
    "bytes"}`` (bytes copied).  Resumable: run again after an interruption, it copies what is
    still missing.  Each blob is streamed and its sha256 checked on the way: a blob whose
    content does not match its id is not copied, and the move stops with Conflict naming it.
    ``on_blob(sha256, size, copied)`` hears of each blob; ``source_named`` names ``source`` in
    that Conflict.
    """
    from .errors import Conflict

    total = copied = moved = 0
    for sha in sorted(source.ids()):
        total += 1
        if target.exists(sha):
            if on_blob is not None:
                on_blob(sha, 0, False)
            continue
        digest = hashlib.sha256()

        def chunks(src):
            for chunk in iter(lambda: src.read(CHUNK), b""):
                digest.update(chunk)
                yield chunk
            if digest.hexdigest() != sha:
                raise Conflict(f"blob {sha[:12]} in {source_named} does not match its "
                               "sha256 (damaged): restore it from a backup, then move again")

        with source.open(sha) as src:
            got, size = target.put_chunks(chunks(src))
        if got != sha:  # pragma: no cover - chunks() raised first
            raise MlwsError(f"blob {sha[:12]} was stored as {got[:12]}")
        copied, moved = copied + 1, moved + size
        if on_blob is not None:
            on_blob(sha, size, True)
    return {"blobs": total, "copied": copied, "bytes": moved}


def _default_objects(cfg: C.WorkspaceConfig) -> tuple[str, BlobStore]:
    """Where the ``default`` datastore of ``cfg`` keeps its objects (datasets' files): its URL
    as shown, and its objects (nothing is contacted yet)."""
    from .datastores.datastore import Datastore

    loc, connect = default_datastore(cfg)
    return loc.shown, Datastore("default", loc, connect).objects


def move_artifacts(ws, dest: str, *, on_blob: Callable[[str, int, bool], None] | None = None) -> dict:
    """Copy workspace ``ws``'s blobs to ``dest`` (an artifacts URL or a folder), and the objects
    of its ``default`` datastore (datasets' files) when that datastore moves with them (it lives
    beside the blobs on object storage), then switch its ``mlws.toml`` there atomically; return
    what :func:`move_blobs` did for the blobs (both passes) with ``artifacts`` (where they are
    now, as shown) and ``default_datastore`` (``{"url", "objects", "copied", "bytes"}``: what
    was done for the default datastore; ``objects`` 0 and ``copied`` 0 when it stays).

    Resumable: interrupted, nothing is switched, and running it again copies only what is
    missing.  After the switch a second pass copies what other processes wrote meanwhile.  The
    old store is left as it was (remove it once satisfied).  For a team, every machine's
    ``mlws.toml`` names the new place (copy the ``artifacts`` line).

    Raises InvalidInput (a refused URL), Conflict (already there; a damaged blob or object),
    Unavailable (the store cannot be reached).
    """
    import dataclasses

    from .errors import Conflict

    if C.is_store_url(dest):
        new = location(dest).url
        check_reachable(new)
        target = blob_store_at(new, spool_dir=_spool_dir(ws.config))
    else:
        new = str(Path(dest).expanduser().absolute())
        target = LocalBlobStore(Path(new) / "blobs", ws.root)
    if new == (ws.config.artifacts or "") or (not ws.config.artifacts_url
                                              and Path(new) == ws.config.artifact_root):
        raise Conflict("the workspace's artifacts are there already")
    moved = dataclasses.replace(ws.config, artifacts=new)
    old_url, old_objects = _default_objects(ws.config)
    new_url, new_objects = _default_objects(moved)
    datastore_moves = new_url != old_url

    def copy_all() -> tuple[dict, dict]:
        blobs = move_blobs(ws.blobs, target, on_blob=on_blob)
        objects = (move_blobs(old_objects, new_objects, on_blob=on_blob,
                              source_named="the default datastore's old place")
                   if datastore_moves else {"blobs": 0, "copied": 0, "bytes": 0})
        return blobs, objects

    first, first_objects = copy_all()
    C.rewrite(moved)
    second, second_objects = copy_all()  # what arrived during the first pass
    return {"blobs": first["blobs"] + second["copied"], "copied": first["copied"] + second["copied"],
            "bytes": first["bytes"] + second["bytes"],
            "artifacts": dest if not C.is_store_url(new) else location(new).shown,
            "default_datastore": {
                "url": new_url,
                "objects": first_objects["blobs"] + second_objects["copied"],
                "copied": first_objects["copied"] + second_objects["copied"],
                "bytes": first_objects["bytes"] + second_objects["bytes"]}}
