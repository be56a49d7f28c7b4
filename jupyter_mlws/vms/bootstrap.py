"""What runs on a VM over SSH once its node is up: the steps of its creation and of every start,
their output streamed to the VM's log.

Two lists of steps, run in order, each a callable ``step(ctx)``:

- :attr:`Bootstrap.on_create`: once, after the node is first reachable (default: the setup
  script);
- :attr:`Bootstrap.on_start`: at every start, the first one included (default: the startup
  script).

Whoever adds work to a VM's life (installing the workspace agent and JupyterLab, starting
JupyterLab) adds a step with :meth:`Bootstrap.add`.  A step fails by raising
:class:`StepError` (or any workspace error): the VM is then ``failed`` with the step's reason
and the end of its log.

A script is uploaded by SFTP into ``.mlws/`` in the login folder and run with ``/bin/sh`` there,
in a process group of its own (every value quoted; see :mod:`jupyter_mlws.compute.ssh.commands`);
after its time-out the group is stopped.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import Unavailable
from .log_paths import ServerPaths

#: the end of a log a failure shows, in characters
TAIL_CHARS = 1500


class StepError(Unavailable):
    """A bootstrap step failed; the message says which and why, ``tail`` is the end of the VM's
    log (what the VM's reason ends with)."""

    def __init__(self, message: str, tail: str = ""):
        super().__init__(message)
        self.tail = tail


class VMLog:
    """The log of one VM (``.mlws/vms/logs/VM_ID.log`` in the workspace): what its lifecycle did
    and what its scripts printed.  Never holds a secret: nothing the workspace writes there is
    one, and the scripts are the user's.  Nor a path of this server: with ``paths``
    (:class:`~.log_paths.ServerPaths`) each is rewritten as the VM sees it as it is recorded
    (an unfinished line that may hold one waits for its end, or the next :meth:`say` or
    :meth:`flush`)."""

    def __init__(self, path: Path, paths: ServerPaths | None = None):
        self.path = Path(path)
        self.paths = paths
        self._held = b""
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        """Append output (any chunk of it), its server paths rewritten."""
        with self._lock:
            if self.paths is None:
                return self._append(data)
            ready, self._held = self.paths.split(self._held + data)
            self._append(self.paths(ready))

    def flush(self) -> None:
        """Write what is held (an unfinished line)."""
        with self._lock:
            held, self._held = self._held, b""
            self._append(held if self.paths is None else self.paths(held))

    def _append(self, data: bytes) -> None:
        if not data:
            return
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def say(self, text: str) -> None:
        """A line of the workspace's own, with the time (after what is held)."""
        self.flush()
        self.write(f"[mlws {time.strftime('%Y-%m-%d %H:%M:%S')}] {text}\n".encode())

    def read(self, tail: int | None = None) -> bytes:
        """The log (its last ``tail`` bytes); empty when there is none yet."""
        try:
            with open(self.path, "rb") as f:
                if tail is not None:
                    f.seek(max(0, os.fstat(f.fileno()).st_size - tail))
                return f.read()
        except FileNotFoundError:
            return b""

    def read_lines(self, lines: int) -> bytes:
        """The log's last ``lines`` lines (a line unended at the end counts as one)."""
        return b"".join(self.read().splitlines(keepends=True)[-lines:]) if lines > 0 else b""

    def tail_text(self, chars: int = TAIL_CHARS) -> str:
        return self.read(chars * 4).decode("utf-8", "replace")[-chars:]


@dataclass
class Context:
    """What a step gets: the VM's record, an open verified SSH connection to it, its log, its
    scripts' texts (``setup``, ``startup``: None when it has none), and the seconds a script may
    run."""

    vm: dict
    conn: object
    log: VMLog
    scripts: dict[str, str | None]
    timeout: float


Step = Callable[[Context], None]


def run_script(ctx: Context, which: str) -> None:
    """Upload and run the VM's ``which`` script (``setup`` or ``startup``), streaming its output
    to the log; StepError on a non-zero exit or after the time-out."""
    from ..compute.failures import StepFailed

    text = ctx.scripts.get(which)
    if text is None:
        return
    remote = f".mlws/{which}.sh"
    ctx.log.say(f"{which} script: starting (time-out {ctx.timeout:g} s)")
    ctx.conn.run(["mkdir", "-p", ".mlws"])
    with ctx.conn.sftp.open(remote, "w") as f:
        f.write(text.encode())
    started = time.monotonic()
    try:
        status, _ = ctx.conn.run(["/bin/sh", remote], timeout=ctx.timeout,
                                 on_output=lambda stream, data: ctx.log.write(data))
    except StepFailed as exc:
        if time.monotonic() - started >= ctx.timeout:
            ctx.log.say(f"{which} script: stopped after its time-out of {ctx.timeout:g} s")
            raise StepError(f"the {which} script did not end within {ctx.timeout:g} s and was "
                            "stopped", ctx.log.tail_text()) from None
        ctx.log.say(f"{which} script: {exc}")
        raise
    ctx.log.say(f"{which} script: exited with status {status} after "
                f"{time.monotonic() - started:.1f} s")
    if status != 0:
        raise StepError(f"the {which} script exited with status {status}", ctx.log.tail_text())


def setup_script(ctx: Context) -> None:
    """The setup script, once after the VM is created."""
    run_script(ctx, "setup")


def startup_script(ctx: Context) -> None:
    """The startup script, at every start."""
    run_script(ctx, "startup")


@dataclass
class Bootstrap:
    """The steps run on a VM: :attr:`on_create` once, then :attr:`on_start` at every start."""

    on_create: list[Step] = field(default_factory=lambda: [setup_script])
    on_start: list[Step] = field(default_factory=lambda: [startup_script])

    def add(self, step: Step, *, when: str = "create", before: Step | None = None) -> None:
        """Add ``step`` to the ``when`` list (``create`` or ``start``), at its end or before
        ``before``."""
        steps = {"create": self.on_create, "start": self.on_start}[when]
        steps.insert(steps.index(before) if before in steps else len(steps), step)

    def run(self, ctx: Context, *, created: bool) -> None:
        """The create steps (when ``created``), then the start steps."""
        for step in [*(self.on_create if created else []), *self.on_start]:
            step(ctx)
