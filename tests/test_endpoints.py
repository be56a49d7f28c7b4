"""Endpoints for real: detached server processes on 127.0.0.1, called over HTTP.

One healthy endpoint is shared by the module (its start costs a few seconds);
tests run in file order and leave it healthy for the next.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("uvicorn")

from click.testing import CliRunner  # noqa: E402
from mlws_testing import iris_model, trickling_clients  # noqa: E402

from jupyter_mlws import Workspace  # noqa: E402
from jupyter_mlws.cli import main as cli  # noqa: E402
from jupyter_mlws.errors import Conflict, InvalidInput, NotFound, Unavailable  # noqa: E402

SCRIPTS = Path(__file__).parent / "endpoint_scripts"
SAMPLE = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]

pytestmark = pytest.mark.timeout(120)


# -- helpers ------------------------------------------------------------------------------


def wait_for(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def group_pids(leader: int | None) -> list[int]:
    """Live processes in the process group led by ``leader`` (the supervisor and its workers)."""
    if not leader:
        return []
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(b")", 1)[-1].split()
        if int(fields[2]) == leader and fields[0] not in (b"Z", b"X"):
            out.append(int(entry))
    return out


def worker_pids(ws, name) -> list[int]:
    leader = ws.endpoints.show(name)["pid"]
    return [p for p in group_pids(leader) if p != leader]


def call(info, body=b"{}", *, key=None, headers=None, path="/score", method="POST",
         content_type="application/json"):
    """(status, headers, parsed JSON body) of one HTTP call."""
    conn = http.client.HTTPConnection("127.0.0.1", info["port"], timeout=30)
    try:
        h = {} if content_type is None else {"Content-Type": content_type}
        if key:
            h["Authorization"] = f"Bearer {key}"
        h.update(headers or {})
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        conn.request(method, path, body=body if method == "POST" else None, headers=h)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, json.loads(raw) if raw else None
    finally:
        conn.close()


@contextlib.contextmanager
def steady_load(info, key, clients=4):
    """Call the endpoint without pause (a new connection each call) from ``clients`` threads;
    yields the list of outcomes: a status code, or the exception a failed call raised."""
    outcomes, stop = [], threading.Event()

    def loop():
        while not stop.is_set():
            try:
                outcomes.append(call(info, {"data": SAMPLE}, key=key)[0])
            except Exception as exc:  # noqa: BLE001 - every failure is an outcome to report
                outcomes.append(exc)

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    try:
        yield outcomes
    finally:
        stop.set()
        for t in threads:
            t.join(30)


def raw_exchange(port: int, request: bytes, then: bytes = b"") -> bytes:
    """Send raw bytes, read the answer (the server may answer before the body is all sent)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        if then:
            try:
                s.sendall(then)
            except OSError:
                pass
        data = b""
        while b"\r\n\r\n" not in data or len(data) < data.find(b"\r\n\r\n") + 4 + _length(data):
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            data += chunk
        return data


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("endpoints")
    old = os.environ.pop("MLWS_WORKSPACE", None)
    ws = Workspace.create(root / "ws")
    models = []
    for i, c in enumerate((1.0, 0.1)):
        models.append(iris_model(root / f"model{i}", C=c)[0])
        ws.register_model("iris", root / f"model{i}")
    try:
        yield ws, models
    finally:
        for item in ws.endpoints.list():
            try:
                ws.endpoints.delete(item["name"])
            except Exception:
                pass
        ws.close()
        if old is not None:
            os.environ["MLWS_WORKSPACE"] = old


@pytest.fixture(scope="module")
def served(env):
    ws, models = env
    info = ws.deploy("iris:1", "main", SCRIPTS / "score.py", workers=2, request_timeout=1.0,
                     stuck_grace=1.0, max_body_bytes=1_000_000, max_inflight=3, flush_interval=0.5)
    return ws, models, info


def keys(ws, name="main"):
    return ws.endpoints.keys(name)


# -- tests --------------------------------------------------------------------------------


