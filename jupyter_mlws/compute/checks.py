"""``compute test``: whether a target can run work, check by check, each OK, FAIL or SKIP with
a reason.

- ssh: the connection's steps (DNS, TCP connect, SSH handshake, host key, authentication), then
  the host's Python (its version, 3.10 or newer), and what the target's ``env`` needs: with
  ``system`` that it imports jupyter_mlws (which version); with ``build`` that it can make the
  runs' environments (uv, or venv and pip; warned when this machine's Python is another release
  and distributions here need one the host's is not); then the free space in the work folder
  (created if missing); what runs whose runner died left on the
  host is cleaned up over the same connection (a ``cleanup`` line, when there was any);
- dask: DNS and TCP connect to the scheduler, then the scheduler itself when ``distributed`` is
  installed here (its workers and threads), and whether its workers and the scheduler import
  jupyter_mlws (which version);
- local: this Python, jupyter_mlws, the free space in the workspace folder.

A check that fails stops the ones after it (they are SKIP, "not reached"): what is printed
after a FAIL never reads as if the target were usable.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from typing import Callable

from ..errors import MlwsError
from .failures import CONNECT_STEPS, DNS, ENVIRONMENT, SCHEDULER, TCP, TITLES, StepFailed
from .network import address_of, connect_tcp, resolve

OK, FAIL, SKIP = "ok", "fail", "skip"
#: less free space than this in the work folder fails the disk check
MIN_FREE_BYTES = 256 << 20
#: the oldest Python the executor runs on
MIN_PYTHON = (3, 10)
#: seconds a remote check's command may take
COMMAND_TIMEOUT = 60.0


@dataclass(frozen=True)
class Check:
    """One check: ``name`` (``dns``, ``python``, ...), ``status`` (ok, fail, skip), ``detail``."""

    name: str
    status: str
    detail: str

    @property
    def title(self) -> str:
        return TITLES.get(self.name, self.name)

    def to_dict(self) -> dict:
        return {"check": self.name, "title": self.title, "status": self.status, "detail": self.detail}


def report(name: str, kind: str, checks: list[Check]) -> dict:
    """``{target, type, ok, checks: [{check, title, status, detail}]}``; ``ok`` when none failed."""
    return {"target": name, "type": kind, "ok": all(c.status != FAIL for c in checks),
            "checks": [c.to_dict() for c in checks]}


def _skipped(names) -> list[Check]:
    return [Check(n, SKIP, "not reached") for n in names]


def _after(checks: list[Check], names: list[str]) -> list[str]:
    """The ``names`` no check was made for."""
    done = {c.name for c in checks}
    return [n for n in names if n not in done]


def _gib(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.0f} MiB"


def _disk(free: int, where: str) -> Check:
    if free < MIN_FREE_BYTES:
        return Check("disk", FAIL, f"only {_gib(free)} free in {where}: free some space "
                                   f"(runs need at least {_gib(MIN_FREE_BYTES)})")
    return Check("disk", OK, f"{_gib(free)} free in {where}")


# -- local ---------------------------------------------------------------------------------


def local_checks(root) -> list[Check]:
    """This machine: its Python, jupyter_mlws, the free space in the workspace folder."""
    from .. import __version__

    return [Check("python", OK, "%d.%d.%d" % sys.version_info[:3]),
            Check("jupyter_mlws", OK, __version__),
            _disk(shutil.disk_usage(root).free, "the workspace folder")]


# -- dask -----------------------------------------------------------------------------------


def dask_checks(address: str, host: str, port: int, timeout: float) -> list[Check]:
    """A scheduler at ``address``: DNS, TCP connect, the scheduler itself (its workers), and
    jupyter_mlws on its workers and on it (what runs there need)."""
    where = f"dask {address}"
    checks: list[Check] = []
    try:
        infos = resolve(host, port, where)
        checks.append(Check(DNS, OK, infos[0][4][0]))
        sock = connect_tcp(infos, port, where, timeout)
        checks.append(Check(TCP, OK, address_of(sock)))
        sock.close()
    except StepFailed as exc:
        checks.append(Check(exc.step, FAIL, exc.why))
        return checks + _skipped(_after(checks, [DNS, TCP, SCHEDULER, "jupyter_mlws"]))
    return checks + _cluster(address, timeout)


def _cluster(address: str, timeout: float) -> list[Check]:
    from . import dask

    try:
        client = dask.connect(address, timeout)
    except StepFailed as exc:
        return [Check(SCHEDULER, FAIL, exc.why), Check("jupyter_mlws", SKIP, "not reached")]
    except MlwsError:  # distributed is not installed here
        return [Check(SCHEDULER, SKIP, "the 'distributed' package is not installed here (pip "
                                         "install 'jupyter_mlws[dask]'): its port answers"),
                Check("jupyter_mlws", SKIP, "not reached")]
    with client:
        workers = dask.workers(client)
        threads = sum(workers.values())
        found = Check(SCHEDULER, OK, f"{_count(len(workers), 'worker')}, {_count(threads, 'thread')}")
        return [found, _cluster_package(client, sorted(workers))]


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _cluster_package(client, workers: list[str]) -> Check:
    """Whether the scheduler and every worker import jupyter_mlws, and which version."""
    from .. import __version__
    from .dask_tasks import mlws_version

    if not workers:
        return Check("jupyter_mlws", FAIL, "the scheduler has no workers: runs would wait for one; "
                                           "start workers (dask worker ADDRESS) where jupyter_mlws "
                                           "is installed")
    seen = {w: v for w, v in client.run(mlws_version, on_error="return").items() if w in workers}
    lacking = workers_lacking(seen)
    if lacking:
        return Check("jupyter_mlws", FAIL, lacking)
    try:
        seen["scheduler"] = client.run_on_scheduler(mlws_version)
    except Exception as exc:  # noqa: BLE001 - the scheduler's import error, as it came back
        return Check("jupyter_mlws", FAIL, f"the scheduler needs jupyter_mlws installed (it unpickles "
                                           f"the tasks): {_why(exc)}; pip install jupyter_mlws there")
    versions = sorted(set(seen.values()))
    shown = ", ".join(f"{v} on {_count(sum(x == v for x in seen.values()), 'process')}"
                      for v in versions) if len(versions) > 1 else f"{versions[0]} on the scheduler " \
                                                                    f"and {_count(len(workers), 'worker')}"
    same = "" if versions == [__version__] else f" (this machine has {__version__})"
    return Check("jupyter_mlws", OK, shown + same)


def workers_lacking(seen: dict) -> str | None:
    """What to tell when workers cannot import jupyter_mlws: ``seen`` is each worker's answer to
    :func:`~.dask_tasks.mlws_version` (its version, or the error it raised); None when all can."""
    missing = sorted(w for w, v in seen.items() if not isinstance(v, str))
    if not missing:
        return None
    return (f"workers need jupyter_mlws installed: {len(missing)} of {len(seen)} cannot import it "
            f"({missing[0]}: {_why(seen[missing[0]])}); pip install jupyter_mlws where they run")


def _why(error: object) -> str:
    """An error a worker or the scheduler sent back, in one short line."""
    text = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
    return text[:200]


# -- ssh --------------------------------------------------------------------------------------


def ssh_checks(connect: Callable, python: str, workdir: str,
               cleanup: Callable | None = None, *, name: str = "", env: str = "system") -> list[Check]:
    """An SSH host: ``connect(on_step)`` opens the connection (telling each step that passed);
    then Python and, as the target's ``env`` needs (``system``: its Python imports jupyter_mlws;
    ``build``: it can make the runs' environments), and the disk over it; ``cleanup(conn)``
    (the run ids it cleaned up after) last.  ``name`` is the target's, for advice.  The checks
    are in the order they are taken (:data:`~.failures.CONNECT_STEPS` first)."""
    what = "jupyter_mlws" if env != "build" else ENVIRONMENT
    checks: list[Check] = []
    try:
        conn = connect(lambda step, detail: checks.append(Check(step, OK, detail)))
    except StepFailed as exc:
        checks.append(Check(exc.step, FAIL, exc.why))
        return checks + _skipped(_after(checks, [*CONNECT_STEPS, "python", what, "disk"]))
    except MlwsError as exc:  # the key's secret cannot be read (missing, deleted)
        checks.append(Check("authentication", FAIL, str(exc)))
        return checks + _skipped(_after(checks, [*CONNECT_STEPS, "python", what, "disk"]))
    with conn:
        found = _python(conn, python)
        checks.append(found)
        if found.status != OK:
            checks.append(Check(what, SKIP, "needs Python"))
        elif env == "build":
            checks.append(_builds(conn, python, found.detail, name))
        else:
            checks.append(_package(conn, python))
        usable = checks[-1].status == OK  # its Python runs, and runs work there
        if usable and env != "build":
            checks.append(_automl(conn, python, name))  # a note: SKIP when it cannot
        checks.append(_remote_disk(conn, workdir) if usable
                      else Check("disk", SKIP, "not reached"))
        if cleanup is not None:
            checks += _cleanup(conn, cleanup)
    return checks


def _cleanup(conn, cleanup: Callable) -> list[Check]:
    try:
        cleaned = cleanup(conn)
    except MlwsError as exc:
        return [Check("cleanup", FAIL, f"what lost runs left on the host could not be removed: {exc}")]
    if not cleaned:
        return []
    return [Check("cleanup", OK, f"stopped and removed what {len(cleaned)} lost run(s) left on "
                                 f"the host: {', '.join(cleaned)}")]


def _last_line(output: str) -> str:
    from .ssh.commands import plain

    lines = [ln.strip() for ln in plain(output).strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "no output"


def _python(conn, python: str) -> Check:
    status, out = conn.run([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                           timeout=COMMAND_TIMEOUT)
    if status == 127:
        return Check("python", FAIL, f"{python!r} is not on the host (or not on its PATH): install "
                                     "Python 3 there, or give the target's interpreter (--python)"
                                     + _expanded_here(python))
    version = out.strip().splitlines()[-1] if status == 0 and out.strip() else ""
    parts = tuple(int(p) for p in version.split(".") if p.isdigit())
    if status != 0 or len(parts) != 3:
        return Check("python", FAIL, f"{python!r} did not run: {_last_line(out)}" + _expanded_here(python))
    if parts[:2] < MIN_PYTHON:
        return Check("python", FAIL, f"{python!r} is Python {version}: runs need "
                                     f"{'.'.join(map(str, MIN_PYTHON))} or newer")
    return Check("python", OK, version)


def _expanded_here(python: str) -> str:
    """A hint when ``python`` looks like a ``~`` this machine's shell expanded (to its own home,
    which the host need not have)."""
    import os

    home = os.path.expanduser("~").rstrip("/")
    if home and python.startswith(home + "/"):
        return (f" (if you typed ~{python[len(home):]}, your shell here expanded it to this "
                f"machine's home: give '~{python[len(home):]}' quoted, expanded on the host)")
    return ""


#: what ``compute test`` runs on an ``env build`` host: can its Python make a venv (or is uv there)
_BUILDS = ("import importlib.util as u, os, shutil, sys\n"
           "uv = shutil.which('uv') or os.path.join(os.path.dirname(sys.executable), 'uv')\n"
           "print('uv' if os.access(uv, os.X_OK) else 'venv' if u.find_spec('venv') and "
           "u.find_spec('ensurepip') else 'none')")


def _builds(conn, python: str, version: str, name: str) -> Check:
    """An ``env build`` host: its Python (checked before) can make the runs' environments (uv,
    or ``venv`` with ``ensurepip`` for pip); warned when this machine's Python is another release
    and distributions here need one the host's is not."""
    status, out = conn.run([python, "-c", _BUILDS], timeout=COMMAND_TIMEOUT)
    how = _last_line(out) if status == 0 else ""
    if how not in ("uv", "venv"):
        return Check(ENVIRONMENT, FAIL, f"{python!r} cannot make a venv with pip (no ensurepip: on "
                                        "Debian and Ubuntu, apt install python3-venv) and uv is "
                                        "not on the host's PATH: install one of them there")
    with_ = "uv" if how == "uv" else "python -m venv and pip"
    told = (f"each run's environment is built here with {with_} the first time a run needs it, "
            f"then reused ('mlws env list --compute {name or 'NAME'}' lists those built)")
    from ..environments.requires import python_warning

    here = "%d.%d.%d" % sys.version_info[:3]
    warning = python_warning(version, here, "the host", theirs="this machine's")
    return Check(ENVIRONMENT, OK, told + (f"; warning: {warning}" if warning else ""))


