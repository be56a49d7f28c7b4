"""The source snapshot of a run: which files to keep, and the git state.

:func:`collect` lists the files of a project folder worth keeping with a run,
skipping what is ignored or never source:

- ``.git``, ``__pycache__`` and ``.ipynb_checkpoints`` at any depth;
- virtual environments: any folder holding a ``pyvenv.cfg`` file;
- workspaces: any folder holding a ``mlws.toml`` file, and any folder named
  ``.mlws``.  When the root itself is a workspace, only its ``mlws.toml``,
  ``mlws.db*``, ``artifacts/`` and ``live/`` entries are skipped;
- an ``outputs/`` folder at the root: outputs are uploaded as artifacts on
  their own, not as part of the source;
- symlinks that point outside the root, symlinks to folders (never followed,
  so no loops or duplicates), and anything but regular files;
- whatever ``.gitignore`` files (at the root and below, each relative to its
  folder) and a ``.mlwsignore`` file at the root exclude.  ``.mlwsignore`` has
  the same syntax and is applied last, so ``!pattern`` in it can bring back a
  file that a ``.gitignore`` excludes.

Ignored folders are pruned without being read.  Folders that cannot be read
are skipped.  A file that cannot be read is an error naming it (:func:`unreadable`), as
``git add`` refuses one: a snapshot that silently lacks a file would not be the code that ran;
ignore it (``.mlwsignore``) or make it readable.
"""

import os
import subprocess
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from urllib.parse import urlsplit, urlunsplit

from .errors import InvalidInput

#: folder names skipped at any depth
_SKIP_DIRS = frozenset({".git", "__pycache__", ".ipynb_checkpoints", ".mlws"})
#: entries skipped when the root itself is a workspace
_WORKSPACE_ENTRIES = ("mlws.toml", "mlws.db*", "artifacts", "live")
#: a folder holding one of these files is skipped whole (unless it is the root)
_MARKERS = ("mlws.toml", "pyvenv.cfg")
_GIT_TIMEOUT = 5


@dataclass
class SnapshotFile:
    """One file of a source snapshot."""

    #: path relative to the snapshot root, POSIX separators
    path: str
    #: absolute path to read the content from
    abspath: str
    #: size in bytes when collected
    size: int


@dataclass
class GitInfo:
    """The git state of a folder; ``None`` fields could not be determined."""

    commit: str | None
    branch: str | None
    dirty: bool | None
    remote: str | None


# --- ignore rules -----------------------------------------------------------


def _load_spec(path: str):
    """A GitIgnoreSpec from an ignore file, or None if it is missing or empty."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return None
    import pathspec  # only for a folder that has rules (its import costs 10 to 15 ms)

    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    return spec if len(spec) else None


def _ignored(rules: list, rel: str, is_dir: bool) -> bool:
    """Whether ``rel`` is excluded by ``rules``, a list of (base, spec), last match wins."""
    verdict = None
    for base, spec in rules:
        sub = rel[len(base) + 1 :] if base else rel
        result = spec.check_file(sub + "/" if is_dir else sub)
        if result.include is not None:
            verdict = result.include
    return bool(verdict)


# --- walking ----------------------------------------------------------------


@dataclass
class _Walk:
    """State of one :func:`collect` call."""

    root: str
    max_bytes: int
    max_files: int
    mlwsignore: object = None
    files: list = field(default_factory=list)
    total: int = 0
    #: bytes and file counts per folder seen, for the limit message
    dir_bytes: dict = field(default_factory=dict)
    dir_files: dict = field(default_factory=dict)


def _scan(path: str) -> list:
    try:
        with os.scandir(path) as entries:
            return sorted(entries, key=lambda e: e.name)
    except OSError:
        return []


def _inside(path: str, root: str) -> bool:
    return os.path.commonpath([path, root]) == root


def _root_skip(entries: list) -> set:
    """Names to skip at the root: outputs/, and workspace internals if it is one."""
    names = {e.name for e in entries}
    skip = {"outputs"} if "outputs" in names else set()
    if "mlws.toml" in names:
        skip |= {n for n in names if any(fnmatchcase(n, p) for p in _WORKSPACE_ENTRIES)}
    return skip


def _is_marked(entries: list) -> bool:
    """Whether a folder's entries show it is a workspace or a virtualenv."""
    return any(e.name in _MARKERS and e.is_file(follow_symlinks=False) for e in entries)