def test_create_is_healthy_and_scores(served):
    ws, models, info = served
    assert info["state"] == "healthy"
    assert info["url"].startswith("http://127.0.0.1:")
    assert info["deployments"][0]["traffic"] == 100
    out = ws.endpoints.invoke("main", {"data": SAMPLE})
    assert out["predictions"] == models[0].predict(SAMPLE).tolist()
    assert out["models"] == ["iris:1"]
    # the CLI: invoke with the key, show without keys, keys only from 'keys'
    runner = CliRunner()
    base = ["--workspace", str(ws.root), "endpoint"]
    res = runner.invoke(cli, [*base, "invoke", "main", "--data", json.dumps({"data": SAMPLE})])
    assert res.exit_code == 0, res.output
    assert res.stdout == json.dumps(out) + "\n"  # compact: the whole answer on one line
    res = runner.invoke(cli, [*base, "show", "main", "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["state"] == "healthy"
    k = keys(ws)
    assert k["primary"] not in res.output and k["secondary"] not in res.output
    res = runner.invoke(cli, [*base, "keys", "main", "--json"])
    assert json.loads(res.output) == k
    res = runner.invoke(cli, [*base, "list"])
    assert "main" in res.output and "blue=100" in res.output


def test_health_routes_are_open_and_reveal_nothing(served):
    ws, _, info = served
    for path in ("/health", "/ready"):
        status, _, body = call(info, path=path, method="GET")
        assert status == 200
        text = json.dumps(body)
        assert "iris" not in text and keys(ws)["primary"] not in text
    # the OpenAPI document needs a key, and publishes the script's schemas
    assert call(info, path="/openapi.json", method="GET")[0] == 401
    status, _, doc = call(info, path="/openapi.json", method="GET", key=keys(ws)["primary"])
    assert status == 200
    schema = doc["paths"]["/score"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["data"]


def test_auth(served):
    ws, _, info = served
    k = keys(ws)
    body = {"data": SAMPLE}
    assert call(info, body)[0] == 401
    assert call(info, body, key="wrong")[0] == 401
    assert call(info, body, headers={"x-api-key": "x" * 43})[0] == 401
    status, _, err = call(info, body, path=f"/score?key={k['primary']}")
    assert status == 401 and "never accepted" in err["error"]
    status, _, err = call(info, body, path=f"/score?api-key={k['primary']}&code={k['secondary']}")
    assert status == 401
    assert call(info, body, key=k["primary"])[0] == 200
    assert call(info, body, headers={"x-api-key": k["secondary"]})[0] == 200
    # rotating the secondary key: the primary keeps working throughout
    new = ws.endpoints.regenerate("main", "secondary")
    assert new["primary"] == k["primary"] and new["secondary"] != k["secondary"]
    assert call(info, body, key=k["primary"])[0] == 200
    wait_for(lambda: all(call(info, body, key=new["secondary"])[0] == 200 for _ in range(6))
             and all(call(info, body, key=k["secondary"])[0] == 401 for _ in range(6)),
             timeout=5, what="workers to pick up the new key")
    assert call(info, body, key=k["primary"])[0] == 200


def test_bad_requests_get_json_errors(served):
    ws, _, info = served
    key = keys(ws)["primary"]
    status, _, err = call(info, b"{not json", key=key)
    assert status == 400 and "not valid JSON" in err["error"]
    status, _, err = call(info, b"[" * 100_000 + b"]" * 100_000, key=key)  # too deep to read
    assert status == 400 and "nested too deeply" in err["error"]
    status, _, err = call(info, json.dumps({"data": SAMPLE}), key=key, content_type="text/plain")
    assert status == 415 and "application/json" in err["error"]
    status, _, err = call(info, {"rows": SAMPLE}, key=key)
    assert status == 400 and "data" in err["error"]
    status, _, err = call(info, {"data": [[1, 2, "x", 4]]}, key=key)
    assert status == 400 and "$.data[0][2]" in err["error"]
    status, _, err = call(info, {"data": SAMPLE}, key=key, method="GET")
    assert status == 405
    # run() raising: a generic 500, the traceback in the logs only
    status, _, err = call(info, {"data": SAMPLE, "raise": True}, key=key)
    assert status == 500 and "secret" not in json.dumps(err) and "Traceback" not in err["error"]
    # the CLI: an error the endpoint answered has its own exit code, apart from "unavailable" (7)
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "endpoint", "invoke", "main",
                                   "--data", json.dumps({"data": SAMPLE, "raise": True})])
    assert res.exit_code == 8 and res.stdout == ""
    assert res.stderr.startswith("error: endpoint main answered 500: ")
    wait_for(lambda: "secret internal detail" in ws.endpoints.logs("main"), what="traceback in logs")
    assert "Traceback" in ws.endpoints.logs("main")


def test_body_limit_answers_413_without_reading_everything(served):
    ws, _, info = served
    key = keys(ws)["primary"]
    head = (f"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {key}\r\n").encode()
    # a declared length over the limit: answered before any of the body is sent
    answer = raw_exchange(info["port"], head + b"Content-Length: 50000000\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413") and b'"error"' in answer
    # chunked, growing past the limit: reading stops there
    chunk = b"[" + b"1," * 200_000 + b"1]"
    chunked = b"".join(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(4))
    answer = raw_exchange(info["port"], head + b"Transfer-Encoding: chunked\r\n\r\n", chunked)
    assert answer.startswith(b"HTTP/1.1 413")
    # the endpoint is still fine
    assert call(info, {"data": SAMPLE}, key=key)[0] == 200


def test_overload_answers_503_with_retry_after(served):
    ws, _, info = served
    key = keys(ws)["primary"]
    wait_for(lambda: len(worker_pids(ws, "main")) == 2, what="two workers")
    with concurrent.futures.ThreadPoolExecutor(24) as pool:
        results = list(pool.map(lambda _: call(info, {"data": SAMPLE, "sleep": 0.6}, key=key),
                                range(24)))
    statuses = [r[0] for r in results]
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(503) >= 6 and statuses.count(200) >= 2, statuses
    overloaded = next(r for r in results if r[0] == 503)
    assert overloaded[1]["retry-after"] == "1" and "overloaded" in overloaded[2]["error"]
    assert call(info, {"data": SAMPLE}, key=key)[0] == 200


def test_timeout_504_frees_the_worker(served):
    ws, _, info = served
    key = keys(ws)["primary"]
    before = ws.endpoints.show("main")["restarts"]
    started = time.monotonic()
    status, _, err = call(info, {"data": SAMPLE, "sleep": 8}, key=key)
    assert status == 504 and "longer than 1 s" in err["error"]
    assert time.monotonic() - started < 5
    # the call was interrupted: the same workers go on serving, none was replaced
    for _ in range(6):
        assert call(info, {"data": SAMPLE}, key=key)[0] == 200
    assert ws.endpoints.show("main")["restarts"] == before
    assert "took longer than 1 s: answered 504" in ws.endpoints.logs("main")


def test_a_stuck_worker_is_replaced(served):
    ws, _, info = served
    key = keys(ws)["primary"]
    wait_for(lambda: len(worker_pids(ws, "main")) == 2, what="two workers")
    before = ws.endpoints.show("main")["restarts"]
    # run() ignores the interruption: its worker is replaced after timeout + grace, its caller's
    # connection is closed, and the other worker serves meanwhile
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        call(info, {"data": SAMPLE, "stuck": 8}, key=key)
    assert call(info, {"data": SAMPLE}, key=key)[0] == 200
    wait_for(lambda: ws.endpoints.show("main")["restarts"] > before, timeout=15,
             what="the stuck worker to be replaced")
    assert "stuck" in ws.endpoints.logs("main")
    assert ws.endpoints.show("main")["state"] == "healthy"


def test_a_killed_worker_is_restarted(served):
    ws, _, info = served
    key = keys(ws)["primary"]
    wait_for(lambda: len(worker_pids(ws, "main")) == 2, what="two workers")
    before = ws.endpoints.show("main")["restarts"]
    victim = worker_pids(ws, "main")[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: ws.endpoints.show("main")["restarts"] == before + 1, what="a restart")
    pids = wait_for(lambda: len(worker_pids(ws, "main")) == 2 and worker_pids(ws, "main"),
                    what="a replacement worker")
    assert victim not in pids
    for _ in range(10):
        assert call(info, {"data": SAMPLE}, key=key)[0] == 200
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "endpoint", "show", "main"])
    assert re.search(rf"^restarts: +{before + 1}$", res.output, re.M)


