"""Idle shutdown over REST on a team server (roles enforced), with local VMs: ``POST
vms/{name}/postpone`` for the VM's owner and workspace owners only (403 for others, 404 for an
unknown VM, 409 for one not running, 400 for a body), ``GET vms/{name}`` with ``idle``; the
server's own scheduler checks the VM once the extension starts, and a warning reaches the
events websocket as ``vm-idle-warning``."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta, timezone

from test_roles import CONTRIBUTOR, NOBODY, OWNER, READER
from test_secrets_api import mlws_config, team  # noqa: F401  (a team server: roles enforced)
from test_vms_api import _settled, mlws_ws  # noqa: F401  (a workspace whose local VMs work here)

from jupyter_mlws.vms.idle import WARN, Decision

WARNING = "https://jupyter-mlws.org/events/vm-idle-warning"


async def test_postpone_with_roles_and_idle_in_the_vm(api, team, mlws_ws):
    mlws_ws.vms.create("box", provider="local", size="host", idle_shutdown="30m",
                       owner=CONTRIBUTOR, check_actor=False)
    before = int(time.time() * 1000)
    for user in (READER, NOBODY):
        r = await api("POST", "vms", "box", "postpone", user=user)
        assert r.code == 403, r
    assert mlws_ws.idle_postpones.until("vm", mlws_ws.vms.show("box")["id"]) is None
    r = await api("POST", "vms", "box", "postpone", user=CONTRIBUTOR)  # the VM's owner
    assert r.code == 200, r
    first = r.json["postponed_until"]
    assert before + 3600_000 <= first <= int(time.time() * 1000) + 3600_000
    r = await api("POST", "vms", "box", "postpone", user=OWNER)  # a workspace owner
    assert r.code == 200 and r.json["postponed_until"] >= first
    for body in ({"hours": 100}, {"hours": "1"}, {"minutes": 5}):
        r = await api("POST", "vms", "box", "postpone", body=body, user=OWNER)
        assert r.code == 400, r
    r = await api("POST", "vms", "box", "postpone", body={"hours": 2}, user=OWNER)
    assert r.code == 200 and r.json["postponed_until"] >= first + 3600_000
    r = await api("POST", "vms", "nosuch", "postpone", user=OWNER)
    assert r.code == 404 and "no vm 'nosuch'" in r.json["message"]

    shown = await api("GET", "vms", "box", user=READER)
    assert shown.code == 200 and shown.json["idle"] is None  # no check made yet: not known
    from jupyter_mlws.vms.watch import VMWatch

    VMWatch(mlws_ws).check_idle()
    idle = (await api("GET", "vms", "box", user=READER)).json["idle"]
    assert idle["action"] == "none" and "unknown" in idle["reason"]
    assert idle["postponed_until"] == (await api("POST", "vms", "box", "postpone", user=OWNER)).json[
        "postponed_until"]

    assert (await api("POST", "vms", "box", "stop", user=OWNER)).code == 202
    assert (await _settled(api, "box"))["state"] == "stopped"
    r = await api("POST", "vms", "box", "postpone", user=CONTRIBUTOR)
    assert r.code == 409 and "only a running vm" in r.json["message"]
    assert (await api("GET", "vms", "box", user=OWNER)).json["idle"] is None


async def test_the_servers_scheduler_checks_vms_and_a_warning_reaches_the_events(
        subscribe, mlws_app, team, mlws_ws):
    mlws_ws.vms.create("warm", provider="local", size="host", idle_shutdown="30m",
                       check_actor=False)
    events = await subscribe(OWNER)  # starts the extension, and with it its scheduler
    vm = mlws_ws.vms.records.get("warm")
    deadline = time.monotonic() + 60
    while mlws_ws.vm_idle.state(vm) is None:  # the server's scheduler made its first check
        assert time.monotonic() < deadline, "the server's scheduler never checked the vm"
        await asyncio.sleep(0.1)
    assert mlws_app._scheduler is not None
    stop_at = datetime.now(timezone.utc) + timedelta(minutes=9)
    mlws_ws.vm_idle.record(vm, Decision(WARN, stop_at - timedelta(minutes=30),
                                        "idle since then: it stops soon", stop_at))

    async def warning():
        while True:
            message = json.loads(await events.read_message())
            if message.get("schema_id") == WARNING:
                return message

    got = await asyncio.wait_for(warning(), 15)
    assert got["name"] == "warm" and got["stop_at"] == int(stop_at.timestamp() * 1000)
    assert got["reason"] == "idle since then: it stops soon"
    # since when it is idle, for the notification's "(idle 21 min)"
    assert got["idle_since"] == int((stop_at - timedelta(minutes=30)).timestamp() * 1000)
    scheduler = mlws_app._scheduler
    await mlws_app.stop_extension()
    assert mlws_app._scheduler is None and not scheduler._threads
