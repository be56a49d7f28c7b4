"""File safety, in one place: name validation, confinement to a root, atomic writes.

Used for artifact names, output-notebook paths, model files and every file the workspace writes.

An artifact name is a relative POSIX path inside a run's artifact space, such as
``out/model.pkl``.  :func:`validate_name` turns what a user typed into the one
normalised form the workspace stores; :func:`safe_join` maps it to a file under
an artifact root and refuses anything that would land outside that root.
:func:`atomic_write` and :func:`atomic_copy` put a file in place so that readers
see either the old content or the new one, never a half-written file.
"""

import os
import pathlib
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterable
from urllib.parse import unquote_to_bytes

from .errors import InvalidInput

#: longest accepted name, in characters (after percent-decoding)
MAX_NAME_CHARS = 1024
#: longest accepted path segment, in UTF-8 bytes (the common filesystem limit)
MAX_SEGMENT_BYTES = 255
#: percent-decoding rounds before a name counts as maliciously nested
_MAX_DECODE_ROUNDS = 8
_DRIVE = re.compile(r"^[A-Za-z]:")
#: printable ASCII but '%' and '\\': a name of these alone needs no decoding or character checks
_PLAIN = re.compile(r"[\x20-\x24\x26-\x5b\x5d-\x7e]+")
_CHUNK = 1024 * 1024


def _invalid(name: str, reason: str) -> InvalidInput:
    shown = name if len(name) <= 80 else name[:77] + "..."
    error = InvalidInput(
        f"invalid artifact name {shown!r}: {reason}; "
        "use a relative path like 'out/model.pkl'"
    )
    error.why = reason  # what is wrong alone, for callers naming the thing otherwise
    return error


def _decode(original: str) -> str:
    """Percent-decode ``original`` until it no longer changes."""
    name = original
    for _ in range(_MAX_DECODE_ROUNDS):
        if "%" not in name:
            return name
        try:
            decoded = unquote_to_bytes(name).decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid(original, "a percent-encoding is not valid UTF-8") from None
        if decoded == name:
            return name
        name = decoded
    raise _invalid(original, "too many nested percent-encodings")


