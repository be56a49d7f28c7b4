"""Executes a notebook run with Papermill and records everything on the run.

Runs either in its own detached process (``python -m jupyter_mlws.executor
WORKSPACE RUN_ID``, what ``submit`` starts) or in the calling process
(``submit(..., wait=True)`` from the CLI).  It beats the run's heartbeat,
reports cells done, saves the output notebook atomically as it changes (at most
every :data:`REPORT_EVERY_S`, the last change never lost), keeps its outputs
within the caps of :mod:`jupyter_mlws.notebook_outputs`, and ends the run:
completed, failed (with the cell, its source and the error), timed_out (the
run's own ``timeout`` only), or canceled on SIGTERM (``mlws run cancel``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from . import runs as R
from .artifact_names import atomic_write
from .environment import capture as capture_environment
from .errors import InvalidInput, MlwsError
from .kernels import Kernel, drop_noise, metadata_of
from .kernels import resolve as resolve_kernel
from .notebook_outputs import OutputCap
from .notebooks import cell_number, injected_index, inserted_index
from .workspace import ENV_RUN_ID, Workspace

#: captured stdout/stderr of a notebook run stop growing past this (a marker says so)
LOG_CAP_BYTES = 10 << 20
#: the least time between two progress writes or output-notebook saves
REPORT_EVERY_S = 0.5
#: after a cell's reply, how long the kernel may send none of the cell's remaining output
#: before the run fails (output that keeps arriving is waited for however long it takes)
IOPUB_QUIET_S = 120
#: characters of a run's failure reason kept
REASON_CAP = 4000


class CappedLog:
    """A text log file that stops growing at ``cap`` bytes (UTF-8) and says so once."""

    def __init__(self, path: Path, cap: int = LOG_CAP_BYTES):
        self._file = open(path, "ab")
        self._cap = self._left = cap

    def write(self, text: str) -> int:
        if self._left > 0:
            piece = text.encode("utf-8", "replace")[: self._left]
            self._file.write(piece)
            self._left -= len(piece)
            if self._left <= 0:
                self._file.write(f"\n[mlws: log truncated at {self._cap >> 20} MB]\n".encode())
            self._file.flush()
        return len(text)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class Reporter:
    """Progress and output-notebook saves, throttled but never lost.

    A save asked for too soon after the last one is delayed, not dropped: a timer on the
    event loop that executes the notebook writes the latest state once the interval has passed
    (on the loop's own thread, so the notebook is never read while nbclient changes it).  The
    disk copy thus reflects every change within about :data:`REPORT_EVERY_S` (longer for a
    notebook that takes long to write), even if the executor is then killed.
    """

    def __init__(self, ws: Workspace, run_pk: int, live_notebook: Path, submitted: Path,
                 on_progress: Callable[[int, int], None] | None = None):
        self.ws = ws
        self.submitted = submitted
        self.run_pk = run_pk
        self.live_notebook = live_notebook
        self.on_progress = on_progress
        self.done = 0
        self.current: int | None = None  # index of the cell executing (or last executed)
        #: where Papermill inserted its parameters cell in the executed notebook (None: it
        #: inserted none, or replaced the one a re-submitted executed notebook held)
        self.inserted_at: int | None = None
        self._nb = None
        self._last = 0.0
        self._every = REPORT_EVERY_S
        self._timer = None

    def save(self, nb, force: bool = False) -> None:
        """Write ``nb`` now if due (or ``force``), else once it is due."""
        self._nb = nb
        wait = self._last + self._every - time.monotonic()
        if force or wait <= 0:
            self._write()
        elif self._timer is None:
            from jupyter_core.utils import ensure_event_loop

            self._timer = ensure_event_loop().call_later(wait, self._write)

    def _write(self) -> None:
        import nbformat

        self._cancel()
        started = time.monotonic()
        # unvalidated and unsplit: the cheapest valid notebook JSON (outputs are capped already)
        atomic_write(self.live_notebook, nbformat.v4.writes(self._nb, split_lines=False).encode())
        self.ws.notebooks.set_progress(self.run_pk, self.done, self.total(self._nb))
        self._last = time.monotonic()
        self._every = max(REPORT_EVERY_S, 2 * (self._last - started))

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def flush(self) -> None:
        """Write the latest state now, if there is one (the end of an attempt)."""
        if self._nb is not None:
            self._write()

    def total(self, nb) -> int:
        """The cells as the user counts them: the notebook's, not the inserted parameters cell."""
        return len(nb.cells) - (self.inserted_at is not None)

    def cell_done(self, nb, index: int) -> None:
        """Cell ``index`` has ended: it counts as done when it completed (not when it raised)
        and is one of the user's (not the inserted parameters cell)."""
        cell = nb.cells[index]
        if index != self.inserted_at and cell.metadata.get("papermill", {}).get("status") == "completed":
            self.done += 1
            if self.on_progress:
                self.on_progress(self.done, self.total(nb))
        self.save(nb, force=index == len(nb.cells) - 1)


class _CellStopped(Exception):
    """The notebook stopped in a cell for a reason the engine knows (``status``, ``reason``)."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


#: nbclient's own bound on the wait for a cell's output after its reply, which it applies to
#: the whole wait: effectively none here, as :class:`_QuietWait` bounds the silence instead
_IOPUB_NO_LIMIT_S = 10**9


class _QuietWait:
    """nbclient's wait for the rest of a cell's output once the cell has replied.

    nbclient bounds that wait in total (4 s): a cell that printed much, on a busy machine,
    failed while its output was still arriving.  This wait lasts as long as output keeps
    coming, and ends (as nbclient's timeout, ``stalled`` set) only after
    :data:`IOPUB_QUIET_S` without any.
    """

    def __init__(self, client, task):
        self.client, self.task = client, task

    def __await__(self):
        return self._drain().__await__()

    async def _drain(self):
        import asyncio

        while True:
            seen = self.client.mlws_seen
            done, _ = await asyncio.wait({self.task}, timeout=IOPUB_QUIET_S)
            if done:
                return self.task.result()
            if self.client.mlws_seen == seen:
                self.client.mlws_stalled = True
                self.task.cancel()
                raise asyncio.TimeoutError()


def _engine():
    """The Papermill engine that reports to a :class:`Reporter` (built when first needed)."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import Engine

    class Client(PapermillNotebookClient):
        def __init__(self, nb_man, reporter: Reporter, cap: OutputCap, **kw):
            super().__init__(nb_man, iopub_timeout=_IOPUB_NO_LIMIT_S, **kw)
            # a kernel started for this run (even one handed in) ends with it, gracefully,
            # and the client's sockets are closed
            self.owns_km = True
            self.mlws_reporter, self.mlws_cap = reporter, cap
            self.mlws_seen = 0  # IOPub messages received (what _QuietWait watches)
            self.mlws_stalled = False

        def process_message(self, msg, cell, cell_index):
            self.mlws_seen += 1
            self.mlws_cap.bound_update(msg, self._display_id_map, self.nb.cells)
            try:
                return super().process_message(msg, cell, cell_index)
            finally:
                self.mlws_reporter.save(self.nb)  # throttled; the last change is never lost

        def output(self, outs, msg, display_id, cell_index):
            before = len(outs)
            out = super().output(outs, msg, display_id, cell_index)
            if out is None:  # nothing added (e.g. an output widget took it)
                return None
            whole = type(out)(out)  # the cap may cut the notebook's copy in place
            self.mlws_cap.admit(outs, before, cell_index, display_id)
            return whole  # whole, for the run's logs (capped on their own)

        async def _async_poll_for_reply(self, msg_id, cell, timeout, task_poll_output_msg,
                                        task_poll_kernel_alive):
            return await super()._async_poll_for_reply(
                msg_id, cell, timeout, _QuietWait(self, task_poll_output_msg), task_poll_kernel_alive)

    class MlwsEngine(Engine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, **kwargs):
            try:
                return super().execute_notebook(nb, kernel_name, **kwargs)
            finally:  # the final state, papermill's last metadata included, reaches disk
                kwargs["mlws_reporter"].flush()

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, mlws_reporter=None, km=None,
                                     stdout_file=None, stderr_file=None, start_timeout=60,
                                     execution_timeout=None, mlws_kernel=None, **_ignored):
            reporter: Reporter = mlws_reporter
            if mlws_kernel is not None:  # the executed notebook says what it ran in
                mlws_kernel.stamp(nb_man.nb.metadata)
            cap = OutputCap(log_note=f"The run's stdout.log and stderr.log keep the streams, each up "
                                     f"to its own {LOG_CAP_BYTES >> 20} MB cap; display outputs past "
                                     "the cap are not stored.")
            start, complete = nb_man.cell_start, nb_man.cell_complete

            def cell_start(cell, cell_index=None, **kw):
                reporter.current = cell_index
                start(cell, cell_index=cell_index, **kw)

            def cell_complete(cell, cell_index=None, **kw):
                cap.finish(cell)
                complete(cell, cell_index=cell_index, **kw)
                reporter.cell_done(nb_man.nb, cell_index)

            nb_man.save = lambda **kw: reporter.save(nb_man.nb)
            nb_man.autosave_cell = lambda: None  # every message saves through the reporter
            nb_man.cell_start, nb_man.cell_complete = cell_start, cell_complete
            reporter.inserted_at = inserted_index(injected_index(nb_man.nb), reporter.submitted)
            client = Client(nb_man, reporter, cap, km=km, kernel_name=kernel_name,
                            timeout=execution_timeout, startup_timeout=start_timeout,
                            stdout_file=stdout_file, stderr_file=stderr_file)
            try:
                return client.execute()
            except CellTimeoutError as exc:
                raise _stopped(nb_man.nb, reporter, execution_timeout, client.mlws_stalled,
                               exc) from None
            except DeadKernelError:
                raise _CellStopped(R.FAILED, "kernel died" + _while_running(nb_man.nb, reporter)) from None

    return MlwsEngine


def _stopped(nb, reporter: Reporter, timeout, stalled: bool, exc: Exception) -> _CellStopped:
    """Why nbclient timed a cell out: the run's own timeout, or a kernel that went silent."""
    cell = nb.cells[reporter.current] if reporter.current is not None else None
    name = _cell_label(reporter.inserted_at, reporter.current, cell) if cell else "a cell"
    excerpt = "\n" + _excerpt(cell.source) if cell else ""
    if stalled:
        return _CellStopped(R.FAILED, (
            f"{name} finished, but the kernel then sent none of its remaining output for "
            f"{IOPUB_QUIET_S} s (the kernel is stuck, or its output channel was lost){excerpt}"))
    if not timeout:  # not the run's timeout: none was set
        return _CellStopped(R.FAILED, f"{name}: {type(exc).__name__}: {exc}")
    return _CellStopped(R.TIMED_OUT, f"timed out: {name} ran longer than the run's timeout of "
                                     f"{timeout:g} s{excerpt}")


def _while_running(nb, reporter: Reporter) -> str:
    if reporter.current is None:
        return ""
    return " while running " + _cell_label(reporter.inserted_at, reporter.current,
                                           nb.cells[reporter.current])


def _cell_label(inserted_at: int | None, index: int, cell=None, count: int | None = None) -> str:
    """A cell as its user counts it (:func:`notebooks.cell_number`): ``cell 2 (In [3])``."""
    number = cell_number(inserted_at, index)
    if number is None:
        return "the injected parameters cell"
    count = count if cell is None else cell.get("execution_count")  # unknown if the kernel died first
    return f"cell {number}" + (f" (In [{count}])" if count else "")


def _excerpt(source: str) -> str:
    return "\n".join(source.splitlines()[:6])


def _bounded(reason: str | None) -> str | None:
    """A failure reason kept whole up to :data:`REASON_CAP` characters."""
    if reason is None or len(reason) <= REASON_CAP:
        return reason
    return reason[:REASON_CAP] + f"... [{len(reason) - REASON_CAP} more characters]"


class EarlyKernel:
    """The kernel of a run, started before anything else, so that it boots while the run is
    prepared; a retry's fresh kernel is started here too (:meth:`start`).

    Only the notebook's JSON is read to resolve its kernel; a notebook that cannot be read or
    whose kernel cannot be resolved starts none (submit then says what is wrong).  The kernels'
    own output is kept as the run's ``kernel.log``, without the :data:`kernels.NOISE` lines.
    """

    def __init__(self, notebook, kernel: str | None = None, project_dir=None, workspace=None,
                 run_id: str | None = None):
        self.run_id = run_id or R.new_run_id()
        self.kernel = _resolved_name(Path(notebook), kernel)
        self.km = None
        self.log = tempfile.NamedTemporaryFile(prefix="mlws-kernel-", suffix=".log", delete=False)
        self._cwd = str(Path(project_dir or Path(notebook).absolute().parent))
        self._workspace = workspace
        self.start()

    def start(self):
        """Start a kernel for the run (None when it cannot start); it becomes :attr:`km`."""
        self.km = None
        if self.kernel is None:
            return None
        from jupyter_client.kernelspec import NoSuchKernel
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_client.utils import run_sync

        from .config import find_root

        env = {**os.environ, "MLWS_WORKSPACE": str(find_root(self._workspace)), ENV_RUN_ID: self.run_id}
        # async, as nbclient's own: with a blocking client its wait for output would block the
        # loop that enforces the cell timeout
        km = AsyncKernelManager(kernel_name=self.kernel)
        try:
            run_sync(km.start_kernel)(cwd=self._cwd, env=env, stdout=self.log, stderr=self.log)
        except (NoSuchKernel, OSError):
            return None  # submit refuses the kernel with the list of installed ones
        self.km = km
        return km

    def shutdown(self, ws: Workspace | None = None) -> None:
        """Stop the kernel if it still runs, and keep its output as the run's kernel.log."""
        if self.km is not None and self.km.has_kernel:
            from jupyter_client.utils import run_sync

            run_sync(self.km.shutdown_kernel)()  # gracefully: the kernel flushes what it logged
        self.log.close()
        try:
            if ws is not None and ws.runs_exists(self.run_id) and drop_noise(self.log.name):
                ws.artifacts.attach_log(ws.runs.get(self.run_id).pk, "kernel.log", self.log.name)
        finally:
            os.unlink(self.log.name)


def _resolved_name(path: Path, kernel: str | None) -> str | None:
    try:
        return resolve_kernel(metadata_of(path), kernel).name
    except InvalidInput:
        return None


def submit_and_execute(ws: Workspace, notebook, parameters=None, *, early: EarlyKernel | None = None,
                       on_progress: Callable[[int, int], None] | None = None,
                       on_submitted: Callable | None = None, **options) -> R.RunRecord:
    """Submit a notebook run and execute it in this process (``mlws run submit --wait``).

    The kernel is started first (or was, ``early``), so that it boots while
    the run is recorded.
    """
    early = early or EarlyKernel(notebook, options.get("kernel"), options.get("project_dir"), ws.root)
    try:
        kernel = options.get("kernel") or early.kernel
        sub = ws.notebooks.submit(notebook, parameters, detach=False, _run_id=early.run_id,
                                  **{**options, "kernel": kernel})
        if on_submitted is not None:
            on_submitted(sub)
        return execute(ws, sub.run_id, kernel=early, on_progress=on_progress)
    finally:
        early.shutdown(ws)


def execute(ws: Workspace, run_id: str, *, kernel: EarlyKernel | None = None,
            on_progress: Callable[[int, int], None] | None = None) -> R.RunRecord:
    """Execute the notebook run ``run_id`` (already recorded by submit) and end it.

    ``kernel`` holds the kernel started for the run (else Papermill starts one); each retry
    gets a fresh one from it.
    """
    from papermill.engines import papermill_engines

    papermill_engines.register("mlws", _engine())
    _quiet_papermill()
    run = ws.attach_run(run_id)
    spec = ws.notebooks.spec(run.record.pk)
    workdir = Path(spec["workdir"])
    # kernels started for this run (a retry's included) inherit these; put back afterwards, so
    # that a process executing runs in-process (mlws run submit --wait) keeps its own
    saved_env = {k: os.environ.get(k) for k in ("MLWS_WORKSPACE", ENV_RUN_ID)}
    os.environ.update({"MLWS_WORKSPACE": str(ws.root), ENV_RUN_ID: run.id})
    ws.runs.set_process(run.record.pk, os.getpid())
    previous = signal.signal(signal.SIGTERM, _raise_cancel) if _main_thread() else None
    stop_watching = _watch_for_cancel(ws, run.id) if previous is not None else None
    live_nb = ws.artifacts.live_file(run.id, "output.ipynb")
    status, error = R.FAILED, "the executor stopped before the notebook ran"
    environment: dict = {}
    capturing = threading.Thread(target=lambda: environment.update(capture_environment(spec["kernel"])),
                                 name="mlws-environment", daemon=True)
    capturing.start()  # reads installed packages while the kernel boots
    try:
        resolved = resolve_kernel(metadata_of(workdir / spec["notebook"]), spec["kernel"])
        for attempt in range(spec["retries"] + 1):
            ws.notebooks.set_attempt(run.record.pk, attempt + 1)
            km = None if kernel is None else kernel.km if attempt == 0 else kernel.start()
            status, error = _attempt(ws, run, spec, workdir, live_nb, km, resolved, on_progress)
            error = _bounded(error)
            ws.notebooks.record_attempt(run, attempt + 1, status, error)
            if status in (R.COMPLETED, R.CANCELED):
                break
    except _Canceled:
        status, error = R.CANCELED, "canceled"
    except InvalidInput as exc:  # its kernel was uninstalled since it was submitted
        status, error = R.FAILED, str(exc)
    finally:
        if stop_watching is not None:
            stop_watching.set()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        capturing.join()
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _finish(ws, run, spec, workdir, live_nb, status, error, environment)
    return run.record


def _attempt(ws, run, spec, workdir: Path, live_nb: Path, km, kernel: Kernel,
             on_progress) -> tuple[str, str | None]:
    import papermill as pm

    reporter = Reporter(ws, run.record.pk, live_nb, workdir / spec["notebook"], on_progress)
    stdout = CappedLog(ws.artifacts.live_file(run.id, "stdout.log"))
    stderr = CappedLog(ws.artifacts.live_file(run.id, "stderr.log"))
    extra = {"km": km} if km is not None else {}
    try:
        pm.execute_notebook(
            str(workdir / spec["notebook"]), None, parameters=spec["parameters"],
            engine_name="mlws", kernel_name=kernel.name, language=kernel.language,
            progress_bar=False, cwd=str(workdir), stdout_file=stdout, stderr_file=stderr,
            execution_timeout=spec["timeout"], mlws_reporter=reporter, mlws_kernel=kernel, **extra)
        return R.COMPLETED, None
    except pm.PapermillExecutionError as exc:
        name = _cell_label(reporter.inserted_at, exc.cell_index, count=exc.exec_count)
        return R.FAILED, f"{name} raised {exc.ename}: {exc.evalue}\n{_excerpt(exc.source)}"
    except _CellStopped as exc:  # the run's timeout, a silent or a dead kernel
        return exc.status, exc.reason
    except _Canceled:
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


def _record_environment(ws: Workspace, run, kernel: str, env: dict) -> None:
    if not env:
        return
    run.set_tags({"kernel": kernel, "env_hash": env["packages_hash"][:16],
                  "python": env["python"].split()[0]})
    sha, size = ws.blobs.put_bytes(json.dumps(env, indent=1).encode())
    ws.runs.add_files(run.record.pk, "artifact", [("environment.json", sha, size)])


def _finish(ws: Workspace, run, spec, workdir: Path, live_nb: Path, status: str, error,
            environment: dict) -> None:
    """Store what the run produced and end it; a failure here is reported on the run."""
    problems = []
    for step in (lambda: _record_environment(ws, run, spec["kernel"], environment),
                 lambda: ws.notebooks.record_cells(run, live_nb, workdir / spec["notebook"]),
                 lambda: _store_output(ws, run, spec, live_nb),
                 lambda: _upload_outputs(ws, run, workdir / "outputs"),
                 lambda: ws.notebooks.copy_output(run, live_nb, spec)):
        try:
            step()
        except (MlwsError, OSError, ValueError) as exc:
            problems.append(str(exc))
    if problems and status == R.COMPLETED:
        status, error = R.FAILED, "while storing the results: " + "; ".join(problems)
    run.end(status, error)
    if ws.notebooks.is_work_dir(workdir):  # a sweep child's or a rerun's own copy
        shutil.rmtree(workdir, ignore_errors=True)


def _upload_outputs(ws: Workspace, run, folder: Path) -> None:
    if folder.is_dir():
        ws.artifacts.upload_folder(run.record.pk, "outputs", folder, since_ms=run.record.start_time)


def _store_output(ws: Workspace, run, spec, live_nb: Path) -> None:
    if live_nb.is_file():
        name = Path(spec["notebook"]).name
        ws.artifacts.upload_file(run.record.pk, f"notebook/{name}", live_nb)
        live_nb.unlink()


def keep_live_notebook(ws: Workspace, run_pk: int, run_id: str) -> None:
    """Store the output notebook a killed executor left (its last save) as the run's artifact,
    with its cell records and output copy, as :func:`execute` would have at the end."""
    live_nb = ws.artifacts.live_root / run_id / "output.ipynb"
    if not live_nb.is_file():
        return
    run = ws.get_run(run_id)
    spec = ws.notebooks.spec(run_pk)
    ws.notebooks.record_cells(run, live_nb, Path(spec["workdir"]) / spec["notebook"])
    _store_output(ws, run, spec, live_nb)
    ws.notebooks.copy_output(run, live_nb, spec)


def _watch_for_cancel(ws: Workspace, run_id: str):
    """Raise _Canceled in the main thread once the run is ended elsewhere (mlws run cancel)."""
    import _thread
    import threading

    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.5):
            try:
                status = ws.runs.get(run_id).status
            except MlwsError:
                continue
            if status != R.RUNNING:
                _thread.interrupt_main(signal.SIGTERM)
                return

    threading.Thread(target=watch, name="mlws-cancel-watch", daemon=True).start()
    return stop