def _package(conn, python: str) -> Check:
    from .. import __version__

    status, out = conn.run([python, "-c", "import jupyter_mlws; print(jupyter_mlws.__version__)"],
                           timeout=COMMAND_TIMEOUT)
    if status != 0:
        return Check("jupyter_mlws", FAIL, f"{python!r} on the host cannot import jupyter_mlws, which "
                                           "executes runs there: make a venv on the host, install jupyter_mlws "
                                           "in it (the wheel in this workspace's .mlws/wheels/, or "
                                           "pip install from a checkout) and give --python "
                                           "'~/venv/bin/python' (quoted: the host's home); or "
                                           "let runs bring their own: --env build")
    there = _last_line(out)
    same = "" if there == __version__ else f" (this machine has {__version__})"
    return Check("jupyter_mlws", OK, there + same)


#: what an automated-ML search imports on the host (:func:`automl_lacking`)
AUTOML_MODULES = ("jupyter_mlws", "flaml", "lightgbm")
_LACKING = ("import importlib.util as u\n"
            f"print('missing:' + ','.join(m for m in {AUTOML_MODULES!r} if u.find_spec(m) is None))")


def automl_lacking(conn, python: str) -> list[str] | None:
    """The modules of :data:`AUTOML_MODULES` ``python`` on ``conn``'s host cannot import (an
    automated-ML search runs there with FLAML and LightGBM); None when ``python`` does not run."""
    status, out = conn.run([python, "-c", _LACKING], timeout=COMMAND_TIMEOUT)
    line = next((ln for ln in reversed(out.splitlines()) if ln.startswith("missing:")), None)
    if status != 0 or line is None:
        return None
    return [m for m in line[len("missing:"):].strip().split(",") if m]


