"""Notebook VMs through libcloud's EC2 driver against a real moto EC2 server on 127.0.0.1: create
(tagged at creation, the login key imported as a key pair), list, stop, start, delete, gc of
untagged-by-record leftovers, and a bad size, image, region or credentials refused with nothing
recorded.  The credentials come from a workspace secret whose JSON points the driver at moto
(the endpoint override: host, port, secure).  Moto's nodes are records, with no SSH behind them:
the provider is registered as ``ec2`` is, with ``ssh=False`` (tests/vm_support.py)."""

from __future__ import annotations

import json

import shutil

import pytest

from jupyter_mlws.access import os_user
from jupyter_mlws.errors import InvalidInput
from vm_support import moto_ec2, register_moto, vm_workspace

ME = os_user()
CREDS = "aws-test"
#: an image moto knows (any of its AMIs would do)
IMAGE = "ami-03cf127a"


@pytest.fixture(scope="module")
def moto_port():
    pytest.importorskip("moto.server", reason="moto[server] is not installed")
    with moto_ec2() as port:
        yield port


@pytest.fixture(scope="module")
def ws(moto_port):
    workspace = vm_workspace()
    register_moto(workspace, moto_port)
    workspace.secrets.set(ME, CREDS, json.dumps({
        "key": "AKIAIOSFODNN7EXAMPLE", "secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "region": "us-east-1", "host": "127.0.0.1", "port": moto_port, "secure": False}))
    yield workspace
    workspace.close()
    shutil.rmtree(workspace.root.parent, ignore_errors=True)


def _driver(ws):
    return ws.vms.steps.driver("moto-ec2", CREDS, None, ME)


def _instances(ws) -> dict:
    return {n.id: n for n in _driver(ws).list_nodes() if n.state != "terminated"}


def test_an_ec2_vm_is_created_tagged_stopped_started_and_deleted(ws):
    vm = ws.vms.create("ec2-box", provider="moto-ec2", size="t2.micro", image=IMAGE,
                       credentials_secret=CREDS)
    assert vm["state"] == "running" and vm["node_id"].startswith("i-")
    assert [e["to_state"] for e in vm["events"]] == ["creating", "running"]  # no SSH: no bootstrap
    node = _instances(ws)[vm["node_id"]]
    assert node.extra["tags"] == {"Name": "ec2-box", "mlws:workspace": ws.config.id,
                                  "mlws:vm": vm["id"], "mlws:owner": ME}
    assert node.extra["key_name"] == f"mlws-{ws.config.id[:8]}-{vm['id']}"
    assert node.extra["instance_type"] == "t2.micro" and node.state == "running"
    assert "ec2-box" not in [t["name"] for t in ws.compute.list()]  # no SSH: no compute target

    assert ws.vms.stop("ec2-box")["state"] == "stopped"
    assert _instances(ws)[vm["node_id"]].state == "stopped"
    assert ws.vms.start("ec2-box")["state"] == "running"
    assert _instances(ws)[vm["node_id"]].state == "running"
    assert ws.vms.gc()["leftovers"] == []

    assert ws.vms.delete("ec2-box")["state"] == "deleted"
    assert vm["node_id"] not in _instances(ws)
    assert all(not p.name.startswith(f"mlws-{ws.config.id[:8]}") for p in _driver(ws).list_key_pairs())
    # the credentials were read, audited, and never written anywhere in the VM's record or log
    audit = ws.secrets.audit(CREDS)
    assert {a["action"] for a in audit} >= {"read"}
    assert "wJalrXUtnFEMI" not in json.dumps(ws.vms.show("ec2-box")) + ws.vms.logs("ec2-box").decode()


def test_gc_finds_and_deletes_tagged_nodes_no_vm_owns(ws):
    from libcloud.compute.base import NodeImage

    driver = _driver(ws)
    size = next(s for s in driver.list_sizes() if s.id == "t2.micro")
    image = NodeImage(IMAGE, IMAGE, driver)
    kept = ws.vms.create("ec2-kept", provider="moto-ec2", size="t2.micro", image=IMAGE,
                         credentials_secret=CREDS)
    # leftovers: a node tagged for this workspace by no record, one of a deleted VM's id
    stray = driver.create_node(name="stray", size=size, image=image,
                               ex_metadata={"mlws:workspace": ws.config.id, "mlws:vm": "0" * 16})
    stale = driver.create_node(name="stale", size=size, image=image,
                               ex_metadata={"mlws:workspace": ws.config.id,
                                            "mlws:vm": ws.vms.show("ec2-box")["id"]})
    other = driver.create_node(name="other", size=size, image=image,
                               ex_metadata={"mlws:workspace": "another-workspace"})
    driver.import_key_pair_from_string(f"mlws-{ws.config.id[:8]}-{'1' * 16}",
                                       "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsyJ1pCW9MRsyXsqpC7oE6NYKyFhEoDjTJvYkPbJ6lO x")
    found = ws.vms.gc()
    assert found["errors"] == []
    assert {(i["kind"], i["id"]) for i in found["leftovers"]} == {
        ("node", stray.id), ("node", stale.id), ("key_pair", f"mlws-{ws.config.id[:8]}-{'1' * 16}")}
    why = {i["id"]: i["why"] for i in found["leftovers"]}
    assert why[stray.id] == "no vm record" and why[stale.id] == "its vm 'ec2-box' is deleted"
    assert {stray.id, stale.id, other.id, kept["node_id"]} <= set(_instances(ws))  # listing deletes nothing

    done = ws.vms.gc(delete=True)
    assert done["deleted"] == 3 and all(i["deleted"] for i in done["leftovers"])
    left = _instances(ws)
    assert stray.id not in left and stale.id not in left
    assert other.id in left and kept["node_id"] in left  # another workspace's, and an owned one
    assert ws.vms.gc()["leftovers"] == []
    ws.vms.delete("ec2-kept")
    driver.destroy_node(other)


def test_gc_lists_whose_each_leftover_is_and_a_contributor_deletes_only_their_own(ws):
    """Listing deletes nothing, for anyone, and says whose each resource is (its mlws:owner
    tag); a contributor's delete takes only theirs, a workspace owner's the rest."""
    from libcloud.compute.base import NodeImage

    from jupyter_mlws.errors import PermissionDenied

    ws.access.grant(ME, "carol", "contributor")
    ws.access.grant(ME, "bob", "contributor")
    ws.access.grant(ME, "rita", "reader")
    driver = _driver(ws)
    size = next(s for s in driver.list_sizes() if s.id == "t2.micro")
    image = NodeImage(IMAGE, IMAGE, driver)

    def abandoned(name: str, owner: str | None):
        tags = {"mlws:workspace": ws.config.id, "mlws:vm": name.ljust(16, "0")}
        return driver.create_node(name=name, size=size, image=image,
                                  ex_metadata={**tags, **({"mlws:owner": owner} if owner else {})})

    carols, bobs, nobodys = abandoned("carols", "carol"), abandoned("bobs", "bob"), abandoned("anon", None)
    ids = {carols.id: "carol", bobs.id: "bob", nobodys.id: None}

    for actor in ("carol", "bob", ME):  # listing: each sees every leftover, and whose it is
        found = ws.vms.gc(actor=actor)["leftovers"]
        assert {i["id"]: i["owner"] for i in found} == ids
        assert {i["id"] for i in found if i["may_delete"]} == (
            set(ids) if actor == ME else {i for i, who in ids.items() if who == actor})
    assert set(ids) <= set(_instances(ws))  # nothing deleted by looking
    with pytest.raises(PermissionDenied, match="reader"):
        ws.vms.gc(actor="rita")
    done = ws.vms.gc(delete=True, actor="carol")  # a contributor: hers only
    assert done["deleted"] == 1
    assert {i["id"]: (i.get("deleted", False), i["may_delete"]) for i in done["leftovers"]} == {
        carols.id: (True, True), bobs.id: (False, False), nobodys.id: (False, False)}
    left = _instances(ws)
    assert carols.id not in left and bobs.id in left and nobodys.id in left
    done = ws.vms.gc(delete=True)  # a workspace owner: any, its owner's tag or none
    assert done["deleted"] == 2
    assert not set(ids) & set(_instances(ws)) and ws.vms.gc()["leftovers"] == []


def test_a_bad_size_image_region_or_credentials_record_nothing(ws, moto_port):
    before = (ws.vms.list(deleted=True), set(_instances(ws)))
    cases = [
        (dict(size="t9.giant", image=IMAGE), "the moto-ec2 provider has no size 't9.giant': use one of"),
        (dict(size="t2.micro", image=IMAGE, region="mars-north-1"),
         "does not know region 'mars-north-1'"),
        (dict(size="t2.micro", image="ami-nosuch"), "has no image 'ami-nosuch'"),
        (dict(size="t2.micro"), "the moto-ec2 provider needs --image"),
    ]
    for kwargs, text in cases:
        with pytest.raises(InvalidInput) as raised:
            ws.vms.create("ec2-bad", provider="moto-ec2", credentials_secret=CREDS, **kwargs)
        assert text in str(raised.value), raised.value
    ws.secrets.set(ME, "aws-odd", json.dumps({"key": "AKIA", "secret": "s3cr3t-value",
                                              "host": "127.0.0.1", "port": moto_port,
                                              "secure": False, "colour": "blue"}))
    with pytest.raises(InvalidInput, match="colour") as raised:
        ws.vms.create("ec2-bad", provider="moto-ec2", size="t2.micro", image=IMAGE,
                      credentials_secret="aws-odd")
    assert "s3cr3t-value" not in str(raised.value)
    with pytest.raises(InvalidInput, match="take no setup or startup script"):
        ws.vms.create("ec2-bad", provider="moto-ec2", size="t2.micro", image=IMAGE,
                      credentials_secret=CREDS, setup_script="echo hi")
    assert (ws.vms.list(deleted=True), set(_instances(ws))) == before


def test_the_ec2_provider_finds_moto_images_and_names_an_endpoint_it_cannot_reach(ws, moto_port):
    """The README's "Try EC2 on moto", with the ec2 provider itself and nothing patched: the image
    is found (it said "has no image 'ami-12c6146b': IndexError: list index out of range", moto's
    XML namespace lacking libcloud's trailing slash); an endpoint nothing listens on is said so,
    with the step (it said "has no image ...: ConnectionError: HTTPConnectionPool(...)")."""
    import socket

    from jupyter_mlws.errors import MlwsError
    from jupyter_mlws.vms import nodes as N
    from jupyter_mlws.vms.providers import PROVIDERS

    ws.secrets.set(ME, "aws-eu", json.dumps({"key": "AKIAIOSFODNN7EXAMPLE", "secret": "s3cr3t",
                                             "host": "127.0.0.1", "port": moto_port, "secure": False}))
    driver = ws.vms.steps.driver("ec2", "aws-eu", "eu-west-1", ME)
    image = N.image_of(driver, PROVIDERS["ec2"], "ami-12c6146b")
    assert image.id == "ami-12c6146b"
    assert N.size_of(driver, PROVIDERS["ec2"], "t3.micro").id == "t3.micro"
    with pytest.raises(InvalidInput) as raised:
        N.image_of(driver, PROVIDERS["ec2"], "ami-0nosuch0")
    assert str(raised.value) == ("the ec2 provider has no image 'ami-0nosuch0': BaseHTTPError: "
                                 "InvalidAMIID.NotFound: The image id '[ami-0nosuch0]' does not "
                                 "exist")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    ws.secrets.set(ME, "aws-nowhere", json.dumps({"key": "AKIA", "secret": "s3cr3t",
                                                  "host": "127.0.0.1", "port": closed,
                                                  "secure": False}))
    before = ws.vms.list(deleted=True)
    with pytest.raises(MlwsError) as raised:
        ws.vms.create("ec2-far", provider="ec2", size="t3.micro", image="ami-12c6146b",
                      region="eu-west-1", credentials_secret="aws-nowhere")
    assert str(raised.value).startswith(
        f"cannot reach the ec2 endpoint 127.0.0.1:{closed} (looking up image 'ami-12c6146b'): "
        "Connection refused"), raised.value
    assert "HTTPConnectionPool" not in str(raised.value) and "s3cr3t" not in str(raised.value)
    assert ws.vms.list(deleted=True) == before