class _Canceled(BaseException):
    """SIGTERM: stop the notebook (the kernel is shut down on the way out)."""


def _raise_cancel(signum, frame) -> None:
    raise _Canceled()


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def execute_detached(ws: Workspace, run_id: str) -> R.RunRecord:
    """Execute a queued notebook run in this process, its kernel started first."""
    spec = ws.notebooks.spec(ws.runs.get(run_id).pk)
    # the kernel boots while papermill is imported and the run is set up
    early = EarlyKernel(Path(spec["workdir"]) / spec["notebook"], spec["kernel"], spec["workdir"],
                        ws.root, run_id)
    try:
        return execute(ws, run_id, kernel=early)
    finally:
        early.shutdown(ws)


def _fork_child(root: Path, run_id: str) -> int:
    """Execute one child run of a sweep in a forked process; return its pid.

    The sweep's process imported the executor's libraries once, before the first fork, and
    runs no thread, so a fork is safe and each child starts in milliseconds.  The child leads
    a process group of its own (what cancel stops), opens the workspace afresh (never the
    parent's connections) and leaves with ``os._exit``.
    """
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with Workspace.open(root) as ws:
            code = 0 if execute_detached(ws, run_id).status == R.COMPLETED else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _reap(pid: int) -> bool:
    """Whether the forked child ``pid`` has exited (and is reaped)."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:
        return True


def run_sweep(ws: Workspace, parent_id: str, max_parallel: int,
              on_progress: Callable[[int, int], None] | None = None) -> R.RunRecord:
    """Execute a sweep's queued children, ``max_parallel`` at a time, each in a forked process.

    Forking needs a process that runs no other thread: the detached executor, or the ``mlws``
    CLI waiting for its sweep.
    """
    if threading.active_count() > 1:
        raise RuntimeError("run_sweep forks: call it from a process that runs no other thread")
    record = ws.runs.get(parent_id)
    if record.status == R.QUEUED:
        record = ws.runs.mark_started(parent_id)
    ws.runs.set_process(record.pk, os.getpid())
    queue = [c.id for c in ws.runs.children(record.pk) if c.status == R.QUEUED]
    total = len(queue)
    running: list[int] = []
    beat = checked = time.monotonic()
    warm = False
    try:
        while queue or running:
            while queue and len(running) < max_parallel:
                running.append(_fork_child(ws.root, queue.pop(0)))
            if not warm:
                # the first children import what they need themselves; meanwhile this process
                # imports it once for every later child to inherit
                import nbclient  # noqa: F401
                import papermill  # noqa: F401
                from jupyter_client.kernelspec import KernelSpecManager  # noqa: F401
                from jupyter_client.manager import AsyncKernelManager  # noqa: F401

                capture_environment()  # fills the platform caches every later child reads
                warm = True
            time.sleep(0.05)  # the next child starts as soon as a slot frees
            running = [pid for pid in running if not _reap(pid)]
            if on_progress is not None:
                on_progress(total - len(queue) - len(running), total)
            now = time.monotonic()
            if now - beat > ws.config.heartbeat_interval:
                beat = now
                ws.runs.heartbeat(record.pk)
            if now - checked > 0.5:
                checked = now
                if ws.runs.get(parent_id).status != R.RUNNING:  # canceled by the user
                    raise _Canceled()
    except (_Canceled, KeyboardInterrupt):
        for child_id in queue:
            ws.runs.end(child_id, R.CANCELED, "the sweep was canceled")
        for pid in running:
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in running:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        if ws.runs.get(parent_id).status == R.RUNNING:
            ws.runs.end(parent_id, R.CANCELED, "canceled")
        return ws.runs.get(parent_id)
    children = ws.runs.children(record.pk)
    failed = [c for c in children if c.status != R.COMPLETED]
    return ws.runs.end(parent_id, R.FAILED if failed else R.COMPLETED,
                       f"{len(failed)} of {len(children)} runs did not complete" if failed else None)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the detached executor process: ``WORKSPACE RUN_ID [--sweep N]``."""
    from .startup import skip_iri_format_checks

    skip_iri_format_checks()
    args = argv if argv is not None else sys.argv[1:]
    root, run_id = args[:2]
    with Workspace.open(root) as ws:
        if args[2:3] == ["--sweep"]:
            signal.signal(signal.SIGTERM, _raise_cancel)
            record = run_sweep(ws, run_id, int(args[3]))
        else:
            record = execute_detached(ws, run_id)
    return 0 if record.status == R.COMPLETED else 1


if __name__ == "__main__":
    sys.exit(main())
