"""Idle shutdown against a real Jupyter server (``python -m jupyter_server`` subprocesses), with
real kernels, kernel websockets and terminals, and a controllable clock: the probe observes the
real server at virtual instants, the policy decides.  Each scenario lists what must happen when;
every scenario's table must match (zero wrong stops, zero missed stops, the warning shown).

One kernel serves the busy and the open-tab scenarios; a second, fresh server is the VM nobody
ever connected to."""

from __future__ import annotations

import base64
import io
import json
import sys
import time
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from jupyter_mlws.vms.activity import ActivityProbe
from jupyter_mlws.vms.idle import NONE, STOP, WARN, IdleMonitor, IdlePolicy
from mlws_testing import free_port, start_jupyter, stop_jupyter, wait_for

UTC = timezone.utc
T = timedelta(minutes=30)
POLICY = IdlePolicy(T)
MIN = timedelta(minutes=1)


def jupyter_server(root):
    """A plain Jupyter server (no lab, no workspace extension): what runs on a VM, minus the UI."""
    return start_jupyter(root, lambda port, token: [
        sys.executable, "-m", "jupyter_server", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}",
        '--ServerApp.jpserver_extensions={"jupyter_mlws": False, "jupyterlab": False}',
        "--ServerApp.root_dir=" + str(root)], cwd=root)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("vm-jupyter")
    started = jupyter_server(root)
    yield started
    stop_jupyter(started)


def call(server, method: str, path: str) -> dict | list | None:
    """A signed-in REST call, as a browser tab makes it (it counts as activity)."""
    req = urllib.request.Request(server.url + path, method=method,
                                 headers={"Authorization": f"token {server.token}"},
                                 data=b"{}" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = resp.read()
    return json.loads(body) if body else None


def websocket(server, path: str):
    import websocket as wsclient

    url = server.url.replace("http://", "ws://") + path
    return wsclient.create_connection(url, header=[f"Authorization: token {server.token}"], timeout=30)


def execute(channel, code: str) -> str:
    """Send an execute_request on a kernel's channels websocket (what a notebook cell does);
    returns its msg_id (its replies' parent)."""
    msg_id = uuid.uuid4().hex
    channel.send(json.dumps({
        "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3",
                   "date": datetime.now(UTC).isoformat()},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}}))
    return msg_id


def real_now() -> datetime:
    return datetime.now(UTC)


def judge(probe, samples) -> list[str]:
    """Observe the server at each virtual instant and decide; the mismatches, as lines."""
    wrong = []
    for label, now, expected, inputs in samples:
        decision = POLICY.decide(now, [probe.observe(now)], **inputs)
        if decision.action != expected:
            wrong.append(f"{label}: expected {expected}, got {decision.action} ({decision.reason})")
    return wrong


def timeline(mark, **inputs):
    """What must happen after the last activity at ``mark`` (idle from then on)."""
    return [("T-15min", mark + T - 15 * MIN, NONE, inputs), ("T-5min", mark + T - 5 * MIN, WARN, inputs),
            ("T+1s", mark + T + timedelta(seconds=1), STOP, inputs),
            ("T+3h", mark + T + timedelta(hours=3), STOP, inputs)]


def test_the_probe_reads_jupyters_fields_and_is_not_activity_itself(server):
    probe = ActivityProbe(server.url, server.token)
    first = probe.observe()
    for _ in range(5):
        again = probe.observe()
    assert first.reachable and first.started is not None
    # /api/status, /api/kernels and /api/terminals with no_track_activity: the probe's requests
    # never move the server's last activity
    assert again.last_activity == first.last_activity


