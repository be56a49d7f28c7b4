"""The workspace server a run on another machine reports to: :func:`ensure_server`.

An executor elsewhere (an SSH host through a reverse tunnel, a Dask worker) writes to its run
over the REST API, so some server must serve the workspace.  In order:

1. inside a Jupyter server with the extension: that server (its own URL); in a process that
   server started (an ssh run's runner, a sweep, a VM's keeper), that server too: it names
   itself to them in ``MLWS_SERVED_AT`` (``WORKSPACE_ID URL``, for its own workspace only), so
   that nothing outlives it (a background server started for its runs would);
2. ``server_url`` in the workspace's ``mlws.toml``: a team's server;
3. else a background ``mlws server`` on 127.0.0.1, started once for the workspace and reused
   while it is alive.  Its Jupyter token is handed over in its environment (``JUPYTER_TOKEN``,
   never argv) and kept, with its address and process, in ``.mlws/server.json`` (mode 0600 from
   its creation); it never leaves this machine (a run gets a token of its own).  Its output goes
   to ``.mlws/server.log``.  It stops itself after ``idle`` seconds without a queued or running
   run on a target other than ``local``.

The background server is ``python -m jupyter_mlws.server.background ROOT PORT IDLE``: it
records itself in the runtime file, then serves.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from ..compute.local import Process, spawn_detached
from ..errors import InvalidInput, Unavailable

#: where the background server is recorded, and its output, in the workspace folder
RUNTIME = Path(".mlws") / "server.json"
LOG = Path(".mlws") / "server.log"
#: seconds the background server waits with no run executing elsewhere before it stops
IDLE_S = 3600.0
#: seconds a start may take
START_TIMEOUT_S = 60.0
#: how a server serving a workspace names itself to the processes it starts: ``ID URL``
ENV_SERVED_AT = "MLWS_SERVED_AT"


def served_here(workspace_id: str, url: str) -> None:
    """Name ``url`` as the server of workspace ``workspace_id`` to the processes this one starts
    from now on (:data:`ENV_SERVED_AT`); ``url`` empty: no longer."""
    if url:
        os.environ[ENV_SERVED_AT] = f"{workspace_id} {url}"
    elif os.environ.get(ENV_SERVED_AT, "").split(" ", 1)[0] == workspace_id:
        del os.environ[ENV_SERVED_AT]


def served_by_starter(ws) -> str | None:
    """The URL of the server that started this process and serves workspace ``ws``, if one
    did (:data:`ENV_SERVED_AT`)."""
    found = os.environ.get(ENV_SERVED_AT, "").split(" ", 1)
    workspace_id = getattr(getattr(ws, "config", None), "id", None)
    return found[1] if len(found) == 2 and workspace_id and found[0] == workspace_id else None


def ensure_server(ws, *, idle: float = IDLE_S) -> str:
    """The base URL of a workspace server serving workspace ``ws`` (see the module's
    docstring), ending with ``/``; a background ``mlws server`` is started when none is.

    Raises Unavailable when the background server does not start (its log's last lines say
    why), InvalidInput for a ``server_url`` that is not an http(s) URL.
    """
    from ..config import is_url

    served = getattr(ws, "served_at", None) or served_by_starter(ws) \
        or getattr(ws.config, "server_url", None)
    if served and not is_url(served):
        raise InvalidInput(f"server_url in the workspace's mlws.toml must be an http:// or "
                           f"https:// URL, got {str(served)[:80]!r}")
    if served:
        return served.rstrip("/") + "/"
    return BackgroundServer(ws.root).ensure(idle)


class BackgroundServer:
    """The background ``mlws server`` of the workspace at ``root``."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.runtime = self.root / RUNTIME
        self.log = self.root / LOG

    def ensure(self, idle: float = IDLE_S) -> str:
        """The URL of the live background server, started if needed (one at a time: a lock)."""
        with self._locked():
            found = self.read()
            if found is not None:
                return found["url"]
            return self._start(idle)

    def read(self) -> dict | None:
        """The recorded server (``url``, ``pid``, ``started``, ``port``, ``token``) if it is
        alive and answers, else None."""
        try:
            data = json.loads(self.runtime.read_text())
            process = Process(int(data["pid"]), data["host"], data.get("started"))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not process.is_mine() or not _answers(int(data["port"])):
            return None
        return data

    def stop(self, grace: float = 10.0) -> None:
        """Stop the background server, if one runs."""
        from ..compute.local import stop_group

        found = self.read()
        if found is not None:
            stop_group(int(found["pid"]), grace)
        self.runtime.unlink(missing_ok=True)

    @contextmanager
    def _locked(self):
        self.runtime.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self.runtime.parent / "server.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _start(self, idle: float) -> str:
        self.runtime.unlink(missing_ok=True)
        port = _free_port()
        env = {**os.environ, "JUPYTER_TOKEN": secrets.token_urlsafe(32)}
        env.pop("MLWS_WORKSPACE", None)
        spawn_detached([sys.executable, "-m", "jupyter_mlws.server.background", str(self.root),
                        str(port), str(idle)], self.log, env=env, cwd=self.root)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            found = self.read()
            if found is not None:
                return found["url"]
            if self._died():
                break
            time.sleep(0.1)
        tail = self.log.read_text(errors="replace")[-1500:] if self.log.is_file() else ""
        raise Unavailable("the workspace server for remote runs ('mlws server' on 127.0.0.1:"
                          f"{port}) did not start; its log (.mlws/server.log) ends with:\n{tail}")

    def _died(self) -> bool:
        """Whether the server recorded itself and has exited since (it could not listen)."""
        try:
            data = json.loads(self.runtime.read_text())
            return not Process(int(data["pid"]), data["host"], data.get("started")).is_mine()
        except (OSError, ValueError, KeyError, TypeError):
            return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False
