"""A user's first run in a new kernel: import, open, ``start_run``, one point, ``end``.

Used by ``log_metrics.py`` (not a benchmark of its own).  Each round starts a fresh
``ipykernel`` with jupyter_client (not timed), waits until it is ready, then times one cell
from the ``execute_request`` until the kernel is idle again, as a user waits for it.  The cell
times its own phases with ``perf_counter``.  The same code in a fresh ``python -c`` is the
cross-check (its wall time includes the interpreter's start-up).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import _common as C

#: the cell: what a user types, with the phase clock around each step
OURS = """\
import time as _t
_c0, _t0 = _t.process_time(), _t.perf_counter()
from jupyter_mlws import Workspace
_t1 = _t.perf_counter()
ws = Workspace.open({ws!r})
_t2 = _t.perf_counter()
run = ws.experiment("first").start_run()
_t3 = _t.perf_counter()
run.log("loss", 0.5)
run.end()
_t4 = _t.perf_counter()
print("PHASES", _t1 - _t0, _t2 - _t1, _t3 - _t2, _t4 - _t3, run.id)
print("CPU", _t.process_time() - _c0)
"""

MLFLOW = """\
import time as _t
_c0, _t0 = _t.process_time(), _t.perf_counter()
import mlflow
_t1 = _t.perf_counter()
mlflow.set_tracking_uri({uri!r})
mlflow.set_experiment("first")
_t2 = _t.perf_counter()
run = mlflow.start_run()
_t3 = _t.perf_counter()
mlflow.log_metric("loss", 0.5)
mlflow.end_run()
_t4 = _t.perf_counter()
print("PHASES", _t1 - _t0, _t2 - _t1, _t3 - _t2, _t4 - _t3, run.info.run_id)
print("CPU", _t.process_time() - _c0)
"""

PHASES = ["import", "open", "start_run", "log + end"]


def in_kernel(code: str, cwd: Path) -> dict:
    """Start a fresh python3 kernel (not timed) and time ``code`` in it."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(cwd), env=dict(os.environ))
    try:
        t0 = time.perf_counter()
        msg_id = kc.execute(code)
        out, error = [], None
        while True:
            msg = kc.get_iopub_msg(timeout=120)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "stream":
                out.append(msg["content"]["text"])
            elif kind == "error":
                error = f"{msg['content']['ename']}: {msg['content']['evalue']}"
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                break
        total = time.perf_counter() - t0
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    if error:
        raise RuntimeError(f"the cell failed in the kernel: {error}")
    return {"total_s": total, **_phases("".join(out))}


def in_python(code: str, cwd: Path) -> dict:
    """The same code in a fresh ``python -c`` (wall time includes the interpreter's start-up)."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ))
    total = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"python -c failed:\n{done.stderr[-2000:]}")
    return {"total_s": total, **_phases(done.stdout)}


def _phases(out: str) -> dict:
    """The cell's phase marks (wall s), its run id and its CPU seconds (the process's, all its
    threads: in a kernel, its own idle threads too)."""
    line = next(x for x in out.splitlines() if x.startswith("PHASES"))
    *secs, run_id = line.split()[1:]
    cpu = next(float(x.split()[1]) for x in out.splitlines() if x.startswith("CPU"))
    return {"phases_s": [float(s) for s in secs], "run_id": run_id, "cpu_s": cpu}


def project(tmp: Path) -> Path:
    """A small project folder for the kernels to run in (a run snapshots it, as by default)."""
    folder = tmp / "first-run-project"
    folder.mkdir()
    (folder / "train.ipynb").write_text((C.ROOT / "tests" / "notebooks" / "train.ipynb").read_text())
    (folder / "notes.md").write_text("# experiments\n")
    return folder


def measure(ws_root: Path, tmp: Path, rounds: int, mlflow_uri: str | None) -> dict:
    """``rounds`` alternated rounds of ours in a new kernel, ours in ``python -c`` and (with a
    tracking URI) MLflow in a new kernel; every run's point checked in its store."""
    cwd = project(tmp)
    ours_code = OURS.format(ws=str(ws_root))
    out = {"kernel": [], "python": [], "mlflow_kernel": []}
    in_kernel(ours_code, cwd)  # warm-up: the OS's file cache, as for a user's second kernel
    for r in range(rounds):
        steps = [("kernel", lambda: in_kernel(ours_code, cwd)), ("python", lambda: in_python(ours_code, cwd))]
        if mlflow_uri:
            steps.append(("mlflow_kernel", lambda: in_kernel(MLFLOW.format(uri=mlflow_uri), cwd)))
        for name, fn in steps[r % len(steps):] + steps[:r % len(steps)]:
            got = fn()
            if name != "mlflow_kernel":
                n = C.stored_points(ws_root / "mlws.db", got["run_id"])
                assert n == 1, f"the first run stored {n} points"
            out[name].append(got)
    return out
