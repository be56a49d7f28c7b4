"""A command as a run (``mlws run start -- python train.py``): its job, its process, its outcome.

What every place that executes a command run shares, whichever machine it runs on: this one
(:mod:`jupyter_mlws.launcher`, the command a child of ``mlws run start``) or a compute target's
(:mod:`jupyter_mlws.remote.command`, the command a child of the remote executor):

- :class:`CommandJob`, what a target is handed (the run and its argv);
- :func:`start`: the command in a session of its own (what a cancel stops, with everything it
  started), its stdout and stderr copied to the run's live logs with the run's secrets masked;
- :func:`wait`: its exit status as the run's status and reason (:func:`outcome`), a cancel
  stopping it; :func:`exit_code` reads the status back as a shell reports it.
"""

from __future__ import annotations

import itertools
import re
import shlex
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, ClassVar, Mapping, Sequence

from . import run_records as R

#: seconds a canceled command has to end after SIGTERM before it is killed
STOP_GRACE = 10.0
_EXITED = re.compile(r"exited with status (\d+)")
_SIGNALED = re.compile(r"killed by (SIG[A-Z0-9]+)")


@dataclass
class CommandJob:
    """A command run, as a compute target executes it: in a folder holding the run's snapshot.

    Attributes
    ----------
    run_id : str
        The run (recorded ``queued`` by submit; its ``source_name`` is the command line).
    argv : list of str
        The command and its arguments, passed as they are (never through a shell).
    """

    kind: ClassVar[str] = "command"

    run_id: str
    argv: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "run_id": self.run_id, "argv": list(self.argv)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "CommandJob":
        return cls(d["run_id"], [str(a) for a in d["argv"]])

    @classmethod
    def of_record(cls, record) -> "CommandJob":
        """The job of a recorded command run (its ``source_name`` is ``shlex.join(argv)``)."""
        return cls(record.id, shlex.split(record.source_name))


def pump(src: IO[bytes], log_path: Path, echo: IO | None, masker) -> None:
    """Copy a child's stream to its log file (and ``echo``, a terminal) until it closes, the
    run's secrets masked (``masker``, a :class:`~jupyter_mlws.secrets.masking.Masker`) in both."""
    from .secrets.masking import MaskedBytes

    masked = MaskedBytes(masker)
    with src, open(log_path, "ab") as log:
        for chunk in itertools.chain(iter(lambda: src.read1(65536), b""), [None]):
            chunk = masked.write(chunk) if chunk is not None else masked.flush()
            log.write(chunk)
            log.flush()
            show(echo, chunk)


def show(echo: IO | None, chunk: bytes) -> None:
    """Write ``chunk`` of a command's output to ``echo`` (a terminal's stream, or a text stream
    such as a StringIO), at once; nothing when it is None."""
    binary = getattr(echo, "buffer", None)
    if binary is not None:
        binary.write(chunk)
        binary.flush()
    elif echo is not None:
        echo.write(chunk.decode(errors="replace"))


def start(argv: Sequence[str], *, cwd, env: Mapping[str, str], logs: tuple[Path, Path], masker,
          echo: tuple[IO | None, IO | None] = (None, None),
          stdin: int | None = None) -> tuple[subprocess.Popen, list[threading.Thread]]:
    """Start ``argv`` in ``cwd`` with exactly ``env``, leading a session of its own; its stdout and
    stderr go to ``logs`` (and ``echo``), masked; ``stdin``: ours (None) or ``subprocess.DEVNULL``.
    Returns the child and the threads copying its streams (join them once it ended).  Raises
    OSError when it cannot start."""
    from .compute import local

    child = local.start_session(list(argv), cwd=cwd, env=dict(env), stdin=stdin,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pumps = [threading.Thread(target=pump, args=(stream, path, out, masker), daemon=True)
             for stream, path, out in zip((child.stdout, child.stderr), logs, echo)]
    for p in pumps:
        p.start()
    return child, pumps


def wait(child: subprocess.Popen, is_canceled: Callable[[], bool] | None = None,
         grace: float = STOP_GRACE) -> tuple[str, str | None]:
    """Wait for ``child`` (from :func:`start`); return the run's status and reason.

    Ctrl-C, SIGTERM (raised here as ``Canceled``) or ``is_canceled()`` turning true (asked every
    half second) stop its whole session (SIGTERM, SIGKILL after ``grace`` seconds): canceled."""
    from .compute import local
    from .notebooks.cancel import Canceled

    try:
        while True:
            try:
                return outcome(child.wait(0.5 if is_canceled is not None else None))
            except subprocess.TimeoutExpired:
                if is_canceled():
                    raise Canceled() from None
    except (KeyboardInterrupt, SystemExit, Canceled):
        local.stop_child(child, grace)
        return R.CANCELED, "stopped by the user"


def outcome(code: int) -> tuple[str, str | None]:
    """A command's exit status (negative: the signal that ended it) as a run's status and reason."""
    if code == 0:
        return R.COMPLETED, None
    if code < 0:
        sig = signal.Signals(-code).name
        return (R.KILLED if sig == "SIGKILL" else R.FAILED), f"killed by {sig}"
    return R.FAILED, f"exited with status {code}"


def exit_code(status: str, error: str | None) -> int:
    """What a shell reports for a command run that ended ``status`` with ``error`` (the reverse
    of :func:`outcome`): 0, its status, 128 + N if signal N ended it, 130 when canceled, else 1
    (it never started: a refused submission, a lost machine)."""
    if status == R.COMPLETED:
        return 0
    if status == R.CANCELED:
        return 130
    exited = _EXITED.search(error or "")
    if exited:
        return int(exited.group(1))
    signaled = _SIGNALED.search(error or "")
    if signaled and signaled.group(1) in signal.Signals.__members__:
        return 128 + signal.Signals[signaled.group(1)].value
    return 1
