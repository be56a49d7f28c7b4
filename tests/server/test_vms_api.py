"""Notebook VMs over REST on a team server (roles enforced), with the local provider: create
answers 202 and the VM comes up in the background; readers see state only, the owner and
workspace owners see connection details and the log; only they act on it; bad input is a 400
(an unknown name a 404, a taken one a 409) that changes nothing; gc lists for contributors, each
leftover with its owner, and deletes a contributor's own, an owner's all."""

from __future__ import annotations

import asyncio
import shutil
import time

import pytest
from test_roles import CONTRIBUTOR, NOBODY, OWNER, READER
from test_secrets_api import mlws_config, team  # noqa: F401  (a team server: roles enforced)

CONNECTION = {"host", "ssh_port", "ssh_user", "host_key", "host_key_fingerprint", "key_secret",
              "node_id"}


@pytest.fixture
def mlws_ws(sshd, monkeypatch):
    """A workspace whose local VMs work here (tests/vm_support.py)."""
    from vm_support import vm_workspace

    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    ws = vm_workspace()
    yield ws
    for vm in ws.vms.list():
        if vm["state"] not in ("deleting",):
            ws.vms.delete(vm["name"], check_actor=False)
    ws.close()
    shutil.rmtree(ws.root.parent, ignore_errors=True)


async def _settled(api, name: str, user: str = OWNER, timeout: float = 60.0) -> dict:
    """The VM once no step is under way."""
    deadline = time.monotonic() + timeout
    while True:
        r = await api("GET", "vms", name, user=user)
        assert r.code == 200, r
        if r.json["state"] not in ("creating", "bootstrapping", "starting", "stopping", "deleting"):
            return r.json
        assert time.monotonic() < deadline, r.json
        await asyncio.sleep(0.1)


async def test_a_vm_over_rest_with_roles(api, team, mlws_ws):
    body = {"name": "box", "provider": "local", "size": "host",
            "setup_script": "echo set up over rest\n", "idle_shutdown": "1h"}
    for user in (READER, NOBODY):
        assert (await api("POST", "vms", body=body, user=user)).code == 403
    r = await api("POST", "vms", body=body, user=CONTRIBUTOR)
    assert r.code == 202 and r.json["state"] == "creating" and r.json["owner"] == CONTRIBUTOR
    vm = await _settled(api, "box", CONTRIBUTOR)
    assert vm["state"] == "running" and CONNECTION <= set(vm) and vm["idle_shutdown_s"] == 3600
    assert [e["to_state"] for e in vm["events"]] == ["creating", "bootstrapping", "running"]
    owner_view = (await api("GET", "vms", "box", user=OWNER)).json
    assert owner_view["host_key_fingerprint"] == vm["host_key_fingerprint"]
    reader = await api("GET", "vms", "box", user=READER)
    assert reader.code == 200 and reader.json["state"] == "running"
    assert not CONNECTION & set(reader.json)
    listed = await api("GET", "vms", user=READER)
    assert [v["name"] for v in listed.json["vms"]] == ["box"] and not CONNECTION & set(listed.json["vms"][0])
    # the secrets listing marks the VM's own secret (its login key) with the VM, from the
    # naming the VMs use (a UI leaves them out of its pickers by that field)
    secrets = (await api("GET", "secrets", user=READER)).json["secrets"]
    assert {s["name"]: s["vm"] for s in secrets} == {f"mlws-vm-{vm['id']}": "box"}, secrets
    assert (await api("GET", "secrets", f"mlws-vm-{vm['id']}", user=READER)).json["vm"] == "box"
    assert (await api("GET", "vms", user=NOBODY)).code == 403
    r = await api("GET", "vms", "box", "logs", user=READER)
    assert r.code == 403
    r = await api("GET", "vms", "box", "logs", user=OWNER)
    assert r.code == 200 and "set up over rest" in r.json["log"]
    assert (await api("GET", "vms", "box", "logs", params={"tail": "5"}, user=CONTRIBUTOR)).json["log"] \
        == r.json["log"][-5:]
    for action in ("stop", "start", "restart"):
        assert (await api("POST", "vms", "box", action, user=READER)).code == 403
    r = await api("POST", "vms", "box", "stop", user=CONTRIBUTOR)
    assert r.code == 202
    assert (await _settled(api, "box"))["state"] == "stopped"
    r = await api("POST", "vms", "box", "stop", user=OWNER)  # a stopped VM stays stopped
    assert r.code == 202 and r.json["state"] == "stopped"
    for user in (READER, NOBODY):  # open: its owner or a workspace owner
        assert (await api("POST", "vms", "box", "open", user=user)).code == 403
    r = await api("POST", "vms", "box", "open", user=CONTRIBUTOR)
    assert r.code == 409 and "is stopped, not running" in r.json["message"] \
        and "mlws vm start box" in r.json["message"]
    r = await api("POST", "vms", "box", "postpone", user=CONTRIBUTOR)
    assert r.code == 409 and "only a running vm's idle stop can be postponed" in r.json["message"]
    assert (await api("POST", "vms", "box", "start", user=OWNER)).code == 202
    running = await _settled(api, "box")
    assert running["state"] == "running" and running["jupyterlab"] is False
    # this workspace's VMs run no JupyterLab (vm_jupyterlab = false): open says so, changes nothing
    r = await api("POST", "vms", "box", "open", user=CONTRIBUTOR)
    assert r.code == 409 and r.json["message"] == (
        "vm 'box' runs no JupyterLab (vm_jupyterlab = false in the workspace's mlws.toml, or its "
        "provider reaches no node over SSH)")
    assert (await api("GET", "vms", "box", user=READER)).json["state"] == "running"
    # postpone the idle stop (the warning's "postpone 1 h"): its owner or a workspace owner
    assert (await api("POST", "vms", "box", "postpone", user=READER)).code == 403
    r = await api("POST", "vms", "box", "postpone", body={"hours": 0}, user=CONTRIBUTOR)
    assert r.code == 400
    asked = time.time() * 1000
    r = await api("POST", "vms", "box", "postpone", user=CONTRIBUTOR)
    assert r.code == 200 and abs(r.json["postponed_until"] - asked - 3600_000) < 60_000
    again = await api("POST", "vms", "box", "postpone", body={"hours": 0.5}, user=OWNER)
    assert again.json == r.json  # a later postponement already set is kept
    assert (await api("POST", "vms", "box", "restart", user=CONTRIBUTOR)).code == 202
    await asyncio.sleep(0.3)
    restarted = await _settled(api, "box")
    assert restarted["state"] == "running" and restarted["events"][-1]["to_state"] == "running"
    assert (await api("DELETE", "vms", "box", user=READER)).code == 403
    r = await api("DELETE", "vms", "box", user=CONTRIBUTOR)
    assert r.code == 202 and r.json["state"] in ("deleting", "deleted")
    assert (await _settled(api, "box"))["state"] == "deleted"
    r = await api("DELETE", "vms", "box", user=CONTRIBUTOR)
    assert r.code == 202 and r.json["state"] == "deleted"
    assert (await api("GET", "vms", user=READER)).json["vms"] == []
    r = await api("GET", "vms", params={"all": "true"}, user=READER)
    assert [v["state"] for v in r.json["vms"]] == ["deleted"]


