"""Workspace roles on a team server: every route x {owner, contributor, reader, no role}."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from jupyter_server.auth.identity import IdentityProvider, User
from tornado.httpclient import HTTPClientError

OWNER, CONTRIBUTOR, READER, NOBODY = "alice", "carol", "rita", "nobody"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(16)
TOKEN = re.compile(r"token (\w+)-token")


class TokenPerUser(IdentityProvider):
    """``Authorization: token <user>-token`` signs in as <user> (a test's JupyterHub)."""

    def get_user(self, handler):
        match = TOKEN.fullmatch(handler.request.headers.get("Authorization", ""))
        if not match:
            return None
        handler._token_authenticated = True  # so that no XSRF cookie is expected, as with tokens
        return User(match.group(1))


@pytest.fixture
def mlws_config():
    return {"ServerApp": {"identity_provider_class": TokenPerUser},
            "MlwsApp": {"enforce_roles": True}}


@pytest.fixture
def team(mlws_ws, tmp_path):
    """Roles assigned by the creator, a finished run with an artifact and a registered model."""
    from jupyter_mlws.access import os_user

    for user, role in ((OWNER, "owner"), (CONTRIBUTOR, "contributor"), (READER, "reader")):
        mlws_ws.access.grant(os_user(), user, role)
    (tmp_path / "a.txt").write_text("a")
    with mlws_ws.experiment("e").start_run(snapshot=tmp_path, outputs=None) as run:  # a.txt in it
        run.log("acc", 0.5)
        run.log_param("p", 1)
        run.set_tag("t", "1")
        run.upload_file("a.txt", tmp_path / "a.txt")
        run.log_image("acc", PNG)  # at step 0
    mlws_ws.register_model("m", run=run.id, artifact="a.txt")
    mlws_ws.models.set_alias("m", "champ", 1)
    mlws_ws.datasets.register("m", tmp_path / "a.txt")  # what the dataset routes' samples name
    mlws_ws.datasets.set_alias("m", "champ", 1)
    mlws_ws.secrets.set(os_user(), "db-pass", "a-value-1")
    return run.id


@pytest.fixture
def endpoint(team, mlws_ws, jp_root_dir):
    """A healthy endpoint "ep" serving m:1 (a model-less echo script); removed afterwards."""
    pytest.importorskip("uvicorn")
    script = jp_root_dir / "echo.py"
    shutil.copy(Path(__file__).parent.parent / "endpoint_scripts" / "score_echo.py", script)
    mlws_ws.deploy("m:1", "ep", script)
    yield "ep"
    for item in mlws_ws.endpoints.list():
        mlws_ws.endpoints.delete(item["name"])


#: query parameters a route needs to answer a request (its path parameters come from _requests)
SAMPLE_QUERY = {"/notebook-parameters": {"notebook": "params.ipynb"},
                "/schedules-preview": {"cron": "0 6 * * *"}}


def _requests(routes, run_id, env_hash, pipeline_run=None, automl_run=None):
    """(method, path parts, handler, query) for every route and method, parameters filled with
    real names (a pipeline run's id for the routes of pipeline runs, a search's for automl's)."""
    sample = {"run_id": run_id, "key": "acc", "step": "0", "path": "a.txt", "ref": "m:1", "name": "m",
              "experiment": "e",
              "alias": "champ", "user": CONTRIBUTOR, "endpoint": "ep", "secret": "db-pass",
              "deployment": "blue", "target": "local", "env_hash": env_hash, "pipeline": "pipe",
              "vm": "box", "schedule": "nightly", "datastore": "default",
              "token_id": "0123456789ab"}
    out = []
    for template, (handler, methods) in routes.items():
        if handler.__name__ == "NotFoundHandler":
            continue
        paths = [template]
        for name, choices in re.findall(r"\{(\w+)(?::([^}]*))?\}", template):
            values = choices.split("|") if choices else [sample[name]]
            if template == "/runs/{run_id}/pipeline" and pipeline_run is not None:
                values = [pipeline_run]
            if template.startswith("/automl/") and automl_run is not None:
                values = [automl_run]
            paths = [re.sub(r"\{" + name + r"[^}]*\}", v, p, count=1) for p in paths for v in values]
        query = SAMPLE_QUERY.get(template)
        out += [(m.upper(), [p for p in path.split("/") if p], handler, query) for path in paths
                for m in methods]
    return out


@pytest.fixture
def pipeline_run(mlws_ws, tmp_path):
    """A completed run of pipeline "pipe" (one script step)."""
    project = tmp_path / "pipe"
    project.mkdir()
    (project / "s.py").write_text("print('hi')\n")
    (project / "pipeline.yaml").write_text("name: pipe\nsteps:\n  - {name: s, script: s.py}\n")
    return mlws_ws.pipelines.run(project / "pipeline.yaml", wait=True)


@pytest.fixture
def automl_run(mlws_ws):
    """A completed automated-ML search, as recorded (no search ran): what its routes read."""
    import json

    from jupyter_mlws.automl.spec import AutoMLSpec

    spec = AutoMLSpec(data="d:1", target="y", task="classification")
    record = mlws_ws.runs.create("automl-d", source_type="automl",
                                 tags={"automl.spec": json.dumps(spec.to_dict())})
    return mlws_ws.runs.end(record.id, "completed").id


async def test_role_matrix(api, routes, team, endpoint, mlws_ws, jp_root_dir, workspace_state,
                           wheelhouse, pipeline_run, automl_run, contributors_run_locally):
    from jupyter_mlws.environments.spec import EnvironmentSpec
    from jupyter_mlws.environments.wheels import BuildOptions

    shutil.copy(Path(__file__).parents[1] / "notebooks" / "train.ipynb", jp_root_dir / "params.ipynb")
    env = mlws_ws.environments.build(EnvironmentSpec("%d.%d" % sys.version_info[:2], ("six==1.16.0",)),
                                     options=BuildOptions(find_links=(str(wheelhouse),), no_index=True))
    # a VM of the contributor's (a record whose creation failed: no node to reach)
    vm = mlws_ws.vms.records.insert({"name": "box", "provider": "local", "size": "host",
                                     "owner": CONTRIBUTOR}, CONTRIBUTOR, "made by the test")
    mlws_ws.vms.records.move(vm["id"], "failed", "made by the test, without a node", CONTRIBUTOR)
    # a schedule of the contributor's, its notebook gone (a trigger fails at once: no kernel)
    shutil.copy(jp_root_dir / "params.ipynb", jp_root_dir / "scheduled.ipynb")
    mlws_ws.schedules.create("nightly", notebook=jp_root_dir / "scheduled.ipynb", cron="0 6 * * *",
                             tz="UTC", user=CONTRIBUTOR, check_actor=False)
    (jp_root_dir / "scheduled.ipynb").unlink()
    requests = _requests(routes, team, env["hash"], pipeline_run, automl_run)
    assert len(requests) > 20
    before = workspace_state(mlws_ws)
    for method, parts, handler, query in requests:
        for user in (READER, NOBODY):
            r = await api(method, *parts, user=user, params=query)
            if method == "GET" and user == READER and handler.read_action == "read":
                assert r.code == 200, (user, method, parts, r)
            else:
                assert r.code == 403, (user, method, parts, r)
                assert r.json["reason"] == "permission_denied"
    assert workspace_state(mlws_ws) == before, "a refused request changed the workspace"
    # a contributor may change everything but roles; run the harmless methods first
    for method, parts, handler, query in sorted(requests, key=lambda q: q[0] == "DELETE"):
        r = await api(method, *parts, user=CONTRIBUTOR, params=query)
        if (handler.read_action if method == "GET" else handler.write_action) == "admin":
            assert r.code == 403, (method, parts, r)
        else:
            assert r.code != 403, (method, parts, r)
    assert mlws_ws.access.role_of(CONTRIBUTOR) == "contributor"


async def test_owner_manages_roles_and_keeps_one_owner(api, team, mlws_ws):
    r = await api("GET", "workspace", user=OWNER)
    assert r.json["you"] == {"user": OWNER, "role": "owner"} and r.json["roles_enforced"] is True
    r = await api("GET", "access", user=OWNER)
    assert r.json["you"]["user"] == OWNER and r.json["you"]["role"] == "owner"
    assert r.json["you"]["display_name"]  # what the Access tab shows
    assert (await api("PUT", "access", NOBODY, body={"role": "reader"}, user=OWNER)).code == 200
    assert (await api("GET", "runs", user=NOBODY)).code == 200
    assert (await api("PATCH", "runs", team, "tags", body={"set": {"x": "1"}}, user=NOBODY)).code == 403
    assert (await api("PUT", "access", NOBODY, body={"role": "owner"}, user=CONTRIBUTOR)).code == 403
    assert (await api("DELETE", "access", NOBODY, user=OWNER)).code == 204
    assert (await api("GET", "runs", user=NOBODY)).code == 403
    # demote every owner but alice, then alice cannot demote herself
    for a in mlws_ws.access.assignments():
        if a["role"] == "owner" and a["user"] != OWNER:
            assert (await api("DELETE", "access", a["user"], user=OWNER)).code == 204
    r = await api("PUT", "access", OWNER, body={"role": "reader"}, user=OWNER)
    assert r.code == 409 and "last owner" in r.json["message"]
    assert mlws_ws.access.role_of(OWNER) == "owner"


async def test_the_workspace_page_needs_a_role(jp_fetch, jp_base_url, team):
    async def get(*parts, user=None):
        headers = {"Authorization": f"token {user}-token"} if user else {"Authorization": ""}
        return await jp_fetch(*parts, headers=headers, raise_error=False, follow_redirects=False)

    assert (await get("mlws", "")).code == 302  # to the login page
    r = await get("mlws", "", user=NOBODY)
    assert r.code == 403 and b"has no role in this workspace" in r.body
    r = await get("mlws", "", user=READER)
    assert r.code == 200 and r.headers["Content-Type"].startswith("text/html")
    page = r.body.decode()
    assert "<title>ws \u00b7 ML workspace</title>" in page
    assert "token" not in page.lower() and "/tmp" not in page  # no secret, no server path
    script = re.search(r'<script src="([^"?]+)', page).group(1)
    assert script.startswith(jp_base_url)
    parts = script.removeprefix(jp_base_url).split("/")
    r = await get(*parts, user=READER)
    assert r.code == 200 and "javascript" in r.headers["Content-Type"] and len(r.body) > 100_000
    assert (await get(*parts, user=NOBODY)).code == 403
    assert (await get("mlws", "static", "..", "..", "page.py", user=READER)).code in (403, 404)


async def test_unknown_users_and_routes(api, team, jp_fetch, jp_ws_fetch):
    assert (await api("GET", "workspace", user="stranger")).code == 403
    r = await api("GET", "workspace", user="stranger")
    assert "has no role in this workspace" in r.json["message"]  # and what to do about it
    # the workspace roles decide the workspace's resources only: Jupyter's own are the server's
    r = await jp_fetch("api", "contents", headers={"Authorization": "token stranger-token"})
    assert r.code == 200
    # but the events stream carries the workspace's live events: readers and above only
    for user, allowed in (("stranger", False), (READER, True)):
        try:
            socket = await jp_ws_fetch("api", "events", "subscribe",
                                       headers={"Authorization": f"token {user}-token"})
        except HTTPClientError as err:
            assert not allowed and err.code == 403, (user, err)
        else:
            socket.close()
            assert allowed, user
    assert (await api("GET", "workspace", headers={"Authorization": "token nope"})).code == 403
    r = await api("GET", "secret", "place", user=OWNER)
    assert r.code == 404 and r.json["reason"] == "not_found"


RUN_STATUS = "https://jupyter-mlws.org/events/run-status"


async def _status_events(socket, run_id, until_status):
    """The run-status events of ``run_id`` on ``socket`` up to the one with ``until_status``,
    or up to the socket's close (then the last item is None)."""
    seen = []
    while True:
        message = await socket.read_message()
        if message is None:
            return seen + [None]
        event = json.loads(message)
        if event.get("schema_id") == RUN_STATUS and event["run_id"] == run_id:
            seen.append(event["status"])
            if event["status"] == until_status:
                return seen


@pytest.mark.parametrize("how", ["revoked", "removed by the CLI"])
async def test_revoked_access_ends_the_live_event_stream(subscribe, api, team, mlws_ws, jp_ws_fetch,
                                                        how):
    from jupyter_mlws.access import os_user

    kept, revoked = await subscribe(CONTRIBUTOR), await subscribe(READER)
    run = mlws_ws.experiment("live").start_run(snapshot=False, outputs=None)
    for socket in (kept, revoked):  # both read the workspace's events
        assert await asyncio.wait_for(_status_events(socket, run.id, "running"), 30) == ["running"]
    if how == "revoked":
        assert (await api("DELETE", "access", READER, user=OWNER)).code == 204
    else:  # another process changes the roles: the server learns it from the store alone
        await asyncio.to_thread(mlws_ws.access.revoke, os_user(), READER)
    assert (await api("GET", "runs", user=READER)).code == 403
    run.end("completed")  # an event produced after the revocation
    assert await asyncio.wait_for(_status_events(kept, run.id, "completed"), 30) == ["completed"]
    # the revoked reader's stream is closed, and the event never reached it
    assert await asyncio.wait_for(_status_events(revoked, run.id, "completed"), 30) == [None]
    assert revoked.close_code == 1008 and "role" in revoked.close_reason
    # nor can they subscribe again
    with pytest.raises(HTTPClientError) as refused:
        await jp_ws_fetch("api", "events", "subscribe", headers={"Authorization": f"token {READER}-token"})
    assert refused.value.code == 403


async def test_readers_cannot_probe_the_servers_files(api, team, jp_root_dir):
    """notebook-parameters is part of submitting: contributors and owners; a reader gets the
    same refusal whether the notebook exists or not."""
    shutil.copy(Path(__file__).parents[1] / "notebooks" / "train.ipynb", jp_root_dir / "params.ipynb")
    refusals = set()
    for name in ("params.ipynb", "missing.ipynb", "../outside.ipynb"):
        r = await api("GET", "notebook-parameters", params={"notebook": name}, user=READER)
        assert r.code == 403 and r.json["reason"] == "permission_denied", (name, r)
        refusals.add(r.json["message"])
    assert len(refusals) == 1 and "contributor" in refusals.pop()
    r = await api("GET", "notebook-parameters", params={"notebook": "params.ipynb"}, user=CONTRIBUTOR)
    assert r.code == 200 and r.json["has_parameters_cell"]
    r = await api("GET", "notebook-parameters", params={"notebook": "missing.ipynb"}, user=CONTRIBUTOR)
    assert r.code == 404 and str(jp_root_dir) not in r.json["message"]


async def test_readers_read_a_runs_details_and_only_contributors_edit_its_description(api, team, mlws_ws):
    for part in ("values", "cells", "lineage", "snapshot"):
        assert (await api("GET", "runs", team, part, user=READER)).code == 200, part
    r = await api("GET", "runs", team, "values", "acc", "0", "image", user=READER)
    assert r.code == 200 and r.headers["Content-Type"] == "image/png"
    r = await api("PATCH", "runs", team, body={"description": "mine now"}, user=READER)
    assert r.code == 403 and r.json["reason"] == "permission_denied"
    assert mlws_ws.runs.get(team).description == ""
    r = await api("PATCH", "runs", team, body={"description": "tuned"}, user=CONTRIBUTOR)
    assert r.code == 200 and r.json["description"] == "tuned"
    assert mlws_ws.runs.get(team).description == "tuned"
