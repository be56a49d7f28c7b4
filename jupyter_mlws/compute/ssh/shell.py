"""An ssh target's host as an environment :class:`~jupyter_mlws.environments.shell.Shell`: what
the environment builder runs and copies there, over one verified connection opened on first use.

``run`` is :meth:`SSHConnection.run <.connection.SSHConnection.run>` (an argv list, every value
quoted, its own process group); ``put``/``get`` are SFTP; ``exists`` is an SFTP ``stat``.
"""

from __future__ import annotations

import posixpath
import threading
from pathlib import Path
from typing import Callable, Mapping, Sequence

from ...environments.shell import OUTPUT_CAP, Result


class SSHShell:
    """Target ``name``'s host, reached by ``connect()`` (an open
    :class:`~.connection.SSHConnection`) the first time it is used, then kept; :meth:`close` it.
    Every failure to reach the host is a StepFailed (an Unavailable) naming the step."""

    def __init__(self, name: str, connect: Callable[[], object]):
        self.name = name
        self._connect = connect
        self._conn = None
        self._lock = threading.Lock()

    @property
    def conn(self):
        with self._lock:
            if self._conn is None or not self._conn.is_active():
                self._conn = self._connect()
            return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def absolute(self, path: str) -> str:
        """``path`` on the host made absolute (a relative one is below the login folder)."""
        if posixpath.isabs(path):
            return posixpath.normpath(path)
        return posixpath.join(self.conn.sftp.normalize("."), path)

    def run(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
            cwd: str | None = None, timeout: float | None = None) -> Result:
        done = self.conn.run(list(argv), env=env, cwd=cwd, timeout=timeout)
        return Result(done.status, done.output[-OUTPUT_CAP:])

    def put(self, local: Path, remote: str) -> None:
        self.conn.put(local, remote)

    def get(self, remote: str, local: Path) -> None:
        self.conn.get(remote, local)

    def exists(self, remote: str) -> bool:
        try:
            self.conn.sftp.stat(remote)
            return True
        except FileNotFoundError:
            return False
        except OSError as exc:
            from ..failures import TRANSFER, StepFailed

            raise StepFailed(TRANSFER, self.conn.where, f"cannot look at {remote!r}: "
                             f"{exc.strerror or exc}") from None