def automl_advice(python: str, lacking: list[str]) -> str:
    """What a user reads when the host's ``python`` lacks modules an automated-ML search needs."""
    return (f"{python!r} on the host cannot import {', '.join(lacking)}: automated ML runs its "
            "search there with FLAML and LightGBM; install them in that Python (pip install "
            "'jupyter_mlws[automl]'), or give the target --env build from a Python that has them")


def _automl(conn, python: str, name: str) -> Check:
    """Whether automated-ML searches can run on the host (SKIP, not FAIL, when not: notebook
    runs and commands still can)."""
    lacking = automl_lacking(conn, python)
    if lacking is None:
        return Check("automl", SKIP, f"{python!r} could not be asked what it imports")
    if lacking:
        return Check("automl", SKIP, "not available: " + automl_advice(python, lacking))
    return Check("automl", OK, f"FLAML and LightGBM import: 'mlws automl run ... --compute "
                               f"{name or 'NAME'}' runs its search on the host")


def _remote_disk(conn, workdir: str) -> Check:
    status, out = conn.run(["mkdir", "-p", "--", workdir], timeout=COMMAND_TIMEOUT)
    if status != 0:
        return Check("disk", FAIL, f"the work folder cannot be created: {_last_line(out)}")
    status, out = conn.run(["df", "-Pk", "--", workdir], timeout=COMMAND_TIMEOUT)
    fields = out.strip().splitlines()[-1].split() if status == 0 and out.strip() else []
    if len(fields) < 4 or not fields[3].isdigit():
        return Check("disk", FAIL, f"the free space in the work folder is unknown: {_last_line(out)}")
    return _disk(int(fields[3]) * 1024, "the work folder")
