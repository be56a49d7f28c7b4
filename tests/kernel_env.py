"""A small kernel environment of its own, for tests that build a run's environment elsewhere.

The test venv holds hundreds of distributions; an environment built from its spec would take
minutes.  :func:`make` builds a venv with only what a kernel and the remote executor need
(ipykernel, papermill, urllib3, SQLAlchemy, ... and what they require, at the versions this
venv has) plus this checkout's jupyter_mlws, installed from a wheel (so that the spec has it as
a local package built from that wheel), all from a wheelhouse downloaded once from the package
index.  A ``python3`` kernelspec in a folder of its own (put first on ``JUPYTER_PATH``) runs it:
a run submitted with that kernel has this venv's spec, and a target with ``env: build`` builds
the same venv from the wheelhouse (``--no-index --find-links``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: what the kernel and the remote executor import (the rest follows from their requirements)
ROOTS = ("ipykernel", "papermill", "urllib3", "sqlalchemy", "pyyaml", "click", "pathspec",
         "cryptography", "pip", "setuptools")


@dataclass
class KernelEnv:
    """``venv`` (its ``python``), ``wheelhouse`` (every wheel it was installed from, the
    jupyter_mlws one included) and ``jupyter_path`` (holding its ``python3`` kernelspec)."""

    venv: Path
    wheelhouse: Path
    jupyter_path: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def pins(roots=ROOTS) -> list[str]:
    """``name==version`` of ``roots`` and everything they require (no extras), as installed in
    this venv."""
    import importlib.metadata as md

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: dict[str, str] = {}
    todo = list(roots)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        dist = md.distribution(name)
        seen[name] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return sorted(f"{n}=={v}" for n, v in seen.items())


def _run(argv, **kw) -> None:
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=900, **kw)
    assert done.returncode == 0, f"{argv[:4]} failed: {(done.stdout + done.stderr)[-3000:]}"


def make(folder: Path) -> KernelEnv:
    """Download the wheels, build this checkout's wheel, make the venv and its kernelspec."""
    from jupyter_mlws.environments.wheels import find_uv

    wheelhouse = folder / "wheelhouse"
    wheelhouse.mkdir(parents=True)
    wanted = pins()
    _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
          "--disable-pip-version-check", "-d", wheelhouse, *wanted])
    uv = find_uv()
    build = [uv, "build", "--wheel", "--quiet", "--out-dir", wheelhouse, REPO] if uv else \
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", wheelhouse, REPO]
    _run(build, env={**os.environ, "UV_CACHE_DIR": str(folder / "uv-cache")})
    mlws_wheel = next(wheelhouse.glob("jupyter_mlws-*.whl"))
    venv = folder / "venv"
    _run([sys.executable, "-m", "venv", venv])
    _run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
          "--disable-pip-version-check", "--find-links", wheelhouse, *wanted, mlws_wheel])
    jupyter_path = folder / "jupyter"
    spec = jupyter_path / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (small)", "language": "python"}))
    return KernelEnv(venv, wheelhouse, jupyter_path)


def named_kernel(env: KernelEnv, folder: Path, name: str) -> str:
    """A ``JUPYTER_PATH`` under which kernel ``name`` (as well as ``python3``) runs ``env``'s
    venv: a kernelspec of that name in ``folder``, before ``env.jupyter_path``."""
    spec = folder / "kernels" / name
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(env.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"{name} (small)", "language": "python"}))
    return os.pathsep.join([str(folder), str(env.jupyter_path)])
