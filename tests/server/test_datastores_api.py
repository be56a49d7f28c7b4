"""Datastores over REST on a team server: readers list and show, contributors register, owners
delete; bad input is a 400 that records nothing; no answer holds a credential or a server path."""

from __future__ import annotations

import pytest
from moto_s3 import SECRET
from test_roles import CONTRIBUTOR, NOBODY, OWNER, READER
from test_secrets_api import mlws_config, team  # noqa: F401  (a team server: roles enforced)


async def test_roles_on_datastores(api, team, mlws_ws, moto_s3, server_log):
    bucket = moto_s3.bucket()
    mlws_ws.secrets.set(OWNER, "lake-s3", moto_s3.credentials)
    body = {"name": "lake", "url": moto_s3.url(bucket, "raw"), "credentials_secret": "lake-s3",
            "description": "raw"}
    for user in (READER, NOBODY):
        r = await api("POST", "datastores", body=body, user=user)
        assert r.code == 403 and r.json["reason"] == "permission_denied"
    r = await api("POST", "datastores", body=body, user=CONTRIBUTOR)
    assert r.code == 201, r
    assert r.json["url"] == f"s3://{bucket}/raw" and r.json["credentials_secret"] == "lake-s3"
    assert r.json["created_by"] == CONTRIBUTOR
    listed = await api("GET", "datastores", user=READER)
    assert listed.code == 200 and [d["name"] for d in listed.json["datastores"]] == ["default", "lake"]
    default = listed.json["datastores"][0]
    assert default["builtin"] and str(mlws_ws.root) not in listed.raw.decode()
    shown = await api("GET", "datastores", "lake", user=READER)
    assert shown.code == 200 and shown.json["options"] == {"endpoint_url": moto_s3.endpoint}
    assert (await api("GET", "datastores", user=NOBODY)).code == 403
    for user in (READER, CONTRIBUTOR):
        r = await api("DELETE", "datastores", "lake", user=user)
        assert r.code == 403 and "owner" in r.json["message"], (user, r)
    r = await api("DELETE", "datastores", "default", user=OWNER)
    assert r.code == 409 and "built in" in r.json["message"]
    assert (await api("DELETE", "datastores", "lake", user=OWNER)).code == 204
    r = await api("GET", "datastores", "lake", user=READER)
    assert r.code == 404 and "'mlws datastore list'" in r.json["message"]
    for text in (listed.raw, shown.raw):
        assert SECRET.encode() not in text
    assert SECRET not in server_log.getvalue()


def _datastores(ws):
    return [(d["name"], d["url"]) for d in ws.datastores.list()]


@pytest.mark.parametrize("body, status, message", [
    ({"url": "s3://bkt/x"}, 400, "name"),
    ({"name": "d", "url": "s3://bkt/x", "extra": 1}, 400, "extra"),
    ({"name": "d", "url": 5}, 400, "body.url"),
    ({"name": "d", "url": "s3://bkt/x?endpoint_url=http://169.254.169.254"}, 400, "cloud metadata address"),
    ({"name": "d", "url": "s3://k:s3cr3t-value@bkt/x"}, 400, "carries credentials"),
    ({"name": "d", "url": "gopher://h/x"}, 400, "unknown datastore scheme"),
    ({"name": "d d", "url": "file:///tmp/d"}, 400, "is not valid"),
    ({"name": "d", "url": "file:///tmp/d", "credentials_secret": "nope"}, 400, "takes no credentials"),
    ({"name": "d", "url": "s3://bkt/x", "credentials_secret": "nope"}, 404, "no secret named 'nope'"),
    ({"name": "default", "url": "file:///tmp/d"}, 409, "built in"),
])
async def test_bad_input_says_why_and_records_nothing(api, team, mlws_ws, body, status, message):
    before = _datastores(mlws_ws)
    r = await api("POST", "datastores", body=body, user=OWNER)
    assert r.code == status and message in r.json["message"], r
    assert "s3cr3t-value" not in r.raw.decode()
    assert _datastores(mlws_ws) == before


async def test_an_unreachable_store_is_a_503_and_records_nothing(api, team, mlws_ws, moto_s3):
    mlws_ws.secrets.set(OWNER, "lake-s3", moto_s3.credentials)
    before = _datastores(mlws_ws)
    body = {"name": "d", "url": "s3://bkt/x?endpoint_url=http://127.0.0.1:9", "credentials_secret": "lake-s3"}
    r = await api("POST", "datastores", body=body, user=OWNER)
    assert r.code == 503 and "cannot be reached" in r.json["message"] and SECRET not in r.raw.decode()
    assert _datastores(mlws_ws) == before
