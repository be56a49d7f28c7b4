"""What a local folder (or file) holds as a dataset: its regular files, named as artifacts are.

Each file's path relative to the folder must be a valid artifact name exactly as it is
(:func:`jupyter_mlws.fsutil.validate_name`: no control characters, no backslashes, no
percent-encoding that would read as another name), else the register is refused naming it.
A symlink to a file inside the folder counts as that file's content under the link's name; a
symlink leading out of the folder is refused (never followed out of the tree); symlinks to
folders are not followed (no loops, no file counted twice) and, like sockets and pipes, are
listed as skipped.
"""

from __future__ import annotations

import os
import stat as S
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidInput, NotFound
from ..fsutil import normal_child, shown_path, validate_name


@dataclass(slots=True)
class Found:
    """One file of a scanned folder."""

    #: path relative to the scanned folder, '/'-separated
    path: str
    #: where to read it (a symlink's own path: it is read through the link)
    abspath: str
    st: os.stat_result


@dataclass
class Scan:
    """The files of a folder, and what was left out (relative paths, with why); ``one_file``:
    the source was one file (``root`` is then its folder, whose other files are not scanned)."""

    root: str
    files: list[Found] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    one_file: bool = False


def _checked(rel: str) -> str:
    try:
        clean = validate_name(rel)
    except InvalidInput as exc:
        why = getattr(exc, "why", None) or str(exc)
        raise InvalidInput(f"{rel!r} cannot be a dataset file's name ({why}): rename it") from None
    if clean != rel:
        raise InvalidInput(f"{rel!r} cannot be a dataset file's name: it would read as {clean!r}; "
                           "rename it")
    return rel


def scan(source: str | os.PathLike) -> Scan:
    """The files of the folder (or the one file) ``source``.

    Raises NotFound when it does not exist, InvalidInput for a bad name, a symlink out of the
    folder, or a folder with no files."""
    path = Path(source).expanduser().absolute()
    try:
        top = path.stat()
    except FileNotFoundError:
        raise NotFound(f"no file or folder at {shown_path(path)!r}") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {shown_path(path)!r}: {exc.strerror}") from None
    if S.S_ISREG(top.st_mode):
        return Scan(str(path.parent), [Found(_checked(path.name), str(path), top)], one_file=True)
    if not S.S_ISDIR(top.st_mode):
        raise InvalidInput(f"{shown_path(path)!r} is neither a file nor a folder")
    out = Scan(str(path))
    real_root = os.path.realpath(path)
    stack = [("", True)]  # (folder relative to the root, whether it is a normal name)
    while stack:
        rel_dir, normal = stack.pop()
        try:
            with os.scandir(os.path.join(out.root, rel_dir)) as entries:
                listed = list(entries)
        except OSError as exc:
            raise InvalidInput(f"cannot read the folder {rel_dir or '.'!r}: {exc.strerror}") from None
        for entry in listed:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            _one(out, entry, rel, real_root, stack, normal and normal_child(rel_dir, entry.name))
    if not out.files:
        raise InvalidInput(f"the folder {shown_path(path)!r} holds no files to register")
    out.files.sort(key=lambda f: f.path)
    return out


def _one(out: Scan, entry: os.DirEntry, rel: str, real_root: str, stack: list,
         normal: bool) -> None:
    """File, folder or link ``entry`` (at ``rel``; ``normal``: its name needs no more check)."""
    st = entry.stat(follow_symlinks=False)
    if S.S_ISDIR(st.st_mode):
        stack.append((rel, normal))
    elif S.S_ISREG(st.st_mode):
        out.files.append(Found(rel if normal else _checked(rel), entry.path, st))
    elif S.S_ISLNK(st.st_mode):
        target = os.path.realpath(entry.path)
        if os.path.commonpath([target, real_root]) != real_root:
            raise InvalidInput(f"{rel!r} is a symlink leading out of the folder: copy the file into "
                               "the folder, or remove the link")
        try:
            followed = os.stat(target)
        except OSError:
            out.skipped.append(f"{rel} (a broken symlink)")
            return
        if S.S_ISREG(followed.st_mode):
            out.files.append(Found(_checked(rel), entry.path, followed))
        else:
            out.skipped.append(f"{rel} (a symlink to a folder: not followed)")
    else:
        out.skipped.append(f"{rel} (not a regular file)")
