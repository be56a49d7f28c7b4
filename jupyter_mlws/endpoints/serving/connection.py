"""One HTTP/1.1 connection of an endpoint worker: httptools parses, the scoring app answers.

uvicorn still runs the worker (the event loop, the listening socket, signals, the graceful
shutdown); only its per-connection HTTP protocol is replaced, by :func:`scoring_protocol`, which
calls the app's methods directly instead of through ASGI: no task, no message dicts and no header
checks per request, and each answer (head and body) is one ``write``.  It keeps what uvicorn's
``HttpToolsProtocol`` does for HTTP:

- keep-alive (HTTP/1.1 unless ``Connection: close``; HTTP/1.0 connections close after their
  answer), closed when idle for the server's ``timeout_keep_alive`` seconds;
- pipelined requests answered in order (reading pauses while one waits behind another);
- request bodies with ``Content-Length`` or chunked, ``Expect: 100-continue``;
- ``400`` and close on a request that does not parse, ``431`` on a request head over
  :data:`MAX_HEAD_BYTES`; an ``Upgrade`` request is answered, then its connection closed;
- back-pressure: reading pauses while the transport's write buffer is full;
- ``shutdown()`` for uvicorn's graceful shutdown: idle connections close, busy ones after
  their answer; every connection is in ``server_state.connections``.

The app (:class:`~.app.ScoringApp`) decides every answer; see its ``head``, ``body_complete``,
``body_too_large`` and ``gone`` methods for the protocol between the two.
"""

from __future__ import annotations

import asyncio
import http
import json
from collections import deque
from urllib.parse import unquote_to_bytes

import httptools

#: a request head (request line and headers) longer than this is answered 431 and closed
MAX_HEAD_BYTES = 64 * 1024
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_STATUS = {s.value: b"HTTP/1.1 %d %s\r\n" % (s.value, s.phrase.encode()) for s in http.HTTPStatus}


