"""A worker's admission (``max_inflight``): requests are counted in the worker, and the kernel's accept
queue is read only after run() calls kept the loop from polling for long, until it is found empty.

The scoring app is driven as its HTTP connections drive it (head, body complete, the loop's drain),
with a listening socket whose accept queue the test sets, and which counts how often it is read.
"""

from __future__ import annotations

import json
import signal
import socket
import struct
import time

import pytest

from jupyter_mlws.endpoints.serving.app import QUEUE_CHECK_S, LoadedDeployment, ScoringApp
from jupyter_mlws.endpoints.serving.connection import Request
from jupyter_mlws.endpoints.settings import DEFAULT_SETTINGS

KEY = "k" * 43


@pytest.fixture(autouse=True)
def sigalrm_handler_kept():
    """An app with run() on the loop takes SIGALRM (to interrupt run() calls past the timeout):
    give the handler back (pytest-timeout's) after each test."""
    before = signal.getsignal(signal.SIGALRM)
    yield
    signal.signal(signal.SIGALRM, before)


class Listener:
    """A listening socket as ``accept_queue`` reads it (TCP_INFO), ``waiting`` connections queued."""

    def __init__(self):
        self.waiting = 0
        self.reads = 0

    def getsockopt(self, level, option, size):
        assert (level, option) == (socket.IPPROTO_TCP, socket.TCP_INFO)
        self.reads += 1
        return bytes(24) + struct.pack("=I", self.waiting) + bytes(size - 28)


class Loop:
    def __init__(self):
        self.ready = []

    def call_soon(self, callback, *args):
        self.ready.append((callback, args))

    def run(self):
        while self.ready:
            callback, args = self.ready.pop(0)
            callback(*args)


class Connection:
    """What the app sees of a connection: its loop, and ``respond``."""

    def __init__(self, loop):
        self.loop = loop
        self.answers: list[int] = []

    def respond(self, req, status, body, extra=b"", close=False):
        req.response_complete = True
        self.answers.append(status)


def make_app(run, listener, max_inflight=2):
    settings = dict(DEFAULT_SETTINGS, max_inflight=max_inflight, monitoring=False)
    app = ScoringApp("e", {"blue": LoadedDeployment("blue", run)}, settings, None,
                     log=lambda message: None, listener=listener)
    app.configure([KEY, KEY + "2"], {"blue": 100})
    return app


def arrive(app, conn) -> Request:
    """A scoring request whose head and body came in one read (not run yet)."""
    body = json.dumps({"data": [[1, 2, 3, 4]]}).encode()
    req = Request(b"POST", b"/score", {b"authorization": b"Bearer " + KEY.encode(),
                                       b"content-type": b"application/json",
                                       b"content-length": str(len(body)).encode()}, True)
    req.started = True
    app.head(conn, req)
    if not req.response_complete:
        req.body, req.more_body = body, False
        app.body_complete(conn, req)
    return req


def test_requests_are_counted_in_the_worker_without_reading_the_kernel():
    listener, loop = Listener(), Loop()
    app = make_app(lambda data: {"ok": True}, listener)
    conn = Connection(loop)
    for _ in range(3):  # three requests read in one poll, before the loop runs any: two places
        arrive(app, conn)
    assert conn.answers == [503]
    loop.run()
    assert conn.answers == [503, 200, 200] and app.inflight == 0
    for _ in range(20):  # one at a time: every one admitted
        arrive(app, conn)
        loop.run()
    assert conn.answers[3:] == [200] * 20
    assert listener.reads == 0


def test_after_a_long_drain_the_accept_queue_counts_until_it_is_found_empty():
    listener, loop = Listener(), Loop()
    slow = {"on": True}

    def run(data):
        if slow["on"]:
            time.sleep(QUEUE_CHECK_S * 2)  # the loop polls nothing meanwhile: connections queue up
        return {"ok": True}

    app = make_app(run, listener)
    conn = Connection(loop)
    arrive(app, conn)
    loop.run()
    slow["on"] = False
    listener.waiting = 5  # connections that came while run() held the loop, not accepted yet
    arrive(app, conn)
    assert conn.answers == [200, 503] and listener.reads == 1
    listener.waiting = 0  # the poll has taken them in
    arrive(app, conn)
    loop.run()
    assert conn.answers == [200, 503, 200] and listener.reads == 2
    for _ in range(5):  # found empty: not read again
        arrive(app, conn)
        loop.run()
    assert conn.answers[3:] == [200] * 5 and listener.reads == 2
