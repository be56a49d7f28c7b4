"""What an endpoint worker answers: routes, keys, admission, run() and its answer.

It is called by the worker's HTTP connections (:mod:`.connection`) directly, not through
ASGI: no framework on the hot path.  Routes: ``POST /score`` (key required), ``GET /openapi.json`` (key required),
``GET /health`` and ``GET /ready`` (open, reveal nothing).  A request picks its
deployment by the ``x-mlws-deployment`` header, else at random by traffic
weight.

``run()`` is called on the event loop's own thread by default (``threads=0``): a
hand-off to a thread pool costs more than scoring a small model.  A call that
outlives ``request_timeout`` is interrupted by a ``SIGALRM`` that a timer thread sends it
(the caller gets 504 and the worker goes on serving); one that cannot be interrupted (stuck in C
code) is caught by the worker's watchdog and the worker is replaced.  With
``threads=N`` the calls run in a pool of N threads instead, for ``run()`` functions
that wait on I/O; ``async def run`` is awaited on the loop.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import hmac
import inspect
import json
import random
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from json.encoder import c_make_encoder, encode_basestring_ascii
from typing import Any, Callable

from ...errors import InvalidInput
from ...limits import load_json
from ...jsonschema import validate
from .monitor import Monitor

#: how early (s) the run() timer may wake, and still end the call it times
ALARM_SLACK_S = 0.002
#: a drain of the run queue longer than this (s) makes the admissions until the next drain read
#: the kernel's accept queue (see ScoringApp)
QUEUE_CHECK_S = 0.01
_perf_counter = time.perf_counter
_monotonic = time.monotonic


@dataclass
class LoadedDeployment:
    """A deployment's scoring module, loaded and initialised in this worker."""

    name: str
    run: Callable[[Any], Any]
    input_schema: dict | None = None
    output_schema: dict | None = None
    models: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.is_async = inspect.iscoroutinefunction(self.run)
        #: the response header naming it (a header line)
        self.header = b"x-mlws-deployment: " + self.name.encode() + b"\r\n"


class RunTimeout(BaseException):
    """Raised inside an inline ``run()`` call that outlived the request timeout.

    A ``BaseException``, so that a scoring script's ``except Exception`` cannot swallow it.
    """


def _default(obj):
    """JSON for numpy arrays and scalars (and anything with ``tolist``)."""
    for attr in ("tolist", "item"):
        if hasattr(obj, attr):
            return getattr(obj, attr)()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


_ENCODER = json.JSONEncoder(default=_default, allow_nan=False, separators=(",", ":"))
#: the C encoder ``_ENCODER.encode`` builds on every call, built once (None: json without its C part)
_MARKERS: dict = {}
_C_ENCODE = (c_make_encoder(_MARKERS, _default, encode_basestring_ascii, None, ":", ",", False, False,
                            False) if c_make_encoder is not None else None)


def _dumps(obj) -> bytes:
    """``json.dumps(obj, default=_default, allow_nan=False, separators=(",", ":"))`` as bytes.

    Raises TypeError (not JSON serialisable) and ValueError (NaN or infinity, a circular
    reference) as ``json.dumps`` does.
    """
    if _C_ENCODE is None:  # pragma: no cover - CPython always has it
        return _ENCODER.encode(obj).encode()
    try:
        return "".join(_C_ENCODE(obj, 0)).encode()
    except BaseException:
        _MARKERS.clear()  # what a failed call left behind (circular-reference bookkeeping)
        raise


_CANNED = {}


def accept_queue(listener: socket.socket) -> int:
    """Connections waiting in a listening socket's accept queue (Linux TCP_INFO; 0 elsewhere)."""
    try:
        info = listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 32)
        return struct.unpack_from("=I", info, 24)[0]  # tcpi_unacked: the accept queue
    except (OSError, AttributeError, struct.error):
        return 0


def _error_body(message: str) -> bytes:
    body = _CANNED.get(message)
    if body is None:
        body = json.dumps({"error": message}).encode()
        if len(_CANNED) < 64:
            _CANNED[message] = body
    return body