def _walk_dir(walk: _Walk, rel: str, rules: list) -> None:
    entries = _scan(os.path.join(walk.root, rel))
    if rel and _is_marked(entries):
        return
    skip = _root_skip(entries) if not rel else set()
    if any(e.name == ".gitignore" for e in entries):
        spec = _load_spec(os.path.join(walk.root, rel, ".gitignore"))
        if spec is not None:
            rules = rules + [(rel, spec)]
    active = rules + [("", walk.mlwsignore)] if walk.mlwsignore is not None else rules
    for entry in entries:
        if entry.name in skip or entry.name in _SKIP_DIRS:
            continue
        child = f"{rel}/{entry.name}" if rel else entry.name
        _visit(walk, entry, child, rules, active)


def _visit(walk: _Walk, entry: os.DirEntry, rel: str, rules: list, active: list) -> None:
    if entry.is_symlink() and not _inside(os.path.realpath(entry.path), walk.root):
        return
    try:
        is_dir = entry.is_dir(follow_symlinks=False)
        is_file = not is_dir and entry.is_file()
    except OSError:  # e.g. a symlink loop
        return
    if is_dir and not _ignored(active, rel, True):
        _walk_dir(walk, rel, rules)
    elif is_file and not _ignored(active, rel, False):
        _add(walk, entry, rel)


def _add(walk: _Walk, entry: os.DirEntry, rel: str) -> None:
    try:
        size = entry.stat().st_size
    except OSError:
        return
    if not os.access(entry.path, os.R_OK):
        raise unreadable(rel, "permission denied")
    walk.files.append(SnapshotFile(rel, os.path.join(walk.root, rel), size))
    walk.total += size
    parent = rel.rpartition("/")[0]
    while parent:
        walk.dir_bytes[parent] = walk.dir_bytes.get(parent, 0) + size
        walk.dir_files[parent] = walk.dir_files.get(parent, 0) + 1
        parent = parent.rpartition("/")[0]
    if walk.total > walk.max_bytes or len(walk.files) > walk.max_files:
        raise _too_large(walk)


# --- the limit message ------------------------------------------------------


