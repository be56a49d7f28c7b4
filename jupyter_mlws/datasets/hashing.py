"""Content hashes: the sha256 of each file, read in large blocks with several files hashed at once,
and a version's root hash over its file list.

``hashlib`` releases the GIL while it hashes a block of more than 2 KiB, so threads hash files in
parallel on as many cores as there are; one file is read into one reused 1 MiB buffer
(``readinto``: no copy per block).  A small file costs a thread hand-off, so files are handed out
in batches of about :data:`BATCH_BYTES`.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, Sequence

#: bytes read at a time
BLOCK = 1 << 20
#: a batch of small files handed to one thread holds about this many bytes
BATCH_BYTES = 8 << 20
#: the most files in one batch
BATCH_FILES = 256


def file_sha256(path: str | os.PathLike, buffer: bytearray | None = None) -> tuple[str, int]:
    """``(sha256 hex, size in bytes)`` of the file at ``path``, read in :data:`BLOCK` blocks.

    Raises OSError when the file cannot be read."""
    digest, size = hashlib.sha256(), 0
    buf = buffer if buffer is not None else bytearray(BLOCK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size


def workers() -> int:
    """Threads hashing at once: one per core (at most 8)."""
    return max(1, min(8, os.cpu_count() or 1))


def _batches(items: Sequence[tuple[str, int]]) -> list[list[int]]:
    """Indexes of ``items`` ``(path, size)`` grouped into batches of about BATCH_BYTES."""
    batches: list[list[int]] = []
    current: list[int] = []
    total = 0
    for i, (_path, size) in enumerate(items):
        current.append(i)
        total += size
        if total >= BATCH_BYTES or len(current) >= BATCH_FILES:
            batches.append(current)
            current, total = [], 0
    if current:
        batches.append(current)
    return batches


def hash_files(items: Sequence[tuple[str, int]], threads: int | None = None) -> list[tuple[str, int]]:
    """``(sha256, size)`` of each ``(path, expected size)`` in ``items``, in order.

    Raises OSError for a file that cannot be read."""
    threads = threads or workers()
    out: list[tuple[str, int] | None] = [None] * len(items)

    def run(batch: list[int]) -> None:
        buf = bytearray(BLOCK)
        for i in batch:
            out[i] = file_sha256(items[i][0], buf)

    batches = _batches(items)
    if threads == 1 or len(batches) == 1:
        for batch in batches:
            run(batch)
    else:
        with ThreadPoolExecutor(threads, thread_name_prefix="mlws-hash") as pool:
            for _ in pool.map(run, batches):
                pass
    return out  # type: ignore[return-value]


def root_hash(files: Iterable[tuple[str, str, int]]) -> str:
    """The sha256 over the sorted ``(relative path, sha256, size)`` list: two versions holding
    the same files under the same names hash alike, whatever order they were listed in."""
    rows = sorted((p, s, int(n)) for p, s, n in files)
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
                          .encode("utf-8")).hexdigest()
