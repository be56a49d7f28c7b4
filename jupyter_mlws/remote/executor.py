"""Execute a notebook run on this machine for a workspace reached over HTTP.

What a compute target runs where the run executes (an SSH host, a Dask worker):
:func:`execute_remote` in a worker, or the command line ``python -m
jupyter_mlws.remote.executor [--workdir DIR]``, which reads ``MLWS_WORKSPACE`` (the workspace
server's URL), ``MLWS_TOKEN`` (the run's token), ``MLWS_RUN_ID`` and, optionally,
``MLWS_ATTEMPT`` and ``MLWS_TARGET_LOGS`` from its environment (never argv: ``ps`` shows argv
to every user of the machine), and exits 0 when the run completed, 1 otherwise.

The notebook executes with this process's Python environment (a kernel from it), exactly as
the local executor executes it (:func:`jupyter_mlws.notebooks.executor.execute`), reporting
through an :class:`~.reporter.HttpReporter`.  Without ``workdir`` it first downloads the run's
bundle (its snapshot, with the notebook) into a temporary folder, removed at the end.  With
``--own-kernel`` (what a target with ``env: build`` passes: this Python is the environment built
for the run) the kernel is this Python's whatever kernel the notebook names: that name only
chose which packages were built (the run keeps it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Mapping

from .. import run_records as R
from ..errors import Conflict, InvalidInput, MlwsError, PermissionDenied
from .client import Client
from .reporter import HttpReporter, ended_status

ENV_WORKSPACE, ENV_TOKEN, ENV_RUN_ID, ENV_ATTEMPT = ("MLWS_WORKSPACE", "MLWS_TOKEN", "MLWS_RUN_ID",
                                                     "MLWS_ATTEMPT")
#: ``{"worker.log": "/path"}`` as JSON: the target's own logs of this execution (see
#: :func:`execute_remote`'s ``target_logs``)
ENV_TARGET_LOGS = "MLWS_TARGET_LOGS"


def execute_remote(url: str, token: str, run_id: str, *, workdir: str | None = None,
                   attempt: str | None = None, secrets: Mapping[str, str] | None = None,
                   target_logs: Mapping[str, str | os.PathLike] | None = None,
                   own_kernel: bool = False) -> str:
    """Execute notebook (or command) run ``run_id`` of the workspace served at ``url`` here;
    return the run's final status (one of ``jupyter_mlws.run_records.ENDED``).

    Parameters
    ----------
    url : str
        The workspace server's base URL (``http://127.0.0.1:PORT/`` through a tunnel, a team's
        server).
    token : str
        The run's token (``ws.run_tokens.issue(run_id)``).
    run_id : str
        The run (queued by submit, or running when this is a retry).
    workdir : str, optional
        The folder to execute in, holding the run's files; default: a temporary folder the
        run's bundle is downloaded into and which is removed at the end.
    attempt : str, optional
        This execution's id, chosen by the target (e.g. a Dask task key and its retry number);
        default: a new one.  A retry is a new attempt: the server clears what an older attempt
        recorded and refuses its later writes (409), so the results are recorded once.
    secrets : mapping, optional
        Where the run's secrets are read from, by the variable names its job gives (default:
        this process's environment).
    target_logs : mapping, optional
        ``{log name: path}``: what the target logs of this execution on this machine (a Dask
        task's ``worker.log``), stored with the run before it ends (``mlws run logs`` shows
        it).
    own_kernel : bool
        This interpreter runs in the environment built for the run: its kernel executes the
        notebook, whatever kernel name the run has (see :func:`..notebooks.kernels.this_python`).

    Raises
    ------
    PermissionDenied
        The token is not (or no longer) valid for the run; a run that has ended returns its
        status instead (a retry of a run already recorded executes nothing).
    Unavailable
        The server cannot be reached.
    """
    from ..startup import skip_papermill_remote_io, skip_unused_format_checks

    skip_unused_format_checks()
    skip_papermill_remote_io()
    attempt = attempt or uuid.uuid4().hex[:16]
    client = Client(url, token, attempt=attempt)
    scratch = Path(tempfile.mkdtemp(prefix="mlws-run-")) if workdir is None else None
    on_cancel = None if _main_thread() else _KernelStopper()
    reporter = HttpReporter(client, run_id, workdir or scratch, secret_env=secrets,
                            on_cancel=on_cancel, target_logs=target_logs)
    try:
        reporter.job()
        if scratch is not None:
            reporter.download_bundle()
        return _execute(reporter, on_cancel, own_kernel)
    except (PermissionDenied, Conflict) as exc:
        status = ended_status(exc)
        if status is None:
            raise
        return status  # the run ended before this attempt started: nothing executes again
    finally:
        reporter.close()
        client.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _execute(reporter: HttpReporter, stopper: "_KernelStopper | None", own_kernel: bool = False) -> str:
    """Start the run's kernel, execute the run, stop the kernel before the run ends (its log
    is sent while the run's token still works); a command run: :func:`.command.execute_command`."""
    from ..notebooks.executor import EarlyKernel, execute
    from ..notebooks.script import execute_script, is_script

    job = reporter.job()
    if job.kind == "command":
        from .command import execute_command

        return execute_command(reporter, job)
    if is_script(job):  # a pipeline's script step: no kernel
        return execute_script(reporter)
    try:
        env = reporter.kernel_env()
    except MlwsError as exc:  # a secret the run was given did not reach this machine
        reporter.started()
        return reporter.ended(R.FAILED, f"its secrets could not be read: {exc}")
    early = EarlyKernel(job.path, job.kernel, job.workdir, env, reporter.run_id, own_python=own_kernel)
    if stopper is not None:
        stopper.kernel = early
    reporter.before_end(lambda: early.shutdown(reporter.log))
    try:
        return execute(reporter, kernel=early)
    finally:
        early.shutdown(reporter.log)


