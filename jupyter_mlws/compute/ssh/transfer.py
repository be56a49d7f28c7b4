"""Files over SFTP: a file or a folder tree up (a run's snapshot and notebook), down (its outputs
and executed notebook), and a remote work folder removed.

Remote paths are POSIX paths, relative to the login folder or absolute.  Only regular files and
folders travel: symbolic links and special files are skipped both ways, so neither side can
point the other outside the tree.  A name coming down must be a plain name (never ``..``, never
with a slash): a host cannot write outside the local folder it is given.  Failures are
StepFailed at the ``transfer`` step, naming the remote path but never a local one.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
from pathlib import Path

from ...errors import InvalidInput
from ...limits import check_text
from ..failures import TRANSFER, StepFailed

#: folders created on the host are the login user's alone
DIR_MODE = 0o700


def _remote(path: object) -> str:
    text = check_text(path, "a remote path")
    if not text or "\0" in text or "\n" in text:
        raise InvalidInput("a remote path is a non-empty path without NUL or newline")
    return posixpath.normpath(text)


def _failed(conn, what: str, remote: str, exc: OSError) -> StepFailed:
    why = exc.strerror or (os.strerror(exc.errno) if exc.errno else "") or str(exc) or type(exc).__name__
    return StepFailed(TRANSFER, conn.where, f"{what} {remote!r} failed: {why}")


def _makedirs(sftp, path: str) -> None:
    """``mkdir -p`` over SFTP."""
    parts, current = [p for p in path.split("/") if p], "/" if path.startswith("/") else ""
    for part in parts:
        current = posixpath.join(current, part) if current else part
        try:
            if not stat.S_ISDIR(sftp.stat(current).st_mode):
                raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        except FileNotFoundError:
            sftp.mkdir(current, DIR_MODE)


def put(conn, local: Path, remote: str) -> int:
    """Upload the file or folder tree ``local`` to ``remote`` (parent folders created, files
    replaced, their executable bits kept); return the bytes sent."""
    remote = _remote(remote)
    if local.is_symlink() or not (local.is_file() or local.is_dir()):
        raise InvalidInput("only a regular file or a folder can be uploaded")
    sftp = conn.sftp
    try:
        if local.is_file():
            _makedirs(sftp, posixpath.dirname(remote))
            return _put_file(sftp, local, remote)
        sent = 0
        for folder, dirs, files in os.walk(local):
            rel = Path(folder).relative_to(local).as_posix()
            target = remote if rel == "." else posixpath.join(remote, rel)
            _makedirs(sftp, target)
            dirs[:] = [d for d in dirs if not (Path(folder) / d).is_symlink()]
            for name in files:
                path = Path(folder) / name
                if path.is_file() and not path.is_symlink():
                    sent += _put_file(sftp, path, posixpath.join(target, name))
        return sent
    except OSError as exc:
        raise _failed(conn, "uploading to", remote, exc) from None


def _put_file(sftp, local: Path, remote: str) -> int:
    attrs = sftp.put(str(local), remote)
    sftp.chmod(remote, stat.S_IMODE(local.stat().st_mode) & 0o755)
    return attrs.st_size or 0


def get(conn, remote: str, local: Path, *, max_bytes: int | None = None) -> int:
    """Download the file or folder tree ``remote`` into ``local`` (a file's path, or the folder
    the tree's content goes in); return the bytes received.  More than ``max_bytes`` in all is
    StepFailed (what came so far stays)."""
    remote = _remote(remote)
    sftp = conn.sftp
    budget = [max_bytes]
    try:
        if not stat.S_ISDIR(sftp.stat(remote).st_mode):
            local.parent.mkdir(parents=True, exist_ok=True)
            return _get_file(conn, sftp, remote, local, sftp.stat(remote).st_size or 0, budget)
        return _get_tree(conn, sftp, remote, local, budget)
    except OSError as exc:
        raise _failed(conn, "downloading", remote, exc) from None


def _get_tree(conn, sftp, remote: str, local: Path, budget: list) -> int:
    if local.is_symlink():
        local.unlink()  # never write through a link left in the local folder
    local.mkdir(parents=True, exist_ok=True)
    received = 0
    for entry in sftp.listdir_attr(remote):
        name = entry.filename
        if name in (".", "..") or "/" in name or "\\" in name or "\0" in name or not name:
            continue  # not a plain name: never followed
        mode = entry.st_mode or 0
        if stat.S_ISDIR(mode):
            received += _get_tree(conn, sftp, posixpath.join(remote, name), local / name, budget)
        elif stat.S_ISREG(mode):
            received += _get_file(conn, sftp, posixpath.join(remote, name), local / name,
                                  entry.st_size or 0, budget)
    return received


def _get_file(conn, sftp, remote: str, local: Path, size: int, budget: list) -> int:
    if budget[0] is not None:
        if size > budget[0]:
            raise StepFailed(TRANSFER, conn.where, f"downloading {remote!r} would pass the limit "
                             "of what one transfer may bring back")
        budget[0] -= size
    if local.is_symlink():
        local.unlink()  # never write through a link left in the local folder
    sftp.get(remote, str(local))
    return size


def remove(conn, remote: str) -> None:
    """Remove the remote folder ``remote`` and everything in it; nothing when it is missing.

    Refuses (InvalidInput) the login folder itself, ``/`` and any path with a ``..`` part:
    only a folder below the login folder, or an absolute one at least two levels deep.
    """
    text = check_text(remote, "a remote path")
    path = _remote(text)
    parts = [p for p in path.split("/") if p]
    if ".." in text.split("/") or path in (".", "/") or text.startswith("~") \
            or (path.startswith("/") and len(parts) < 2):
        raise InvalidInput(f"refusing to remove {text!r}: give a work folder below the login "
                           "folder, or an absolute one at least two levels deep")
    status, output = conn.run(["rm", "-rf", "--", path])
    if status != 0:
        raise StepFailed(TRANSFER, conn.where, f"removing {path!r} failed: "
                         f"{output.strip().splitlines()[-1][:200] if output.strip() else status}")
