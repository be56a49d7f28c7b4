"""An endpoint worker's connection guards on a real uvicorn server on 127.0.0.1, with each of the
HTTP protocols uvicorn uses (httptools, h11): slow clients are dropped, connections are capped,
requests are served meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import socket
import threading

import pytest

uvicorn = pytest.importorskip("uvicorn")

from mlws_testing import trickling_clients  # noqa: E402

from jupyter_mlws.endpoints.serving.protocol import guarded  # noqa: E402

pytestmark = pytest.mark.timeout(60)

HEAD = b"POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n"


def _protocols():
    from uvicorn.protocols.http.h11_impl import H11Protocol

    out = [pytest.param(H11Protocol, id="h11")]
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - uvicorn without httptools
        return out
    return out + [pytest.param(HttpToolsProtocol, id="httptools")]


async def app(scope, receive, send):
    """Reads the body; ``/slow`` takes 1.5 s to answer."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    if scope["path"] == "/slow":
        await asyncio.sleep(1.5)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"{}"})


@contextlib.contextmanager
def serving(protocol, *, header_timeout=30.0, body_timeout=30.0, max_connections=100):
    """A uvicorn server with the guarded ``protocol`` on a free port of 127.0.0.1; yields the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    http_class = guarded(protocol, header_timeout, body_timeout, max_connections)
    server = uvicorn.Server(uvicorn.Config(app, http=http_class, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            threading.Event().wait(0.05)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _get(port, path="/"):
    """The status of one request on a new connection (and its Retry-After)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body=b"{}", headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("retry-after")
    finally:
        conn.close()


@pytest.mark.parametrize("protocol", _protocols())
def test_a_trickled_request_head_is_closed_while_others_are_served(protocol):
    with serving(protocol, header_timeout=1.0) as port:
        outcome = {}
        slow = threading.Thread(target=lambda: outcome.update(
            closed=trickling_clients(port, HEAD, 5, every=0.3, limit=15)))
        slow.start()
        try:
            assert _get(port) == (200, None)
            # a request that takes longer than the head deadline is answered all the same
            assert _get(port, "/slow") == (200, None)
        finally:
            slow.join(30)
        assert outcome["closed"] == [True] * 5


@pytest.mark.parametrize("protocol", _protocols())
def test_a_trickled_body_is_closed(protocol):
    head = HEAD.replace(b"Content-Length: 2", b"Content-Length: 64")
    with serving(protocol, body_timeout=1.0) as port:
        assert trickling_clients(port, b"[" + b" " * 63, 3, at_once=head, every=0.3,
                                 limit=15) == [True] * 3
        assert _get(port) == (200, None)


@pytest.mark.parametrize("protocol", _protocols())
def test_connections_over_the_cap_get_503(protocol):
    with serving(protocol, max_connections=3) as port:
        # the server accepts in order: these three are its connections when the fourth comes
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(3)]
        try:
            assert _get(port) == (503, "1")
        finally:
            for s in idle:
                s.close()
        for _ in range(50):  # the server sees the idle ones go
            if _get(port)[0] == 200:
                break
            threading.Event().wait(0.1)
        assert _get(port) == (200, None)


def _trickle_until_closed(sock, data, every=0.3, limit=15.0) -> bool:
    """Send ``data`` one byte every ``every`` s (never its last) on ``sock``, then wait, until the
    server closes it (True) or ``limit`` s pass (False)."""
    sock.setblocking(False)
    for i in range(int(limit / every)):
        try:
            if sock.recv(4096) == b"":
                return True
        except BlockingIOError:  # nothing to read: not closed
            pass
        except OSError:  # reset
            return True
        if i < len(data) - 1:
            try:
                sock.send(data[i:i + 1])  # one byte: never blocks
            except OSError:  # closed meanwhile
                return True
        threading.Event().wait(every)
    return False


@pytest.mark.parametrize("protocol", _protocols())
def test_a_keep_alive_connection_is_held_while_its_requests_come_in_time(protocol):
    with serving(protocol, header_timeout=1.0) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            # 3 s on one connection, well past the 1 s head deadline it opened with: every head
            # comes within 1 s of the answer before it, so the connection is kept
            for _ in range(6):
                conn.request("POST", "/", body=b"{}", headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                assert (response.status, response.read()) == (200, b"{}")
                threading.Event().wait(0.5)
            # then the same connection trickles a head: it is closed like a new one
            assert _trickle_until_closed(conn.sock, HEAD)
        finally:
            conn.close()