def test_metrics_count_requests_with_percentiles(served):
    ws, _, info = served
    key = keys(ws)["primary"]
    first = ws.endpoints.metrics("main", 3600)["total"]["count"]
    for _ in range(30):
        assert call(info, {"data": SAMPLE}, key=key)[0] == 200
    m = wait_for(lambda: (lambda m: m["total"]["count"] >= first + 30 and m)(
        ws.endpoints.metrics("main", 3600)), timeout=15, what="metrics to be flushed")
    blue = m["deployments"]["blue"]
    assert blue["statuses"]["200"] >= 30
    assert blue["statuses"].get("500", 0) >= 1 and blue["errors"] >= 1  # the raising call
    assert blue["statuses"].get("400", 0) >= 2 and blue["statuses"].get("504", 0) >= 1
    lat = blue["latency_ms"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"]
    assert m["deployments"]["-"]["statuses"]["401"] >= 3  # refused before any deployment was picked
    assert m["series"] and all(s["bucket_start"] % 10_000 == 0 for s in m["series"])
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "endpoint", "metrics", "main",
                                   "--since", "1h"])
    assert res.exit_code == 0 and "P95_MS" in res.output and "blue" in res.output


def test_blue_green(served):
    ws, models, info = served
    key = keys(ws)["primary"]
    # green's script in a folder of the workspace: shown by its path there (what the endpoint page
    # offers a new deployment again); blue's, outside the workspace, by its file name only
    script = ws.root / "serving" / "score_iris.py"
    script.parent.mkdir()
    shutil.copy(SCRIPTS / "score.py", script)
    ws.endpoints.deploy("main", "green", ["iris:2", "iris:1"], script, traffic=0)
    shown = ws.endpoints.show("main")
    assert {d["name"]: (d["traffic"], d["state"], d["entry_script"]) for d in shown["deployments"]} == {
        "blue": (100, "healthy", "score.py"), "green": (0, "healthy", "serving/score_iris.py")}
    # a request to start a test from: what the script's input_schema accepts
    assert shown["deployments"][0]["input_example"] == {"data": [[0, 0, 0, 0]]}
    # at 0 % green is reached only through the header
    status, headers, out = call(info, {"data": SAMPLE}, key=key, headers={"x-mlws-deployment": "green"})
    assert status == 200 and headers["x-mlws-deployment"] == "green"
    assert out["models"] == ["iris:1", "iris:2"] and out["deployment"] == "green"
    assert out["predictions"] == models[1].predict(SAMPLE).tolist()
    assert ws.endpoints.invoke("main", {"data": SAMPLE}, deployment="green")["deployment"] == "green"
    assert all(call(info, {"data": SAMPLE}, key=key)[1]["x-mlws-deployment"] == "blue"
               for _ in range(10))
    assert call(info, {"data": SAMPLE}, key=key, headers={"x-mlws-deployment": "nope"})[0] == 404
    # splitting traffic
    with pytest.raises(InvalidInput, match="sum to 100"):
        ws.endpoints.set_traffic("main", {"blue": 90, "green": 20})
    with pytest.raises(NotFound):
        ws.endpoints.set_traffic("main", {"blue": 90, "red": 10})
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "endpoint", "traffic", "main",
                                   "blue=90", "green=10"])
    assert res.exit_code == 0, res.output
    time.sleep(1.5)  # workers pick up traffic within ~1 s
    seen = [call(info, {"data": SAMPLE}, key=key)[1]["x-mlws-deployment"] for _ in range(200)]
    assert 3 <= seen.count("green") <= 45, seen.count("green")
    m = wait_for(lambda: (lambda m: m["deployments"].get("green", {}).get("count", 0) >= 3 and m)(
        ws.endpoints.metrics("main", 600)), timeout=15, what="green metrics")
    assert m["deployments"]["blue"]["count"] > m["deployments"]["green"]["count"]
    assert [(d["name"], d["traffic"]) for d in ws.endpoints.show("main")["deployments"]] == [
        ("blue", 90), ("green", 10)]
    # rollback
    with pytest.raises(Conflict, match="traffic"):
        ws.endpoints.delete_deployment("main", "green")
    ws.endpoints.set_traffic("main", {"blue": 100})
    leader = ws.endpoints.show("main")["pid"]
    old_workers = set(worker_pids(ws, "main"))
    with steady_load(info, key) as outcomes:
        ws.endpoints.delete_deployment("main", "green")
        assert [d["name"] for d in ws.endpoints.show("main")["deployments"]] == ["blue"]
        wait_for(lambda: call(info, {"data": SAMPLE}, key=key,
                              headers={"x-mlws-deployment": "green"})[0] == 404 and
                 call(info, {"data": SAMPLE}, key=key,
                      headers={"x-mlws-deployment": "green"})[0] == 404,
                 timeout=30, what="the roll-over without green")
        wait_for(lambda: not old_workers & set(group_pids(leader)), timeout=30,
                 what="the old workers to drain and exit")
    # no client saw the roll-over: every call during it was answered (503 is the endpoint's
    # max_inflight=3 refusing the fourth client, a deliberate answer)
    failed = [o for o in outcomes if o not in (200, 503)]
    assert len(outcomes) > 20 and not failed, (len(outcomes), failed[:5])
    assert call(info, {"data": SAMPLE}, key=key)[0] == 200
    with pytest.raises(Conflict, match="last deployment"):
        ws.endpoints.delete_deployment("main", "blue")


