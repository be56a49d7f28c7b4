"""The SDK's run handle: log to a run while it runs, read it any time.

Use it as a context manager::

    with ws.experiment("iris").start_run() as run:
        run.log("loss", 0.1)

Leaving the block normally completes the run.  An exception, ``sys.exit(n)``
with ``n != 0`` or SIGTERM marks it failed with the error; everything logged
before is kept; Ctrl-C marks it canceled.  A run started without ``with`` is ended
when the interpreter exits, with the same rules (see :mod:`jupyter_mlws.exitwatch`
for how the exit's cause is seen).  A run whose process dies without a word
(kill -9, ``os._exit``) is marked killed once its heartbeat is older than the
workspace's ``heartbeat_timeout``.
"""

from __future__ import annotations

import atexit
import io
import math
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Iterable, Mapping, Protocol

from . import exitwatch
from . import runs as R
from .artifacts import ArtifactService, check_image
from .errors import Conflict, InvalidInput, PermissionDenied
from .limits import (  # noqa: F401 (VALUE_MAX_BYTES: re-exported)
    STEP_MAX, STEP_MIN, VALUE_MAX_BYTES, check_key, check_logged_value, check_step, check_steps,
    check_timestamp, check_timestamps, check_value, check_values, param_text, tag_text,
)
from .metrics import MetricWriter
from .models import ModelRegistry

#: runs started in this process and not yet ended, innermost last
_active: list["Run"] = []
_active_lock = threading.Lock()
_hooks_installed = False
_terminated_by: str | None = None
_time = time.time
_time_ns = time.time_ns


class RunServices(Protocol):
    """What a run handle works through (:class:`jupyter_mlws.tracking.Tracking` is the one the
    workspace builds): the services of runs, artifacts and models, and making handles."""

    runs: R.RunService
    artifacts: ArtifactService
    models: ModelRegistry

    def start(self, experiment: str, *, name: str | None = None, tags: Mapping | None = None,
              description: str = "", parent: "Run | None" = None,
              snapshot: bool | str | os.PathLike = True, outputs: str | None = None) -> "Run":
        """Start a run owned by this process (a child of ``parent`` when given)."""

    def handle(self, record: R.RunRecord, writer: MetricWriter | None = None) -> "Run":
        """A handle on a recorded run (one that logs when given a writer)."""