def test_scenarios_on_one_vm_busy_kernel_open_tab_terminal_then_truly_idle(server):
    probe = ActivityProbe(server.url, server.token)
    wrong: list[str] = []
    kid = call(server, "POST", "api/kernels")["id"]
    # a kernel nobody connected to stays "starting" in jupyter_server's eyes: it counts only for
    # a few minutes
    assert probe.observe().kernels[0].execution_state == "starting"
    assert POLICY.decide(real_now() + T + MIN, [probe.observe(real_now() + T + MIN)]).action == STOP

    # busy kernel: a cell running, no browser connected any more
    channel = websocket(server, f"api/kernels/{kid}/channels")
    wait_for(lambda: probe.observe().kernels[0].execution_state == "idle", "the kernel answering")
    execute(channel, "import time; time.sleep(120)")
    wait_for(lambda: probe.observe().kernels[0].execution_state == "busy", "the kernel becoming busy")
    channel.close()
    wait_for(lambda: probe.observe().kernels[0].connections == 0, "the tab closing")
    now = real_now()
    wrong += [f"busy kernel {w}" for w in judge(probe, [
        (f"+{h}h", now + timedelta(hours=h), NONE, {}) for h in (0, 1, 13, 48)])]
    call(server, "POST", f"api/kernels/{kid}/interrupt")
    wait_for(lambda: probe.observe().kernels[0].execution_state == "idle", "the kernel idling")

    # open tab: a browser connected to the (idle) kernel; it counts for 12 h after the kernel's
    # last activity, then the forgotten tab no longer keeps the VM up
    channel = websocket(server, f"api/kernels/{kid}/channels")
    wait_for(lambda: probe.observe().kernels[0].connections == 1, "the tab connecting")
    opened = real_now()
    wrong += [f"open tab {w}" for w in judge(probe, [
        ("+1min", opened + MIN, NONE, {}), ("+T+1h", opened + T + timedelta(hours=1), NONE, {}),
        ("+11h", opened + timedelta(hours=11), NONE, {}), ("+13h", opened + timedelta(hours=13), STOP, {})])]
    channel.close()
    wait_for(lambda: probe.observe().kernels[0].connections == 0, "the tab closing")
    call(server, "DELETE", f"api/kernels/{kid}")

    # terminal only: input typed into a terminal is the newest activity
    term = call(server, "POST", "api/terminals")["name"]
    shell = websocket(server, f"terminals/websocket/{term}")
    time.sleep(1.0)
    shell.send(json.dumps(["stdin", "echo idle-check\r"]))
    wait_for(lambda: "idle-check" in shell.recv(), "the terminal echoing")
    shell.close()
    typed = real_now()
    observed = probe.observe(typed + T - 5 * MIN)
    assert observed.last_active()[1] == f"terminal {term}"
    wrong += [f"terminal {w}" for w in judge(probe, timeline(typed))]
    call(server, "DELETE", f"api/terminals/{term}")

    # truly idle: nothing left, nothing running
    mark = real_now()
    wrong += [f"truly idle {w}" for w in judge(probe, timeline(mark))]
    assert wrong == []


def test_scenarios_with_the_workspace_inputs_run_in_flight_and_scheduled_run(server):
    """The same idle server: a run in flight, or a scheduled run due within T of the stop, holds
    it; one due later does not."""
    probe = ActivityProbe(server.url, server.token)
    mark = real_now()
    stop_time = mark + T + timedelta(hours=2)
    wrong = judge(probe, [
        ("run in flight", stop_time, NONE, {"runs_in_flight": 1}),
        ("run in flight for days", stop_time + timedelta(days=3), NONE, {"runs_in_flight": 2}),
        ("run ended 5 min ago", stop_time, NONE, {"last_run_ended": stop_time - 5 * MIN}),
        ("run ended T ago", stop_time, STOP, {"last_run_ended": stop_time - T}),
        ("scheduled run in 20 min", stop_time, NONE, {"next_scheduled_run": stop_time + 20 * MIN}),
        ("scheduled run in T+1min", stop_time, STOP, {"next_scheduled_run": stop_time + T + MIN}),
    ])
    wrong += [f"after a scheduled run {w}" for w in judge(probe, timeline(
        mark, next_scheduled_run=mark + timedelta(days=1)))]
    assert wrong == []


def test_an_ssh_session_alone_does_not_keep_it_awake(server, sshd):
    """A live SSH session (a shell running a command, and a forwarded channel to the Jupyter
    server, as the workspace's tunnel holds one) changes nothing: idle is read from Jupyter."""
    import paramiko

    client = paramiko.SSHClient()
    kind, b64 = sshd.host_key.split()[:2]
    client.get_host_keys().add(f"[127.0.0.1]:{sshd.port}", kind,
                               paramiko.Ed25519Key(data=base64.b64decode(b64)))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    key = paramiko.Ed25519Key.from_private_key(io.StringIO(sshd.user.private_key))
    client.connect("127.0.0.1", port=sshd.port, username=sshd.user.name, pkey=key, allow_agent=False,
                   look_for_keys=False, timeout=20)
    try:
        session = client.get_transport().open_session()
        session.exec_command("sleep 300")
        port = int(server.url.rsplit(":", 1)[1].strip("/"))
        tunnel = client.get_transport().open_channel("direct-tcpip", ("127.0.0.1", port), ("127.0.0.1", 0))
        mark = real_now()
        probe = ActivityProbe(server.url, server.token)
        assert judge(probe, timeline(mark)) == []
        tunnel.close()
        session.close()
    finally:
        client.close()


