"""Remote commands from argv lists: every value quoted, each command in a process group of its
own, its output streamed back, its exit status returned.

The host's login shell (a POSIX shell: sh, dash, bash, zsh) is handed one line::

    cd 'WORK DIR' && exec setsid -w sh -c 'echo "$$"; eval "$(cat)"; ...; exec "$@" </dev/null' mlws 'ARG0' 'ARG1' ...

- every user value (the folder, each argument) is quoted with :func:`shlex.quote`: a value such
  as ``x; touch /tmp/p`` or ``$(id)`` arrives as one literal argument;
- ``setsid`` makes the command lead a new session and process group, whose id it prints first
  (``$$``): :meth:`RemoteProcess.stop` signals that whole group, so a kernel and everything it
  started end with it;
- environment variables travel on the command's stdin as ``export NAME='value'`` lines (names
  are identifiers, values quoted), never in a command line: another user of the host cannot read
  a token in its process list.  The command itself gets ``/dev/null`` as stdin.
- a program given as ``~/PATH`` (``--python ~/venv/bin/python``) is the login's home's, as the
  host sees it (``$HOME/PATH``, expanded there, never on this machine); any other argument
  starting with ``~`` stays literal.

What the host's ``sh`` says about a command it could not start (``mlws: 1: exec: PROG: Permission
denied``, dash's ``$0: LINE:`` in front) reads as ``PROG: Permission denied`` through
:func:`plain`.
"""

from __future__ import annotations

import re
import select
import shlex
import time
from typing import Callable, Mapping, NamedTuple, Sequence

import paramiko

from ...errors import InvalidInput
from ...limits import check_text
from ..failures import ENVIRONMENT, EXECUTION, StepFailed

#: what the host's ``sh -c`` runs: report the group, read the environment, become the command
WRAPPER = ('echo "$$"; eval "$(cat)"; '
           'case $1 in "~/"*) p=$HOME/${1#??}; shift; set -- "$p" "$@";; esac; '
           'exec "$@" </dev/null')
#: the output :func:`run` keeps, in bytes (the last ones)
OUTPUT_KEEP = 1 << 20
#: seconds the host has to start a command and report its process group
START_TIMEOUT = 30.0
#: seconds :func:`stop_group` waits, after SIGKILL, for the group's processes to be reaped
SETTLE = 5.0
_CHUNK = 64 * 1024
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")

#: ``on_output(stream, data)``: ``stream`` is ``"stdout"`` or ``"stderr"``
OnOutput = Callable[[str, bytes], None]


class Completed(NamedTuple):
    """A command that ended: its exit status and output (stdout and stderr as text, in arrival
    order, the last :data:`OUTPUT_KEEP` bytes)."""

    status: int
    output: str


class TimedOut(Exception):
    """:meth:`RemoteProcess.wait` reached its timeout (the command still runs)."""


#: what sh (dash ``mlws: 1: exec: ``, bash ``mlws: line 1: exec: ``) puts before its own error
_SH_PREFIX = re.compile(r"^mlws: (?:line )?\d+: (?:exec: )?", re.MULTILINE)


def plain(output: str) -> str:
    """A command's output with the wrapper's shell prefix taken off its own errors (see the
    module's text): what a message quotes."""
    return _SH_PREFIX.sub("", output)


def check_argv(argv: object) -> list[str]:
    """``argv`` as a list of text arguments (the first one non-empty), else InvalidInput."""
    if isinstance(argv, (str, bytes)) or not isinstance(argv, Sequence) or not argv:
        raise InvalidInput("a remote command is a non-empty list of arguments (never one string "
                           "for a shell)")
    out = [check_text(a, f"argument {i + 1} of the remote command") for i, a in enumerate(argv)]
    if not out[0] or any("\0" in a for a in out):
        raise InvalidInput("a remote command's arguments hold no NUL, and its first is not empty")
    return out


def check_env(env: Mapping[str, str] | None) -> dict[str, str]:
    """``env`` with every name an identifier and every value text without NUL, else InvalidInput."""
    out = {}
    for name, value in (env or {}).items():
        if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
            raise InvalidInput(f"invalid environment variable name {name!r}: use letters, digits "
                               "and '_', not starting with a digit")
        if "\0" in check_text(value, f"the value of {name}"):
            raise InvalidInput(f"the value of environment variable {name} holds a NUL")
        out[name] = value
    return out


def command_line(argv: Sequence[str], cwd: str | None = None) -> str:
    """The line the host's shell runs for ``argv`` (in folder ``cwd``): see the module's text."""
    line = f"exec setsid -w sh -c {shlex.quote(WRAPPER)} mlws {shlex.join(check_argv(argv))}"
    if cwd is None:
        return line
    folder = check_text(cwd, "the remote folder")
    if not folder or "\0" in folder:
        raise InvalidInput("a remote folder is a non-empty path without NUL")
    if folder.startswith("-"):
        folder = "./" + folder  # never an option of cd
    return f"cd {shlex.quote(folder)} && {line}"


def env_script(env: Mapping[str, str] | None) -> bytes:
    """The ``export NAME='value'`` lines the command's wrapper reads from its stdin."""
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in check_env(env).items()).encode()


