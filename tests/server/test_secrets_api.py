"""Secrets over REST on a team server: roles, bad input, and no value anywhere: not in a reply,
the server's log, or any file of the workspace, even when a submitted notebook prints it."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from mlws_testing import leaks, secret_forms
from test_roles import CONTRIBUTOR, NOBODY, OWNER, READER, TokenPerUser

VALUE = "r3st/S3cret+v=?&-CANARY-9911"
NOTEBOOKS = Path(__file__).parents[1] / "notebooks"


@pytest.fixture
def mlws_config():
    return {"ServerApp": {"identity_provider_class": TokenPerUser},
            "MlwsApp": {"enforce_roles": True}}


@pytest.fixture
def team(mlws_ws):
    from jupyter_mlws.access import os_user

    for user, role in ((OWNER, "owner"), (CONTRIBUTOR, "contributor"), (READER, "reader")):
        mlws_ws.access.grant(os_user(), user, role)


async def test_roles_on_secrets(api, team, mlws_ws):
    r = await api("PUT", "secrets", "db-pass", body={"value": VALUE}, user=CONTRIBUTOR)
    assert r.code == 200 and r.json["version"] == 1 and r.json["created_by"] == CONTRIBUTOR
    assert VALUE not in r.raw.decode()
    for user in (READER, CONTRIBUTOR, OWNER):
        listed = await api("GET", "secrets", user=user)
        shown = await api("GET", "secrets", "db-pass", user=user)
        assert listed.code == shown.code == 200
        assert [s["name"] for s in listed.json["secrets"]] == ["db-pass"]
        assert shown.json["versions"][0]["version"] == 1
        assert VALUE not in listed.raw.decode() + shown.raw.decode()
    for method, parts, body in (("PUT", ("db-pass",), {"value": "reader-value"}),
                                ("DELETE", ("db-pass",), None), ("POST", ("db-pass", "recover"), None)):
        r = await api(method, "secrets", *parts, body=body, user=READER)
        assert r.code == 403 and "contributor or above" in r.json["message"], (method, r)
    for method in ("GET", "PUT", "DELETE"):
        assert (await api(method, "secrets", "db-pass", user=NOBODY)).code == 403
    assert mlws_ws.secrets.show("db-pass")["version"] == 1
    r = await api("DELETE", "secrets", "db-pass", user=CONTRIBUTOR)
    assert r.code == 200 and r.json["state"] == "deleted" and r.json["purge_at"] > r.json["deleted_at"]
    r = await api("PUT", "secrets", "db-pass", body={"value": "another-value"}, user=OWNER)
    assert r.code == 409 and "recover it with 'mlws secret recover db-pass'" in r.json["message"]
    r = await api("DELETE", "secrets", "db-pass", params={"purge": "true"}, user=CONTRIBUTOR)
    assert r.code == 403 and "needs owner" in r.json["message"]
    assert (await api("POST", "secrets", "db-pass", "recover", user=CONTRIBUTOR)).json["state"] == "active"
    r = await api("DELETE", "secrets", "db-pass", params={"purge": "true"}, user=OWNER)
    assert r.code == 409 and "delete it first" in r.json["message"]
    assert (await api("DELETE", "secrets", "db-pass", user=OWNER)).code == 200
    listed = await api("GET", "secrets", params={"deleted": "true"}, user=READER)
    assert [s["name"] for s in listed.json["secrets"]] == ["db-pass"]
    assert (await api("DELETE", "secrets", "db-pass", params={"purge": "true"}, user=OWNER)).code == 204
    assert (await api("GET", "secrets", "db-pass", user=OWNER)).code == 404
    audit = [(e["action"], e["user"]) for e in mlws_ws.secrets.audit("db-pass")][::-1]
    assert audit == [("set", CONTRIBUTOR), ("delete", CONTRIBUTOR), ("recover", CONTRIBUTOR),
                     ("delete", OWNER), ("purge", OWNER)]


async def test_bad_input_is_a_400_that_never_quotes_the_value(api, team, mlws_ws, server_log):
    cases = [(("9lives",), {"value": VALUE}, "invalid secret name"),
             (("ok",), {"value": 12345}, "body.value must be string"),
             (("ok",), {"value": "abc"}, "body.value needs at least 4 characters"),
             (("ok",), {"value": VALUE + "\u0000"}, "NUL"),
             (("ok",), {"value": VALUE * 3000}, "takes at most 65536 characters"),
             (("ok",), {"value": VALUE, "version": 2}, "unexpected properties ['version']"),
             (("ok",), {}, "lacks the required property 'value'")]
    for parts, body, message in cases:
        r = await api("PUT", "secrets", *parts, body=body, user=OWNER)
        assert r.code == 400 and message in r.json["message"], (body, r)
        assert "CANARY" not in r.raw.decode()
    r = await api("DELETE", "secrets", "ok", params={"purge": "maybe"}, user=OWNER)
    assert r.code == 400 and "purge must be true or false" in r.json["message"]
    assert (await api("GET", "secrets", "missing", user=READER)).code == 404
    assert mlws_ws.secrets.list() == []
    assert "CANARY" not in server_log.getvalue()


async def test_a_notebook_submitted_over_rest_prints_a_secret_and_nothing_keeps_it(
        api, team, mlws_ws, jp_root_dir, server_log, contributors_run_locally):
    shutil.copy(NOTEBOOKS / "secret_leaks.ipynb", jp_root_dir / "leaks.ipynb")
    assert (await api("PUT", "secrets", "api-token", body={"value": VALUE}, user=OWNER)).code == 200
    replies = []
    for specs, code in ((["api-token=PATH"], 400), (["nope"], 404), ([3], 400)):
        r = await api("POST", "runs", body={"notebook": "leaks.ipynb", "secrets": specs}, user=CONTRIBUTOR)
        assert r.code == code, (specs, r)
    assert mlws_ws.search_runs() == []  # refused before any run was recorded
    r = await api("POST", "runs", body={"notebook": "leaks.ipynb", "secrets": ["api-token=API_TOKEN"]},
                  user=READER)
    assert r.code == 403
    r = await api("POST", "runs", body={"notebook": "leaks.ipynb", "secrets": ["api-token=API_TOKEN"]},
                  user=CONTRIBUTOR)
    assert r.code == 201, r
    run_id = r.json["id"]
    ended = await asyncio.to_thread(mlws_ws.wait, run_id, 240)  # a detached executor runs it
    assert ended.status == "failed" and "bad token ***" in ended.record.error
    for parts in (("runs", run_id), ("runs", run_id, "logs"), ("runs", run_id, "files"), ("secrets",),
                  ("secrets", "api-token"), ("runs",)):
        replies.append(await api("GET", *parts, user=READER))
    assert all(reply.code == 200 for reply in replies)
    assert "1 print: ***" in json.dumps(replies[1].json)
    assert replies[0].json["tags"]["secrets"] == '["api-token"]'
    # the audit names the submitter and the run; readers never read the value
    reads = [e for e in mlws_ws.secrets.audit("api-token") if e["action"] == "read"]
    assert reads and {(e["user"], e["run_id"]) for e in reads} == {(CONTRIBUTOR, run_id)}
    forms = secret_forms(VALUE)
    text = b"".join(reply.raw for reply in replies) + server_log.getvalue().encode()
    assert [name for name, form in forms.items() if form in text] == []
    assert leaks(mlws_ws.root, VALUE) == []
    assert "POST" in server_log.getvalue()  # the log was captured


async def test_the_audit_log_is_the_owners_and_never_holds_a_value(api, team, mlws_ws, server_log):
    """GET secrets-audit: who set, read, deleted which secret, when, in which run; owners only."""
    from jupyter_mlws.access import os_user
    from jupyter_mlws.errors import PermissionDenied

    assert (await api("PUT", "secrets", "db-pass", body={"value": VALUE}, user=CONTRIBUTOR)).code == 200
    assert (await api("PUT", "secrets", "api-key", body={"value": VALUE[::-1]}, user=OWNER)).code == 200
    run_id = "0123456789abcdef"  # a run that read it (as its executor does, for its submitter)
    assert mlws_ws.secrets.read(CONTRIBUTOR, "db-pass", run_id=run_id) == VALUE
    assert (await api("DELETE", "secrets", "db-pass", user=CONTRIBUTOR)).code == 200
    for user in (READER, CONTRIBUTOR, NOBODY):
        r = await api("GET", "secrets-audit", user=user)
        assert r.code == 403 and "owner" in r.json["message"], (user, r)
    r = await api("GET", "secrets-audit", user=OWNER)
    assert r.code == 200
    assert [(e["name"], e["action"], e["user"], e["version"]) for e in r.json["entries"]] == [
        ("db-pass", "delete", CONTRIBUTOR, None), ("db-pass", "read", CONTRIBUTOR, 1),
        ("api-key", "set", OWNER, 1), ("db-pass", "set", CONTRIBUTOR, 1)]
    assert r.json["entries"][1]["run_id"] == run_id and r.json["entries"][0]["ts"] > 0
    one = await api("GET", "secrets-audit", params={"secret": "api-key"}, user=OWNER)
    assert [e["action"] for e in one.json["entries"]] == ["set"]
    two = await api("GET", "secrets-audit", params={"max_results": "2"}, user=OWNER)
    assert len(two.json["entries"]) == 2
    for params, message in (({"max_results": "0"}, "max_results must be from 1"),
                            ({"max_results": "x"}, "max_results must be an integer"),
                            ({"secret": "9lives"}, "invalid secret name")):
        r = await api("GET", "secrets-audit", params=params, user=OWNER)
        assert r.code == 400 and message in r.json["message"], r
    text = (r.raw + one.raw + two.raw).decode() + server_log.getvalue()
    assert VALUE not in text and VALUE[::-1] not in text
    # the SDK and the CLI apply the same rule (the service decides)
    with pytest.raises(PermissionDenied, match="needs owner"):
        mlws_ws.secrets.audit(actor=READER)
    assert mlws_ws.secrets.audit("api-key", actor=os_user())[0]["action"] == "set"