def test_a_vm_never_connected_to_stops_t_after_its_server_started_warned_once(tmp_path):
    """A fresh server nobody used: the monitor, checked every minute of a controllable clock,
    warns once 10 minutes before the stop, stops at T after the start, never before."""
    fresh = jupyter_server(tmp_path)
    try:
        probe = ActivityProbe(fresh.url, fresh.token)
        started = probe.observe().started
        clock = {"now": started}
        warnings = []
        monitor = IdleMonitor(probe, POLICY, clock=lambda: clock["now"], on_warn=warnings.append)
        actions = {}
        for minute in range(0, 35):
            clock["now"] = started + minute * MIN
            actions[minute] = monitor.check().action
        assert [m for m, a in actions.items() if a == STOP] == list(range(30, 35))  # none missed, none early
        assert [m for m, a in actions.items() if a == WARN] == list(range(20, 30))
        assert len(warnings) == 1 and warnings[0].stop_at == started + T
        assert "the Jupyter server started" in warnings[0].reason
    finally:
        stop_jupyter(fresh)


def test_a_postponed_stop_warns_again_before_the_new_time(server, ws):
    """The owner postpones at the warning ("postpone 1 h"): no stop until then, a second
    warning before it, then the stop."""
    probe = ActivityProbe(server.url, server.token)
    mark = real_now()
    clock = {"now": mark}
    warnings = []
    monitor = IdleMonitor(probe, POLICY, clock=lambda: clock["now"], on_warn=warnings.append,
                          postponed_until=lambda: ws.idle_postpones.until("vm", "box", now=clock["now"]))
    seen, postponed = [], None
    for minute in range(0, 30 + 70, 5):
        clock["now"] = mark + minute * MIN
        decision = monitor.check()
        seen.append((clock["now"], decision.action))
        if decision.action == WARN and postponed is None:  # the owner clicks "postpone 1 h"
            postponed = ws.idle_postpones.postpone("vm", "box", by="owner", now=clock["now"])
            assert postponed - clock["now"] < timedelta(hours=1, milliseconds=1)
            # a second click does not add another hour
            assert ws.idle_postpones.postpone("vm", "box", by="owner", now=clock["now"]) == postponed
    checks_after = [at for at, _a in seen if at >= postponed]
    assert [at for at, a in seen if a == STOP] == checks_after  # none before, every one after
    assert len(warnings) == 2 and warnings[1].stop_at == postponed
    assert "postponed until" in warnings[1].reason


def other_server(answer: bytes) -> str:
    """An HTTP server on 127.0.0.1 answering ``answer`` (200, JSON) to every GET: not Jupyter."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    OTHERS.append(httpd)
    return f"http://127.0.0.1:{httpd.server_address[1]}/"


OTHERS: list = []


@pytest.fixture(autouse=True)
def _stop_others():
    yield
    while OTHERS:
        httpd = OTHERS.pop()
        httpd.shutdown()
        httpd.server_close()


def test_an_unreachable_server_is_unknown_never_idle_until_the_limit(server):
    closed = ActivityProbe(f"http://127.0.0.1:{free_port()}/", "secret-token-123", timeout=2)
    first = closed.observe()
    assert not first.reachable and "connection refused" in first.error
    wrong_token = ActivityProbe(server.url, "not-the-token-456").observe()
    assert not wrong_token.reachable and "refused the token" in wrong_token.error
    assert "456" not in wrong_token.error and "123" not in first.error
    start = real_now()
    for answer in (b"{}", b"[1, 2]", b"not json"):
        shaped = ActivityProbe(other_server(answer), timeout=2).observe()
        assert not shaped.reachable and "not a Jupyter server" in shaped.error
    history = [closed.observe(start)]
    decisions = {}
    for minutes in (30, 45, 55, 60, 90):
        history.append(closed.observe(start + minutes * MIN))
        decisions[minutes] = POLICY.decide(start + minutes * MIN, history).action
    assert decisions == {30: NONE, 45: NONE, 55: WARN, 60: STOP, 90: STOP}
