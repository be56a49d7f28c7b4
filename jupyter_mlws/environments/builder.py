"""Environments on one target: where they live there, and the build script run to make them.

A target keeps its environments under one folder (:attr:`Place.root`)::

    envs/<hash>/          a venv; envs/<hash>/.mlws-ready, written last, says it is built
    locks/<hash>.lock     flock-ed by whoever builds or removes <hash>
    logs/<hash>.log       the last build's full output
    builds.log            a line per build started, ended, removed (the target's history)
    cache/uv, cache/pip   the installers' caches, shared by the target's builds
    wheels/<name>-<content>/*.whl   local packages' wheels, copied from the workspace's machine
    bin/build_env-<sha>.py          the build script (:mod:`.build_env`), put there once
    requests/             the JSON requests the script is run with

Everything reaches the target through its :class:`~.shell.Shell`: the build itself is one run
of the build script, so a lost connection leaves, at worst, a half-built folder with no marker
(removed by the next build) and a lock the target's kernel has released.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..errors import Unavailable
from .build_env import MARKER, RESULT
from .shell import Shell
from .wheels import BuildOptions

SCRIPT = Path(__file__).with_name("build_env.py")


@dataclass(frozen=True)
class Place:
    """Where a target keeps its environments, and how to reach it.

    Attributes
    ----------
    shell : Shell
        Runs programs and moves files on the target.
    root : str
        The target's environments folder (absolute, POSIX).
    python : str
        The interpreter that runs the build script there (``python3``; locally this one).
    uv : str or None
        The uv program there; None: the script looks on the target's PATH, else uses pip.
    system : bool
        Runs there use ``python`` as it is (an ssh target with ``env = "system"``): what runs
        get is that interpreter's packages, not an environment built there.
    """

    shell: Shell
    root: str
    python: str = "python3"
    uv: str | None = None
    system: bool = False

    def path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    def env_path(self, env_hash: str) -> str:
        """The folder of environment ``env_hash`` on the target."""
        return self.path("envs", env_hash)

    def env_python(self, env_hash: str) -> str:
        """The interpreter of environment ``env_hash`` on the target."""
        return self.path("envs", env_hash, "bin", "python")

    def close(self) -> None:
        """Close the connection that reaches the target (an ssh target's), if any: the next use
        opens another."""
        close = getattr(self.shell, "close", None)
        if close is not None:
            close()

    def is_ready(self, env_hash: str) -> bool:
        """Whether environment ``env_hash`` is built there (its marker exists)."""
        return self.shell.exists(self.path("envs", env_hash, MARKER))


def _script_name() -> str:
    return f"build_env-{hashlib.sha256(SCRIPT.read_bytes()).hexdigest()[:12]}.py"


def _put_once(place: Place, local: Path, remote: str) -> None:
    if not place.shell.exists(remote):
        place.shell.put(local, remote)


def put_wheels(place: Place, wheels: Sequence[Path]) -> list[str]:
    """Copy local wheels to the target (each once); their paths there."""
    out = []
    for wheel in wheels:
        remote = place.path("wheels", wheel.parent.name, wheel.name)
        _put_once(place, wheel, remote)
        out.append(remote)
    return out


def run_script(place: Place, request: dict, timeout: float) -> dict:
    """Run the build script on the target with ``request``; its result (see :mod:`.build_env`).

    Raises Unavailable when the target cannot run it or it printed no result (it crashed).
    """
    script = place.path("bin", _script_name())
    _put_once(place, SCRIPT, script)
    remote = place.path("requests", f"{request['hash']}-{uuid.uuid4().hex[:8]}.json")
    with tempfile.TemporaryDirectory(prefix="mlws-env-") as tmp:
        local = Path(tmp) / "request.json"
        local.write_text(json.dumps(request))
        place.shell.put(local, remote)
    try:
        # in the target's environments folder: no project's or workspace's config around it
        result = place.shell.run([place.python, script, remote], cwd=place.root, timeout=timeout)
    finally:
        place.shell.run(["rm", "-f", remote])
    for line in reversed(result.output.splitlines()):
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT):])
    tail = result.output.strip()[-800:]
    raise Unavailable(f"the environment build script stopped on target {place.shell.name!r} "
                      f"(status {result.status}) without a result: {tail}")


def _request(place: Place, env_hash: str, action: str) -> dict:
    return {"action": action, "hash": env_hash, "dest": place.env_path(env_hash),
            "lock": place.path("locks", f"{env_hash}.lock"),
            "log": place.path("logs", f"{env_hash}.log"), "history": place.path("builds.log")}


def build(place: Place, env_hash: str, python: str, requirements: Sequence[str],
          wheels: Sequence[Path], options: BuildOptions, python_full: str = "") -> dict:
    """Build environment ``env_hash`` on the target (or find it built); the script's result.

    ``python`` is the ``major.minor`` to build with (``python_full``: the kernel's own release,
    for messages), ``requirements`` the pins, ``wheels`` local wheel files on this machine
    (copied to the target first).
    """
    request = {**_request(place, env_hash, "build"), "python": python, "python_full": python_full,
               "requirements": list(requirements), "wheels": put_wheels(place, wheels),
               "installer": options.installer, "uv": place.uv, "cache": place.path("cache"),
               "index": options.index()}
    return run_script(place, request, options.timeout)


def remove(place: Place, env_hash: str, timeout: float = 600.0) -> dict:
    """Remove environment ``env_hash`` from the target (waiting for a build of it to end)."""
    return run_script(place, _request(place, env_hash, "remove"), timeout)


def cache(place: Place, clear: bool = False, timeout: float = 600.0) -> dict:
    """The target's download cache (``cache/``: uv's and pip's, shared by its builds):
    ``{"size": bytes, "cleared": bool}``, emptied first with ``clear``."""
    request = {**_request(place, "cache", "cache"), "cache": place.path("cache"), "clear": clear}
    return run_script(place, request, timeout)


def local_place(root: str | os.PathLike, name: str = "local") -> Place:
    """This machine as a place for environments: under ``root``, built by this interpreter,
    with this machine's uv (the ``uv`` package) when it is installed."""
    from .shell import LocalShell
    from .wheels import find_uv

    return Place(LocalShell(name), str(Path(root).absolute()), python=sys.executable, uv=find_uv())
