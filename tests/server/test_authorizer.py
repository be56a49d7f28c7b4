"""The workspace roles are a Jupyter Authorizer around the deployer's: that one still decides
first (and alone for Jupyter's own resources); unknown workspace resources are denied."""

from __future__ import annotations

import pytest
from jupyter_server.auth.authorizer import Authorizer


class NoRunChanges(Authorizer):
    """A deployer's policy: nobody changes runs through Jupyter, whatever their role."""

    def is_authorized(self, handler, user, action, resource):
        return not (resource == "mlws:runs" and action == "write")


@pytest.fixture
def mlws_config():
    return {"ServerApp": {"authorizer_class": NoRunChanges}}


def _run(ws):
    with ws.experiment("e").start_run(snapshot=False, outputs=None) as run:
        run.log("acc", 0.5)
    return run.id


async def test_the_deployers_authorizer_still_decides_first(api, mlws_ws, mlws_app):
    from jupyter_mlws.server.authorizer import WorkspaceAuthorizer

    authorizer = mlws_app.serverapp.web_app.settings["authorizer"]
    assert isinstance(authorizer, WorkspaceAuthorizer) and isinstance(authorizer.base, NoRunChanges)
    run_id = _run(mlws_ws)
    # on a personal server everyone acts as owner, yet the deployer's policy refuses the change
    assert (await api("GET", "runs", run_id)).code == 200
    r = await api("PATCH", "runs", run_id, "tags", body={"set": {"x": "1"}})
    assert r.code == 403 and r.json["reason"] == "permission_denied"
    assert "x" not in mlws_ws.get_run(run_id).tags
    # what it allows, the roles allow too
    assert (await api("PUT", "models", "m", "aliases", "a", body={"version": 1})).code == 404


async def test_unknown_workspace_resources_are_denied(mlws_app, jp_fetch):
    from jupyter_server.auth.identity import User

    authorizer = mlws_app.serverapp.web_app.settings["authorizer"]

    class Request:
        method = "GET"

    class Handler:
        request = Request()

    owner = User("someone")
    assert await authorizer.is_authorized(Handler(), owner, "read", "mlws:runs") is True
    assert await authorizer.is_authorized(Handler(), owner, "read", "mlws:vms") is True
    assert await authorizer.is_authorized(Handler(), owner, "read", "mlws:clusters") is False  # not a concept
    assert await authorizer.is_authorized(Handler(), owner, "read", "mlws:") is False
    # Jupyter's own resources are the deployer's authorizer's alone
    assert await authorizer.is_authorized(Handler(), owner, "read", "contents") is True
    assert (await jp_fetch("api", "status")).code == 200
