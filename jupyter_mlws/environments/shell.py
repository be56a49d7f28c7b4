"""How environments reach a target: a tiny shell, the one thing a compute backend implements.

An environment is built by running programs on the target and moving a few files there.
:class:`Shell` is all the builder asks of a target: four methods, argv lists only (never a
command line a shell parses: every value arrives literally), paths on the target as POSIX
strings.  :class:`LocalShell` is this machine; an SSH backend implements the same four over
one connection (``run``: an exec channel with every argument ``shlex.quote``-d;
``put``/``get``: SFTP; ``exists``: SFTP ``stat``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Protocol, Sequence, runtime_checkable

from ..errors import Unavailable


@dataclass(frozen=True)
class Result:
    """What a program run on a target did: its exit ``status`` (a signal: 128 + its number)
    and its ``output`` (stdout and stderr together, as text, the last bytes when long)."""

    status: int
    output: str

    @property
    def ok(self) -> bool:
        return self.status == 0


@runtime_checkable
class Shell(Protocol):
    """A target's machine, as the environment builder uses it.

    Attributes
    ----------
    name : str
        The target's name, for messages (``"local"``, an SSH target's name).
    """

    name: str

    def run(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
            cwd: str | None = None, timeout: float | None = None) -> Result:
        """Run ``argv`` (``argv[0]`` found on the target's ``PATH``) and wait for it.

        Parameters
        ----------
        argv : sequence of str
            The program and its arguments, each passed literally (an SSH shell quotes each).
        env : mapping, optional
            Variables added to the target's environment for this program.
        cwd : str, optional
            The folder it runs in (default: the target's home or current folder).
        timeout : float, optional
            Seconds; the program is killed after it and Unavailable raised.

        Returns
        -------
        Result
            Its status and output; a program that ran and failed is a Result, not an error.

        Raises
        ------
        Unavailable
            The target could not be reached, the program could not be started, or it
            outran ``timeout``.
        """
        ...

    def put(self, local: Path, remote: str) -> None:
        """Copy the file ``local`` to ``remote`` on the target (its folder created; a file there
        replaced).  Raises Unavailable when the target cannot be written."""
        ...

    def get(self, remote: str, local: Path) -> None:
        """Copy the target's file ``remote`` to ``local``.  Raises Unavailable when it cannot
        be read (missing included)."""
        ...

    def exists(self, remote: str) -> bool:
        """Whether ``remote`` (a file or folder) exists on the target.  Raises Unavailable
        when the target cannot be reached."""
        ...


#: the last bytes of a program's output kept in a Result
OUTPUT_CAP = 64 * 1024


class LocalShell:
    """This machine as a :class:`Shell` (what the ``local`` target builds with)."""

    def __init__(self, name: str = "local"):
        self.name = name

    def run(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
            cwd: str | None = None, timeout: float | None = None) -> Result:
        full_env = {**os.environ, **(env or {})}
        try:
            done = subprocess.run(list(argv), env=full_env, cwd=cwd, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        except FileNotFoundError:
            raise Unavailable(f"{argv[0]!r} is not installed on target {self.name!r}") from None
        except subprocess.TimeoutExpired:
            raise Unavailable(f"{Path(argv[0]).name} on target {self.name!r} ran longer than "
                              f"{timeout:g} s and was stopped") from None
        except OSError as exc:
            raise Unavailable(f"cannot start {Path(argv[0]).name} on target {self.name!r}: "
                              f"{exc.strerror}") from None
        status = done.returncode if done.returncode >= 0 else 128 - done.returncode
        return Result(status, done.stdout[-OUTPUT_CAP:].decode("utf-8", "replace"))

    def put(self, local: Path, remote: str) -> None:
        try:
            Path(remote).parent.mkdir(parents=True, exist_ok=True)
            tmp = f"{remote}.part-{uuid.uuid4().hex[:12]}"
            shutil.copyfile(local, tmp)
            os.replace(tmp, remote)
        except OSError as exc:
            raise Unavailable(f"cannot write {Path(remote).name} on target {self.name!r}: "
                              f"{exc.strerror}") from None

    def get(self, remote: str, local: Path) -> None:
        try:
            shutil.copyfile(remote, local)
        except OSError as exc:
            raise Unavailable(f"cannot read {Path(remote).name} on target {self.name!r}: "
                              f"{exc.strerror}") from None

    def exists(self, remote: str) -> bool:
        return os.path.exists(remote)