class Run:
    """A run of an experiment.

    Obtain one from :meth:`Experiment.start_run`, :meth:`Run.child`,
    :meth:`Workspace.get_run` or :func:`jupyter_mlws.current_run`; do not
    construct it directly.

    ``services`` is all the handle works through; ``workspace`` is only handed back to
    faces that need the workspace a run came from (the widgets), never called here.
    """

    def __init__(self, services: RunServices, record: R.RunRecord, writer: MetricWriter | None = None,
                 *, workspace: object = None):
        self.services = services
        self.workspace = workspace
        self.record = record
        self._writer = writer
        self._steps: dict[str, int] = {}
        self._buffer = writer.buffer if writer else None
        self._flush_size = writer.flush_size if writer else 0
        self._outputs_dir: str | None = None
        self._owns = False

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.record.name!r} {self.record.status}>"

    # -- identity and state ----------------------------------------------------

    @property
    def id(self) -> str:
        """The run's id (16 hex digits)."""
        return self.record.id

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def status(self) -> str:
        """The status as last read: running, completed, failed, canceled or killed."""
        return self.record.status

    @property
    def user(self) -> str:
        """Who made the run: the OS user of the process that started it, or the signed-in user
        of a workspace server it was made through (what ``run list -f "user = 'alice'"``
        finds)."""
        return self.record.user

    @property
    def host(self) -> str:
        """The machine the run's process ran on ("" for a run not started by a process)."""
        return self.record.host

    @property
    def params(self) -> dict[str, str]:
        return self.record.params

    @property
    def metrics(self) -> dict[str, float]:
        """The latest value of each metric, as last read (see :meth:`refresh`)."""
        return self.record.metrics

    @property
    def tags(self) -> dict[str, str]:
        return self.record.tags

    @property
    def next_steps(self) -> Mapping[str, int]:
        """The next step of each metric this handle logged (read-only: what a cell logged is
        told from it)."""
        return self._steps

    @property
    def is_active(self) -> bool:
        """Whether this handle can log (the run is running and attached here)."""
        return self._writer is not None

    def refresh(self) -> "Run":
        """Re-read the run from the workspace (after flushing what this handle logged)."""
        if self._writer is not None:
            self._writer.flush()
        self.record = self.services.runs.get(self.id)
        return self

    # -- logging ------------------------------------------------------------

    def log(self, key: str, value: float, step: int | None = None, timestamp: float | None = None) -> None:
        """Log one point of the scalar metric ``key``.

        ``step`` defaults to one past the metric's last step in this handle;
        ``timestamp`` (ms since the epoch) defaults to now.  Buffered: the
        point is written in the next batch (see :meth:`flush`).
        """
        buffer = self._buffer
        if buffer is None:
            self._not_running()
        steps = self._steps  # the hot path: each test below is one branch when all is well
        if key not in steps:
            check_key(key)
        if type(value) is not float:
            value = check_value(key, value)
        if step is None:
            step = steps.get(key, 0)
        elif type(step) is not int or not STEP_MIN <= step <= STEP_MAX:
            step = check_step(key, step)
        steps[key] = step + 1
        buffer.append((key, value, step, _time_ns() // 1_000_000 if timestamp is None
                       else check_timestamp(key, timestamp)))
        if len(buffer) >= self._flush_size:
            self._writer.wake()

    def log_metrics(self, values: Mapping[str, float], step: int | None = None) -> None:
        """Log several metrics at the same step."""
        for key, value in values.items():
            self.log(key, value, step=step)

    def log_batch(self, key: str, values: Iterable[float], steps: Iterable[int] | None = None,
                  timestamps: Iterable[float] | None = None) -> int:
        """Write many points of one metric now, in as few transactions as possible.

        ``steps`` default to the metric's next steps; ``timestamps`` (ms) to
        now.  Returns the number of points written.  Unlike :meth:`log` this
        is synchronous: when it returns, the points are in the store.  On a full
        disk it raises InsufficientStorage (Unavailable for another failure of the
        store) and writes none of them: log them again once space is freed.
        """
        if self._writer is None:
            self._not_running()
        check_key(key)
        values = check_values(key, values)
        n = len(values)
        start = self._steps.get(key, 0)
        steps = range(start, start + n) if steps is None else check_steps(key, steps, n)
        if timestamps is None:
            stamps = [int(_time() * 1000)] * n
        else:
            stamps = check_timestamps(key, timestamps, n)
        if n:
            self._writer.flush()  # keep the logging order
            self.services.runs.write_series(self.id, [R.Series(key, values, steps, stamps)])
            self._steps[key] = max(start, max(steps) + 1)
        return n

    def record_cell(self, ordinal: int, cell: dict) -> None:
        """Buffer the record of an executed cell (written with the next batch)."""
        if self._writer is None:
            self._not_running()
        self._writer.records.append((ordinal, int(_time() * 1000), cell))

    def flush(self) -> None:
        """Write every buffered point now.

        Raises InsufficientStorage (a full disk) or Unavailable when they cannot be written;
        the points stay buffered and are written once the store works again.
        """
        if self._writer is not None:
            self._writer.flush()

    def log_params(self, values: Mapping[str, Any]) -> None:
        """Record parameters: a string as itself, any other value as JSON (``None`` as
        ``null``, ``1.0`` as ``1.0``; see :func:`jupyter_mlws.limits.param_json`), the same
        text whichever face records it.  A param keeps its first value (Conflict for a
        different one); InvalidInput for a bad name or a text over 6,000 characters."""
        self._check_running()
        self.services.runs.log_params(self.id, dict(values))
        self.record.params.update({k: param_text(k, v)[0] for k, v in values.items()})

    def log_param(self, key: str, value: Any) -> None:
        """Record one parameter."""
        self.log_params({key: value})

    def set_tags(self, values: Mapping[str, Any]) -> None:
        """Set tags (allowed on ended runs too)."""
        self.services.runs.set_tags(self.id, dict(values))
        self.record.tags.update({k: tag_text(k, v) for k, v in values.items()})

    def set_tag(self, key: str, value: Any) -> None:
        """Set one tag."""
        self.set_tags({key: value})

    def set_description(self, description: str) -> None:
        """Replace the run's description."""
        self.services.runs.set_description(self.id, description)
        self.record.description = description

    def log_list(self, key: str, values: Iterable[Any], step: int | None = None) -> None:
        """Log a list of values (e.g. accuracy per class) as one step of ``key``."""
        self._log_value(key, "list", [_plain(v) for v in values], step)

    def log_table(self, key: str, table: Any, step: int | None = None) -> None:
        """Log a table: a mapping of column to list, or a pandas DataFrame."""
        if hasattr(table, "to_dict") and hasattr(table, "columns"):
            table = {str(c): list(table[c]) for c in table.columns}
        if not isinstance(table, Mapping):
            raise InvalidInput(f"log_table({key!r}) needs a dict of column -> list or a DataFrame")
        columns = {str(c): [_plain(v) for v in vals] for c, vals in table.items()}
        self._log_value(key, "table", columns, step)

    def log_image(self, key: str, image: Any, step: int | None = None) -> None:
        """Log an image: a path to a PNG/JPEG/GIF/WebP/SVG file, its bytes, or a matplotlib figure.

        Raises InvalidInput, and records nothing, for an empty file, one that is not an image
        of those formats (told by its content, not its name), or one over 16 MB.
        """
        self._check_running()
        check_key(key, "image")
        if hasattr(image, "savefig"):
            buf = io.BytesIO()
            image.savefig(buf, format="png")
            data = buf.getvalue()
        elif isinstance(image, (bytes, bytearray)):
            data = bytes(image)
        elif isinstance(image, (str, os.PathLike)):
            data = _read_file(image, f"image {key!r}")
        else:
            raise InvalidInput(f"log_image({key!r}) needs a file path, image bytes or a matplotlib figure")
        check_image(data, f"image {key!r}")  # before a step is spent (and before any upload)
        self.services.artifacts.add_image(self.id, key, self._value_step(key, step),
                                          int(_time() * 1000), data)

    def _log_value(self, key: str, kind: str, value: Any, step: int | None) -> None:
        self._check_running()
        data = check_logged_value(key, kind, value)
        self.services.runs.add_value(self.id, key, kind, self._value_step(key, step),
                                      int(_time() * 1000), data=data)

    def _value_step(self, key: str, step: int | None) -> int:
        key = "\0" + key  # rich values count their steps apart from scalar metrics
        step = self._steps.get(key, 0) if step is None else check_step(key[1:], step)
        self._steps[key] = step + 1
        return step

    def upload_file(self, name: str, path: str | os.PathLike) -> str:
        """Store the file at ``path`` as artifact ``name``; return the normalised name.

        Raises InsufficientStorage (a full disk) or Unavailable, with nothing stored.
        """
        return self.services.artifacts.upload_file(self.id, name, path)

    def upload_folder(self, name: str, path: str | os.PathLike) -> list[str]:
        """Store every file under ``path`` as artifacts below ``name``."""
        return self.services.artifacts.upload_folder(self.id, name, path)

    def attach_log(self, name: str, source: str | os.PathLike | bytes) -> None:
        """Attach a log to the run: a file path, or the log's text as bytes."""
        self.services.artifacts.attach_log(self.id, name, source)

    def register_model(self, name: str, artifact: str | None = None, *,
                       path: str | os.PathLike | None = None, **options):
        """Register a model from this run's artifact (or a local path), with this run as lineage."""
        self.flush()
        return self.services.models.register(name, path, run=self.id,
                                             artifact=artifact, **options)

    # -- reading ------------------------------------------------------------

    def metric_history(self, key: str) -> list[tuple[int, int, float]]:
        """All points of a metric as ``(step, timestamp_ms, value)``."""
        self.flush()
        return self.services.runs.metric_history(self.id, key)

    def values(self, key: str | None = None) -> list[dict]:
        """Logged lists, tables and images (``data`` is JSON text; images have a ``blob``)."""
        return self.services.runs.values(self.id, key)

    def files(self, kind: str | None = None) -> list[dict]:
        """The run's artifacts, snapshot files and logs."""
        return self.services.runs.files(self.id, kind)

    def children(self) -> list["Run"]:
        """Child runs, oldest first."""
        return [self.services.handle(r) for r in self.services.runs.children(self.id)]

    def download(self, path: str | None = None, dest: str | os.PathLike = ".",
                 kind: str = "artifact") -> list[Path]:
        """Copy the run's files (all, or those at or below ``path``) into ``dest``.

        ``kind`` is ``artifact`` (default), ``snapshot`` or ``log``.
        """
        return self.services.artifacts.download(self.id, path, dest, kind)

    # -- lifecycle ---------------------------------------------------------

    def child(self, name: str | None = None, *, tags: Mapping | None = None, description: str = "") -> "Run":
        """Start a child run of this run, in the same experiment."""
        return self.services.start(self.record.experiment, name=name, tags=tags,
                                   description=description, parent=self, snapshot=False)

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._writer is not None:
            self.end(*_outcome(exc))

    def end(self, status: str = R.COMPLETED, error: str | None = None) -> None:
        """End the run: write buffered points, upload ``outputs/`` and logs, set the status."""
        if self._writer is None:
            raise Conflict(f"run {self.id} is not running in this process")
        writer, self._writer, self._buffer = self._writer, None, None
        _forget(self)
        problems = []
        for step in (writer.close, self._upload_outputs):
            try:
                step()
            except Exception as exc:  # the run still ends; say what was lost
                problems.append(f"{type(exc).__name__}: {exc}")
        if problems and status == R.COMPLETED:
            status, error = R.FAILED, "while ending the run: " + "; ".join(problems)
        self.services.artifacts.store_live_logs(self.id)
        try:
            self.record = self.services.runs.end(self.id, status, error)
        except Conflict:  # ended elsewhere meanwhile, e.g. canceled: that status stands
            try:
                self.record = self.services.runs.get(self.id)
            except PermissionDenied:  # over HTTP with the run's token, which died with the run
                pass

    def detach(self) -> None:
        """Write what is buffered and stop logging through this handle; the run goes on (a run
        another process started, e.g. ``mlws run start``, is that process's to end).

        Raises InsufficientStorage or Unavailable when the points cannot be written.
        """
        writer, self._writer, self._buffer = self._writer, None, None
        if writer is not None:
            writer.close()

    def fail(self, error: str) -> None:
        """End the run as failed with a message."""
        self.end(R.FAILED, error)

    def cancel(self) -> None:
        """End the run as canceled."""
        self.end(R.CANCELED)

    def _upload_outputs(self) -> None:
        if self._outputs_dir and os.path.isdir(self._outputs_dir):
            self.services.artifacts.upload_folder(self.id, "outputs", self._outputs_dir,
                                                   since_ms=self.record.start_time)

    def _check_running(self) -> None:
        if self._writer is None:
            self._not_running()

    def _not_running(self):
        raise Conflict(
            f"run {self.id} is {self.record.status}, not running in this process: "
            "log to a run from inside its 'with' block (or start a new run)")


