"""What a failing store means for the user: one error of the workspace's tree, never a driver's.

A full disk is :class:`~jupyter_mlws.errors.InsufficientStorage`; a read-only workspace, a
failing device, a database that cannot be opened or a PostgreSQL server that cannot be reached
is :class:`~jupyter_mlws.errors.Unavailable`; a damaged database is ``InvalidInput`` (as a
damaged config is), and says to restore it from a backup.  Messages name files relative to the
workspace folder and never show a database password.

A write that fails here changed nothing: a database write is one transaction (all or nothing),
and a blob is written to a temp file that is removed on failure.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, DBAPIError, OperationalError

from ..errors import InsufficientStorage, InvalidInput, MlwsError, Unavailable

_NOTHING_LOST = "nothing of this change was written, and what was recorded before is intact"
_SQLITE_BUSY, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CORRUPT = 5, 8, 10, 11
_SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB, _SQLITE_PERM = 13, 14, 26, 3
#: the errors of SQLite's message texts, for drivers that give no code (Python 3.10)
_SQLITE_TEXTS = (("locked", _SQLITE_BUSY), ("database is busy", _SQLITE_BUSY),
                 ("disk is full", _SQLITE_FULL), ("readonly database", _SQLITE_READONLY),
                 ("unable to open", _SQLITE_CANTOPEN), ("disk i/o error", _SQLITE_IOERR),
                 ("malformed", _SQLITE_CORRUPT), ("not a database", _SQLITE_NOTADB),
                 ("access permission denied", _SQLITE_PERM))


def shown(path: str | os.PathLike, root: str | os.PathLike | None) -> str:
    """A path as messages show it: relative to the workspace folder, else its name only."""
    path = Path(path)
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return path.name


def is_busy(exc: BaseException) -> bool:
    """Whether a SQLite error is a lock held by another writer (worth a retry)."""
    return _sqlite_code(exc) == _SQLITE_BUSY


def _sqlite_code(exc: BaseException) -> int | None:
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF  # the primary code of an extended one
    text = str(orig).lower()
    return next((c for fragment, c in _SQLITE_TEXTS if fragment in text), None)


def _first_line(exc: BaseException) -> str:
    return (str(getattr(exc, "orig", exc)).strip().splitlines() or [type(exc).__name__])[0]


def _no_space(folder: Path) -> bool:
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < (1 << 20)  # under 1 MB left: SQLite cannot grow


def database_error(exc: DBAPIError, url: str, root: str | os.PathLike | None) -> MlwsError | None:
    """The workspace error for a database failure; None for a statement's own fault (a bug)."""
    if not isinstance(exc, OperationalError) and type(exc) is not DatabaseError:
        return None  # IntegrityError, ProgrammingError...: the code's, not the store's
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_error(exc, Path(parsed.database or ""), root)
    return _server_error(exc, parsed)


def _sqlite_error(exc: DBAPIError, db: Path, root) -> MlwsError:
    code, name, folder = _sqlite_code(exc), shown(db, root), db.parent
    if code == _SQLITE_BUSY:
        return Unavailable("the workspace database stayed locked by another process for too long; "
                           "try again, and check for a process stuck holding it")
    if code == _SQLITE_FULL or (code in (_SQLITE_IOERR, _SQLITE_CANTOPEN) and _no_space(folder)):
        return InsufficientStorage(
            f"no space left on the device holding the workspace database ({name}): free space "
            f"there, then try again (the workspace needs no restart); {_NOTHING_LOST}")
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return InvalidInput(f"the workspace database {name} cannot be read ({_first_line(exc)}): "
                            "it is damaged or not a jupyter_mlws workspace; restore it from a backup")
    if code in (_SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_PERM):
        unwritable = _unwritable(db, name, root)
        if unwritable:
            return Unavailable(f"{unwritable}; nothing recorded was lost")
    if code == _SQLITE_IOERR:
        return Unavailable(
            f"the device holding the workspace database ({name}) failed to read or write "
            f"({_first_line(exc)}): check the disk, then try again; {_NOTHING_LOST}")
    return Unavailable(f"the workspace database {name} failed ({_first_line(exc)}): check that "
                       "it is reachable and the disk is healthy, then try again")


def _unwritable(db: Path, name: str, root) -> str | None:
    """Why this process cannot write the SQLite file ``db`` (None: it can, as far as it sees)."""
    folder = db.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        where = ("the workspace folder" if root is not None and folder == Path(root)
                 else f"the folder holding the workspace database {name}")
        how, fix = _read_only(folder, "the folder")
        return (f"{where} is read-only {how}, so its database {name} cannot be opened for "
                f"writing (SQLite writes its -wal and -shm files beside it): {fix}, then try again")
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        if path.exists() and not os.access(path, os.R_OK | os.W_OK):
            how, fix = _read_only(path, "it")
            return f"the workspace file {shown(path, root)} is read-only {how}: {fix}, then try again"
    return None


def _read_only(path: Path, it: str) -> tuple[str, str]:
    """How ``path`` is read-only, and the fix: a read-only mount, or this user's permissions."""
    try:
        mounted_ro = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        mounted_ro = False
    if mounted_ro:
        return "(its filesystem is mounted read-only)", f"mount {it} read-write"
    return "for this user", f"give this user write permission on {it}"


def _server_error(exc: DBAPIError, url) -> MlwsError:
    where = f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"
    state = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
    reason = _first_line(exc).removeprefix("connection failed: ")
    if state == "53100":
        return InsufficientStorage(
            f"no space left on the disk of the workspace's PostgreSQL server ({where}): free space "
            f"there, then try again; {_NOTHING_LOST}")
    if state.startswith("28"):  # invalid authorization
        return Unavailable(f"the workspace's PostgreSQL database at {where} refused this user "
                           f"({reason}): check the user and password of the workspace's metadata "
                           "URL")
    if not state or state.startswith(("08", "57P")):  # no connection, or the server shut down
        return Unavailable(f"cannot reach the workspace's PostgreSQL database at {where} "
                           f"({reason}): check that the server is running and reachable, then "
                           "try again")
    return Unavailable(f"the workspace's PostgreSQL database at {where} failed ({reason}): "
                       f"try again, and check the server's log; {_NOTHING_LOST}")


def file_error(exc: OSError, what: str, path: str | os.PathLike, root=None) -> MlwsError:
    """The workspace error for a failed write of ``what`` under ``path`` (a store's folder)."""
    name = shown(path, root)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return InsufficientStorage(
            f"no space left on the device holding the workspace's {what} ({name}): free space "
            "there, then try again (the workspace needs no restart); nothing of this file was "
            "stored, and what was recorded before is intact")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return Unavailable(f"the workspace's {what} ({name}) cannot be written: it is read-only "
                           f"for this user ({exc.strerror}); make it writable, then try again")
    return Unavailable(f"the workspace's {what} ({name}) failed to write ({exc.strerror}): check "
                       "the disk, then try again; nothing of this file was stored")
