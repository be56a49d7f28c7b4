"""Who an action over REST (a browser's, an API client's) is recorded as on a personal server
(roles not enforced): the Jupyter user's name where the sign-in gives one, and for Jupyter's
anonymous token users (a random id and a random "Anonymous <moon>" per browser and per API
request) the server's OS user, as its CLI and kernels record it ("root", never "root (Jupyter)"
in one place and "root" in another): never a random id.  A team server records the username,
what its roles are granted to (tests/server/test_compute_api.py)."""

from __future__ import annotations

import pytest
from jupyter_server.auth.identity import IdentityProvider, User

from jupyter_mlws.access import os_user


async def test_an_anonymous_token_user_is_recorded_as_the_servers_os_user(api, mlws_ws):
    label = os_user()
    r = await api("PUT", "secrets", "api-token", body={"value": "s3cret-value-1"})
    assert r.code == 200 and r.json["created_by"] == label, r.json
    r = await api("POST", "compute", body={"name": "cluster", "type": "dask",
                                           "address": "tcp://127.0.0.1:8786"})
    assert r.code == 201 and r.json["created_by"] == label, r.json
    assert (await api("DELETE", "secrets", "api-token")).code == 200
    audit = await api("GET", "secrets-audit")
    assert [(e["action"], e["user"]) for e in audit.json["entries"]] == [("delete", label),
                                                                         ("set", label)], audit.json


async def test_the_browser_and_the_cli_record_one_name_for_one_person(api, mlws_ws):
    """Pages showed "root (Jupyter)" for what the browser did beside "root" for the same
    person's CLI commands and runs."""
    r = await api("PUT", "secrets", "from-browser", body={"value": "s3cret-value-1"})
    assert r.code == 200
    mlws_ws.secrets.set(os_user(), "from-cli", "s3cret-value-2")  # as `mlws secret set` does
    r = await api("POST", "experiments", "e", "runs", body={"host": "laptop"})
    listed = (await api("GET", "secrets")).json["secrets"]
    assert {s["name"]: s["created_by"] for s in listed} == {"from-browser": os_user(),
                                                             "from-cli": os_user()}, listed
    assert r.json["user"] == os_user()
    # the Access tab's "you" and a user token's maker and revoker: the same name, never
    # Jupyter's random anonymous id
    you = (await api("GET", "access")).json["you"]
    assert you["user"] == you["display_name"] == os_user() and you["role"] == "owner", you
    r = await api("POST", "tokens", body={"note": "mine"})  # for yourself: the OS user, an owner
    assert r.code == 201 and r.json["user"] == r.json["created_by"] == os_user(), r.json
    revoked = (await api("DELETE", "tokens", r.json["id"])).json
    assert revoked["revoked_by"] == os_user() and revoked["state"] == "revoked", revoked


NAMED = "Ada Lovelace"


class NamedTokenUser(IdentityProvider):
    """Jupyter's token sign-in naming its user (as JupyterHub's or an OAuth provider's does)."""

    def generate_anonymous_user(self, handler):
        return User("ada", name=NAMED, display_name="Ada")


@pytest.mark.parametrize("mlws_config", [{"ServerApp": {"identity_provider_class": NamedTokenUser}}])
async def test_a_named_jupyter_user_is_recorded_by_name(api, mlws_ws, mlws_config):
    r = await api("PUT", "secrets", "api-token", body={"value": "s3cret-value-1"})
    assert r.code == 200 and r.json["created_by"] == NAMED, r.json


async def test_a_schedule_made_in_the_browser_is_owned_by_a_readable_label(api, mlws_ws, jp_root_dir):
    """A newcomer's Schedules page showed "owner: 59a2b4df..." (Jupyter's anonymous id)."""
    from schedule_support import notebook

    notebook(jp_root_dir / "nb.ipynb")
    r = await api("POST", "schedules", body={"name": "nightly", "notebook": "nb.ipynb",
                                             "cron": "0 6 * * *", "tz": "UTC"})
    assert r.code == 201 and r.json["owner"] == os_user(), r.json


async def test_runs_made_over_rest_record_who_made_them(api, mlws_ws):
    """A personal server's anonymous token user starts runs as the server's OS user (as the runs
    its kernels start); a named Jupyter user as their name (tests/test_team_tokens.py: a team's)."""
    r = await api("POST", "experiments", "e", "runs", body={"host": "laptop"})
    assert r.code == 201 and r.json["user"] == os_user(), r.json


@pytest.mark.parametrize("mlws_config", [{"ServerApp": {"identity_provider_class": NamedTokenUser}}])
async def test_a_named_users_runs_are_theirs(api, mlws_ws, mlws_config):
    r = await api("POST", "experiments", "e", "runs", body={"host": "laptop"})
    assert r.code == 201 and r.json["user"] == NAMED, r.json
    assert [run.id for run in mlws_ws.search_runs(f"user = '{NAMED}'")] == [r.json["id"]]


async def test_a_user_token_has_its_users_role_on_a_personal_server(api, mlws_ws):
    """Roles not enforced (everyone signed in to Jupyter acts as owner), a user's API token still
    carries its user's role: it was made for a teammate."""
    mlws_ws.access.grant(os_user(), "bob", "reader")
    token = mlws_ws.access.tokens.create("bob")["token"]
    bob = {"Authorization": f"token {token}"}
    r = await api("GET", "workspace", headers=bob)
    assert r.code == 200 and r.json["you"] == {"user": "bob", "role": "reader"}, r.json
    r = await api("POST", "experiments", "e", "runs", body={}, headers=bob)
    assert r.code == 403 and "user 'bob' has the role reader" in r.json["message"], r.json
    assert token not in r.json["message"]


@pytest.mark.parametrize("mlws_config", [{"MlwsApp": {"enforce_roles": True}}])
async def test_the_servers_token_is_the_servers_os_user_on_a_team_server(api, mlws_ws, mlws_config):
    """Not a random "Anonymous" user per request, whom no role could be granted to."""
    r = await api("GET", "workspace")
    assert r.code == 200 and r.json["you"] == {"user": os_user(), "role": "owner"}, r.json
    r = await api("POST", "experiments", "e", "runs", body={})
    assert r.code == 201 and r.json["user"] == os_user()


@pytest.mark.parametrize("mlws_config", [{"MlwsApp": {"enforce_roles": True}}])
async def test_with_sign_in_disabled_nobody_is_the_servers_os_user(api, mlws_ws, mlws_config,
                                                                    jp_serverapp, monkeypatch):
    monkeypatch.setattr(jp_serverapp.identity_provider, "token", "")  # no token, no password
    assert not jp_serverapp.identity_provider.auth_enabled
    r = await api("GET", "workspace")
    assert r.code == 403 and "has no role in this workspace" in r.json["message"], r.json