@pytest.mark.parametrize("body, code, message", [
    ({"name": "x", "provider": "nope", "size": "host"}, 400,
     "use one of azure, ec2, gce, local, openstack"),
    ({"name": "x", "provider": "local", "size": "xl"}, 400, "has no size 'xl': use one of host"),
    ({"name": "x", "provider": "local", "size": "host", "region": "mars"}, 400, "region 'mars'"),
    ({"name": "../x", "provider": "local", "size": "host"}, 400, "invalid vm name '../x'"),
    ({"name": "x", "provider": "local"}, 400, "size"),
    ({"name": "x", "provider": "local", "size": "host", "colour": "blue"}, 400, "colour"),
    ({"name": "x", "provider": "local", "size": "host", "idle_shutdown": 30}, 400, "idle_shutdown"),
    ({"name": "x", "provider": "local", "size": "host", "schedule": "nightly"}, 400, "schedule entry"),
    ({"name": "x", "provider": "ec2", "size": "t3.micro", "credentials_secret": "none"}, 404, "none"),
    ({"name": "taken", "provider": "local", "size": "host"}, 409, "vm 'taken' exists"),
])
async def test_bad_input_changes_nothing(api, team, mlws_ws, workspace_state, body, code, message):
    if body["name"] == "taken":
        mlws_ws.vms.create("taken", provider="local", size="host", check_actor=False)
    before = workspace_state(mlws_ws), mlws_ws.vms.list(deleted=True)
    r = await api("POST", "vms", body=body, user=OWNER)
    assert r.code == code and message in r.json["message"], r
    assert (workspace_state(mlws_ws), mlws_ws.vms.list(deleted=True)) == before


async def test_unknown_vms_and_gc(api, team, mlws_ws):
    for method, parts in (("GET", ("ghost",)), ("DELETE", ("ghost",)), ("POST", ("ghost", "start")),
                          ("GET", ("ghost", "logs"))):
        r = await api(method, "vms", *parts, user=OWNER)
        assert r.code == 404 and "no vm 'ghost'" in r.json["message"], (method, parts, r)
    r = await api("POST", "vms", "ghost", "explode", user=OWNER)
    assert r.code == 404
    r = await api("GET", "vms-gc", user=CONTRIBUTOR)
    assert r.code == 200 and r.json["leftovers"] == [] and r.json["errors"] == []
    assert (await api("GET", "vms-gc", user=READER)).code == 403
    assert (await api("POST", "vms-gc", user=READER)).code == 403
    # a node the owner left: listed as hers; a contributor's delete leaves it, an owner's takes it
    from libcloud.compute.base import NodeAuthSSHKey

    from jupyter_mlws.vms.keys import new_key_pair

    driver = mlws_ws.vms.steps.driver("local", None, None, OWNER)
    stray = driver.create_node("stray", driver.list_sizes()[0], driver.list_images()[0],
                               auth=NodeAuthSSHKey(new_key_pair().public),
                               ex_metadata={"mlws:workspace": mlws_ws.config.id,
                                            "mlws:vm": "0" * 16, "mlws:owner": OWNER})
    r = await api("GET", "vms-gc", user=CONTRIBUTOR)
    (item,) = r.json["leftovers"]
    assert (item["id"], item["owner"], item["may_delete"]) == (stray.id, OWNER, False)
    r = await api("POST", "vms-gc", user=CONTRIBUTOR)
    assert r.code == 200 and r.json["deleted"] == 0 and r.json["leftovers"][0]["id"] == stray.id
    assert stray.id in {n.id for n in driver.list_nodes()}
    r = await api("POST", "vms-gc", user=OWNER)
    assert r.code == 200 and r.json["deleted"] == 1
    assert stray.id not in {n.id for n in driver.list_nodes()}
