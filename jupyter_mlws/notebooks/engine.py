"""The Papermill engine of a notebook run: it executes the notebook and sees every message.

Built on Papermill's engine and nbclient's client (imported when first needed), it keeps
the executed notebook on disk as it changes (:class:`LiveNotebook`: throttled, the last
change never lost), reports cells done, bounds outputs (:mod:`jupyter_mlws.notebooks.outputs`),
waits for a cell's late output as long as it keeps coming, and says why a cell stopped.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Callable

from .. import run_records as R
from ..fsutil import atomic_write
from ..secrets.masking import MaskedStream, Masker, mask_message, mask_outputs
from .outputs import OutputCap
from .document import cell_number, injected_index, inserted_index

#: captured stdout/stderr of a notebook run stop growing past this (a marker says so)
LOG_CAP_BYTES = 10 << 20
#: the least time between two progress writes or output-notebook saves
REPORT_EVERY_S = 0.5
#: after a cell's reply, how long the kernel may send none of the cell's remaining output
#: before the run fails (output that keeps arriving is waited for however long it takes)
IOPUB_QUIET_S = 120




class CappedLog:
    """A text log file that stops growing at ``cap`` bytes (UTF-8) and says so once; the run's
    secrets (``masker``) are masked in it, also when a value comes in two writes."""

    def __init__(self, path: Path, cap: int = LOG_CAP_BYTES, masker: Masker | None = None):
        self._file = open(path, "ab")
        self._cap = self._left = cap
        self._mask = MaskedStream(masker) if masker else None

    def write(self, text: str) -> int:
        self._write(self._mask.write(text) if self._mask is not None else text)
        return len(text)

    def _write(self, text: str) -> None:
        if self._left > 0:
            piece = text.encode("utf-8", "replace")[: self._left]
            self._file.write(piece)
            self._left -= len(piece)
            if self._left <= 0:
                self._file.write(f"\n[mlws: log truncated at {self._cap >> 20} MB]\n".encode())
            self._file.flush()

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if self._mask is not None:
            self._write(self._mask.flush())
        self._file.close()


class LiveNotebook:
    """The executed notebook on disk, and cells done, as it runs: throttled but never lost.

    A save asked for too soon after the last one is delayed, not dropped: a timer on the
    event loop that executes the notebook writes the latest state once the interval has passed
    (on the loop's own thread, so the notebook is never read while nbclient changes it).  The
    disk copy thus reflects every change within about :data:`REPORT_EVERY_S` (longer for a
    notebook that takes long to write), even if the executor is then killed.  Each write also
    reports the cells done to ``report(done, total)`` (the run's reporter).
    """

    def __init__(self, path: Path, submitted: Path, report: Callable[[int, int], None],
                 on_progress: Callable[[int, int], None] | None = None):
        self.submitted = submitted
        self.path = path
        self.report = report
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
        atomic_write(self.path, nbformat.v4.writes(self._nb, split_lines=False).encode())
        self.report(self.done, self.total(self._nb))
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


class CellStopped(Exception):
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


def build_engine():
    """The Papermill engine that saves through a :class:`LiveNotebook` (built when first needed)."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbclient.util import ensure_async, run_sync
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import Engine

    class Client(PapermillNotebookClient):
        def __init__(self, nb_man, live: LiveNotebook, cap: OutputCap, mask: Masker, **kw):
            super().__init__(nb_man, iopub_timeout=_IOPUB_NO_LIMIT_S, **kw)
            self.mlws_mask = mask
            # a kernel started for this run (even one handed in) ends with it, gracefully,
            # and the client's sockets are closed
            self.owns_km = True
            self.mlws_live, self.mlws_cap = live, cap
            self.mlws_seen = 0  # IOPub messages received (what _QuietWait watches)
            self.mlws_stalled = False
            self.log = _CancelAware(self.log, lambda: getattr(self.km, "mlws_canceled", False))

        def process_message(self, msg, cell, cell_index):
            self.mlws_seen += 1
            mask_message(self.mlws_mask, msg)  # the run's secrets, before anything keeps the message
            self.mlws_cap.bound_update(msg, self._display_id_map, self.nb.cells)
            try:
                return super().process_message(msg, cell, cell_index)
            finally:
                self.mlws_live.save(self.nb)  # throttled; the last change is never lost

        def output(self, outs, msg, display_id, cell_index):
            before = len(outs)
            out = super().output(outs, msg, display_id, cell_index)
            if out is None:  # nothing added (e.g. an output widget took it)
                return None
            whole = type(out)(out)  # the cap may cut the notebook's copy in place
            self.mlws_cap.admit(outs, before, cell_index, display_id)
            return whole  # whole, for the run's logs (capped on their own)

        async def _async_cleanup_kernel(self):
            # a run's own kernel (kernels.EarlyKernel's) is only asked to end here: the run's
            # results are stored while it exits, and its EarlyKernel then waits for the exit
            ask = getattr(self.km, "mlws_ask_to_end", None)
            if self.mlws_canceled and self.km is not None:
                # a cancel: stopped now (asked to end while a cell runs, ipykernel would write
                # the running cell's reply to a closed socket: a ZMQError traceback in its log)
                self.shutdown_kernel = "immediate"
            if ask is None or self.shutdown_kernel == "immediate":
                return await super()._async_cleanup_kernel()
            asked = False
            try:
                if await ensure_async(self.km.is_alive()):
                    await ask()
                    asked = True
            finally:
                if not asked:  # a dead kernel: released now, as nbclient's own cleanup does
                    await ensure_async(self.km.cleanup_resources())
                if self.kc is not None:
                    await ensure_async(self.kc.stop_channels())
                    self.kc = None
                    self.km = None

        _sync_cleanup_kernel = run_sync(_async_cleanup_kernel)  # nbclient's binds its own
        #: the kernel is cleaned up because the run is being canceled
        mlws_canceled = False

        def _cleanup_kernel(self):
            from .cancel import Canceled

            # called from nbclient's ``finally`` as a cancel (SIGTERM) unwinds the execution
            self.mlws_canceled = isinstance(sys.exc_info()[1], Canceled)
            return self._sync_cleanup_kernel()

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
                kwargs["mlws_live"].flush()

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, mlws_live=None, km=None,
                                     stdout_file=None, stderr_file=None, start_timeout=60,
                                     execution_timeout=None, mlws_kernel=None, mlws_mask=None,
                                     **_ignored):
            live: LiveNotebook = mlws_live
            if mlws_kernel is not None:  # the executed notebook says what it ran in
                mlws_kernel.stamp(nb_man.nb.metadata)
            cap = OutputCap(log_note=f"The run's stdout.log and stderr.log keep the streams, each up "
                                     f"to its own {LOG_CAP_BYTES >> 20} MB cap; display outputs past "
                                     "the cap are not stored.")
            start, complete = nb_man.cell_start, nb_man.cell_complete

            def cell_start(cell, cell_index=None, **kw):
                live.current = cell_index
                start(cell, cell_index=cell_index, **kw)

            def cell_complete(cell, cell_index=None, **kw):
                cap.finish(cell)
                mask_outputs(mask, cell.get("outputs", []))  # a value split over stream pieces
                complete(cell, cell_index=cell_index, **kw)
                live.cell_done(nb_man.nb, cell_index)

            nb_man.save = lambda **kw: live.save(nb_man.nb)
            nb_man.autosave_cell = lambda: None  # every message saves through the live notebook
            nb_man.cell_start, nb_man.cell_complete = cell_start, cell_complete
            live.inserted_at = inserted_index(injected_index(nb_man.nb), live.submitted)
            mask = mlws_mask or Masker()
            client = Client(nb_man, live, cap, mask, km=km, kernel_name=kernel_name,
                            timeout=execution_timeout, startup_timeout=start_timeout,
                            stdout_file=stdout_file, stderr_file=stderr_file)
            try:
                return client.execute()
            except CellTimeoutError as exc:
                raise _stopped(nb_man.nb, live, execution_timeout, client.mlws_stalled,
                               exc) from None
            except DeadKernelError:
                raise CellStopped(R.FAILED, "kernel died" + _while_running(nb_man.nb, live)) from None

    return MlwsEngine


class _CancelAware(logging.LoggerAdapter):
    """nbclient's log, without its error about a kernel that died once a cancel killed it on
    purpose (its kernel manager's ``mlws_canceled``: a Dask worker's cancel, which can only kill
    the kernel): the run ends canceled, and says so once."""

    def __init__(self, logger, canceled: Callable[[], bool]):
        super().__init__(logger, {})
        self._canceled = canceled

    def log(self, level, msg, *args, **kwargs):
        if self._canceled() and "Kernel died" in str(msg):
            return
        super().log(level, msg, *args, **kwargs)


def _stopped(nb, live: LiveNotebook, timeout, stalled: bool, exc: Exception) -> CellStopped:
    """Why nbclient timed a cell out: the run's own timeout, or a kernel that went silent."""
    cell = nb.cells[live.current] if live.current is not None else None
    name = cell_label(live.inserted_at, live.current, cell) if cell else "a cell"
    shown = "\n" + excerpt(cell.source) if cell else ""
    if stalled:
        return CellStopped(R.FAILED, (
            f"{name} finished, but the kernel then sent none of its remaining output for "
            f"{IOPUB_QUIET_S} s (the kernel is stuck, or its output channel was lost){shown}"))
    if not timeout:  # not the run's timeout: none was set
        return CellStopped(R.FAILED, f"{name}: {type(exc).__name__}: {exc}")
    return CellStopped(R.TIMED_OUT, f"timed out: {name} ran longer than the run's timeout of "
                                    f"{timeout:g} s{shown}")


def _while_running(nb, live: LiveNotebook) -> str:
    if live.current is None:
        return ""
    return " while running " + cell_label(live.inserted_at, live.current, nb.cells[live.current])


def cell_label(inserted_at: int | None, index: int, cell=None, count: int | None = None) -> str:
    """A cell as its user counts it (:func:`.document.cell_number`): ``cell 2 (In [3])``."""
    number = cell_number(inserted_at, index)
    if number is None:
        return "the injected parameters cell"
    count = count if cell is None else cell.get("execution_count")  # unknown if the kernel died first
    return f"cell {number}" + (f" (In [{count}])" if count else "")


def excerpt(source: str) -> str:
    """A cell's first lines, as a failure reason quotes them."""
    return "\n".join(source.splitlines()[:6])


