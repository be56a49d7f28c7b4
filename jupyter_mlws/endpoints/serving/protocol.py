"""Guards on an endpoint worker's connections, around uvicorn's HTTP protocol (httptools or h11).

uvicorn bounds neither the time a client takes to send a request (its keep-alive timer runs only
between requests and stops at a request's first byte, so a client trickling one header byte every
few seconds holds its socket for ever) nor the connections a worker holds (``limit_concurrency`` answers 503 only once a
request head is complete).  :func:`guarded` adds both:

- a request head must be complete within ``header_timeout`` seconds of the connection opening, or
  of the previous response on it, and its body within ``body_timeout`` seconds of the head:
  otherwise the connection is closed (no response: the client is not sending one);
- a worker holds at most ``max_connections`` connections: one more is answered ``503`` (with
  ``Retry-After``) as soon as it is accepted, its request dropped unread, and closed within
  ``REFUSED_LINGER_S`` (1 s).

How the workers share the listening socket is unchanged.
"""

from __future__ import annotations

import asyncio
import json

#: the answer to a connection over the cap (sent before its request is read)
_BUSY = json.dumps({"error": "the endpoint holds too many connections: retry later"}).encode()
OVER_CAP_RESPONSE = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
                     b"retry-after: 1\r\nconnection: close\r\ncontent-length: "
                     + str(len(_BUSY)).encode() + b"\r\n\r\n" + _BUSY)
#: seconds a connection over the cap is kept (its request dropped) after its 503, at most
REFUSED_LINGER_S = 1.0
#: what a connection waits for: a request head, or the rest of a request body
_HEAD, _BODY = "head", "body"


def guarded(base: type[asyncio.Protocol], header_timeout: float, body_timeout: float,
            max_connections: int) -> type[asyncio.Protocol]:
    """A subclass of uvicorn's HTTP protocol ``base`` (``HttpToolsProtocol``, ``H11Protocol``)
    with deadlines for a request's head and body (seconds, > 0) and a cap of ``max_connections``
    (>= 1) open connections per server; give it to ``uvicorn.Config(http=...)``.

    Both protocols start a new request cycle (``self.cycle``) once a head is complete, and mark
    it ``more_body = False`` once its body is; the deadlines watch those.  Raises ValueError for
    a timeout <= 0 or a cap < 1 (the endpoint's settings are checked before, with a clear error).
    """
    if min(header_timeout, body_timeout) <= 0 or max_connections < 1:
        raise ValueError("the timeouts must be positive and max_connections at least 1")

    class Guarded(base):  # type: ignore[valid-type,misc]
        # One timer per connection, re-armed lazily: a request moves the deadline (an attribute)
        # and the timer, when it fires, closes the connection only if the deadline has passed,
        # else waits on until it.  A keep-alive connection thus costs no timer call per request.
        _timer: asyncio.TimerHandle | None = None
        #: loop time the timer fires at
        _timer_at = 0.0
        #: what the connection is waiting for: _HEAD, _BODY, or None (a request being answered)
        _waiting: object = None
        #: loop time by which it must have come
        _deadline = 0.0
        _refused = False
        #: the request cycle current when the deadline was set
        _watched = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                self._refused = True
                transport.write(OVER_CAP_RESPONSE)
                if transport.can_write_eof():
                    # the client may still be sending its request: closing now would answer it
                    # with a reset, which can discard the 503 before the client reads it
                    transport.write_eof()
                    self._timer = self.loop.call_later(REFUSED_LINGER_S, transport.close)
                else:  # pragma: no cover - TLS transports; the workers serve plain TCP
                    transport.close()
                return
            self._await_head()

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return  # a refused connection's request is dropped unread
            super().data_received(data)
            cycle = self.cycle
            if cycle is not self._watched:  # a request head is complete
                self._watched = cycle
                if cycle.more_body and not cycle.response_complete:
                    self._expect(_BODY, body_timeout)
                else:
                    self._waiting = None

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._await_head()

        def connection_lost(self, exc) -> None:
            self._waiting = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            super().connection_lost(exc)

        def _await_head(self) -> None:
            self._watched = self.cycle
            self._expect(_HEAD, header_timeout)

        def _expect(self, what, timeout: float) -> None:
            self._waiting = what
            deadline = self._deadline = self.loop.time() + timeout
            timer = self._timer
            if timer is None or self._timer_at > deadline:
                if timer is not None:
                    timer.cancel()
                self._timer_at = deadline
                self._timer = self.loop.call_at(deadline, self._late)

        def _late(self) -> None:
            self._timer = None
            what = self._waiting
            if what is None or self.transport.is_closing():
                return  # nothing awaited now: the next wait arms the timer again
            if self.loop.time() < self._deadline:  # the deadline moved on since: wait on
                self._timer_at = self._deadline
                self._timer = self.loop.call_at(self._deadline, self._late)
                return
            cycle = self._watched
            if what is _HEAD:
                late = self.cycle is cycle and (cycle is None or cycle.response_complete)
            else:
                late = cycle.more_body and not cycle.response_complete
            if late:
                self.transport.close()

    Guarded.__name__ = Guarded.__qualname__ = f"Guarded{base.__name__}"
    return Guarded