class ScoringApp:
    """What one worker process answers, request by request; its HTTP connections are
    :mod:`.connection`'s, which call :meth:`head`, :meth:`body_complete`,
    :meth:`body_too_large` and :meth:`gone`, and are answered with their ``respond``.

    A request is decided when its head is complete: routes, the key, the deployment and
    admission (see below) are answered at once (the body, if any, is dropped unread; a body
    declared larger than ``max_body_bytes`` gets 413 before it is sent).  An admitted request's
    body is read up to ``max_body_bytes`` (413 and close past it); once complete, it waits in the
    worker's run queue, which the event loop drains in arrival order after it has read what
    came in (so every request that arrived meanwhile has been admitted or refused first).

    Parameters
    ----------
    deployments : dict
        Name to :class:`LoadedDeployment`.
    settings : dict
        ``request_timeout`` (s), ``max_body_bytes``, ``max_inflight`` (requests in this
        worker beyond which it answers 503), ``threads`` (0: ``run()`` on the event
        loop's thread, which must be the main thread; N: a pool of N threads).
    monitor : Monitor or None
        Receives every scoring request's deployment, status and latency; None turns
        monitoring off.
    listener : socket, optional
        This worker's own listening socket (one per worker, ``SO_REUSEPORT``).

    Admission: a scoring request is refused (503) when it would make more than ``max_inflight``
    in this worker: those admitted and not answered yet, plus the connections waiting in the
    kernel's accept queue (read from ``listener`` with one ``getsockopt``).  That queue is read
    only after a drain of the run queue that kept the loop from polling for longer than
    :data:`QUEUE_CHECK_S` (run() calls that take long, or the process kept off the CPU), and
    until a reading finds it empty or the next drain starts: the loop accepts every waiting
    connection each time it polls, so at any other moment the queue holds only what arrived
    within the last moments, which the next poll takes in.

    Attributes
    ----------
    requests : int
        HTTP requests this worker has answered or is answering (every route), for the
        supervisor's per-worker figures.
    tasks : set
        The tasks of ``async def run`` and thread-pool calls under way (uvicorn's
        ``server_state.tasks``, so that a graceful shutdown waits for them).
    """

    def __init__(self, endpoint: str, deployments: dict[str, LoadedDeployment], settings: dict,
                 monitor: Monitor | None, log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
                 listener: socket.socket | None = None):
        self.endpoint = endpoint
        self.deployments = deployments
        self.timeout = float(settings["request_timeout"])
        self.max_body = int(settings["max_body_bytes"])
        self.max_inflight = int(settings["max_inflight"])
        threads = int(settings.get("threads", 0))
        self.pool = (ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mlws-run")
                     if threads > 0 else None)
        self._in_run = False
        #: (monotonic start, deployment) of the inline run() call under way, else None
        self._inline: tuple[float, str] | None = None
        if self.pool is None:
            signal.signal(signal.SIGALRM, self._alarm)
            threading.Thread(target=self._time_calls, args=(threading.main_thread().ident,),
                             name="mlws-run-timer", daemon=True).start()
        self.listener = listener
        self.requests = 0
        self.tasks: set = set()
        self.monitor = monitor
        self.log = log
        #: scoring requests admitted and not answered yet
        self.inflight = 0
        #: (connection, request) whose body is complete, waiting for run(), oldest first
        self.queue: collections.deque = collections.deque()
        #: the last drain kept the loop from polling for longer than QUEUE_CHECK_S
        self._check_queue = False
        #: thread ident -> (monotonic start, deployment) of run() calls under way in the pool
        self.running: dict[int, tuple[float, str]] = {}
        self._keys: tuple[bytes, bytes] = (b"\0" * 43 + b"!", b"\0" * 43 + b"?")
        self._routes: tuple[list[int], list[str]] = ([], [])
        self.configured = threading.Event()

    # -- configuration (from the supervisor, on a reader thread) ------------------------

    def configure(self, keys: list[str], traffic: dict[str, int]) -> None:
        """Take new keys and traffic weights; in effect for the next request."""
        if len(keys) == 2 and all(keys):
            self._keys = (keys[0].encode(), keys[1].encode())
        cum, names, total = [], [], 0
        for name, share in sorted(traffic.items()):
            if share > 0 and name in self.deployments:
                total += share
                cum.append(total)
                names.append(name)
        self._routes = (cum, names)
        self.configured.set()

    # -- requests, from the connections -----------------------------------------------

    def head(self, conn, req) -> None:
        """``req``'s head is complete (and the requests before it on ``conn`` are answered):
        answer it now, or admit it and let its body come."""
        self.requests += 1
        path = req.path
        method = req.method
        if path == b"/score":
            if method != b"POST":
                return self.reply(conn, req, 405, _error_body("use POST /score with a JSON body"),
                                  b"allow: POST\r\n")
            return self._admit(conn, req)
        if method == b"GET" and (path == b"/health" or path == b"/ready"):
            return self.reply(conn, req, 200, b'{"status":"ok"}' if path == b"/health"
                              else b'{"status":"ready"}')
        if path == b"/openapi.json" and method == b"GET":
            if not self._authorised(req.headers):
                return self._unauthorised(conn, req)
            wanted = req.headers.get(b"x-mlws-deployment", b"").decode("latin-1")
            return self.reply(conn, req, 200, _dumps(self.openapi(wanted or None)))
        return self.reply(conn, req, 404, _error_body(
            "no such route: score with POST /score; GET /health, /ready and /openapi.json"))

    def body_complete(self, conn, req) -> None:
        """An admitted request's body is complete: it waits its turn for run()."""
        req.queued = True
        queue = self.queue
        queue.append((conn, req))
        if len(queue) == 1:
            conn.loop.call_soon(self._drain)

    def body_too_large(self, conn, req) -> None:
        """An admitted request's body grew past ``max_body_bytes``: 413, and the connection closes
        (the rest of the body is never read)."""
        self.reply(conn, req, 413, self._too_large(), close=True)

    def gone(self, req) -> None:
        """``req``'s connection closed before its answer: one waiting for run() is still answered
        (and counted) when its turn comes; one whose body never came whole counts as 400."""
        if req.queued:
            return
        if req.admitted:
            req.admitted = False
            self.inflight -= 1
        if req.start and self.monitor is not None:
            self.monitor.record(req.deployment, 400, (_perf_counter() - req.start) * 1000.0)

    def reply(self, conn, req, status: int, body: bytes, extra: bytes = b"", close: bool = False) -> None:
        """Answer ``req`` (``extra``: header lines ending in CRLF); a scoring request is counted
        by the monitor and leaves the in-flight ones."""
        conn.respond(req, status, body, extra, close)
        if req.admitted:
            req.admitted = False
            self.inflight -= 1
        if req.start:
            monitor = self.monitor
            if monitor is not None:
                monitor.record(req.deployment, status, (_perf_counter() - req.start) * 1000.0)

    # -- scoring ------------------------------------------------------------------------

    def _admit(self, conn, req) -> None:
        req.start = _perf_counter()
        headers = req.headers
        if not self._authorised(headers):
            return self._unauthorised(conn, req)
        wanted = headers.get(b"x-mlws-deployment")
        name = self._pick(wanted)
        if name is None:
            if wanted:
                return self.reply(conn, req, 404, _error_body(
                    "no such deployment: 'mlws endpoint show NAME' lists them"))
            return self.reply(conn, req, 503, _error_body(
                "no deployment takes traffic: set it with 'mlws endpoint traffic'"), b"retry-after: 5\r\n")
        req.deployment = name
        req.dep = self.deployments[name]
        place = self.inflight + 1
        if self._check_queue and self.listener is not None:
            waiting = accept_queue(self.listener)
            if waiting:
                place += waiting
            else:  # none waits: the poll under way has taken them all in (or none came)
                self._check_queue = False
        if place > self.max_inflight:
            return self.reply(conn, req, 503, _error_body("the endpoint is overloaded: retry later"),
                              b"retry-after: 1\r\n")
        self.inflight += 1
        req.admitted = True
        ctype = headers.get(b"content-type", b"")
        if (ctype != b"application/json"
                and ctype.split(b";", 1)[0].strip().lower() != b"application/json"):
            return self.reply(conn, req, 415, _error_body(
                "send the request body as JSON with 'Content-Type: application/json'"))
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                return self.reply(conn, req, 400, _error_body("bad Content-Length"))
            if declared > self.max_body:
                return self.reply(conn, req, 413, self._too_large(), close=True)

    def _drain(self) -> None:
        """Score every request of the run queue, oldest first."""
        self._check_queue = False
        queue = self.queue
        started = _perf_counter()
        try:
            while queue:
                conn, req = queue.popleft()
                try:
                    self._score(conn, req)
                except Exception:  # a bug here must not strand the requests behind this one
                    self.log(f"scoring a request failed\n{traceback.format_exc()}")
                    self.reply(conn, req, 500, _error_body("scoring failed: the endpoint's logs have the details"))
        finally:
            if queue:  # pragma: no cover - a BaseException (RunTimeout) escaped a scoring script's hands
                conn.loop.call_soon(self._drain)
            self._check_queue = _perf_counter() - started > QUEUE_CHECK_S

    def _score(self, conn, req) -> None:
        body = req.body
        try:  # bounded like every JSON input (its size was checked as it came)
            data = load_json(body, "the body", max_bytes=self.max_body, max_depth=None)
        except InvalidInput as exc:
            return self.reply(conn, req, 400, _error_body(str(exc)))
        dep = req.dep
        if dep.input_schema is not None:
            err = validate(data, dep.input_schema)
            if err:
                return self.reply(conn, req, 400, _error_body(
                    f"the input does not match the endpoint's schema: {err} (GET /openapi.json shows it)"))
        if self.pool is None and not dep.is_async:
            status, out = self._run_inline(dep, data)
            return self._scored(conn, req, status, out)
        task = conn.loop.create_task(self._score_later(conn, req, data))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _score_later(self, conn, req, data) -> None:
        status, out = await self._run(req.dep, data)
        self._scored(conn, req, status, out)

    def _scored(self, conn, req, status: int, out: bytes) -> None:
        dep = req.dep
        self.reply(conn, req, status, out, dep.header if status != 504 else dep.header + b"retry-after: 1\r\n")
        monitor = self.monitor
        if monitor is not None and monitor.sample_rate and monitor.want_sample():
            monitor.sample(dep.name, status, bytes(req.body), out)

    def _authorised(self, headers: dict) -> bool:
        given = headers.get(b"authorization")
        if given is not None:
            if given[:7].lower() != b"bearer ":
                return False
            given = given[7:].strip()
        else:
            given = headers.get(b"x-api-key")
            if given is None:
                return False
        k1, k2 = self._keys
        # both comparisons always run: the time taken tells nothing about which key is close
        ok1 = hmac.compare_digest(given, k1)
        ok2 = hmac.compare_digest(given, k2)
        return ok1 | ok2

    def _unauthorised(self, conn, req) -> None:
        self.reply(conn, req, 401, _error_body(
            "missing or wrong key: send 'Authorization: Bearer KEY' or 'x-api-key: KEY' "
            "('mlws endpoint keys NAME' shows the keys; keys in the URL are never accepted)"),
            b'www-authenticate: Bearer realm="mlws"\r\n')

    def _pick(self, wanted: bytes | None) -> str | None:
        if wanted:
            name = wanted.decode("latin-1")
            return name if name in self.deployments else None
        cum, names = self._routes
        if not names:
            return None
        if len(names) == 1:
            return names[0]
        return names[bisect.bisect_right(cum, random.random() * cum[-1])]

    def _too_large(self) -> bytes:
        return _error_body(f"the request body is larger than this endpoint's limit of "
                           f"{self.max_body} bytes: send less data per call")

    def _call(self, dep: LoadedDeployment, data):
        ident = threading.get_ident()
        self.running[ident] = (time.monotonic(), dep.name)
        try:
            return dep.run(data)
        finally:
            self.running.pop(ident, None)

    def _alarm(self, signum, frame) -> None:
        # only ever interrupt run() itself, never the event loop, and only a call past its time
        call = self._inline
        if self._in_run and call is not None and _monotonic() - call[0] >= self.timeout - ALARM_SLACK_S:
            raise RunTimeout()

    def _time_calls(self, main: int) -> None:
        """On a thread of its own: SIGALRM to the main thread when an inline run() call
        outlives the timeout.  It sleeps until the deadline of the call under way (a full
        timeout when none is: no call starting later can end sooner), so it wakes about once a
        timeout, and a call costs no timer system call."""
        timeout = self.timeout
        signalled = None
        while True:
            call = self._inline
            if call is None or call is signalled:
                time.sleep(timeout)
                continue
            left = call[0] + timeout - _monotonic()
            if left > ALARM_SLACK_S:
                time.sleep(left)
                continue
            signalled = call  # once per call: _alarm raises RunTimeout in it
            signal.pthread_kill(main, signal.SIGALRM)

    def _call_inline(self, dep: LoadedDeployment, data):
        try:
            self._inline = (_monotonic(), dep.name)
            self._in_run = True
            return dep.run(data)
        finally:
            self._in_run = False
            self._inline = None

    def _run_inline(self, dep: LoadedDeployment, data) -> tuple[int, bytes]:
        """Status and body of a sync ``run()`` called on the loop's thread (``threads=0``)."""
        try:
            result = self._call_inline(dep, data)
        except (asyncio.TimeoutError, RunTimeout):
            return self._timed_out(dep)
        except Exception:
            return self._failed(dep)
        return self._answer(dep, result)

    async def _run(self, dep: LoadedDeployment, data) -> tuple[int, bytes]:
        """Status and body of an ``async def run`` on the loop, or a sync one in the pool."""
        try:
            if dep.is_async:
                result = await asyncio.wait_for(dep.run(data), self.timeout)
            else:
                loop = asyncio.get_running_loop()
                result = await asyncio.wait_for(
                    loop.run_in_executor(self.pool, self._call, dep, data), self.timeout)
        except (asyncio.TimeoutError, RunTimeout):
            return self._timed_out(dep)
        except Exception:
            return self._failed(dep)
        return self._answer(dep, result)

    def _timed_out(self, dep: LoadedDeployment) -> tuple[int, bytes]:
        self.log(f"deployment {dep.name}: run() took longer than {self.timeout:g} s: answered 504")
        return 504, _error_body(f"scoring took longer than {self.timeout:g} s")

    def _failed(self, dep: LoadedDeployment) -> tuple[int, bytes]:
        self.log(f"deployment {dep.name}: run() raised\n{traceback.format_exc()}")
        return 500, _error_body("scoring failed: the endpoint's logs have the details")

    def _answer(self, dep: LoadedDeployment, result) -> tuple[int, bytes]:
        """200 and ``result`` as JSON, or 500 when JSON cannot hold it or it misses the output schema."""
        try:
            out = _dumps(result)
        except (TypeError, ValueError) as exc:
            self.log(f"deployment {dep.name}: run() returned something JSON cannot hold: {exc}")
            return 500, _error_body("scoring failed: the endpoint's logs have the details")
        if dep.output_schema is not None:
            err = validate(result, dep.output_schema)
            if err:
                self.log(f"deployment {dep.name}: run() output does not match output_schema: {err}")
                return 500, _error_body("scoring failed: the endpoint's logs have the details")
        return 200, out

    def stuck(self, grace: float) -> list[str]:
        """Deployments with a run() call under way for longer than timeout + grace."""
        limit = time.monotonic() - self.timeout - grace
        calls = list(self.running.values())
        inline = self._inline
        if inline is not None:
            calls.append(inline)
        return [dep for started, dep in calls if started < limit]

    def openapi(self, deployment: str | None = None) -> dict:
        """An OpenAPI 3 document of POST /score with the deployment's schemas."""
        names = sorted(self.deployments)
        cum, routed = self._routes
        chosen = deployment if deployment in self.deployments else (routed[0] if routed else
                                                                    names[0] if names else None)
        dep = self.deployments.get(chosen) if chosen else None
        request_schema = (dep.input_schema if dep and dep.input_schema is not None else {})
        response_schema = (dep.output_schema if dep and dep.output_schema is not None else {})
        error = {"type": "object", "properties": {"error": {"type": "string"}}}
        responses = {"200": {"description": "the scoring result",
                             "content": {"application/json": {"schema": response_schema}}}}
        for code, text in (("400", "malformed JSON or schema mismatch"), ("401", "missing or wrong key"),
                           ("413", "body too large"), ("415", "not JSON"), ("500", "run() failed"),
                           ("503", "overloaded"), ("504", "run() timed out")):
            responses[code] = {"description": text, "content": {"application/json": {"schema": error}}}
        return {
            "openapi": "3.0.3",
            "info": {"title": f"endpoint {self.endpoint}", "version": chosen or "-"},
            "paths": {"/score": {"post": {
                "summary": "score data",
                "security": [{"bearer": []}, {"apiKey": []}],
                "parameters": [{"name": "x-mlws-deployment", "in": "header", "required": False,
                                "schema": {"type": "string", "enum": names}}],
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": request_schema}}},
                "responses": responses}},
                "/health": {"get": {"responses": {"200": {"description": "alive"}}}},
                "/ready": {"get": {"responses": {"200": {"description": "ready"}}}}},
            "components": {"securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}}},
            "x-mlws-deployments": {
                n: {"input_schema": d.input_schema, "output_schema": d.output_schema,
                    "models": d.models} for n, d in self.deployments.items()},
        }
