"""The change-detection cache: a file whose size, mtime (ns), inode and device are those it had
when it was hashed is not read again, so that re-checking an unchanged folder of 10,000 files
costs a walk and 10,000 ``stat`` calls, not a read of every byte.

Where it lives, and why: a SQLite file of its own in the workspace folder,
``.mlws/cache/file-hashes.db``, not the workspace database.

- Its entries describe files of *this machine* (absolute paths, inodes).  A team's workspace
  database (PostgreSQL) is shared by machines on which a path names different files; the
  entries are keyed by host too, for a workspace folder on a shared disk.
- Writing thousands of entries after a register would hold the workspace database's one write
  lock while runs log metrics.  The cache is only a cache: when it cannot be read or written
  (a read-only folder, a damaged file) registers hash everything and carry on.
- Concurrent registers are safe: SQLite in WAL mode with a busy timeout; each register writes
  its new entries in one short ``INSERT OR REPLACE`` transaction (two registers of one folder
  write the same values) and readers never wait for it.

An entry is trusted only when the file's modification time is older, by more than the
filesystem's timestamp granularity, than the moment it was hashed (git's "racily clean" rule):
a file changed again within the same clock tick, keeping its size, would otherwise keep its old
hash.  Such a file is simply hashed again next time.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from pathlib import Path
from typing import Iterable, NamedTuple

#: a modification this close before the hash (ns) may hide a later one in the same clock tick
RACY_NS = 50_000_000
#: the same, on a filesystem keeping whole seconds only (FAT keeps 2 s)
RACY_COARSE_NS = 2_000_000_000
_BUSY_TIMEOUT_S = 10.0
_SCHEMA = """CREATE TABLE IF NOT EXISTS files (
    host TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    ino INTEGER NOT NULL, dev INTEGER NOT NULL, sha256 TEXT NOT NULL,
    hashed_at_ns INTEGER NOT NULL, PRIMARY KEY (host, path)) WITHOUT ROWID"""


class Entry(NamedTuple):
    """What was known of one file when it was hashed."""

    size: int
    mtime_ns: int
    ino: int
    dev: int
    sha256: str
    hashed_at_ns: int


def trusted(entry: Entry | None, st: os.stat_result) -> bool:
    """Whether ``entry`` still gives the hash of the file whose ``stat`` is ``st``."""
    if entry is None:
        return False
    if (entry.size, entry.mtime_ns, entry.ino, entry.dev) != (st.st_size, st.st_mtime_ns,
                                                                st.st_ino, st.st_dev):
        return False
    racy = RACY_COARSE_NS if st.st_mtime_ns % 1_000_000_000 == 0 else RACY_NS
    return entry.mtime_ns + racy <= entry.hashed_at_ns


class HashCache:
    """The cache file at ``path`` (created on first use; see the module)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.host = socket.gethostname()
        self._conn: sqlite3.Connection | None = None
        self._broken = False

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is None and not self._broken:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None,
                                       check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute(_SCHEMA)
                self._conn = conn
            except (sqlite3.Error, OSError):
                self._broken = True  # hash everything: the cache is only a cache
        return self._conn

    def under(self, root: str) -> dict[str, Entry]:
        """The entries of files under the absolute folder ``root`` (absolute path -> Entry)."""
        conn = self._connect()
        if conn is None:
            return {}
        prefix = root.rstrip(os.sep) + os.sep
        try:
            rows = conn.execute(
                "SELECT path, size, mtime_ns, ino, dev, sha256, hashed_at_ns FROM files "
                "WHERE host = ? AND path >= ? AND path < ?",
                (self.host, prefix, prefix[:-1] + chr(ord(os.sep) + 1))).fetchall()
        except sqlite3.Error:
            return {}
        return {r[0]: Entry(*r[1:]) for r in rows}

    def of(self, path: str) -> dict[str, Entry]:
        """The entry of the one file at absolute ``path``, as :meth:`under` gives them (empty
        when none)."""
        conn = self._connect()
        if conn is None:
            return {}
        try:
            row = conn.execute(
                "SELECT path, size, mtime_ns, ino, dev, sha256, hashed_at_ns FROM files "
                "WHERE host = ? AND path = ?", (self.host, path)).fetchone()
        except sqlite3.Error:
            return {}
        return {row[0]: Entry(*row[1:])} if row else {}

    def update(self, fresh: Iterable[tuple[str, Entry]], gone: Iterable[str] = ()) -> None:
        """Remember ``fresh`` ``(absolute path, Entry)`` and forget the paths ``gone``, in one
        transaction; a cache that cannot be written is left as it is."""
        conn = self._connect()
        rows = [(self.host, p, *e) for p, e in fresh]
        stale = [(self.host, p) for p in gone]
        if conn is None or not (rows or stale):
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
                conn.executemany("DELETE FROM files WHERE host = ? AND path = ?", stale)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error:
            pass  # busy past the timeout, read-only, full: these files are hashed again next time

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def now_ns() -> int:
    """The wall clock in ns, as file modification times count."""
    return time.time_ns()
