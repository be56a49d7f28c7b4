"""Runs of a dask target with ``env: build``: each in its own environment, built on the worker's
machine.

The workspace takes the spec of the run's kernel environment (it must hold jupyter_mlws, which
executes the run there) and builds its local packages' wheels once (:class:`EnvRequest`); the
run's task carries them.  On the worker, :func:`ensure` builds the environment with the
workspace's own builder (:mod:`jupyter_mlws.environments.builder`: a venv keyed by the spec's
hash under this user's private task folder, ``$TMPDIR/mlws-dask-UID/environments``; uv where the
worker has it, else pip; a lock per hash, a marker written last) or finds it built, and
:func:`run_executor` runs ``python -m jupyter_mlws.remote.executor`` with that environment's
Python, in a process of its own (its token and secrets in its environment, never argv), its
output appended to the task's output.  Where distributions come from is the worker's installer
configuration (``PIP_INDEX_URL``/``PIP_FIND_LINKS``, ``UV_INDEX_URL``/``UV_FIND_LINKS``, their
config files).

Imported on workers only when a run needs it (the scheduler never loads it).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

#: variables the executor's process never inherits from the worker: they would make the
#: environment's Python import the worker's packages
DROPPED = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "CONDA_PREFIX")


@dataclass(frozen=True)
class EnvRequest:
    """The environment a run executes in, as a task carries it: the spec's ``hash``, its
    ``python`` (``major.minor``), its pinned ``packages`` and its local packages' ``wheels``
    (``(file name, bytes)``, built on the workspace's machine)."""

    hash: str
    python: str
    packages: tuple[str, ...]
    wheels: tuple[tuple[str, bytes], ...] = ()

    @classmethod
    def of(cls, spec, wheels) -> "EnvRequest":
        """The request of an :class:`~jupyter_mlws.environments.spec.EnvironmentSpec` and the
        paths of its local wheels."""
        return cls(spec.hash, spec.python, tuple(spec.packages),
                   tuple((Path(w).name, Path(w).read_bytes()) for w in wheels))

    @property
    def short_hash(self) -> str:
        return self.hash[:16]

    def __repr__(self) -> str:  # Dask logs a task's arguments: never the wheels' bytes
        return f"<environment {self.short_hash}: {len(self.packages)} packages, {len(self.wheels)} wheels>"


def env_root() -> Path:
    """Where this worker's machine keeps environments: this user's private task folder."""
    from .dask_tasks import output_dir

    return output_dir() / "environments"


def _incoming(root: Path, name: str, data: bytes) -> Path:
    """A local wheel written on this machine (once per content)."""
    if not name.endswith(".whl") or "/" in name or name.startswith("."):
        raise ValueError(f"not a wheel's file name: {name[:100]!r}")
    folder = root / "incoming" / hashlib.sha256(data).hexdigest()[:24]
    path = folder / name
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return path


def ensure(request: EnvRequest, say: Callable[[str], None]) -> str:
    """The Python of ``request``'s environment on this machine, built first if need be.

    Raises BuildFailed (the failed step and the installer's last lines), Unavailable when the
    build cannot run here.
    """
    from ..environments.builder import build, local_place
    from ..environments.wheels import BuildOptions
    from ..errors import BuildFailed

    root = env_root()
    place = local_place(root, name="the dask worker")
    wheels = [_incoming(root, name, data) for name, data in request.wheels]
    result = build(place, request.hash, request.python, request.packages, wheels, BuildOptions())
    if result["state"] != "ready":
        raise BuildFailed(f"environment {request.short_hash} could not be built on the worker's "
                          f"machine: {result.get('reason') or 'no reason given'}")
    say(f"environment {request.short_hash} " + (
        f"built in {result.get('seconds') or 0:.1f} s ({result.get('installer')})"
        if result.get("built") else "reused: nothing to build"))
    return place.env_python(request.hash)


def run_executor(python: str, env: Mapping[str, str], out) -> int:
    """Run ``python -m jupyter_mlws.remote.executor --own-kernel`` (the environment's Python
    runs the kernel, whatever the notebook's kernel is named) with ``env`` added to this
    process's environment (:data:`DROPPED` removed), in a temporary folder, its output appended
    to the binary file ``out``; its exit status (0: the run completed)."""
    full = {k: v for k, v in os.environ.items() if k not in DROPPED}
    with tempfile.TemporaryDirectory(prefix="mlws-task-") as cwd:
        done = subprocess.run([python, "-m", "jupyter_mlws.remote.executor", "--own-kernel"], env={**full, **env},
                              cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                              stderr=subprocess.STDOUT)
    return done.returncode
