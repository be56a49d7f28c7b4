"""Executes a notebook run with Papermill and reports everything through its reporter.

Runs either in its own detached process (``python -m jupyter_mlws.notebooks.executor
WORKSPACE RUN_ID [--sweep N]``, what the ``local`` compute target starts) or in the calling
process (``ws.submit_notebook(..., wait=True, in_process=True)``, ``mlws run submit --wait``).
It reads the run's :class:`~.job.NotebookJob` from its :class:`~.reporter.Reporter`, never
the store: the executed notebook (saved as it changes, see :mod:`.engine`), cells done,
attempts, the environment, files and the final status all go through the reporter.  The
run ends completed, failed (with the cell, its source and the error), timed_out (the run's
own ``timeout`` only), or canceled on SIGTERM (``mlws run cancel``).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Callable

from .. import run_records as R
from ..environment import capture as capture_environment
from ..errors import InvalidInput, MlwsError
from .kernels import EarlyKernel, Kernel, metadata_of
from .kernels import resolve as resolve_kernel
from .document import cell_records
from .engine import LOG_CAP_BYTES, CappedLog, CellStopped, LiveNotebook, build_engine, cell_label, excerpt
from .cancel import Canceled, install_cancel, watch_for_cancel
from .reporter import Reporter

#: characters of a run's failure reason kept
REASON_CAP = 4000

__all__ = ["EarlyKernel", "execute", "execute_with_kernel", "main", "LOG_CAP_BYTES"]


def _bounded(reason: str | None) -> str | None:
    """A failure reason kept whole up to :data:`REASON_CAP` characters."""
    if reason is None or len(reason) <= REASON_CAP:
        return reason
    return reason[:REASON_CAP] + f"... [{len(reason) - REASON_CAP} more characters]"


def execute(reporter: Reporter, *, kernel: EarlyKernel | None = None,
            on_progress: Callable[[int, int], None] | None = None) -> str:
    """Execute the notebook run of ``reporter`` (recorded ``queued`` by submit) and end it;
    return its final status.

    ``kernel`` holds the kernel started for the run (else Papermill starts one); each retry
    gets a fresh one from it.  ``on_progress(done, total)`` hears of each cell done.
    Raises Conflict when the run ended before it started (canceled while queued).
    """
    from papermill.engines import papermill_engines

    papermill_engines.register("mlws", build_engine())
    _quiet_papermill()
    job = reporter.job()
    reporter.started()
    # kernels started for this run (a retry's included) inherit these; put back afterwards, so
    # that a process executing runs in-process (mlws run submit --wait) keeps its own
    env = reporter.kernel_env()  # the run's secrets included: the kernel's environment only
    masker = reporter.masker()
    saved_env = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    undo_cancel = install_cancel() if _main_thread() else None
    stop_watching = watch_for_cancel(reporter.is_canceled) if undo_cancel is not None else None
    live_nb = reporter.live_file("output.ipynb")
    status, error = R.FAILED, "the executor stopped before the notebook ran"
    environment: dict = {}
    own = kernel is not None and kernel.own_python  # an environment built for the run: its Python
    capturing = threading.Thread(
        target=lambda: environment.update(capture_environment(job.kernel, this_python=own)),
        name="mlws-environment", daemon=True)
    capturing.start()  # reads installed packages while the kernel boots
    try:
        resolved = kernel.resolved if own else resolve_kernel(metadata_of(job.path), job.kernel)

        try:
            parameters = reporter.parameters(job)  # dataset versions as local paths
        except MlwsError as exc:
            raise InvalidInput(f"its dataset parameters could not be read: {exc}") from None

        def one(attempt: int) -> tuple[str, str | None]:
            km = None if kernel is None else kernel.km if attempt == 0 else kernel.start()
            status, error = _attempt(reporter, job, live_nb, km, resolved, on_progress, masker,
                                     parameters)
            for _ in range(PORT_RACE_RESTARTS):  # not the notebook's failure: start it again
                if kernel is None or status != R.FAILED or not _lost_port_race(kernel, error):
                    break
                kernel.note("the kernel died as it started: a port it was given was taken by "
                            "another process meanwhile (kernels started at once); started again")
                status, error = _attempt(reporter, job, live_nb, kernel.start(), resolved,
                                         on_progress, masker, parameters)
            return status, error

        status, error = run_attempts(reporter, job.retries, one, masker)
    except Canceled:
        status, error = R.CANCELED, "canceled"
        _drop_pending_tasks()
        if kernel is not None:  # stopped at once (see engine): one line says so, no traceback
            kernel.canceled()
    except InvalidInput as exc:  # its kernel was uninstalled, a dataset cannot be read
        status, error = R.FAILED, str(exc)
    finally:
        if stop_watching is not None:
            stop_watching.set()
        if undo_cancel is not None:
            undo_cancel()
        capturing.join()
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        status = _finish(reporter, job, live_nb, status, error, environment)
    return status


#: times a kernel that lost the race for its ports is started again within one attempt
PORT_RACE_RESTARTS = 2


def _lost_port_race(kernel, error: str | None) -> bool:
    """Whether the attempt failed because its kernel died before answering, on a port another
    process bound between jupyter_client choosing it and the kernel binding it (ipykernel's
    ``ZMQError: Address already in use`` in the kernel's log): a race of kernels started at
    once on one machine (jupyter_client picks free ports, the kernel binds them later)."""
    if "Kernel died before replying to kernel_info" not in (error or ""):
        return False
    try:
        with open(kernel.log.name, "rb") as f:
            return b"Address already in use" in f.read()
    except OSError:
        return False


def _drop_pending_tasks() -> None:
    """Cancel what a cancel left pending on this thread's event loop (nbclient's watch of the
    kernel, its wait for a reply): left alone, the kernel's death fails them, and asyncio prints
    each one's traceback ("Task exception was never retrieved") into the run's logs."""
    import asyncio

    from jupyter_core.utils import ensure_event_loop

    loop = ensure_event_loop()
    if loop.is_running() or loop.is_closed():
        return
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def run_attempts(reporter: Reporter, retries: int, one: Callable[[int], tuple[str, str | None]],
                 masker) -> tuple[str, str | None]:
    """Call ``one(attempt)`` (0 the first) until it completes, is canceled or ``retries`` more
    attempts failed, reporting each attempt and its end (the error masked and bounded); the
    last attempt's ``(status, error)``."""
    status, error = R.FAILED, None
    for attempt in range(retries + 1):
        reporter.attempt(attempt + 1)
        status, error = one(attempt)
        error = _bounded(masker.text(error) if error else error)
        reporter.attempt_ended(attempt + 1, status, error)
        if status in (R.COMPLETED, R.CANCELED):
            break
    return status, error