def test_deleting_a_served_model_version_is_refused(served):
    ws, _, _ = served
    with pytest.raises(Conflict, match="main"):
        ws.models.delete("iris:1")
    ws.models.resolve("iris:1")


def test_thread_pool_async_run_monitoring_switch_and_update(env):
    ws, models = env
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "endpoint", "create", "side",
                                   "--model", "iris:1", "--entry-script", SCRIPTS / "score.py",
                                   "--threads", "2", "--no-monitoring", "--request-timeout", "1"])
    assert res.exit_code == 0, res.output
    # the first deployment's name, which blue/green needs, is said
    assert re.search(r"^deployment 'blue' takes 100% of traffic; blue/green: mlws endpoint deploy side "
                     r"--deployment green .* mlws endpoint traffic side blue=90 green=10$", res.stdout, re.M)
    side = ws.endpoints.show("side")
    k = keys(ws, "side")
    # run() in a pool of threads: a slow call times out while the loop answers others
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        slow = pool.submit(call, side, {"data": SAMPLE, "sleep": 3}, key=k["primary"])
        time.sleep(0.2)
        assert call(side, {"data": SAMPLE}, key=k["primary"])[0] == 200
        assert slow.result()[0] == 504
    # monitoring off: nothing is counted, and the CLI says so
    time.sleep(1.5)
    m = ws.endpoints.metrics("side", 600)
    assert m["monitoring"] is False and m["total"]["count"] == 0
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "endpoint", "metrics", "side"])
    assert res.exit_code == 0 and "monitoring is off for side" in res.output
    # a bad setting changes nothing
    with pytest.raises(InvalidInput, match="true or false"):
        ws.endpoints.update("side", monitoring="maybe")
    with pytest.raises(InvalidInput, match="threads"):
        ws.endpoints.update("side", threads=-1)
    assert ws.endpoints.show("side")["settings"]["threads"] == 2
    # update: the endpoint restarts with the new settings on the same port, with the same keys
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "endpoint", "update", "side",
                                   "--monitoring", "--threads", "0"])
    assert res.exit_code == 0, res.output
    shown = ws.endpoints.show("side")
    assert shown["state"] == "healthy" and shown["port"] == side["port"] and keys(ws, "side") == k
    assert shown["settings"]["monitoring"] is True and shown["settings"]["threads"] == 0
    # an async def run() is awaited on the loop, and times out like any other
    ws.endpoints.deploy("side", "aio", "iris:2", SCRIPTS / "score_async.py")
    aio = {"x-mlws-deployment": "aio"}
    status, _, out = call(side, {"data": SAMPLE}, key=k["primary"], headers=aio)
    assert status == 200 and out == {"predictions": models[1].predict(SAMPLE).tolist(), "async": True}
    assert call(side, {"data": SAMPLE, "sleep": 3}, key=k["primary"], headers=aio)[0] == 504
    for _ in range(5):
        assert call(side, {"data": SAMPLE}, key=k["primary"])[0] == 200
    counted = wait_for(lambda: (lambda m: m["total"]["count"] >= 7 and m)(
        ws.endpoints.metrics("side", 600)), timeout=15, what="monitoring back on")
    assert counted["deployments"]["aio"]["statuses"]["504"] == 1
    ws.endpoints.delete("side")


