"""One worker process of an endpoint: loads every deployment's scoring script, then serves.

Started by the supervisor as
``python -m jupyter_mlws.endpoints.serving.worker SPEC SOCK_FDS SLOT STATUS_FD``:

- ``SPEC`` is a JSON file (no secrets): the deployments, their folders and the settings;
- ``SOCK_FDS`` are the listening sockets the supervisor bound, one per worker slot, comma
  separated (all on the endpoint's port with ``SO_REUSEPORT``: the kernel hashes each new
  connection to one of them); this worker accepts on the one of its ``SLOT``, and takes over
  connections left waiting on the others (:class:`Stealer`);
- ``STATUS_FD`` is a pipe to the supervisor, one JSON object a line: ``ready``, ``failed``,
  heartbeats (with the requests answered and the connections open), ``stuck`` and batches of
  request statistics.

uvicorn runs its event loop and its graceful shutdown; its HTTP connections are
:mod:`.connection`'s, with the endpoint's connection guards (:mod:`.protocol`: request head and
body deadlines, a cap of open connections).

The supervisor writes configuration lines (keys, traffic) to the worker's stdin; keys
therefore never appear in argv, the environment or a file.  End of stdin means the
supervisor is gone, and the worker stops.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import sys
import threading
import time
import traceback

DRAIN_S = 0.5  # after it stops accepting, how long a stopping worker lets accepted connections speak
STEAL_S = 0.1  # how often a worker looks at the other slots' accept queues
#: how long connections must have waited on another slot (non-empty at every look) before a
#: worker takes them over: far longer than a busy machine keeps a healthy worker off the CPU
#: (a shorter wait took connections from a worker merely descheduled at load 15 on 2 cores)
STEAL_AFTER_S = 0.5


class Stealer:
    """Accepts connections that wait on other slots' sockets while their workers do not.

    The kernel hashes a new connection to one slot's socket whether or not that slot's
    worker accepts: it may be in a long ``run()`` call (inline, the loop waits), stuck, or
    being replaced.  Every ``STEAL_S`` seconds this worker's event loop reads the other
    sockets' accept queues (TCP_INFO); a queue found non-empty at every look for
    ``STEAL_AFTER_S`` is not being drained, and this worker accepts what waits there and
    serves it.  A busy worker does not look (its loop is busy): only a free one takes over.

    Parameters
    ----------
    loop : asyncio loop
        The worker's running loop.
    others : list of socket
        The other slots' listening sockets (non-blocking).
    protocol_factory : callable
        Makes the HTTP protocol of a connection (uvicorn's, guarded).
    stopping : callable
        True once the worker is shutting down: it looks no more.
    """

    def __init__(self, loop, others, protocol_factory, stopping):
        from .app import accept_queue

        self.loop, self.others, self.factory, self.stopping = loop, others, protocol_factory, stopping
        #: loop time since which each other queue has been seen non-empty at every look
        self.since: list[float | None] = [None] * len(others)
        self._queue = accept_queue

    def start(self) -> None:
        if self.others:
            self.loop.call_later(STEAL_S, self.tick)

    def tick(self) -> None:
        if self.stopping():
            return
        now = self.loop.time()
        for i, sock in enumerate(self.others):
            waiting = self._queue(sock)
            since = self.since[i]
            if not waiting or since is None:
                self.since[i] = now if waiting else None
                continue
            if now - since < STEAL_AFTER_S:
                continue
            self.since[i] = None
            for _ in range(waiting):
                try:
                    conn, _addr = sock.accept()
                except OSError:  # drained meanwhile (BlockingIOError), or the slot is gone
                    break
                conn.setblocking(False)
                self.loop.create_task(self._serve(conn))
        self.loop.call_later(STEAL_S, self.tick)

    async def _serve(self, conn) -> None:
        try:
            await self.loop.connect_accepted_socket(self.factory, conn)
        except OSError:  # the client went away first
            conn.close()


class StatusPipe:
    """Thread-safe JSON lines to the supervisor."""

    def __init__(self, fd: int):
        self._file = os.fdopen(fd, "w", buffering=1)
        self._lock = threading.Lock()

    def send(self, **event) -> None:
        line = json.dumps(event, separators=(",", ":")) + "\n"
        with self._lock:
            try:
                self._file.write(line)
                self._file.flush()
            except (BrokenPipeError, OSError):
                pass


def load_deployment(dep: dict):
    """Import a deployment's score.py in a module of its own and call its ``init()``."""
    from .app import LoadedDeployment
    from ...jsonschema import check_schema

    os.environ["MLWS_MODEL_DIR"] = dep["model_dir"]
    os.environ["AZUREML_MODEL_DIR"] = dep["model_dir"]
    os.environ["MLWS_MODEL_DIRS"] = json.dumps(dep["model_dirs"])
    os.environ["MLWS_DEPLOYMENT"] = dep["name"]
    module_name = f"mlws_score_{dep['name'].replace('-', '_').replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(module_name, dep["script"])
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    sys.path.insert(0, dep["dir"])
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(dep["dir"])
    run = getattr(module, "run", None)
    if not callable(run):
        raise RuntimeError(f"{dep['entry_name']} defines no run(data) function")
    init = getattr(module, "init", None)
    if callable(init):
        init()
    schemas = {}
    for attr in ("input_schema", "output_schema"):
        value = getattr(module, attr, None)
        if value is not None:
            check_schema(value, attr)
        schemas[attr] = value
    return LoadedDeployment(dep["name"], run, models=list(dep["model_dirs"]), **schemas)


def _log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    sys.stderr.write(f"{stamp} worker {os.getpid()}: {message}\n")
    sys.stderr.flush()


def main(argv: list[str]) -> int:
    spec_path, slot, status_fd = argv[0], int(argv[2]), int(argv[3])
    sock_fds = [int(fd) for fd in argv[1].split(",")]
    status = StatusPipe(status_fd)
    with open(spec_path) as f:
        spec = json.load(f)
    settings = spec["settings"]

    loaded = {}
    for dep in spec["deployments"]:
        try:
            loaded[dep["name"]] = load_deployment(dep)
        except BaseException as exc:  # init() may raise anything, SystemExit included
            # the traceback (server paths included) goes to the log, for contributors
            _log(f"deployment {dep['name']}: loading {dep['entry_name']} failed\n"
                 f"{traceback.format_exc()}")
            status.send(event="failed", deployment=dep["name"],
                        error=f"{type(exc).__name__}: {exc}")
            return 3

    import uvicorn

    from .app import ScoringApp
    from .connection import scoring_protocol
    from .monitor import Monitor
    from .protocol import guarded

    monitor = None
    if settings.get("monitoring", True):
        monitor = Monitor(lambda buckets, samples: status.send(event="metrics", buckets=buckets,
                                                               samples=samples),
                          flush_interval=float(settings["flush_interval"]),
                          sample_rate=float(settings["sample_rate"]),
                          sample_max_bytes=int(settings["sample_max_bytes"]))
    import socket

    listeners = [socket.socket(fileno=fd) for fd in sock_fds]
    for listening in listeners:
        listening.setblocking(False)
    sock = listeners[slot]
    app = ScoringApp(spec["endpoint"], loaded, settings, monitor, log=_log, listener=sock)
    http = guarded(scoring_protocol(app), float(settings["header_timeout"]),
                   float(settings["body_timeout"]), int(settings["max_connections"]))
    # uvicorn runs the loop, the sockets and the graceful shutdown; the HTTP protocol is ours and
    # calls the app directly (uvicorn never calls it as ASGI: no lifespan, no websockets)
    config = uvicorn.Config(app, http=http, ws="none", interface="asgi3", lifespan="off",
                            access_log=False, log_level="warning", proxy_headers=False,
                            server_header=False, timeout_keep_alive=int(settings.get("keep_alive", 5)),
                            timeout_graceful_shutdown=float(settings["request_timeout"]) + 1)
    server = uvicorn.Server(config)
    app.tasks = server.server_state.tasks  # run() tasks: a graceful shutdown waits for them

    def read_config() -> None:
        for line in sys.stdin:
            try:
                message = json.loads(line)
                app.configure(message["keys"], message["traffic"])
            except (ValueError, KeyError, TypeError):
                _log("ignored a malformed configuration line")
        # the supervisor is gone: stop serving
        server.should_exit = True
        app.configured.set()

    threading.Thread(target=read_config, name="mlws-config", daemon=True).start()
    if not app.configured.wait(30) or server.should_exit:
        _log("no configuration from the supervisor: exiting")
        return 4

    def watchdog() -> None:
        grace = float(settings["stuck_grace"])
        reported = False
        while not server.should_exit:
            status.send(event="hb", requests=app.requests,
                        connections=len(server.server_state.connections))
            if not reported and app.stuck(grace):
                reported = True
                _log(f"run() stuck longer than {app.timeout:g} s + {grace:g} s: asking for a restart")
                if monitor is not None:
                    monitor.flush(timeout=0.2)  # the loop may be the one stuck
                status.send(event="stuck", deployments=app.stuck(grace))
            time.sleep(0.5)

    threading.Thread(target=watchdog, name="mlws-watchdog", daemon=True).start()

    original_startup = server.startup

    async def startup(sockets=None):
        import asyncio

        if monitor is not None:
            monitor.loop = asyncio.get_running_loop()
        await original_startup(sockets=sockets)
        config = server.config

        def protocol_factory():  # as uvicorn's own startup() makes them
            return config.http_protocol_class(config=config, server_state=server.server_state,
                                              app_state=server.lifespan.state)

        Stealer(asyncio.get_running_loop(), [s for i, s in enumerate(listeners) if i != slot],
                protocol_factory, lambda: server.should_exit).start()
        # Everything loaded so far (the scoring scripts' models, numpy, sklearn, uvicorn) lives
        # as long as the worker: move it out of the collector's sight, or every full collection
        # walks it while requests wait (about 65 ms per collection for an sklearn model on this
        # machine; bench/serving.py).  gc.freeze(): https://docs.python.org/3/library/gc.html
        gc.collect()
        gc.freeze()
        status.send(event="ready")

    original_shutdown = server.shutdown

    async def shutdown(sockets=None):
        import asyncio

        # Stop accepting first: the supervisor holds the slot's socket open, so connections
        # queued on it wait for the slot's next worker (a roll-over starts it first) instead of
        # being reset.  A connection this worker accepted a moment ago may not have had its
        # request read yet; uvicorn would close it as idle and its client would see a reset.
        for listening in server.servers:
            listening.close()
        await asyncio.sleep(DRAIN_S)
        await original_shutdown(sockets=sockets)

    server.startup = startup
    server.shutdown = shutdown
    if monitor is not None:
        monitor.start()
    try:
        server.run(sockets=[sock])
    finally:
        if monitor is not None:
            monitor.loop = None
            monitor.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
