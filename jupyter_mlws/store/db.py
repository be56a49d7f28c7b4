"""The metadata database: one engine per process, short transactions, safe under contention.

SQLite rules (see ARCHITECTURE.md, data safety): WAL, a busy timeout, and every
writer starts with ``BEGIN IMMEDIATE`` so that a read-then-write never has to
upgrade its lock (a deferred upgrade fails at once under contention, whatever
the timeout).  The URL, never an engine, crosses process boundaries.

Every transaction (``read``, ``write``, ``transact``) turns a failure of the store into one
error of the workspace's tree (:mod:`.failures`): a full disk, a read-only folder, a failing
device or an unreachable server, never a driver's exception.
"""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import time
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from ..errors import Unavailable
from .failures import database_error, is_busy

T = TypeVar("T")

#: how long a writer waits for the SQLite write lock before giving up
BUSY_TIMEOUT_S = 60.0


class Database:
    """A metadata store reached through a SQLAlchemy URL.

    Parameters
    ----------
    url : str
        ``sqlite:////abs/path/mlws.db`` (the embedded default) or
        ``postgresql+psycopg://user@host:port/db`` for a team server.
    root : path, optional
        The workspace folder: messages name files relative to it.
    """

    def __init__(self, url: str, root: str | os.PathLike | None = None):
        self.url = url
        self.root = root
        self.is_sqlite = url.startswith("sqlite")
        self.engine = self._create_engine(url)
        #: what a failing store raises: SQLAlchemy's errors, and the driver's own (raw cursors)
        self._driver_error = self.engine.dialect.loaded_dbapi.Error
        self._failing = (DBAPIError, self._driver_error)
        #: DB-API placeholder for raw executemany on the hot path
        self.placeholder = "?" if self.is_sqlite else "%s"

    def _create_engine(self, url: str) -> Engine:
        if not self.is_sqlite:
            try:
                return create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=8)
            except ModuleNotFoundError as exc:
                raise Unavailable(
                    f"the database driver for this URL is not installed ({exc.name}): "
                    "pip install 'jupyter_mlws[postgres]'"
                ) from None
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S},
            pool_size=4,
            max_overflow=8,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on exit.

        Raises InsufficientStorage or Unavailable when the store fails (nothing written).
        """
        with self._failures():
            with self._write() as conn:
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction: a consistent snapshot, never blocks writers.

        Raises Unavailable when the store fails.
        """
        with self._failures():
            with self.engine.connect() as conn:
                with conn.begin():
                    yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect().execution_options(mlws_write=True) as conn:
            with conn.begin():
                yield conn

    @contextmanager
    def _failures(self) -> Iterator[None]:
        try:
            yield
        except self._failing as exc:
            raise self.error(exc) from None

    def error(self, exc: Exception) -> Exception:
        """The workspace error for a failure of this store (the exception itself for a bug)."""
        wrapped = exc if isinstance(exc, DBAPIError) else \
            DBAPIError.instance(None, None, exc, self._driver_error)  # a raw cursor's
        return database_error(wrapped, self.url, self.root) or exc

    def transact(self, fn: Callable[[Connection], T], attempts: int = 8) -> T:
        """Run ``fn(conn)`` in a write transaction, retrying if the database stays busy.

        The busy timeout already waits for the lock; this retry is the second
        line of defence so that "database is locked" never reaches a caller
        while another process holds the lock for long.
        """
        for attempt in range(attempts):
            try:
                with self._write() as conn:
                    return fn(conn)
            except self._failing as exc:
                if not (self.is_sqlite and is_busy(exc)) or attempt == attempts - 1:
                    raise self.error(exc) from None
                time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    def insert(self, table):
        """An INSERT for this database that supports ``on_conflict_do_update/nothing``."""
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        return insert(table)

    def serialize(self, conn: Connection, name: str) -> None:
        """Make the write transaction of ``conn`` the only one holding ``name`` until it ends.

        SQLite needs nothing: a writer holds the database's write lock from ``BEGIN IMMEDIATE``.
        PostgreSQL takes a transaction-level advisory lock on a 64-bit hash of ``name`` (a
        second transaction waits for the first to commit), so that a read-then-write on one
        key (e.g. the newest tick claimed for an owner) cannot interleave with another's.
        """
        if self.is_sqlite:
            return
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    def upsert(self, table, rows: list[dict], keys: list[str]):
        """INSERT rows, replacing the other columns of rows whose ``keys`` exist."""
        stmt = self.insert(table)
        others = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
        return stmt.on_conflict_do_update(index_elements=keys, set_=others), rows

    def backup_to(self, dest: str | os.PathLike) -> None:
        """Copy a SQLite database to the new file ``dest`` with SQLite's online backup API:
        consistent even while others write.  The file copied is the one the URL names."""
        if not self.is_sqlite:
            raise Unavailable("backup copies SQLite workspaces; back up PostgreSQL with pg_dump")
        source = sqlite3.connect(self.engine.url.database, timeout=BUSY_TIMEOUT_S)
        try:
            target = sqlite3.connect(os.fspath(dest))
            try:
                source.backup(target)
            finally:
                target.close()
        finally:
            source.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _sqlite_on_connect(dbapi_conn, _record) -> None:
    # let SQLAlchemy's "begin" event decide how a transaction starts
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA cache_size=-8000")  # 8 MB a connection: RSS stays small
    cur.close()


def _sqlite_on_begin(conn: Connection) -> None:
    if conn.get_execution_options().get("mlws_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")
