"""Host keys: the workspace's ``known_hosts`` file, keys as text, and their fingerprints.

The workspace trusts a host only by the key pinned for it when its target was created (shown as
a SHA256 fingerprint and confirmed, or given with ``--host-key``).  Pins live in the targets'
records and in the workspace's own ``known_hosts`` file, ``.mlws/known_hosts`` in the workspace
folder (never ``~/.ssh``), which connections load with paramiko's ``RejectPolicy``: a host that
is not there, or presents another key, is refused.

The file is created with mode 0600 at open (``O_CREAT | O_EXCL``, never chmod-ed afterwards);
every change writes a new file created the same way and renames it over the old one, so a
reader sees the old lines or the new ones.  A file other users may write is refused (they could
pin their own key).

Only key parsing needs paramiko; it is imported when a key is read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ...errors import InvalidInput, Unavailable, missing_dependency

#: key types a pin may have (what paramiko verifies)
KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
             "ssh-rsa")
#: the workspace's known_hosts file, relative to the workspace folder
KNOWN_HOSTS = Path(".mlws") / "known_hosts"
#: the longest key text accepted (an RSA 16384-bit key is about 2,800 characters)
KEY_TEXT_MAX = 4096


def _paramiko():
    try:
        import paramiko
    except ImportError:
        raise missing_dependency("paramiko", "ssh") from None
    return paramiko


def fingerprint_of(blob: bytes) -> str:
    """The SHA256 fingerprint of a public key's wire form, as OpenSSH prints it."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


@dataclass(frozen=True)
class HostKey:
    """A host's public key.

    Attributes
    ----------
    type : str
        ``ssh-ed25519``, ``ecdsa-sha2-nistp256``, ... (:data:`KEY_TYPES`).
    data : str
        The key's wire form, base64.
    """

    type: str
    data: str

    @property
    def text(self) -> str:
        """``"ssh-ed25519 AAAA..."``: what ``--host-key`` takes and the record keeps."""
        return f"{self.type} {self.data}"

    @property
    def fingerprint(self) -> str:
        """``"SHA256:..."``, as ``ssh-keygen -lf`` shows it."""
        return fingerprint_of(base64.b64decode(self.data))

    @classmethod
    def of(cls, key) -> "HostKey":
        """The host key of a paramiko ``PKey`` (what a server presented)."""
        return cls(key.get_name(), key.get_base64())

    def pkey(self):
        """This key as a paramiko ``PKey``."""
        entry = _paramiko().hostkeys.HostKeyEntry.from_line(f"h {self.text}")
        if entry is None or entry.key is None:
            raise InvalidInput(f"a host key of type {self.type} cannot be used: use one of "
                               f"{', '.join(KEY_TYPES)}")
        return entry.key


def parse_host_key(text: object) -> HostKey:
    """A host key from ``"TYPE BASE64 [comment]"`` (a line of a ``.pub`` file or of
    ``ssh-keyscan``'s output without the host), else InvalidInput saying what is wrong."""
    example = "e.g. 'ssh-ed25519 AAAAC3Nza...' (ssh-keyscan -t ed25519 HOST prints it after the host)"
    if not isinstance(text, str) or not text.strip() or len(text) > KEY_TEXT_MAX:
        raise InvalidInput(f"a host key is its type and its base64 text, at most {KEY_TEXT_MAX} "
                           f"characters: {example}")
    fields = text.split()
    if len(fields) < 2 or fields[0] not in KEY_TYPES:
        shown = fields[0][:40] if fields else ""
        raise InvalidInput(f"a host key starts with its type ({', '.join(KEY_TYPES)}), got "
                           f"{shown!r}: {example}")
    try:
        blob = base64.b64decode(fields[1], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"the host key's second field is not base64: {example}") from None
    if blob[4:4 + int.from_bytes(blob[:4], "big")] != fields[0].encode():
        raise InvalidInput(f"the host key's base64 text is not a {fields[0]} key: {example}")
    key = HostKey(fields[0], base64.b64encode(blob).decode())
    try:
        key.pkey()
    except (ValueError, TypeError, IndexError, _paramiko().SSHException):
        raise InvalidInput(f"the host key is not a valid {fields[0]} key: {example}") from None
    return key


def known_name(host: str, port: int) -> str:
    """How a host is named in a known_hosts file: ``host`` on port 22, else ``[host]:port``."""
    return host if port == 22 else f"[{host}]:{port}"


class KnownHosts:
    """The workspace's known_hosts file at ``path``; ``shown`` names it in messages (never a
    server path).  Methods raise Unavailable when the file cannot be read or written, or other
    users may write it."""

    def __init__(self, path: str | os.PathLike, shown: str = "(.mlws/known_hosts of the workspace)"):
        self.path = Path(path)
        self.shown = shown

    def _lines(self) -> list[str]:
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise Unavailable(f"the workspace's known_hosts file {self.shown} cannot be read "
                              f"({exc.strerror}): check that it belongs to this user") from None
        with os.fdopen(fd, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            if not stat.S_ISREG(mode) or stat.S_IMODE(mode) & 0o022:
                raise Unavailable(f"the workspace's known_hosts file {self.shown} may be changed by "
                                  f"other users (mode {stat.S_IMODE(mode):04o}): make it private "
                                  "(chmod 600) and check its lines, or remove it (targets pin "
                                  "their keys again on their next connection)")
            return f.read().decode("utf-8", "replace").splitlines()

    def check(self) -> None:
        """Read the file (if any), to refuse one that cannot be read or others may change."""
        self._lines()

    def keys(self, host: str, port: int) -> dict[str, str]:
        """The keys the file pins for ``host``:``port``, as ``{type: base64}``."""
        name = known_name(host, port)
        out = {}
        for line in self._lines():
            fields = line.split()
            if len(fields) >= 3 and name in fields[0].split(","):
                out[fields[1]] = fields[2]
        return out

    def pin(self, host: str, port: int, key: HostKey) -> None:
        """Make ``key`` the one key the file trusts for ``host``:``port``."""
        name = known_name(host, port)
        self._write(self._without(name) + [f"{name} {key.text}"])

    def forget(self, host: str, port: int) -> None:
        """Remove the file's keys for ``host``:``port`` (nothing when it has none)."""
        name = known_name(host, port)
        lines = self._lines()
        kept = self._without(name, lines)
        if len(kept) != len(lines):
            self._write(kept)

    def ensure(self, host: str, port: int, key: HostKey) -> None:
        """Pin ``key`` for ``host``:``port`` unless the file pins exactly it already (a pin made
        on another machine of a team, or a file restored from a backup)."""
        if self.keys(host, port) != {key.type: key.data}:
            self.pin(host, port, key)

    def _without(self, name: str, lines: list[str] | None = None) -> list[str]:
        lines = self._lines() if lines is None else lines
        return [ln for ln in lines if not (ln.split() and name in ln.split()[0].split(","))]

    def _write(self, lines: list[str]) -> None:
        """Replace the file by a new one holding ``lines``, created 0600 (never chmod-ed)."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.urandom(6).hex()}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(tmp, flags, 0o600)
            try:
                os.write(fd, "".join(f"{ln}\n" for ln in lines).encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise Unavailable(f"the workspace's known_hosts file {self.shown} cannot be written "
                              f"({exc.strerror})") from None
