"""The background workspace server of :mod:`jupyter_mlws.remote.server`: ``python -m
jupyter_mlws.server.background ROOT PORT IDLE``.

It records itself (URL, process, token) in the workspace's runtime file, mode 0600 from its
creation, then serves the workspace on 127.0.0.1:PORT with the token Jupyter reads from
``JUPYTER_TOKEN`` (never argv), like ``mlws server``.  With IDLE > 0 it stops itself once IDLE
seconds have passed without a queued or running run on a target other than ``local``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

from ..compute.local import Process
from ..remote.server import RUNTIME


def _write_private(path: Path, data: dict) -> None:
    """Write ``path`` (mode 0600 from its creation, never chmod-ed), replacing it atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _stop_when_idle(root: Path, idle: float) -> None:
    """Stop this process (SIGTERM: the server shuts down) once ``idle`` seconds have passed
    with no queued or running run on a target other than ``local``."""
    import signal

    from ..workspace import Workspace

    quiet_since = time.monotonic()
    while True:
        time.sleep(min(60.0, max(idle / 4, 1.0)))
        try:
            with Workspace.open(root) as ws:
                busy = ws.compute.live_elsewhere()
        except Exception:  # the workspace cannot be read now: look again later
            busy = True
        if busy:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= idle:
            os.kill(os.getpid(), signal.SIGTERM)
            return


def main(argv: list[str] | None = None) -> None:
    """``ROOT PORT IDLE``: record this process in the runtime file, then serve the workspace on
    127.0.0.1:PORT (the token in ``JUPYTER_TOKEN``) until stopped or idle."""
    from ..startup import allow_root_args
    from .extension import MlwsApp

    root, port, idle = argv if argv is not None else sys.argv[1:]
    root = Path(root)
    me = Process.current()
    _write_private(root / RUNTIME, {
        "url": f"http://127.0.0.1:{port}/", "port": int(port), "pid": me.pid, "host": me.host,
        "started": me.started, "token": os.environ.get("JUPYTER_TOKEN", "")})
    if float(idle) > 0:
        threading.Thread(target=_stop_when_idle, args=(root, float(idle)), daemon=True,
                         name="mlws-idle-stop").start()
    MlwsApp.launch_instance(argv=[f"--port={port}", "--ip=127.0.0.1", "--no-browser",
                                  "--ServerApp.port_retries=0", f"--MlwsApp.workspace={root}",
                                  *allow_root_args()])


if __name__ == "__main__":
    main()