def _human(size: float) -> str:
    """Binary sizes with short names: 300 MB, 312.4 MB, 2 KB."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            break
        size /= 1024
    text = f"{size:.1f}".removesuffix(".0")
    return f"{text} {unit}" if unit != "B" else f"{int(size)} B"


def _biggest(walk: _Walk, by_count: bool, limit: int = 5) -> list[str]:
    """The heaviest files and folders seen, by bytes or by file count.

    A folder whose weight all sits in one child is left out (the child says
    more), so ``a/b/c/big.bin`` is not preceded by ``a/``, ``a/b/`` and ``a/b/c/``.
    """
    weights = dict(walk.dir_files if by_count else walk.dir_bytes)
    if not by_count:
        weights.update((f.path, f.size) for f in walk.files)
    heaviest_child: dict[str, int] = {}
    for path, weight in weights.items():
        parent = path.rpartition("/")[0]
        heaviest_child[parent] = max(heaviest_child.get(parent, 0), weight)
    useful = [p for p in weights if heaviest_child.get(p, -1) != weights[p]]
    useful.sort(key=lambda p: (-weights[p], p))
    return [_describe(walk, p) for p in useful[:limit]]


def _describe(walk: _Walk, path: str) -> str:
    if path in walk.dir_bytes:
        count = walk.dir_files[path]
        return f"{path}/ ({_human(walk.dir_bytes[path])}, {count:,} file{'s' * (count != 1)})"
    return f"{path} ({_human(next(f.size for f in walk.files if f.path == path))})"


def _too_large(walk: _Walk) -> InvalidInput:
    by_count = len(walk.files) > walk.max_files
    total, limit = _human(walk.total), _human(walk.max_bytes)
    if total == limit:  # '1 MB > 1 MB' would say nothing
        total, limit = f"{walk.total:,} bytes", f"{walk.max_bytes:,} bytes"
    if by_count:
        what = f"has too many files: more than {walk.max_files:,} found"
    else:
        what = f"is too large: the files found so far total {total} > {limit}"
    biggest = _biggest(walk, by_count)
    listing = f" The largest seen: {', '.join(biggest)}." if biggest else ""
    return InvalidInput(
        f"the source snapshot {what}.{listing} "
        "Add what is not source to a .mlwsignore file in the folder (same syntax "
        "as .gitignore), or turn the snapshot off (snapshot=False in Python, --no-snapshot "
        "on the command line)."
    )


def unreadable(rel: str, why: str) -> InvalidInput:
    """The error of a snapshot file ``rel`` (relative to the snapshot's folder) that cannot be
    read, ``why`` (e.g. ``permission denied``): what to do, and no path of this machine."""
    return InvalidInput(
        f"cannot read {rel!r} for the run's source snapshot ({why}): make it readable, or leave "
        f"it out of snapshots with a line '{rel}' in a .mlwsignore file in the folder (same syntax "
        "as .gitignore), or turn the snapshot off (snapshot=False in Python, --no-snapshot on the "
        "command line)")


#: what reading a snapshot file may fail with that is the file's (not the store's) fault
READ_ERRORS = (PermissionError, FileNotFoundError, IsADirectoryError)


def collect(
    root: str | os.PathLike,
    max_bytes: int = 300 * 1024 * 1024,
    max_files: int = 2000,
) -> list[SnapshotFile]:
    """List the files of a project folder to keep as a run's source snapshot.

    See the module docstring for what is skipped.

    Parameters
    ----------
    root : str or os.PathLike
        The project folder.
    max_bytes : int, optional
        The most bytes a snapshot may hold in total (default 300 MB).
    max_files : int, optional
        The most files a snapshot may hold (default 2000).

    Returns
    -------
    list of SnapshotFile
        Sorted by ``path``.

    Raises
    ------
    InvalidInput
        If ``root`` is not a folder, or if the files exceed either limit (the
        message lists the largest files and folders seen and how to leave them
        out), or if a file cannot be read (:func:`unreadable`).
    """
    real = os.path.realpath(root)
    if not os.path.isdir(real):
        raise InvalidInput(
            f"cannot take a source snapshot of {os.fspath(root)!r}: it is not a folder; "
            "pass an existing folder, or turn the snapshot off (snapshot=False / --no-snapshot)"
        )
    walk = _Walk(real, max_bytes, max_files)
    walk.mlwsignore = _load_spec(os.path.join(real, ".mlwsignore"))
    _walk_dir(walk, "", [])
    return sorted(walk.files, key=lambda f: f.path)


# --- git --------------------------------------------------------------------


def _git(path: str, *args: str) -> subprocess.CompletedProcess | None:
    """Run ``git -C path args``; None if git is missing or fails to start."""
    try:
        return subprocess.run(
            ["git", "--no-optional-locks", "-C", path, *args],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_GIT_TIMEOUT,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
            stdin=subprocess.DEVNULL,
        )
    except OSError:
        return None


def _strip_credentials(url: str) -> str:
    """Drop secrets from a remote URL.

    For http(s) the whole user part goes (tokens often sit in the user name);
    for other schemes only a password.  scp-like ``git@host:repo`` stays as is.
    """
    parts = urlsplit(url)
    if not parts.scheme or "@" not in parts.netloc:
        return url
    user, _, host = parts.netloc.rpartition("@")
    if parts.scheme in ("http", "https"):
        netloc = host
    else:
        netloc = f"{user.partition(':')[0]}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def _parse_status(out: str, folder: str = "", untracked_in=None) -> GitInfo:
    """Read commit, branch and dirtiness from ``git status --porcelain=v2 --branch``.

    A changed tracked file anywhere in the repository makes it dirty; an untracked one
    (``? path``, relative to the repository's top) only when ``untracked_in(path)`` says it
    belongs to the run's folder ``folder`` (the repository-relative prefix, ``""`` at the top).
    """
    commit = branch = None
    dirty = False
    for line in out.splitlines():
        if line.startswith("# branch.oid "):
            commit = line.split(" ", 2)[2]
        elif line.startswith("# branch.head "):
            branch = line.split(" ", 2)[2]
        elif line.startswith("? "):
            if untracked_in is not None and untracked_in(line[2:], folder):
                dirty = True
        elif line and not line.startswith("#"):
            dirty = True
    return GitInfo(
        commit=None if commit in (None, "(initial)") else commit,
        branch=None if branch in (None, "(detached)") else branch,
        dirty=dirty,
        remote=None,
    )


def _untracked_source(entry: str, folder: str) -> bool:
    """Whether the untracked ``entry`` (repository-relative; a folder ends in ``/``) holds files
    the run's folder ``folder`` (a prefix ending in ``/``, or ``""``) snapshots: inside it, or a
    folder containing it; not its ``outputs/`` or a workspace's own files (what the snapshot
    leaves out too)."""
    if folder.startswith(entry):  # the run's folder itself is (inside) an untracked folder
        return True
    if not entry.startswith(folder):
        return False
    first = entry[len(folder):].split("/", 1)[0]
    return not (first in ("outputs", *_SKIP_DIRS)
                or any(fnmatchcase(first, p) for p in _WORKSPACE_ENTRIES))


def _head_only(path: str) -> GitInfo | None:
    """Commit and branch without dirtiness, for when ``git status`` is too slow."""
    try:
        done = _git(path, "rev-parse", "HEAD", "--abbrev-ref", "HEAD")
    except subprocess.TimeoutExpired:
        return None
    if done is None or done.returncode != 0:
        return None
    lines = done.stdout.split()
    branch = lines[1] if len(lines) > 1 and lines[1] != "HEAD" else None
    return GitInfo(commit=lines[0] if lines else None, branch=branch, dirty=None, remote=None)


def git_info(path: str | os.PathLike) -> GitInfo | None:
    """The git state of the repository holding ``path``.

    Runs three git commands (``status --porcelain=v2 --branch``, ``rev-parse
    --show-prefix`` and ``config --get remote.origin.url``), each with a 5 s
    timeout, taking no repository locks.

    Parameters
    ----------
    path : str or os.PathLike
        A folder (or a file) inside the repository.

    Returns
    -------
    GitInfo or None
        None when ``path`` is not inside a git repository or git is not
        installed.  ``commit`` is None before the first commit, ``branch`` is
        None on a detached HEAD, ``dirty`` (tracked files changed, staged or
        not, or files in ``path``'s folder that git does not track and are not
        ignored, so the commit alone would not give back the code that ran;
        ``outputs/`` and a workspace's own files excepted) is None when
        ``git status`` timed out, and ``remote`` (the origin
        URL, credentials stripped) is None when there is no origin.
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        path = os.path.dirname(path) or "."
    try:
        done = _git(path, "-c", "status.relativePaths=false", "status", "--porcelain=v2", "--branch",
                    "--untracked-files=normal")
        prefix = _git(path, "rev-parse", "--show-prefix") if done and done.returncode == 0 else None
    except subprocess.TimeoutExpired:
        info = _head_only(path)
    else:
        folder = prefix.stdout.strip() if prefix is not None and prefix.returncode == 0 else ""
        info = (_parse_status(done.stdout, folder, _untracked_source)
                if done and done.returncode == 0 else None)
    if info is None:
        return None
    try:
        done = _git(path, "config", "--get", "remote.origin.url")
    except subprocess.TimeoutExpired:
        done = None
    if done is not None and done.returncode == 0 and done.stdout.strip():
        info.remote = _strip_credentials(done.stdout.strip())
    return info