def _lost(conn, exc: BaseException | None = None) -> StepFailed:
    detail = f" ({str(exc).splitlines()[0][:200]})" if exc is not None and str(exc) else ""
    return StepFailed(EXECUTION, conn.where, f"the connection to the host was lost{detail}; a "
                      "command it was running may still run there")


def start(conn, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
          cwd: str | None = None) -> "RemoteProcess":
    """Start ``argv`` on ``conn``'s host (in ``cwd``, with ``env`` added to its environment);
    return once its process group is known.

    Raises InvalidInput for a bad argument, folder or variable; StepFailed: ``environment``
    when the host has no ``setsid`` (util-linux), ``execution`` when the connection is lost or
    the host does not start the command within :data:`START_TIMEOUT` seconds.  A command that
    cannot start there (a missing folder) is no error here: its ``wait`` returns the shell's
    status (its ``pgid`` is None).
    """
    line, script = command_line(argv, cwd), env_script(env)
    try:
        channel = conn.transport.open_session(timeout=START_TIMEOUT)
        channel.exec_command(line)
        channel.sendall(script)
        channel.shutdown_write()
    except (paramiko.SSHException, EOFError, OSError, AttributeError) as exc:
        raise _lost(conn, exc) from None
    proc = RemoteProcess(conn, channel)
    proc._read_group(time.monotonic() + START_TIMEOUT)
    return proc


def run(conn, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None,
        timeout: float | None = None, on_output: OnOutput | None = None) -> Completed:
    """Run ``argv`` and wait for it: :class:`Completed` ``(status, output)``.  After ``timeout``
    seconds its group is stopped and StepFailed (execution) raised."""
    kept = bytearray()

    def keep(stream: str, data: bytes) -> None:
        kept.extend(data)
        if len(kept) > OUTPUT_KEEP:
            del kept[:len(kept) - OUTPUT_KEEP]
        if on_output is not None:
            on_output(stream, data)

    proc = start(conn, argv, env=env, cwd=cwd)
    try:
        status = proc.wait(keep, timeout=timeout)
    except TimedOut:
        proc.stop(grace=2.0)
        raise StepFailed(EXECUTION, conn.where, f"{argv[0]!r} did not end within {timeout:g} s, "
                         "and was stopped") from None
    return Completed(status, kept.decode("utf-8", "replace"))


def signal_group(conn, pgid: int, signal: str = "TERM") -> bool:
    """Send ``signal`` (``TERM``, ``KILL``, ``0``: none, only ask) to the host's process group
    ``pgid``; whether a process of it received it (is still there)."""
    if isinstance(pgid, bool) or not isinstance(pgid, int) or pgid <= 1:
        raise InvalidInput(f"a process group id is an integer above 1, got {pgid!r}")
    if signal not in ("TERM", "KILL", "INT", "0"):
        raise InvalidInput(f"unknown signal {signal!r}")
    # no "--": dash's kill refuses it, and a negative pid after the signal is a group everywhere
    return _fixed(conn, f"kill -{signal} -{pgid} 2>/dev/null") == 0


def _fixed(conn, line: str) -> int:
    """The exit status of a line of ours run by the host's shell (a user value in it is
    quoted with :func:`shlex.quote`)."""
    try:
        channel = conn.transport.open_session(timeout=START_TIMEOUT)
        channel.exec_command(line)
        channel.shutdown_write()
        return channel.recv_exit_status()
    except (paramiko.SSHException, EOFError, OSError, AttributeError) as exc:
        raise _lost(conn, exc) from None