def _check_text(original: str, name: str) -> None:
    """Refuse control characters, backslashes, absolute paths and overlong names."""
    if not name:
        raise _invalid(original, "the name is empty")
    if len(name) > MAX_NAME_CHARS:
        raise _invalid(original, f"the name is longer than {MAX_NAME_CHARS} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        raise _invalid(original, "the name contains a NUL byte, another control character or invalid Unicode")
    if "\\" in name:
        raise _invalid(original, "backslashes are not allowed, separate folders with '/'")
    if name.startswith("/") or _DRIVE.match(name):
        raise _invalid(original, "absolute paths are not allowed")


def _segments(original: str, name: str) -> list[str]:
    """Split on '/', drop empty and '.' segments, refuse '..' and overlong ones."""
    parts = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            raise _invalid(original, "'..' segments are not allowed")
        if len(part.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise _invalid(
                original, f"a path segment is longer than {MAX_SEGMENT_BYTES} bytes"
            )
        parts.append(part)
    if not parts:
        raise _invalid(original, "the name has no file name in it")
    return parts


def validate_name(name: str) -> str:
    """Validate a user-supplied artifact name and return its normalised form.

    Percent-encodings are decoded repeatedly until the name is stable, and the
    checks apply to the decoded name, which is also what is returned (so
    ``a%20b.txt`` is stored as ``a b.txt``).

    Parameters
    ----------
    name : str
        A relative path inside a run's artifact space, e.g. ``out/model.pkl``.

    Returns
    -------
    str
        The normalised POSIX form: ``.`` and empty segments dropped, no leading
        or trailing ``/``.  ``./a//b/`` becomes ``a/b``.

    Raises
    ------
    InvalidInput
        If the name is not a string, is empty, is longer than 1024 characters,
        has a segment longer than 255 bytes, contains a control character or a
        backslash, is absolute (``/x``, ``//server``, ``C:\\x``, ``C:/x``) or
        has a ``..`` segment, before or after percent-decoding.
    """
    if not isinstance(name, str):
        raise InvalidInput(
            f"invalid artifact name {name!r}: expected a string; "
            "use a relative path like 'out/model.pkl'"
        )
    if _already_normal(name):  # most names: a dataset of 10,000 files checks 10,000 of them
        return name
    _check_text(name, name)
    decoded = _decode(name)
    _check_text(name, decoded)
    return "/".join(_segments(name, decoded))


def _already_normal(name: str) -> bool:
    """Whether ``name`` is plain printable ASCII already in its normal form, which
    :func:`validate_name` would return unchanged (every other name takes the full checks)."""
    if len(name) > MAX_NAME_CHARS or not _PLAIN.fullmatch(name) or _DRIVE.match(name):
        return False
    return all(part not in ("", ".", "..") and len(part) <= MAX_SEGMENT_BYTES
               for part in name.split("/"))


def normal_child(folder: str, name: str) -> bool:
    """Whether ``folder/name`` (``name`` alone when ``folder`` is empty) is in the normal form
    :func:`validate_name` returns unchanged, given that ``folder`` is (or is empty) and that
    ``name`` is one segment (a directory entry's name): the check of ``name`` alone, so that a
    folder of 10,000 files does not check its own path 10,000 times.  False means "not known":
    take :func:`validate_name`."""
    if not folder:
        return _already_normal(name)
    return (len(name) <= MAX_SEGMENT_BYTES and len(folder) + 1 + len(name) <= MAX_NAME_CHARS
            and name not in (".", "..") and "/" not in name and _PLAIN.fullmatch(name) is not None)


def safe_join(root: str | os.PathLike, name: str) -> pathlib.Path:
    """Resolve an artifact name under ``root``, refusing anything outside it.

    Parameters
    ----------
    root : str or os.PathLike
        The artifact root of a run.  It need not exist yet.
    name : str
        A user-supplied artifact name, validated with :func:`validate_name`.

    Returns
    -------
    pathlib.Path
        The absolute path with symlinks resolved; it lies strictly inside the
        resolved ``root``.

    Raises
    ------
    InvalidInput
        If the name is invalid, or if it resolves (through a symlink) outside
        the root or onto the root itself.

    Notes
    -----
    Containment is checked on whole path components, so a sibling such as
    ``artifacts2`` never passes for ``artifacts``.  The check is made at call
    time: it cannot guard against a symlink created inside the root later.
    """
    clean = validate_name(name)
    real_root = pathlib.Path(os.path.realpath(root))
    target = pathlib.Path(os.path.realpath(real_root / clean))
    if target == real_root:
        raise _invalid(name, "it resolves to the artifact folder itself (through a symlink)")
    if not target.is_relative_to(real_root):
        raise _invalid(name, "it resolves outside the run's artifacts (through a symlink)")
    return target


def _fsync_dir(directory: pathlib.Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where unsupported)."""
    if os.name == "nt":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    """The process umask, read without changing it where the OS allows."""
    try:  # this process's own status (no process control: that is compute.local's)
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_atomically(path, fill) -> int:
    """Create ``path`` through a temp file that ``fill(file)`` writes; return its size."""
    def write(fd: int, _tmp: str) -> int:
        with os.fdopen(fd, "wb") as out:
            fill(out)
            out.flush()
            os.fsync(out.fileno())
            return out.tell()

    return _through_temp(path, write)


def _through_temp(path, write) -> int:
    """Create ``path`` from a temp file beside it that ``write(fd, temp path)`` fills, makes
    durable and closes (returning its size); renamed into place, the folder fsynced."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:50]}.", suffix=".tmp")
    try:
        size = write(fd, tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)
    return size


def atomic_fetch(path: str | os.PathLike, fetch: Callable[[str], object]) -> int:
    """Create ``path`` atomically, as :func:`atomic_write` does, from a temp file beside it that
    ``fetch(temp path)`` writes by its path (a downloader that takes a local file name, such as
    fsspec's ``get_file``); return its size.  An error of ``fetch`` leaves ``path`` as it was.
    """
    def write(fd: int, tmp: str) -> int:
        os.close(fd)
        fetch(tmp)
        done = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(done)
            return os.fstat(done).st_size
        finally:
            os.close(done)

    return _through_temp(path, write)


def atomic_write(path: str | os.PathLike, data: bytes | Iterable[bytes]) -> int:
    """Write a file so that readers never see it half-written.

    The data goes to a temp file in the same directory, which is fsynced and
    then renamed over ``path``; the directory is fsynced too.  On any error the
    temp file is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or os.PathLike
        The destination; missing parent directories are created.
    data : bytes or iterable of bytes
        The whole content, or chunks of it (e.g. from a generator).

    Returns
    -------
    int
        The number of bytes written.
    """
    def fill(out):
        if isinstance(data, (bytes, bytearray, memoryview)):
            out.write(data)
        else:
            for chunk in data:
                out.write(chunk)

    return _write_atomically(path, fill)


def atomic_copy(src: str | os.PathLike, dest: str | os.PathLike) -> int:
    """Copy the content of ``src`` to ``dest`` atomically, as :func:`atomic_write` does.

    Parameters
    ----------
    src : str or os.PathLike
        The file to copy; only its content is copied, not its mode or times.
    dest : str or os.PathLike
        The destination; missing parent directories are created.

    Returns
    -------
    int
        The number of bytes copied.
    """
    with open(src, "rb") as source:
        return _write_atomically(dest, lambda out: shutil.copyfileobj(source, out, _CHUNK))


def shown_path(path: str | os.PathLike, *bases: str | os.PathLike) -> str:
    """``path`` as a message shows it: relative to the first of ``bases`` (default: the
    current folder) that holds it, else its name alone; never a server's absolute path."""
    path = pathlib.Path(path)
    for base in bases or (os.getcwd(),):
        for a, b in ((path, pathlib.Path(base)), (_resolved(path), _resolved(base))):
            if a.is_absolute() and a.is_relative_to(b) and a != b:
                return a.relative_to(b).as_posix()
    return path.as_posix() if not path.is_absolute() else path.name


def without_roots(text: str, *roots: str | os.PathLike) -> str:
    """``text`` (an error message) with each root folder's absolute path cut from the paths
    it names, so that they read relative to it."""
    for root in roots:
        for form in {str(pathlib.Path(root)), str(_resolved(root))}:
            text = text.replace(form.rstrip(os.sep) + os.sep, "")
    return text


def _resolved(path: str | os.PathLike) -> pathlib.Path:
    try:
        return pathlib.Path(path).resolve()
    except (OSError, RuntimeError):
        return pathlib.Path(path)