class _KernelStopper:
    """A cancel heard in an executor that runs outside the main thread (a Dask worker's task),
    where no signal can interrupt it: the kernel is killed, which ends the cell running; the
    reporter then ends the run canceled."""

    def __init__(self):
        self.kernel = None

    def __call__(self) -> None:
        km = getattr(self.kernel, "km", None)
        if self.kernel is not None:
            self.kernel.canceled()  # its death is the cancel's doing: said once, not as an error
        pid = getattr(getattr(km, "provisioner", None), "pid", None)
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _target_logs(text: str | None) -> dict[str, str]:
    """``MLWS_TARGET_LOGS`` (a JSON object of log names and paths) as a mapping; InvalidInput
    when it is set to something else."""
    import json

    if not text:
        return {}
    try:
        logs = json.loads(text)
    except ValueError:
        logs = None
    if not isinstance(logs, dict) or not all(isinstance(v, str) for v in logs.values()):
        raise InvalidInput(f"{ENV_TARGET_LOGS} must be a JSON object of log names and paths")
    return logs


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def main(argv: list[str] | None = None) -> int:
    """``python -m jupyter_mlws.remote.executor [--workdir DIR]``, the run named by the
    environment (see the module's docstring); 0 when it completed, 1 otherwise (2: it could not
    start, the reason on stderr)."""
    parser = argparse.ArgumentParser(
        prog="python -m jupyter_mlws.remote.executor",
        description="Execute a notebook run for a workspace server; reads MLWS_WORKSPACE, "
                    "MLWS_TOKEN, MLWS_RUN_ID and MLWS_ATTEMPT from the environment.")
    parser.add_argument("--workdir", help="The folder to execute in (default: a temporary one "
                                          "the run's files are downloaded into)")
    parser.add_argument("--own-kernel", action="store_true",
                        help="Execute with this Python's kernel, whatever kernel the notebook "
                             "names (this Python is the environment built for the run)")
    args = parser.parse_args(argv)
    try:
        missing = [n for n in (ENV_WORKSPACE, ENV_TOKEN, ENV_RUN_ID) if not os.environ.get(n)]
        if missing:
            raise InvalidInput(f"set {', '.join(missing)} in the environment: the workspace "
                               "server's URL, the run's token and its id")
        workdir = args.workdir and str(Path(args.workdir).expanduser().absolute())
        if workdir and not Path(workdir).is_dir():
            raise InvalidInput(f"--workdir {args.workdir!r} is not a folder")
        status = execute_remote(os.environ[ENV_WORKSPACE], os.environ[ENV_TOKEN],
                                os.environ[ENV_RUN_ID], workdir=workdir,
                                attempt=os.environ.get(ENV_ATTEMPT) or None,
                                target_logs=_target_logs(os.environ.get(ENV_TARGET_LOGS)),
                                own_kernel=args.own_kernel)
    except MlwsError as exc:
        print(f"mlws executor: {exc}", file=sys.stderr)
        return 2
    print(f"mlws executor: run {os.environ[ENV_RUN_ID]} {status}", file=sys.stderr)
    return 0 if status == R.COMPLETED else 1


if __name__ == "__main__":
    sys.exit(main())
