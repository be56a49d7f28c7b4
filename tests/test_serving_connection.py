"""HTTP/1.1 as an endpoint worker speaks it (its own protocol on httptools, not uvicorn's): keep-alive,
pipelining in order, chunked bodies, 100-continue, HTTP/1.0, malformed requests, oversized heads,
HEAD, upgrades, the idle timeout.

A real 1-worker endpoint on 127.0.0.1, spoken to over raw sockets, so that what goes over the wire
is what is checked.
"""

from __future__ import annotations

import json
import socket
import time

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("uvicorn")

from test_endpoints import SAMPLE, SCRIPTS, env, keys  # noqa: E402,F401

pytestmark = pytest.mark.timeout(120)

BODY = json.dumps({"data": SAMPLE}).encode()


@pytest.fixture(scope="module")
def wire(env):  # noqa: F811 - the fixture of test_endpoints, imported above
    ws, models = env
    info = ws.deploy("iris:1", "wire", SCRIPTS / "score.py", workers=1, keep_alive=1,
                     max_body_bytes=100_000)
    return info["port"], keys(ws, "wire")["primary"], models[0].predict(SAMPLE).tolist()


def score(key: str, body: bytes = BODY, *, extra: str = "", version: str = "1.1") -> bytes:
    return (f"POST /score HTTP/{version}\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n{extra}\r\n").encode() + body


class Wire:
    """One raw connection; :meth:`response` reads one answer (framed by its Content-Length)."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.file = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self, head_only: bool = False) -> tuple[int, dict, bytes]:
        line = self.file.readline()
        assert line.startswith(b"HTTP/1.1 "), line
        status = int(line.split()[1])
        headers = {}
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", 0))
        return status, headers, b"" if head_only else self.file.read(length)

    def closed_by_server(self, within: float = 10.0) -> bool:
        """Whether the server closes the connection (end of stream, or reset) within ``within`` s."""
        self.sock.settimeout(within)
        try:
            return self.file.read(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def conn(wire):
    c = Wire(wire[0])
    yield c
    c.close()


def test_keep_alive_answers_many_requests_on_one_connection(wire, conn):
    _, key, expected = wire
    for _ in range(20):
        conn.send(score(key))
        status, headers, body = conn.response()
        assert status == 200 and json.loads(body)["predictions"] == expected
        assert headers["content-type"] == "application/json" and "connection" not in headers
        assert headers["x-mlws-deployment"] == "blue" and "date" in headers


def test_pipelined_requests_are_answered_in_order(wire, conn):
    _, key, expected = wire
    slow = json.dumps({"data": SAMPLE, "sleep": 0.3}).encode()
    # a slow scoring request, then one with a wrong key (answered without running anything), then
    # a health check and a scoring request, all in one write: the answers come in that order
    conn.send(score(key, slow) + score("wrong" * 9) + b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" + score(key))
    assert [conn.response()[0] for _ in range(4)] == [200, 401, 200, 200]
    conn.send(score(key))  # and the connection goes on
    status, _, body = conn.response()
    assert status == 200 and json.loads(body)["predictions"] == expected


def test_a_chunked_body_sent_in_pieces_is_read_whole(wire, conn):
    _, key, expected = wire
    head = score(key, b"").replace(b"Content-Length: 0\r\n", b"Transfer-Encoding: chunked\r\n")
    conn.send(head)
    for i in range(0, len(BODY), 7):
        piece = BODY[i:i + 7]
        conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        time.sleep(0.01)
    conn.send(b"0\r\n\r\n")
    status, _, body = conn.response()
    assert status == 200 and json.loads(body)["predictions"] == expected


def test_expect_100_continue_is_answered_before_the_body(wire, conn):
    _, key, expected = wire
    request = score(key, extra="Expect: 100-continue\r\n")
    head, body = request.split(b"\r\n\r\n", 1)
    conn.send(head + b"\r\n\r\n")
    assert conn.file.readline() == b"HTTP/1.1 100 Continue\r\n" and conn.file.readline() == b"\r\n"
    conn.send(body)
    status, _, answer = conn.response()
    assert status == 200 and json.loads(answer)["predictions"] == expected
    # refused at the head (no key): the 401 comes instead of 100 Continue, the body is not awaited
    conn.send(score("", extra="Expect: 100-continue\r\n").split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n")
    assert conn.response()[0] == 401


def test_http_1_0_is_answered_then_closed(wire, conn):
    _, key, expected = wire
    conn.send(score(key, version="1.0"))
    status, headers, body = conn.response()
    assert status == 200 and headers["connection"] == "close"
    assert json.loads(body)["predictions"] == expected
    assert conn.closed_by_server()


def test_a_request_that_is_not_http_gets_400_and_is_closed(wire):
    port, key, _ = wire
    for bad in (b"GARBAGE\r\n\r\n",
                # a chunked body whose chunk size is not hexadecimal
                score(key, b"").replace(b"Content-Length: 0\r\n", b"Transfer-Encoding: chunked\r\n") + b"zz\r\n"):
        c = Wire(port)
        try:
            c.send(bad)
            status, headers, body = c.response()
            assert status == 400 and headers["connection"] == "close"
            assert "not valid HTTP/1.1" in json.loads(body)["error"]
            assert c.closed_by_server()
        finally:
            c.close()


def test_an_oversized_request_head_gets_431_and_is_closed(wire, conn):
    _, key, _ = wire
    request = score(key, extra="X-Padding: " + "p" * 1000 + "\r\n")
    head = request.split(b"\r\n\r\n", 1)[0]
    conn.send(head + b"\r\n")  # the head is not complete yet: padding follows, 100 KB of it
    try:
        for _ in range(100):
            conn.send(b"X-More: " + b"m" * 1000 + b"\r\n")
    except OSError:  # closed while sending: the answer is still there to read
        pass
    status, headers, body = conn.response()
    assert status == 431 and headers["connection"] == "close" and "headers" in json.loads(body)["error"]
    assert conn.closed_by_server()


def test_a_head_request_gets_headers_without_a_body(wire, conn):
    _, key, _ = wire
    conn.send(b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n" + score(key))
    status, headers, _ = conn.response(head_only=True)
    assert status == 404 and int(headers["content-length"]) > 0  # HEAD is not one of the routes
    assert conn.response()[0] == 200  # no body bytes came between the two answers


def test_an_upgrade_request_is_answered_then_closed(wire, conn):
    conn.send(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
    status, headers, body = conn.response()
    assert (status, headers["connection"], json.loads(body)) == (200, "close", {"status": "ok"})
    assert conn.closed_by_server()


def test_an_idle_keep_alive_connection_is_closed_after_the_timeout(wire, conn):
    _, key, _ = wire
    conn.send(score(key))
    assert conn.response()[0] == 200
    # keep_alive=1: the server closes it once idle for a second (the bound is generous)
    assert conn.closed_by_server(within=10)