def _attempt(reporter: Reporter, job, live_nb: Path, km, kernel: Kernel,
             on_progress, masker, parameters: dict) -> tuple[str, str | None]:
    import papermill as pm

    live = LiveNotebook(live_nb, job.path, reporter.progress, on_progress)
    stdout = CappedLog(reporter.live_file("stdout.log"), masker=masker)
    stderr = CappedLog(reporter.live_file("stderr.log"), masker=masker)
    extra = {"km": km} if km is not None else {}
    try:
        pm.execute_notebook(
            str(job.path), None, parameters=parameters,
            engine_name="mlws", kernel_name=kernel.name, language=kernel.language,
            progress_bar=False, cwd=job.workdir, stdout_file=stdout, stderr_file=stderr,
            execution_timeout=job.timeout, mlws_live=live, mlws_kernel=kernel, mlws_mask=masker,
            **extra)
        return R.COMPLETED, None
    except pm.PapermillExecutionError as exc:
        name = cell_label(live.inserted_at, exc.cell_index, count=exc.exec_count)
        return R.FAILED, f"{name} raised {exc.ename}: {exc.evalue}\n{excerpt(exc.source)}"
    except CellStopped as exc:  # the run's timeout, a silent or a dead kernel
        return exc.status, exc.reason
    except Canceled:
        raise
    except Exception as exc:
        return _classify(exc)
    finally:
        stdout.close()
        stderr.close()


class _PapermillParameterWarnings(logging.Filter):
    """Drops Papermill's own warnings about parameters: the product checks parameters itself
    (with a parser that reads annotated ones) and words one warning per fact (submit's)."""

    MESSAGES = ("Passed unknown parameter", "Input notebook does not contain a cell with tag",
                "does not support parameter introspection")

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(m in record.getMessage() for m in self.MESSAGES)


