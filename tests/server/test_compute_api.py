"""Compute targets over REST on a team server: readers list and show, contributors create,
test and delete; bad input is a 400 that changes nothing; an ssh host's key is pinned only once
accepted, and a fingerprint that does not match is a 409."""

from __future__ import annotations

import pytest
from test_roles import CONTRIBUTOR, NOBODY, OWNER, READER
from test_secrets_api import mlws_config, team  # noqa: F401  (a team server: roles enforced)


async def test_roles_on_compute_targets(api, team, mlws_ws, dask_cluster):
    listener = dask_cluster.port  # a real scheduler: its test passes
    body = {"name": "cluster", "type": "dask", "address": f"tcp://127.0.0.1:{listener}"}
    for user in (READER, NOBODY):
        r = await api("POST", "compute", body=body, user=user)
        assert r.code == 403 and r.json["reason"] == "permission_denied"
    r = await api("POST", "compute", body=body, user=CONTRIBUTOR)
    assert r.code == 201 and r.json["name"] == "cluster" and r.json["created_by"] == CONTRIBUTOR
    r = await api("GET", "compute", user=READER)
    assert r.code == 200 and [t["name"] for t in r.json["targets"]] == ["local", "cluster"]
    assert (await api("GET", "compute", "cluster", user=READER)).json["address"].endswith(str(listener))
    assert (await api("GET", "compute", user=NOBODY)).code == 403
    for method, parts in (("POST", ("cluster", "test")), ("DELETE", ("cluster",))):
        r = await api(method, "compute", *parts, user=READER)
        assert r.code == 403 and "contributor or above" in r.json["message"], (method, r)
        # the request refused is named, not everything that access covers
        assert f"write access to compute ({method} compute/{'/'.join(parts)}) needs" in \
            r.json["message"], r.json["message"]
    r = await api("POST", "compute", "cluster", "test", user=CONTRIBUTOR)
    assert r.code == 200 and r.json["ok"] is True
    assert [c["check"] for c in r.json["checks"]][:2] == ["dns", "tcp"]
    r = await api("POST", "compute", "local", "test", user=OWNER)
    assert r.code == 200 and r.json["ok"] and r.json["type"] == "local"
    r = await api("DELETE", "compute", "local", user=OWNER)
    assert r.code == 409 and "built in" in r.json["message"]
    assert (await api("DELETE", "compute", "cluster", user=CONTRIBUTOR)).code == 204
    r = await api("GET", "compute", "cluster", user=READER)
    assert r.code == 404 and "'mlws compute list'" in r.json["message"]


@pytest.mark.parametrize("body, message", [
    ({"type": "dask", "address": "tcp://h:1"}, "name"),
    ({"name": "c", "type": "slurm"}, "body.type"),
    ({"name": "c", "type": "dask", "address": "tcp://h:1", "extra": 1}, "extra"),
    ({"name": "c", "type": "ssh", "host": "h", "user": "u", "port": "22"}, "body.port"),
    ({"name": "c", "type": "ssh", "host": "h", "user": "u", "port": 70000}, "body.port"),
    ({"name": "c", "type": "dask", "address": "h:1"}, "give tcp://HOST:PORT"),
    ({"name": "c d", "type": "dask", "address": "tcp://h:1"}, "is not valid"),
    ({"name": "c", "type": "ssh", "host": "h;id", "user": "u"}, "invalid host"),
    ({"name": "c", "type": "ssh", "host": "h", "user": "u", "host_key": "ssh-ed25519 xx"}, "host key"),
    ({"name": "c", "type": "dask", "address": "tcp://h:1", "accept_host_key": True}, "ssh targets only"),
])
async def test_bad_input_is_a_400_and_changes_nothing(api, team, mlws_ws, workspace_state, body, message):
    before = workspace_state(mlws_ws)
    r = await api("POST", "compute", body=body, user=OWNER)
    assert r.code == 400 and message in r.json["message"], r
    assert workspace_state(mlws_ws) == before