def _plain(value: Any) -> Any:
    """A JSON-friendly scalar (numpy scalars become Python ones)."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def _read_file(path: str | os.PathLike, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{what}: cannot read {str(path)!r}: {exc.strerror}") from None


def _outcome(exc: BaseException | None) -> tuple[str, str | None]:
    """The status and error of a run its code left with ``exc`` (None: it ran to its end)."""
    if exc is None:
        return R.COMPLETED, None
    if _terminated_by is not None:
        return R.FAILED, f"terminated by {_terminated_by}"
    if isinstance(exc, SystemExit):
        code = exc.code
        if code is None or (isinstance(code, int) and code == 0):
            return R.COMPLETED, None
        if isinstance(code, int):
            return R.FAILED, f"exited with status {int(code)}"
        return R.FAILED, f"exited with status 1: {code}"  # sys.exit("message")
    if isinstance(exc, KeyboardInterrupt):
        return R.CANCELED, "interrupted (KeyboardInterrupt)"
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return R.FAILED, "".join(lines[-12:])[-4000:]


# -- the runs active in this process ------------------------------------------


def activate(run: Run, outputs_dir: str | None) -> Run:
    """Register a run started in this process for exit handling."""
    run._outputs_dir = outputs_dir
    run._owns = True
    with _active_lock:
        _active.append(run)
    _install_hooks()
    return run


def _forget(run: Run) -> None:
    with _active_lock:
        if run in _active:
            _active.remove(run)


def active_runs() -> list[Run]:
    """Runs started in this process and still running, innermost last."""
    return list(_active)


def _install_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_end_all_at_exit)
    exitwatch.install()
    if threading.current_thread() is threading.main_thread():
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum, frame) -> None:
    global _terminated_by
    _terminated_by = "SIGTERM"
    raise SystemExit(128 + signum)


def _end_all_at_exit() -> None:
    """At interpreter exit, end runs left open (not used as a context manager) as the
    program ended: see :mod:`jupyter_mlws.exitwatch` for what is seen."""
    ending = exitwatch.ending()
    if ending is None and _terminated_by is not None:
        outcome = R.FAILED, f"terminated by {_terminated_by}"
    else:
        outcome = _outcome(ending)
    for run in reversed(active_runs()):
        try:
            run.end(*outcome)
        except Exception as exc:  # never break interpreter exit
            print(f"mlws: could not end run {run.id}: {exc}", file=sys.stderr)
