"""A failing store over REST: the roles cannot be read (the PostgreSQL server is cut off) ->
503 with the reason on every route, Jupyter's events stream included; a full disk -> 507.
Never a 500, and the server needs no restart once the store is back."""

from __future__ import annotations

import socket
import threading

import pytest
from mlws_testing import fill, small_filesystem, unmount
from test_roles import OWNER, TokenPerUser
from tornado.httpclient import HTTPClientError

AS_OWNER = {"Authorization": f"token {OWNER}-token"}


class Cutoff:
    """A TCP forwarder to a server: ``cut()`` drops every connection and refuses new ones, as a
    network failure or a stopped server would; ``restore()`` forwards again."""

    def __init__(self, target_port: int):
        self.target = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        self.forwarding, self.stopped = True, False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            if not self.forwarding:
                client.close()  # refused
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        _drop(src, dst)

    def cut(self) -> None:
        self.forwarding = False
        _drop(*self.open)
        self.open.clear()

    def restore(self) -> None:
        self.forwarding = True

    def close(self) -> None:
        self.cut()
        self.stopped = True
        self.thread.join()
        self.listener.close()


def _drop(*sockets: socket.socket) -> None:
    for s in sockets:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


@pytest.fixture
def mlws_config():
    return {"ServerApp": {"identity_provider_class": TokenPerUser},
            "MlwsApp": {"enforce_roles": True}}


@pytest.fixture
def store(request, jp_root_dir, tmp_path):
    """Where the workspace's store lives: ``postgres`` behind a :class:`Cutoff`, or a small
    real filesystem (``full``); the test says which (indirect parametrization)."""
    if request.param == "postgres":
        pg_url = request.getfixturevalue("pg_url")
        head, _, tail = pg_url.rpartition(":")
        port, database = tail.split("/", 1)
        cutoff = Cutoff(int(port))
        yield {"metadata": f"{head}:{cutoff.port}/{database}", "path": jp_root_dir / "ws",
               "cutoff": cutoff}
        cutoff.close()
    else:
        fs = small_filesystem(jp_root_dir / "fs", size_mb=8)
        yield {"metadata": None, "path": fs / "ws", "fs": fs}
        unmount(fs)


@pytest.fixture
def mlws_ws(store, monkeypatch):
    from jupyter_mlws import Workspace
    from jupyter_mlws.access import os_user

    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    monkeypatch.delenv("MLWS_RUN_ID", raising=False)
    ws = Workspace.create(store["path"], metadata=store["metadata"])
    ws.access.grant(os_user(), OWNER, "owner")
    yield ws
    ws.close()


@pytest.mark.postgres
@pytest.mark.parametrize("store", ["postgres"], indirect=True)
async def test_roles_that_cannot_be_read_answer_503_with_the_reason(api, mlws_ws, store, jp_ws_fetch):
    with mlws_ws.experiment("e").start_run(snapshot=False, outputs=None) as run:
        run.log("acc", 0.5)
    assert (await api("GET", "runs", run.id, user=OWNER)).code == 200
    store["cutoff"].cut()
    for method, parts, body in (("GET", ("runs", run.id), None), ("GET", ("workspace",), None),
                                ("PATCH", ("runs", run.id, "tags"), {"set": {"a": "1"}}),
                                ("GET", ("access",), None)):
        r = await api(method, *parts, body=body, user=OWNER)
        assert r.code == 503, (method, parts, r)
        assert r.json["reason"] == "unavailable"
        assert r.json["message"].startswith("cannot reach the workspace's PostgreSQL database at "
                                            f"127.0.0.1:{store['cutoff'].port}/")
        assert "check that the server is running" in r.json["message"]
    # Jupyter's own events stream, which the roles guard too
    with pytest.raises(HTTPClientError) as refused:
        await jp_ws_fetch("api", "events", "subscribe", headers=AS_OWNER)
    assert refused.value.code == 503
    store["cutoff"].restore()  # the server needs no restart
    assert (await api("GET", "runs", run.id, user=OWNER)).code == 200


@pytest.mark.parametrize("store", ["full"], indirect=True)
async def test_a_full_disk_answers_507_and_changes_nothing(api, mlws_ws, store):
    with mlws_ws.experiment("e").start_run(snapshot=False, outputs=None) as run:
        run.log("acc", 0.5)
    assert (await api("GET", "runs", run.id, user=OWNER)).code == 200
    filler = fill(store["fs"])
    tags = {f"t{i}": "v" * 4000 for i in range(200)}
    r = await api("PATCH", "runs", run.id, "tags", body={"set": tags}, user=OWNER)
    assert r.code == 507 and r.json["reason"] == "insufficient_storage"
    assert r.json["message"].startswith("no space left on the device holding the workspace "
                                        "database (mlws.db): free space there, then try again")
    assert mlws_ws.get_run(run.id).tags == {}
    filler.unlink()
    r = await api("PATCH", "runs", run.id, "tags", body={"set": tags}, user=OWNER)
    assert r.code == 200
    assert mlws_ws.get_run(run.id).tags == tags
