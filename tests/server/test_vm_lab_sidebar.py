"""The JupyterLab of a notebook VM: its workspace is reached over HTTP (MLWS_WORKSPACE is a URL),
so the workspace API there says whose VM this is and where the workspace's pages are, instead of
"no workspace is open on this server: create one ..." (what its sidebar showed in red)."""

from __future__ import annotations

import pytest


@pytest.fixture
def mlws_config():
    return {"MlwsApp": {"workspace": ""}}  # as on a VM: MLWS_WORKSPACE only


@pytest.fixture(autouse=True)
def on_a_vm(mlws_ws, monkeypatch):  # after mlws_ws, which clears MLWS_WORKSPACE
    monkeypatch.setenv("MLWS_WORKSPACE", "http://127.0.0.1:9/")
    monkeypatch.setenv("MLWS_VM", "box")
    monkeypatch.setenv("MLWS_VM_WORKSPACE", "team-ws")


async def test_a_vms_jupyterlab_says_it_is_one_not_create_a_workspace(api):
    for route in (("workspace",), ("runs",), ("vms",)):
        r = await api("GET", *route)
        assert r.code == 404, r
        message = r.json["message"]
        assert message.startswith("this JupyterLab is notebook VM 'box' of workspace 'team-ws': "
                                  "its notebooks record into that workspace"), message
        assert "on the workspace's own JupyterLab" in message
        assert "mlws workspace create" not in message and "127.0.0.1:9" not in message
