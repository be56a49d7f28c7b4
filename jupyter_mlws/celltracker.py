"""The IPython extension: every cell executed in a kernel session becomes a step of a run.

``%load_ext jupyter_mlws`` opens the workspace (``MLWS_WORKSPACE`` or above the
kernel's folder) and starts one *session run* for the kernel.  Each executed
cell is recorded: execution count, source, the notebook's id of the cell (what
Jupyter sends with it, so that promote finds the cell's tags), start, duration,
status, the error's name and value, a short summary of its result (type and
size, never the payload) and the metrics it logged.  ``mlws.log(...)`` in a cell lands in
the session run.  Records are buffered and written in batches with the run's
metrics, so a trivial cell costs microseconds.

The hooks never break a cell: an internal error is reported once, as a
visible warning, and tracking turns itself off for the session.
"""

from __future__ import annotations

import atexit
import os
import sys
import time

from . import runs as R

#: a cell's source is kept up to this many characters
SOURCE_MAX = 100_000


class CellTracker:
    """Records the cells of one IPython session into a session run."""

    def __init__(self, shell, workspace, run):
        self.shell = shell
        self.ws = workspace
        self.run = run
        self.enabled = True
        self._start: float | None = None
        self._steps_before: dict = {}
        self._ordinal = 0

    def register(self) -> None:
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)

    def unregister(self) -> None:
        for event, hook in (("pre_run_cell", self.pre_run_cell), ("post_run_cell", self.post_run_cell)):
            try:
                self.shell.events.unregister(event, hook)
            except ValueError:
                pass

    def pre_run_cell(self, info) -> None:
        if not self.enabled:
            return
        try:
            self._start = time.time()
            self._steps_before = dict(self.run.next_steps)
        except Exception as exc:  # never break the user's cell
            self._fail(exc)

    def post_run_cell(self, result) -> None:
        if not self.enabled:
            return
        try:
            self._ordinal += 1
            self.run.record_cell(self._ordinal, self._cell_record(result))
        except Exception as exc:  # never break the user's cell
            self._fail(exc)

    def _cell_record(self, result) -> dict:
        error = result.error_in_exec or result.error_before_exec
        source = result.info.raw_cell if result.info is not None else ""
        cell_id = getattr(result.info, "cell_id", None)
        logged = {k: v - self._steps_before.get(k, 0) for k, v in self.run.next_steps.items()
                  if v != self._steps_before.get(k) and not k.startswith("\0")}
        return {
            "execution_count": result.execution_count,
            "source": source[:SOURCE_MAX],
            "cell_id": cell_id if isinstance(cell_id, str) else None,
            # the cell that loaded the extension ran before the hooks existed
            "start": int(self._start * 1000) if self._start else None,
            "duration": round(time.time() - self._start, 6) if self._start else None,
            "status": "completed" if error is None else "failed",
            "ename": type(error).__name__ if error is not None else None,
            "evalue": str(error)[:1000] if error is not None else None,
            "result": _summary(result.result),
            "metrics": logged,
        }

    def _fail(self, exc: Exception) -> None:
        self.enabled = False
        self.unregister()
        print(f"jupyter_mlws: cell tracking hit an internal error and is off for this session "
              f"({type(exc).__name__}: {exc}); your cells are not affected.", file=sys.stderr)


def _summary(value) -> dict | None:
    """The type and size of a cell's result, never its content."""
    if value is None:
        return None
    try:
        size = len(value)
    except Exception:
        size = sys.getsizeof(value, None)
    return {"type": f"{type(value).__module__}.{type(value).__qualname__}", "size": size}


_tracker: CellTracker | None = None


def load(shell) -> None:
    """``%load_ext jupyter_mlws``: start a session run for this kernel."""
    global _tracker
    if _tracker is not None:
        return
    if os.environ.get("MLWS_RUN_ID"):
        return  # a notebook run executed by the workspace is tracked by its executor
    from .errors import MlwsError
    from .workspace import Workspace

    try:
        ws = Workspace.open()
    except MlwsError as exc:
        print(f"jupyter_mlws: cell tracking is off: {exc}", file=sys.stderr)
        return
    notebook = os.environ.get("JPY_SESSION_NAME") or "unknown"
    run = ws.start_session_run(notebook, kernel=_kernel_name())
    _tracker = CellTracker(shell, ws, run)
    _tracker.register()
    # a failing cell does not fail the session: it ends completed when the kernel exits
    # (atexit runs this before the generic handler, which was registered earlier)
    atexit.register(unload, shell)
    print(f"jupyter_mlws: tracking this session as run {run.id} "
          f"(experiment {run.record.experiment!r})", file=sys.stderr)


def unload(shell) -> None:
    """``%unload_ext jupyter_mlws``: stop tracking and complete the session run."""
    global _tracker
    if _tracker is None:
        return
    _tracker.unregister()
    if _tracker.run.is_active:
        _tracker.run.end(R.COMPLETED)
    _tracker = None


def _kernel_name() -> str:
    """The kernelspec whose interpreter is this one, else 'unknown'."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        for name, spec in KernelSpecManager().get_all_specs().items():
            argv = spec.get("spec", {}).get("argv", [])
            if argv and os.path.realpath(argv[0]) == os.path.realpath(sys.executable):
                return name
            if argv and argv[0] in ("python", "python3") and name.startswith("python"):
                return name
    except Exception:
        pass
    return "unknown"