async def test_an_ssh_host_key_is_pinned_once_accepted(api, team, mlws_ws, sshd):
    from jupyter_mlws.access import os_user
    from jupyter_mlws.compute.ssh.hostkeys import HostKey

    mlws_ws.secrets.set(os_user(), "k", sshd.user.private_key)
    shown = HostKey(*sshd.host_key.split()).fingerprint
    body = {"name": "box", "type": "ssh", "host": "127.0.0.1", "port": sshd.port,
            "user": sshd.user.name, "key_secret": "k", "python": sshd.user.python}
    r = await api("POST", "compute", body=body, user=CONTRIBUTOR)
    assert r.code == 400 and shown in r.json["message"] and "accept_host_key" in r.json["message"]
    # the facts a page shows for confirmation, beside the message (no key, no secret)
    assert r.json["details"] == {"host": f"[127.0.0.1]:{sshd.port}", "key_type": "ssh-ed25519",
                                 "fingerprint": shown}
    r = await api("POST", "compute", body={**body, "host_key_fingerprint": "SHA256:" + "A" * 43},
                  user=CONTRIBUTOR)
    assert r.code == 409 and shown in r.json["message"] and "nothing was created" in r.json["message"]
    assert [t["name"] for t in mlws_ws.compute.list()] == ["local"]
    r = await api("POST", "compute", body={**body, "host_key_fingerprint": shown}, user=CONTRIBUTOR)
    assert r.code == 201 and r.json["host_key_fingerprint"] == shown
    assert "PRIVATE" not in r.raw.decode() and "private_key" not in r.json
    r = await api("POST", "compute", "box", "test", user=CONTRIBUTOR)
    assert r.code == 200 and r.json["ok"], r.json
    assert sshd.user.private_key.splitlines()[1] not in r.raw.decode()


async def test_a_targets_default_secrets_over_rest(api, team, mlws_ws, workspace_state):
    """PATCH ``{"secrets": [...]}`` replaces the names of the secrets a target gives its runs
    (contributors and owners); a POST may give them; values never appear in an answer; bad input
    is a 4xx that changes nothing."""
    from jupyter_mlws.access import os_user

    value = "rest-CANARY/value+1"
    mlws_ws.secrets.set(os_user(), "hf-token", value)
    mlws_ws.secrets.set(os_user(), "old", "old-value-1")
    mlws_ws.secrets.delete(os_user(), "old")
    body = {"name": "farm", "type": "dask", "address": "tcp://127.0.0.1:1",
            "secrets": ["hf-token=HF_TOKEN"]}
    r = await api("POST", "compute", body=body, user=CONTRIBUTOR)
    assert r.code == 201 and r.json["secrets"] == {"HF_TOKEN": "hf-token"}
    r = await api("PATCH", "compute", "farm", body={"secrets": ["hf-token"]}, user=READER)
    assert r.code == 403 and "contributor or above" in r.json["message"]
    r = await api("PATCH", "compute", "farm", body={"secrets": ["hf-token"]}, user=CONTRIBUTOR)
    assert r.code == 200 and r.json["secrets"] == {"hf_token": "hf-token"}
    r = await api("GET", "compute", user=READER)
    assert r.code == 200 and r.json["targets"][1]["secrets"] == {"hf_token": "hf-token"}
    assert value not in r.raw.decode()
    before = workspace_state(mlws_ws)
    for target, patch, code, message in (
            ("farm", {"secrets": ["nope"]}, 404, "no secret named 'nope'"),
            ("farm", {"secrets": ["old"]}, 409, "secret 'old' is deleted"),
            ("farm", {"secrets": ["hf-token=PATH"]}, 400, "cannot be injected as PATH"),
            ("farm", {"secrets": "hf-token"}, 400, "body.secrets"),
            ("farm", {"secrets": [], "address": "tcp://h:2"}, 400, "address"),
            ("farm", {}, 400, "secrets"),
            ("local", {"secrets": ["hf-token"]}, 409, "built in"),
            ("gone", {"secrets": []}, 404, "no compute target 'gone'")):
        r = await api("PATCH", "compute", target, body=patch, user=OWNER)
        assert r.code == code and message in r.json["message"], (patch, r.json)
    assert workspace_state(mlws_ws) == before
    r = await api("PATCH", "compute", "farm", body={"secrets": []}, user=OWNER)
    assert r.code == 200 and r.json["secrets"] == {}


async def test_patch_changes_env_and_python_checked_as_at_creation(api, team, mlws_ws, workspace_state):
    body = {"name": "farm", "type": "dask", "address": "tcp://127.0.0.1:1"}
    assert (await api("POST", "compute", body=body, user=CONTRIBUTOR)).code == 201
    r = await api("PATCH", "compute", "farm", body={"env": "build"}, user=READER)
    assert r.code == 403
    before = workspace_state(mlws_ws)
    for patch, message in (({"env": "conda"}, "body.env"),
                           ({"python": "python3"}, "python is not a setting of dask targets"),
                           ({"python": ""}, "body.python")):
        r = await api("PATCH", "compute", "farm", body=patch, user=CONTRIBUTOR)
        assert r.code == 400 and message in r.json["message"], (patch, r.json)
    assert workspace_state(mlws_ws) == before
    r = await api("PATCH", "compute", "farm", body={"env": "build"}, user=CONTRIBUTOR)
    assert r.code == 200 and r.json["env"] == "build" and r.json["secrets"] == {}
