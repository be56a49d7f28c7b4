"""Many blobs at once: which of them a store lacks, and uploading many local files to it.

A dataset of 10,000 small files is 10,000 objects: one request after another (a HEAD, then a
PUT, each waiting on the store's latency) is most of its register's time.  Here:

- :func:`missing` asks once per object at most: for :data:`LIST_OVER` objects or more, one
  listing of the store (on S3 a page per 1,000 keys) instead of a HEAD each; fewer are asked for
  concurrently (on an async filesystem such as s3fs, :data:`CONCURRENCY` HEADs in flight on its
  event loop; otherwise :data:`THREADS` threads);
- :func:`put_files` uploads files the caller knows are missing with no further lookup: on an
  object store with an async filesystem, files up to :data:`SMALL_MAX` bytes are read (in a
  worker thread), hashed, and sent from memory, :data:`CONCURRENCY` at a time on the
  filesystem's loop, straight to their final keys (a PUT is visible whole, or not at all); larger
  files, and other stores, through the store's own ``put_file`` from :data:`THREADS` threads.
  Each file's content is checked against the sha256 it was listed with before it is stored.

Each object uploaded is reported (``on_put(size)``), from whichever thread sent it.
"""

from __future__ import annotations

import asyncio
import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Collection, Sequence

from ...errors import MlwsError
from .base import BlobStore

#: looking up this many objects or more: one listing of the store, not a HEAD each
LIST_OVER = 500
#: requests in flight at once on an async filesystem's event loop
CONCURRENCY = 32
#: threads sending at once otherwise (and for large files)
THREADS = 8
#: files up to this size are sent from memory on the event loop (CONCURRENCY of them at most)
SMALL_MAX = 8 << 20


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A local file to store as blob ``sha256`` (``size`` bytes); ``shown`` names it in errors."""

    path: str
    sha256: str
    size: int
    shown: str


def missing(store: BlobStore, shas: Collection[str]) -> set[str]:
    """The sha256s of ``shas`` that ``store`` does not hold (see the module).  Raises
    Unavailable when the store cannot be asked."""
    wanted = set(shas)
    if not wanted:
        return set()
    if len(wanted) >= LIST_OVER and type(store).ids is not BlobStore.ids:  # it lists its blobs
        return wanted - set(store.ids())
    fs = _async_fs(store)
    if fs is not None:
        from fsspec.asyn import sync

        return sync(fs.loop, _absent, store, fs, sorted(wanted))
    with ThreadPoolExecutor(THREADS, thread_name_prefix="mlws-lookup") as pool:
        ordered = sorted(wanted)
        return {sha for sha, there in zip(ordered, pool.map(store.exists, ordered)) if not there}


def put_files(store: BlobStore, files: Sequence[LocalFile], *,
              changed: Callable[[LocalFile], MlwsError],
              on_put: Callable[[int], None] | None = None) -> None:
    """Store each of ``files`` (all missing from ``store``: nothing is looked up again).

    A file whose content no longer hashes to its ``sha256`` raises ``changed(file)`` (the file
    is not stored; others sent meanwhile stay: they are the content their keys name).  Raises
    Unavailable or InsufficientStorage when the store cannot be written; the first error stops
    the files not started yet."""
    report = on_put or (lambda size: None)
    fs = _async_fs(store)
    small = [f for f in files if f.size <= SMALL_MAX] if fs is not None else []
    rest = [f for f in files if fs is None or f.size > SMALL_MAX]
    if small:
        from fsspec.asyn import sync

        sync(fs.loop, _send_all, store, fs, small, changed, report)
    if rest:
        def one(f: LocalFile) -> None:
            sha, _size = store.put_file(f.path)
            if sha != f.sha256:
                raise changed(f)
            report(f.size)

        with ThreadPoolExecutor(THREADS, thread_name_prefix="mlws-upload") as pool:
            for _ in pool.map(one, rest):
                pass


def _async_fs(store: BlobStore):
    """The store's fsspec filesystem when it is an async object store (s3fs, gcsfs, adlfs) that
    writes whole objects, else None."""
    fs = getattr(store, "fs", None)
    if (fs is None or not getattr(store, "atomic", False) or not getattr(fs, "async_impl", False)
            or not hasattr(fs, "_pipe_file") or getattr(fs, "loop", None) is None):
        return None
    return fs


async def _pool(items: Sequence, work) -> list:
    """``await work(item)`` for each item, :data:`CONCURRENCY` at a time; the results in order.
    The first error stops items not started yet and is raised once the others end."""
    results: list = [None] * len(items)
    cursor = iter(range(len(items)))
    failed: list[BaseException] = []

    async def worker() -> None:
        for i in cursor:
            if failed:
                return
            try:
                results[i] = await work(items[i])
            except BaseException as exc:  # noqa: BLE001 - raised below, once the others end
                failed.append(exc)
                return

    await asyncio.gather(*(worker() for _ in range(min(CONCURRENCY, len(items)))))
    if failed:
        raise failed[0]
    return results


async def _absent(store, fs, shas: list[str]) -> set[str]:
    head = getattr(fs, "_call_s3", None) if hasattr(fs, "split_path") else None

    async def present(sha: str) -> bool:
        key = store.key(sha)
        try:
            if head is None:
                return await fs._exists(key)
            bucket, path, _version = fs.split_path(key)
            await head("head_object", getattr(fs, "kwargs", {}), Bucket=bucket, Key=path)
            return True
        except FileNotFoundError:
            return False
        except MlwsError:
            raise
        except Exception as exc:  # noqa: BLE001 - every backend has its own error classes
            raise store.error(exc, reading=True) from None

    found = await _pool(shas, present)
    return {sha for sha, there in zip(shas, found) if not there}


async def _send_all(store, fs, files: list[LocalFile], changed, report) -> None:
    loop = asyncio.get_running_loop()

    async def send(f: LocalFile) -> None:
        data, sha = await loop.run_in_executor(None, _read, f.path)  # off the event loop
        if sha != f.sha256:
            raise changed(f)
        try:
            await fs._pipe_file(store.key(f.sha256), data)
        except MlwsError:
            raise
        except Exception as exc:  # noqa: BLE001 - every backend has its own error classes
            raise store.error(exc) from None
        report(len(data))

    await _pool(files, send)


def _read(path: str) -> tuple[bytes, str]:
    """The bytes of a local file and their sha256 (what is hashed is what is sent)."""
    with open(path, "rb") as f:
        data = f.read()
    return data, hashlib.sha256(data).hexdigest()
