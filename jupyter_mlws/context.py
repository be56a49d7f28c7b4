"""The current run of this process, for ``mlws.log(...)`` and ``mlws.current_run()``.

Inside a ``with ... start_run()`` block the current run is that run.  In a
process the workspace started for a run (``mlws run start``), it is that run,
found through ``MLWS_RUN_ID`` and ``MLWS_WORKSPACE``.
"""

from __future__ import annotations

import atexit
import os
import sys

from .errors import Conflict, MlwsError
from .run import Run, active_runs

_attached: dict[str, Run] = {}

#: the variable naming the JSON file of a script step's parameters (see notebooks/script.py)
ENV_PARAMETERS = "MLWS_PARAMETERS"


def parameters(**defaults) -> dict:
    """The parameters a script step was given, over ``defaults``: ``{name: value}``.

    In a script a pipeline runs, ``MLWS_PARAMETERS`` names a JSON file of them (an input's
    value is the relative path of its file, ``inputs/NAME.csv``); run by hand, the defaults
    alone: ``p = jupyter_mlws.parameters(rows=100)``.
    """
    import json

    path = os.environ.get(ENV_PARAMETERS)
    given = {}
    if path:
        with open(path, encoding="utf-8") as f:
            given = json.load(f)
    return {**defaults, **given}


def current_run() -> Run:
    """The run code in this process logs to; Conflict when there is none."""
    runs = active_runs()
    if runs:
        return runs[-1]
    run_id = os.environ.get("MLWS_RUN_ID")
    if run_id:
        if run_id not in _attached:
            from .workspace import Workspace

            run = _attached[run_id] = Workspace.open().attach_run(run_id)
            atexit.register(_flush_at_exit, run)
            _flush_after_each_cell(run)
        return _attached[run_id]
    shell = _shell()
    if shell is not None:  # a notebook run by hand: log to its session run
        from .celltracker import load

        load(shell)
        if active_runs():
            return active_runs()[-1]
    raise Conflict(
        "no active run: start one with 'with ws.experiment(NAME).start_run() as run:', "
        "or run the code with 'mlws run start -- python script.py'")


def _flush_at_exit(run: Run) -> None:
    """Write what is buffered as the process exits; a failure is one line, never a traceback."""
    try:
        run.detach()
    except MlwsError as exc:
        print(f"mlws: the last points of run {run.id} were not written: {exc}", file=sys.stderr)


def _shell():
    """The IPython shell running this code, if any (IPython is never imported here)."""
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


def _flush_after_each_cell(run: Run) -> None:
    """In a kernel, write the cell's points when it finishes, so nothing waits on exit."""
    shell = _shell()
    if shell is not None:
        shell.events.register("post_execute", run.flush)


def log(key: str, value: float, step: int | None = None) -> None:
    """Log a metric point to the current run."""
    current_run().log(key, value, step=step)


def get_secret(name: str, *, version: int | None = None) -> str:
    """The value of the workspace's secret ``name``, from code in a run.

    The workspace is the run's (``MLWS_WORKSPACE``, else the one found from the current folder).
    In a run the workspace started, only a secret the run was given (``--secret NAME``) is
    read, and every read is audited for the run; see :meth:`Workspace.get_secret
    <jupyter_mlws.workspace.Workspace.get_secret>`.  The workspace stays open for later calls.
    """
    from .workspace import Workspace

    global _secrets_ws
    if _secrets_ws is None:
        _secrets_ws = Workspace.open()
    return _secrets_ws.get_secret(name, version=version)


_secrets_ws = None
