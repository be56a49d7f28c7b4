"""Runs the workspace starts: a command executed as a run, its output captured.

The child process gets ``MLWS_WORKSPACE`` and ``MLWS_RUN_ID``, so that
``mlws.log(...)`` and ``mlws.current_run()`` inside it log to this run.  Its
stdout and stderr are copied to the terminal and to the run's live logs; the
launcher beats the heartbeat while the child lives, and the exit status sets
the run's status.
"""

from __future__ import annotations

import itertools
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Callable, Mapping, Sequence

from . import config as C
from . import runs as R
from .artifacts import ArtifactService
from .compute import local
from .errors import InvalidInput
from .errors import MlwsError
from .run import Run
from .secrets.masking import MaskedBytes, Masker
from .tracking import Tracking


def _pump(src: IO[bytes], log_path: Path, echo: IO | None, masker: Masker) -> None:
    """Copy a child's stream to its log file (and the terminal) until it closes, the run's
    secrets masked in both."""
    binary = getattr(echo, "buffer", None)
    masked = MaskedBytes(masker)
    with src, open(log_path, "ab") as log:
        for chunk in itertools.chain(iter(lambda: src.read1(65536), b""), [None]):
            chunk = masked.write(chunk) if chunk is not None else masked.flush()
            log.write(chunk)
            log.flush()
            if binary is not None:
                binary.write(chunk)
                binary.flush()
            elif echo is not None:  # a text stream, e.g. redirected to StringIO
                echo.write(chunk.decode(errors="replace"))


def run_command(
    argv: Sequence[str],
    *,
    experiment: str,
    tracking: Tracking,
    runs: R.RunService,
    artifacts: ArtifactService,
    root: Path,
    name: str | None = None,
    tags: Mapping | None = None,
    cwd: str | os.PathLike | None = None,
    echo: bool = True,
    snapshot: bool = True,
    on_warning: Callable[[str], None] | None = None,
    secrets=None,
    secret_specs: Sequence[str] | None = None,
    actor: str = "",
) -> Run:
    """Execute ``argv`` as a run of ``experiment`` in ``cwd`` and wait for it; return the ended run
    (what :meth:`Workspace.run_command <jupyter_mlws.workspace.Workspace.run_command>` does).

    ``tracking`` creates the run and its handle, ``runs`` records its process (what ``mlws run
    cancel`` stops), ``artifacts`` gives its live log files; ``root`` is the workspace folder the
    child's ``MLWS_WORKSPACE`` names.  ``cwd`` (default: the current folder) is snapshotted and
    run in; ``on_warning`` hears, before the command starts, what the user should know (an
    empty snapshot).  The run's ``exit_code`` is the command's exit status as a shell reports it.
    ``secret_specs`` (``["NAME", "NAME=ENVVAR"]``, checked for ``actor`` by ``secrets``, the
    :class:`~jupyter_mlws.secrets.service.SecretService`) reach the child as environment variables
    only (never its argv or a file), and are masked in its logs and echo.
    """
    if not argv:
        raise InvalidInput("no command given: mlws run start -- python train.py")
    if secret_specs:  # before any run is recorded
        secrets.check_bindings(actor, secret_specs)
    cwd = Path(cwd or os.getcwd()).absolute()
    files = tracking.collect_snapshot(cwd) if snapshot else []
    if snapshot and not files and on_warning is not None:
        on_warning(empty_snapshot_warning(cwd))
    run = tracking.start_command(experiment, shlex.join(argv), cwd=cwd, name=name, tags=tags,
                                 files=files)
    env = {**os.environ, **C.run_env(root, run.id), "PYTHONUNBUFFERED": "1"}
    given: dict[str, str] = {}
    if secret_specs:
        try:
            secrets.bind(actor, run.id, secret_specs)
            given = secrets.env_for_run(run.id)
        except MlwsError as exc:
            run.end(R.FAILED, f"its secrets could not be read: {exc}")
            raise
        run.set_tags({"secrets": json.dumps(sorted(set(secrets.bindings(run.id).values())))})
    masker = Masker(given.values())
    env.update(given)
    try:
        child = local.start_session(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
    except OSError as exc:
        run.end(R.FAILED, f"could not start {argv[0]!r}: {exc.strerror}")
        raise InvalidInput(f"could not start {argv[0]!r}: {exc.strerror}") from None
    runs.set_process(run.id, local.Process.of(child.pid))  # what 'mlws run cancel' stops
    pumps = [threading.Thread(target=_pump, args=(stream, artifacts.live_file(run.id, f"{n}.log"),
                                                  out if echo else None, masker), daemon=True)
             for stream, n, out in ((child.stdout, "stdout", sys.stdout), (child.stderr, "stderr", sys.stderr))]
    for p in pumps:
        p.start()
    status, error = _wait(child)
    for p in pumps:
        p.join()
    run.end(status, error)
    code = child.returncode
    #: what a shell would report for the command: its status, 128 + N if signal N ended it
    run.exit_code = 130 if status == R.CANCELED else (128 - code if code < 0 else code)
    return run


def empty_snapshot_warning(folder: Path) -> str:
    """What to tell a user whose run's folder gives an empty snapshot, and what to do."""
    fix = ("run from your project folder (with -w WORKSPACE, or MLWS_WORKSPACE, naming the workspace), "
           "or pass --project-dir PROJECT; --no-snapshot takes no snapshot and says nothing")
    if (folder / C.CONFIG_FILE).is_file():
        return ("the source snapshot is empty: this folder is the workspace itself, whose own files "
                "are never kept, and the run's outputs/ will be written into it; " + fix)
    return f"the source snapshot is empty: {folder.name or folder} holds no files to keep; " + fix


def _wait(child: subprocess.Popen) -> tuple[str, str | None]:
    """Wait for the child; Ctrl-C or SIGTERM here stops it and cancels the run."""
    try:
        code = child.wait()
    except (KeyboardInterrupt, SystemExit):
        local.stop_child(child, 10)
        return R.CANCELED, "stopped by the user"
    if code == 0:
        return R.COMPLETED, None
    if code < 0:
        sig = signal.Signals(-code).name
        return (R.KILLED if sig == "SIGKILL" else R.FAILED), f"killed by {sig}"
    return R.FAILED, f"exited with status {code}"