def _error(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


_BAD_REQUEST = _error("the request is not valid HTTP/1.1: check the request line, headers and body framing")
_HEAD_TOO_LARGE = _error(f"the request line and headers are longer than {MAX_HEAD_BYTES} bytes: "
                         "send fewer or shorter headers")
_CLOSE = b"connection: close\r\n"


class Request:
    """One request on a connection, from its head to its answer (uvicorn's name for it: a cycle).

    ``more_body`` is True until the body is complete, ``response_complete`` once the answer is
    written: the connection guards (:func:`.protocol.guarded`) read both.  The app keeps its own
    per-request state in the remaining slots.
    """

    __slots__ = ("method", "path", "headers", "body", "size", "keep_alive", "expect_continue",
                 "more_body", "response_complete", "too_large", "started", "admitted", "queued",
                 "start", "deployment", "dep")

    def __init__(self, method: bytes, path: bytes, headers: dict, keep_alive: bool):
        self.method = method
        self.path = path
        #: lower-cased header name -> value (the last one of a repeated header)
        self.headers = headers
        self.body: bytes | bytearray = b""
        self.size = 0
        self.keep_alive = keep_alive
        self.expect_continue = False
        self.more_body = True
        self.response_complete = False
        self.too_large = False  # the body outgrew the limit while the request waited its turn
        self.started = False  # handed to the app's head()
        self.admitted = False  # the app counts it towards its in-flight requests
        self.queued = False  # the app has it waiting for run()
        self.start = 0.0
        self.deployment = "-"
        self.dep = None


def scoring_protocol(app) -> type[asyncio.Protocol]:
    """An ``asyncio.Protocol`` class serving ``app`` (a :class:`~.app.ScoringApp`), made the way
    uvicorn makes its protocols: ``cls(config=, server_state=, app_state=)``; give it to
    ``uvicorn.Config(http=...)``, wrapped in :func:`.protocol.guarded`."""

    class ScoringProtocol(asyncio.Protocol):
        #: the server's default headers (the ``date`` header, once a second) as bytes, and the
        #: list they were made from (uvicorn replaces the list when the date changes)
        _defaults_of: list | None = None
        _defaults = b""
        #: (status, extra header bytes) -> the head of an answer up to its content-length value
        _prefixes: dict = {}

        def __init__(self, config, server_state, app_state=None, _loop=None):
            self.loop = _loop or asyncio.get_event_loop()
            self.server_state = server_state
            self.connections = server_state.connections
            self.keep_alive_s = config.timeout_keep_alive
            self.parser = httptools.HttpRequestParser(self)
            try:  # a request after "Connection: close" is ignored, not an error (as uvicorn)
                self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
            except AttributeError:  # pragma: no cover - httptools < 0.6.3
                pass
            self.transport = None
            #: the request whose head came last (the guards watch it)
            self.cycle: Request | None = None
            #: the oldest request not answered yet, and those parsed behind it
            self._active: Request | None = None
            self._pipeline: deque[Request] = deque()
            self._url = b""
            self._headers: dict = {}
            self._in_head = False
            self._head_bytes = 0  # bytes of the head under way, counted read by read
            self._cut = False  # a request ended in the read being parsed
            self._keep_alive = True  # False: close after the answer under way
            self._advancing = False  # on_response_complete() is starting pipelined requests
            self._closed = False
            self._read_paused = False
            self._write_paused = False
            #: loop time of the last answer while idle since (None: a request is under way)
            self._idle_at: float | None = None
            self._idle_timer = None

        # -- asyncio.Protocol ------------------------------------------------------------

        def connection_made(self, transport) -> None:
            self.transport = transport
            self.connections.add(self)

        def data_received(self, data: bytes) -> None:
            self._idle_at = None
            self._cut = False
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserUpgrade:
                self._keep_alive = False  # answered as a plain request; the rest is not HTTP/1.1
                self._pause_reading()
                if self._active is None:
                    self._close()
                return
            except httptools.HttpParserCallbackError as exc:  # our own bug: never a client's 400
                app.log(f"HTTP request handling failed: {exc.__context__!r}")
                self._fail(500, _error("the endpoint failed to handle the request"), True)
                return
            except httptools.HttpParserError:
                self._fail(400, _BAD_REQUEST, not self._in_head)
                return
            if self._in_head and not self._cut:
                # a head not complete yet, begun in this read or before it (a read in which a
                # request ended, and this head began, is not counted: one read at most)
                self._head_bytes += len(data)
                if self._head_bytes > MAX_HEAD_BYTES:
                    self._fail(431, _HEAD_TOO_LARGE, False)

        def connection_lost(self, exc) -> None:
            self.connections.discard(self)
            self._closed = True
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None
            for req in (self._active, *self._pipeline):
                if req is not None and not req.response_complete:
                    app.gone(req)
            self._active = None
            self._pipeline.clear()

        def pause_writing(self) -> None:
            self._write_paused = True
            self._pause_reading()

        def resume_writing(self) -> None:
            self._write_paused = False
            if not self._pipeline and not self._closed:
                self._resume_reading()

        # -- httptools callbacks ---------------------------------------------------------

        def on_message_begin(self) -> None:
            self._url = b""
            self._headers = {}
            self._in_head = True
            self._head_bytes = 0

        def on_url(self, url: bytes) -> None:
            self._url += url

        def on_header(self, name: bytes, value: bytes) -> None:
            self._headers[name.lower()] = value

        def on_headers_complete(self) -> None:
            self._in_head = False
            parser = self.parser
            url = self._url
            headers = self._headers
            if url[:1] == b"/":
                query = url.find(b"?")
                path = url if query < 0 else url[:query]
            else:  # absolute form (http://host/path), or "*"
                try:
                    path = httptools.parse_url(url).path or b"/"
                except httptools.HttpParserInvalidURLError:
                    path = b""
            if path.find(b"%") >= 0:
                path = unquote_to_bytes(path)
            keep = parser.should_keep_alive()
            if keep and b"connection" in headers and parser.get_http_version() == "1.0":
                keep = False  # HTTP/1.0 keep-alive is not offered (as uvicorn)
            if b"upgrade" in headers:
                keep = False  # answered as plain HTTP/1.1, then closed: no protocol switch here
            req = Request(parser.get_method(), path, headers, keep)
            expect = headers.get(b"expect")
            if expect is not None and expect.lower() == b"100-continue":
                req.expect_continue = True
            self.cycle = req
            if self._active is None:
                self._active = req
                self._start(req)
            else:  # pipelined: waits for the answers before it
                self._pipeline.append(req)
                self._pause_reading()

        def on_body(self, body: bytes) -> None:
            req = self.cycle
            if req.response_complete or req.too_large:
                return  # answered already (the body is dropped), or past the limit
            size = req.size + len(body)
            req.size = size
            if size > app.max_body:
                req.body = b""
                if req.started:
                    app.body_too_large(self, req)
                else:
                    req.too_large = True
                return
            if not req.body:
                req.body = body
            else:
                if type(req.body) is bytes:
                    req.body = bytearray(req.body)
                req.body += body

        def on_message_complete(self) -> None:
            self._cut = True
            req = self.cycle
            req.more_body = False
            if req.started and not req.response_complete:
                app.body_complete(self, req)

        # -- answers ---------------------------------------------------------------------

        def respond(self, req: Request, status: int, body: bytes, extra: bytes = b"",
                    close: bool = False) -> None:
            """Write ``req``'s answer (a JSON ``body``; ``extra``: header lines, each ending in
            CRLF), then go on with the next request on the connection, or close it."""
            if req.response_complete:
                return
            req.response_complete = True
            if close or not req.keep_alive or not self._keep_alive:
                self._keep_alive = False
                extra += _CLOSE
            if not self._closed:
                cls = type(self)
                if self.server_state.default_headers is cls._defaults_of:
                    head = cls._prefixes.get((status, extra)) or self._prefix(status, extra)
                else:
                    head = self._prefix(status, extra)
                try:
                    if req.method == b"HEAD":
                        self.transport.write(b"%s%d\r\n\r\n" % (head, len(body)))
                    else:
                        self.transport.write(b"%s%d\r\n\r\n%s" % (head, len(body), body))
                except RuntimeError:  # the transport closed (a reset) before connection_lost() came
                    self._closed = True
            self.server_state.total_requests += 1
            self.on_response_complete()

        def _prefix(self, status: int, extra: bytes) -> bytes:
            """The head of an answer up to its content-length value (cached)."""
            cls = type(self)
            defaults = self.server_state.default_headers
            if defaults is not cls._defaults_of:  # a new date header: once a second
                cls._defaults = b"".join(b"%s: %s\r\n" % pair for pair in defaults)
                cls._defaults_of = defaults
                cls._prefixes = {}
            head = cls._prefixes.get((status, extra))
            if head is None:
                head = (_STATUS.get(status) or b"HTTP/1.1 %d \r\n" % status) + cls._defaults + extra \
                    + b"content-type: application/json\r\ncontent-length: "
                if len(cls._prefixes) < 256:
                    cls._prefixes[(status, extra)] = head
            return head

        def on_response_complete(self) -> None:
            """After each answer: start the next pipelined request, or wait for one, or close."""
            if self._closed:
                return
            if not self._keep_alive:
                self._close()
                return
            if self._advancing:
                return  # an answer given by _start() below: its loop goes on with the next one
            self._advancing = True
            try:
                pipeline = self._pipeline
                while pipeline:
                    req = self._active = pipeline.popleft()
                    self._start(req)
                    if not req.response_complete or self._closed:
                        return
                self._active = None
                if not self._write_paused:
                    self._resume_reading()
                self._idle()
            finally:
                self._advancing = False

        def _start(self, req: Request) -> None:
            req.started = True
            app.head(self, req)
            if req.response_complete:
                return
            if req.too_large:
                app.body_too_large(self, req)
            elif not req.more_body:
                app.body_complete(self, req)
            elif req.expect_continue and not self._closed:
                self.transport.write(_CONTINUE)

        def _fail(self, status: int, body: bytes, in_body: bool) -> None:
            """Answer a request that cannot be read, and close the connection.  ``in_body``: the
            error came after the last request head (in its body, or a bug handling it)."""
            self._keep_alive = False
            self._pause_reading()
            active = self._active
            if active is None:
                if not self._closed:
                    self.transport.write(b"%s%d\r\n\r\n%s" % (self._prefix(status, _CLOSE), len(body), body))
                self._close()
            elif in_body and active is self.cycle and active.more_body and not active.response_complete:
                app.reply(self, active, status, body, close=True)  # the app counts it, and frees its place
            # else a request behind the active one is broken: the connection closes after its answer

        # -- the connection --------------------------------------------------------------

        def shutdown(self) -> None:
            """uvicorn's graceful shutdown: close now if idle, else after the answer under way."""
            if self._active is None:
                self._close()
            else:
                self._keep_alive = False

        def _close(self) -> None:
            if not self._closed:
                self._closed = True
                self.transport.close()

        def _pause_reading(self) -> None:
            if not self._read_paused and not self._closed:
                self._read_paused = True
                self.transport.pause_reading()

        def _resume_reading(self) -> None:
            if self._read_paused and not self._closed:
                self._read_paused = False
                self.transport.resume_reading()

        def _idle(self) -> None:
            """Idle from now on: closed if no byte comes within the keep-alive timeout.  One timer
            per connection, re-armed when it fires, not per request."""
            self._idle_at = self.loop.time()
            if self._idle_timer is None:
                self._idle_timer = self.loop.call_at(self._idle_at + self.keep_alive_s, self._idle_check)

        def _idle_check(self) -> None:
            self._idle_timer = None
            since = self._idle_at
            if since is None or self._closed:
                return  # busy: the next answer arms it again
            due = since + self.keep_alive_s
            if self.loop.time() >= due:
                self._close()
            else:
                self._idle_timer = self.loop.call_at(due, self._idle_check)

    return ScoringProtocol
