"""How a 2-worker endpoint shares its connections: each worker takes some, a worker that does
not accept leaves its share to the other, and a roll-over under load drops no connection.

Real endpoints on 127.0.0.1, real HTTP clients; which worker served what is read where a user
reads it, from ``show()["worker_status"]`` (and ``mlws endpoint show``).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("uvicorn")

from click.testing import CliRunner  # noqa: E402
from test_endpoints import (SAMPLE, SCRIPTS, call, env, keys, steady_load, wait_for,  # noqa: E402,F401
                            worker_pids)

from jupyter_mlws.cli import main as cli  # noqa: E402
from jupyter_mlws.errors import Unavailable  # noqa: E402

pytestmark = pytest.mark.timeout(180)

CONNECTIONS = 32


@pytest.fixture(scope="module")
def served(env):  # noqa: F811 - the fixture of test_endpoints, imported above
    ws, _models = env
    return ws, ws.deploy("iris:1", "two", SCRIPTS / "score.py", workers=2)


def served_by(ws, name="two") -> dict[int, dict]:
    """The serving workers of the current generation, by pid, as ``show`` reports them."""
    rows = ws.endpoints.show(name)["worker_status"]
    return {w["pid"]: w for w in rows if w["state"] == "serving"}


class KeepAlive:
    """``n`` keep-alive HTTP/1.1 connections, all opened before the first request is sent
    (as a load generator opens them: a burst)."""

    def __init__(self, port: int, key: str, n: int):
        body = json.dumps({"data": SAMPLE}).encode()
        self.request = (f"POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        self.socks = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(n)]

    def round(self) -> list[int]:
        """One request on every connection (sent on all first); the status codes."""
        for s in self.socks:
            s.sendall(self.request)
        statuses = []
        for s in self.socks:
            resp = http.client.HTTPResponse(s)
            resp.begin()
            resp.read()
            assert not resp.will_close, "the server closed a keep-alive connection"
            statuses.append(resp.status)
        return statuses

    def close(self) -> None:
        for s in self.socks:
            s.close()


def test_keep_alive_connections_spread_over_the_workers(served):
    ws, info = served
    before = wait_for(lambda: len(served_by(ws)) == 2 and served_by(ws), what="two serving workers")
    clients = KeepAlive(info["port"], keys(ws, "two")["primary"], CONNECTIONS)
    try:
        def spread():
            assert clients.round() == [200] * CONNECTIONS  # also keeps the connections open
            now = served_by(ws)
            if set(now) != set(before):
                return None
            if sum(w["connections"] for w in now.values()) < CONNECTIONS:
                return None  # the supervisor has not written the heartbeats of this burst yet
            return now

        now = wait_for(spread, what="every worker's figures for the open connections")
        # every worker holds a fair part of the connections (with the kernel's hash, fewer
        # than an eighth of 32 on one of two workers has a chance of 3 in a million), and
        # answered some of their requests
        for pid, w in now.items():
            assert w["connections"] >= CONNECTIONS // 8, now
            assert w["requests"] > before[pid]["requests"], now
        res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "endpoint", "show", "two"])
        assert res.exit_code == 0, res.output
        assert "worker processes:" in res.output
        for pid in now:
            assert f" {pid} " in res.output
    finally:
        clients.close()


def test_a_worker_that_does_not_accept_leaves_its_share_to_the_other(served):
    ws, info = served
    key = keys(ws, "two")["primary"]
    restarts = ws.endpoints.show("two")["restarts"]
    victim = wait_for(lambda: len(worker_pids(ws, "two")) == 2 and worker_pids(ws, "two"),
                      what="two workers")[0]
    os.kill(victim, signal.SIGSTOP)  # alive (its socket stays in the group), accepting nothing
    try:
        # new connections: the kernel hashes about half of them to the stopped worker's socket;
        # the other worker takes them over, long before the supervisor would replace the victim
        outcomes = [call(info, {"data": SAMPLE}, key=key)[0] for _ in range(12)]
        assert outcomes == [200] * 12
        assert ws.endpoints.show("two")["restarts"] == restarts  # no replacement served them
        assert victim in worker_pids(ws, "two")
    finally:
        with contextlib.suppress(ProcessLookupError):  # replaced meanwhile: the asserts say so
            os.kill(victim, signal.SIGCONT)
    wait_for(lambda: served_by(ws).get(victim), what="the victim serving again")


def test_a_roll_over_under_load_drops_no_connection(served):
    ws, info = served
    key = keys(ws, "two")["primary"]
    old = set(wait_for(lambda: len(worker_pids(ws, "two")) == 2 and worker_pids(ws, "two"),
                       what="two workers"))
    leader = ws.endpoints.show("two")["pid"]
    # clients that open a new connection for every call: at any moment some wait in the old
    # workers' accept queues, which must pass to the new workers, not be reset
    with steady_load(info, key, clients=12) as outcomes:
        ws.endpoints.deploy("two", "green", "iris:2", SCRIPTS / "score.py", traffic=0)
        wait_for(lambda: not old & set(worker_pids(ws, "two")), timeout=60,
                 what="the old workers to drain and exit")
        started = len(outcomes)
        wait_for(lambda: len(outcomes) > started + 20, what="calls after the roll-over")
    failed = [o for o in outcomes if o != 200]
    assert len(outcomes) > 50 and not failed, (len(outcomes), failed[:5])
    assert ws.endpoints.show("two")["pid"] == leader
    status, headers, _ = call(info, {"data": SAMPLE}, key=key, headers={"x-mlws-deployment": "green"})
    assert status == 200 and headers["x-mlws-deployment"] == "green"
    # show() reports the new generation only (its status is rewritten every 2 s)
    new = wait_for(lambda: (lambda now: len(now) == 2 and not set(now) & old and now)(served_by(ws)),
                   what="the status of the new workers")
    assert sorted(w["slot"] for w in new.values()) == [0, 1]
    assert {w["generation"] for w in new.values()} == {2}


def test_a_second_endpoint_on_the_same_port_is_refused(served):
    ws, info = served
    # SO_REUSEPORT would let a second group of sockets join the port and take half of the
    # connections: the port is probed without it first
    with pytest.raises(Unavailable, match=rf"cannot listen on 127.0.0.1:{info['port']} .*choose another port"):
        ws.endpoints.create("twin", "iris:1", SCRIPTS / "score.py", port=info["port"])
    assert ws.endpoints.show("twin")["state"] == "failed"
    ws.endpoints.delete("twin")
    key = keys(ws, "two")["primary"]
    assert [call(info, {"data": SAMPLE}, key=key)[0] for _ in range(8)] == [200] * 8