class RemoteProcess:
    """A command started by :func:`start` on an SSH host.

    Attributes
    ----------
    pgid : int or None
        Its process group on the host (None: it never started, e.g. its folder is missing).
    status : int or None
        Its exit status once :meth:`wait` saw it end.
    """

    def __init__(self, conn, channel):
        self.conn, self.channel = conn, channel
        self.pgid: int | None = None
        self.status: int | None = None
        self._head = b""
        self._pending: list[tuple[str, bytes]] = []

    def _ended(self) -> bool:
        """Whether the command has ended and every byte of its output is read."""
        ch = self.channel
        if ch.recv_ready() or ch.recv_stderr_ready():
            return False
        return ch.closed or (ch.eof_received and ch.exit_status_ready())

    def _read(self, wait: float) -> list[tuple[str, bytes]]:
        """What arrived within ``wait`` seconds, as ``(stream, bytes)`` chunks."""
        ch = self.channel
        if not (ch.recv_ready() or ch.recv_stderr_ready() or self._ended()):
            select.select([ch], [], [], wait)
        chunks = []
        while ch.recv_ready():
            chunks.append(("stdout", ch.recv(_CHUNK)))
        while ch.recv_stderr_ready():
            chunks.append(("stderr", ch.recv_stderr(_CHUNK)))
        chunks = [(stream, data) for stream, data in chunks if data]
        if not chunks and not self._ended():
            time.sleep(0.01)  # the channel's pipe may stay readable once it was set: never spin
        return chunks

    def _read_group(self, deadline: float) -> None:
        """Read the process group the wrapper prints first; keep what came after it."""
        while self.pgid is None and not self._ended():
            for stream, data in self._read(0.2):
                if stream == "stderr" or self.pgid is not None:
                    self._pending.append((stream, data))
                    continue
                self._head += data
                if b"\n" in self._head:
                    first, _, rest = self._head.partition(b"\n")
                    self.pgid = int(first) if first.strip().isdigit() else None
                    if rest:
                        self._pending.append(("stdout", rest))
            if self.pgid is None and time.monotonic() > deadline:
                raise StepFailed(EXECUTION, self.conn.where, "the host did not start the command "
                                 f"within {START_TIMEOUT:g} s")
        if self.pgid is None and self.channel.exit_status_ready() \
                and self.channel.recv_exit_status() == 127 \
                and any(b"setsid" in data for stream, data in self._pending if stream == "stderr"):
            raise StepFailed(ENVIRONMENT, self.conn.where, "the host has no 'setsid' (util-linux), "
                             "which runs each command in a process group of its own: install it")

    def wait(self, on_output: OnOutput | None = None, timeout: float | None = None) -> int:
        """Stream the output to ``on_output(stream, data)`` until the command ends; return its
        exit status.

        Raises TimedOut after ``timeout`` seconds (it still runs: :meth:`stop` it), StepFailed
        (execution) when the connection is lost first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while (status := self.poll(on_output, 0.2)) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise TimedOut()
        return status

    def poll(self, on_output: OnOutput | None = None, wait: float = 0.0) -> int | None:
        """Pass the output that arrives within ``wait`` seconds on to ``on_output(stream,
        data)``; the exit status once the command ended and its output is read, else None.
        StepFailed (execution) when the connection is lost first."""
        emit = on_output or (lambda stream, data: None)
        pending, self._pending = self._pending, []
        for stream, data in pending:
            emit(stream, data)
        try:
            if not self._ended():
                for stream, data in self._read(wait):
                    emit(stream, data)
                if not self._ended():
                    return None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise _lost(self.conn, exc) from None
        if not self.channel.exit_status_ready():
            raise _lost(self.conn)
        self.status = self.channel.recv_exit_status()
        return self.status

    def kill(self) -> None:
        """SIGKILL the command's group at once (a process busy in C code ignores SIGTERM)."""
        if self.pgid is not None:
            signal_group(self.conn, self.pgid, "KILL")

    def alive(self) -> bool:
        """Whether a process of the command's group still runs on the host."""
        return self.pgid is not None and signal_group(self.conn, self.pgid, "0")

    def stop(self, grace: float = 5.0) -> None:
        """Stop the command and everything it started (:func:`stop_group`)."""
        if self.pgid is not None:
            stop_group(self.conn, self.pgid, grace)


def stop_group(conn, pgid: int, grace: float = 5.0) -> None:
    """Stop the host's process group ``pgid`` (a command :func:`start` reported, from this
    connection or a later one): SIGTERM, then SIGKILL if a process of it is still there after
    ``grace`` seconds.  Returns once the group is gone, or :data:`SETTLE` seconds after the
    SIGKILL; at once when there is no such group."""
    if not signal_group(conn, pgid, "TERM"):
        return
    if _gone_within(conn, pgid, grace):
        return
    signal_group(conn, pgid, "KILL")
    _gone_within(conn, pgid, SETTLE)


def works_in(conn, pgid: int, folder: str) -> bool:
    """Whether the host's process group ``pgid`` is still the one a command started in
    ``folder`` (a run's folder): its leader's working folder is that one (read from
    ``/proc``), or its leader is gone while processes of the group remain (a group id is not
    reused while any of its processes lives).  False on a host without ``/proc``: a group that
    cannot be told from another user's program is never signalled."""
    if isinstance(pgid, bool) or not isinstance(pgid, int) or pgid <= 1:
        raise InvalidInput(f"a process group id is an integer above 1, got {pgid!r}")
    text = check_text(folder, "the remote folder")
    where = shlex.quote("./" + text if text.startswith("-") else text)
    line = (f"[ -d /proc/self ] || exit 1; if [ -d /proc/{pgid} ]; then cd {where} 2>/dev/null "
            f"&& [ \"$(readlink /proc/{pgid}/cwd)\" = \"$(pwd -P)\" ]; "
            f"else kill -0 -{pgid} 2>/dev/null; fi")
    return _fixed(conn, line) == 0


def stop_group_in(conn, pgid: int, folder: str, grace: float = 5.0) -> bool:
    """Stop the host's process group ``pgid`` (:func:`stop_group`) if it is still the one
    started in ``folder`` (:func:`works_in`); whether it was (and is now stopped)."""
    if not works_in(conn, pgid, folder):
        return False
    stop_group(conn, pgid, grace)
    return True


def _gone_within(conn, pgid: int, seconds: float) -> bool:
    """Wait up to ``seconds`` for group ``pgid`` to be gone (its processes reaped); whether it is."""
    deadline = time.monotonic() + seconds
    while signal_group(conn, pgid, "0"):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True