def test_clients_that_never_finish_a_request_are_dropped(env):
    ws, models = env
    ws.endpoints.create("slowpoke", "iris:1", SCRIPTS / "score.py")
    k = keys(ws, "slowpoke")["primary"]
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "endpoint", "update", "slowpoke",
                                   "--header-timeout", "2", "--body-timeout", "2"])
    assert res.exit_code == 0, res.output
    info = ws.endpoints.show("slowpoke")
    assert info["state"] == "healthy" and info["settings"]["header_timeout"] == 2.0
    head = (b"POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + k.encode() + b"\r\nContent-Length: 40\r\n\r\n")
    closed = {}
    clients = [threading.Thread(target=lambda: closed.update(  # a head, byte by byte
                   heads=trickling_clients(info["port"], head, 6, every=0.5, limit=25))),
               threading.Thread(target=lambda: closed.update(  # a whole head, then a body so
                   bodies=trickling_clients(info["port"], b'{"data": ' + b" " * 31, 3, at_once=head,
                                            every=0.5, limit=25)))]
    for t in clients:
        t.start()
    try:
        for _ in range(3):  # others are served meanwhile
            status, _, out = call(info, {"data": SAMPLE}, key=k)
            assert status == 200 and out["predictions"] == models[0].predict(SAMPLE).tolist()
    finally:
        for t in clients:
            t.join(40)
    assert closed == {"heads": [True] * 6, "bodies": [True] * 3}  # by the server, within the bound
    with pytest.raises(InvalidInput, match="header_timeout must be positive"):
        ws.endpoints.update("slowpoke", header_timeout=0)
    assert ws.endpoints.show("slowpoke")["settings"]["header_timeout"] == 2.0
    ws.endpoints.delete("slowpoke")


def test_init_failure_marks_the_endpoint_failed(env):
    ws, _ = env
    with pytest.raises(Unavailable, match="weights are corrupt") as refused:
        ws.endpoints.create("broken", "iris:2", SCRIPTS / "score_bad_init.py")
    assert str(refused.value).count("mlws endpoint logs broken") == 1  # where to read more, once
    shown = ws.endpoints.show("broken")
    assert shown["state"] == "failed"
    assert "RuntimeError: cannot load the model: weights are corrupt in endpoints/broken/" in shown["error"]
    for error in (shown["error"], shown["deployments"][0]["error"]):  # what readers see
        assert str(ws.root) not in error and "Traceback" not in error and 'File "' not in error
        assert "mlws endpoint logs broken" in error
    assert shown["deployments"][0]["state"] == "failed"
    assert "Traceback" in ws.endpoints.logs("broken")  # the traceback, for contributors
    assert shown["pid"] is None
    with pytest.raises(Unavailable):
        ws.endpoints.invoke("broken", {"x": 1})
    ws.endpoints.delete("broken")
    with pytest.raises(NotFound):
        ws.endpoints.show("broken")


def test_a_server_process_that_never_starts_shows_as_failed(env, monkeypatch):
    import jupyter_mlws.endpoints.service as endpoints_module

    ws, _ = env
    monkeypatch.setattr(ws.endpoints, "_spawn", lambda name: None)  # the process dies unseen
    assert ws.endpoints.create("ghost", "iris:1", SCRIPTS / "score.py", wait=False)["state"] == "creating"
    later = endpoints_module._now() + endpoints_module.START_GRACE_MS + 1000
    monkeypatch.setattr(endpoints_module, "_now", lambda: later)
    shown = ws.endpoints.show("ghost")
    assert shown["state"] == "failed" and "did not start" in shown["error"]
    monkeypatch.undo()
    ws.endpoints.delete("ghost")


def test_bad_inputs_are_refused_before_anything_starts(env, tmp_path):
    ws, _ = env
    no_run = tmp_path / "norun.py"
    no_run.write_text("def init():\n    pass\n")
    with pytest.raises(InvalidInput, match="run"):
        ws.endpoints.create("x", "iris:1", no_run)
    with pytest.raises(NotFound):
        ws.endpoints.create("x", "iris:9", SCRIPTS / "score.py")
    with pytest.raises(InvalidInput):
        ws.endpoints.create("bad name", "iris:1", SCRIPTS / "score.py")
    with pytest.raises(InvalidInput, match="unknown endpoint setting"):
        ws.endpoints.create("x", "iris:1", SCRIPTS / "score.py", request_timout=3)
    assert [e["name"] for e in ws.endpoints.list()] in ([], ["main"])


def test_stop_restart_and_delete_leave_no_process(served):
    ws, _, info = served
    k = keys(ws)
    leader = ws.endpoints.show("main")["pid"]
    # the supervisor and its two workers (a worker replaced by an earlier roll-over may still be draining)
    wait_for(lambda: len(group_pids(leader)) == 3, timeout=30, what="the supervisor and two workers")
    assert ws.endpoints.stop("main")["state"] == "stopped"
    assert group_pids(leader) == []
    with pytest.raises(Unavailable):
        ws.endpoints.invoke("main", {"data": SAMPLE})
    again = ws.endpoints.start("main")
    assert again["state"] == "healthy" and again["port"] == info["port"]
    assert keys(ws) == k
    assert call(info, {"data": SAMPLE}, key=k["primary"])[0] == 200
    leader = again["pid"]
    log = ws.endpoints.logs("main", None)
    assert "healthy on 127.0.0.1" in log
    assert k["primary"] not in log and k["secondary"] not in log  # keys are never logged
    ws.endpoints.delete("main")
    assert group_pids(leader) == []
    assert not ws.endpoints.endpoint_dir("main").exists()
    ws.models.delete("iris:1")  # no longer served