def _quiet_papermill() -> None:
    """Install :class:`_PapermillParameterWarnings` on Papermill's logger, once per process."""
    logger = logging.getLogger("papermill")
    if not any(isinstance(f, _PapermillParameterWarnings) for f in logger.filters):
        logger.addFilter(_PapermillParameterWarnings())


def _classify(exc: Exception) -> tuple[str, str]:
    """Any other failure (a kernel that would not start, ...): failed, with its whole message;
    ``timed_out`` is only for the run's own timeout."""
    return R.FAILED, f"{type(exc).__name__}: {exc}"


def _finish(reporter: Reporter, job, live_nb: Path, status: str, error, environment: dict) -> str:
    """Report what the run produced and end it; a failure here is reported on the run."""
    status, error = store_results((lambda: reporter.environment(job.kernel, environment),
                                   lambda: _report_cells(reporter, live_nb, job.path),
                                   lambda: store_notebook(reporter, job, live_nb),
                                   lambda: _store_outputs(reporter, Path(job.workdir) / "outputs"),
                                   reporter.copy_output), status, error)
    final = reporter.ended(status, error)
    if job.scratch:  # a sweep child's or a rerun's own copy
        shutil.rmtree(job.workdir, ignore_errors=True)
    return final


def store_results(steps, status: str, error: str | None) -> tuple[str, str | None]:
    """Do each of ``steps`` (what reports a run's results); a step failing (MlwsError, OSError,
    ValueError) fails a completed run, saying so.  Returns the run's status and reason."""
    problems = []
    for step in steps:
        try:
            step()
        except (MlwsError, OSError, ValueError) as exc:
            problems.append(str(exc))
    if problems and status == R.COMPLETED:
        return R.FAILED, "while storing the results: " + "; ".join(problems)
    return status, error


def _report_cells(reporter: Reporter, live_nb: Path, submitted: Path) -> None:
    records = cell_records(live_nb, submitted)
    if records is not None:
        reporter.cells(records)


def _store_outputs(reporter: Reporter, folder: Path) -> None:
    if folder.is_dir():
        reporter.store_outputs(folder)


def store_notebook(reporter: Reporter, job, live_nb: Path) -> None:
    """Hand the executed notebook to the reporter, then remove the live copy."""
    if live_nb.is_file():
        reporter.store_notebook(Path(job.notebook).name, live_nb)
        live_nb.unlink()


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def execute_with_kernel(reporter: Reporter) -> str:
    """Execute a queued notebook run in this process, its kernel started first; its status
    (a script run, :mod:`.script`, starts no kernel)."""
    from .script import execute_script, is_script

    job = reporter.job()
    if is_script(job):
        return execute_script(reporter)
    try:
        env = reporter.kernel_env()
    except MlwsError as exc:  # its secrets cannot be read (one was deleted since it was submitted)
        reporter.started()
        return reporter.ended(R.FAILED, f"its secrets could not be read: {exc}")
    # the kernel boots while papermill is imported and the run is set up
    early = EarlyKernel(job.path, job.kernel, job.workdir, env, reporter.run_id)
    try:
        return execute(reporter, kernel=early)
    finally:
        early.shutdown(reporter.log)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the detached executor process: ``WORKSPACE RUN_ID [--sweep N]``.

    This is the ``local`` target's side: it opens the workspace and reports into it.
    """
    from ..startup import skip_iri_format_checks, skip_papermill_remote_io, skip_unused_format_checks
    from ..workspace import Workspace

    skip_iri_format_checks()
    skip_unused_format_checks()
    skip_papermill_remote_io()
    args = argv if argv is not None else sys.argv[1:]
    root, run_id = args[:2]
    with Workspace.open(root) as ws:
        if args[2:3] == ["--sweep"]:
            install_cancel()
            status = ws.notebooks.execute_sweep(run_id, int(args[3]))
        else:
            status = execute_with_kernel(ws.notebooks.reporter(run_id))
    return 0 if status == R.COMPLETED else 1


if __name__ == "__main__":
    # run the imported module, not this __main__ copy: a sweep imports it too, and then it is
    # loaded once, not twice
    from jupyter_mlws.notebooks import executor

    sys.exit(executor.main())
