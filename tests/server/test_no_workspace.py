"""A server whose folder holds no workspace creates none and says how to make one."""

from __future__ import annotations

import pytest


@pytest.fixture
def mlws_config(tmp_path):
    return {"MlwsApp": {"workspace": str(tmp_path / "empty")}}


async def test_no_workspace_is_a_clear_404(api, tmp_path):
    for route in (("workspace",), ("runs",), ("models",)):
        r = await api("GET", *route)
        assert r.code == 404 and r.json["reason"] == "not_found"
        assert "mlws workspace create" in r.json["message"]
        assert str(tmp_path) not in r.json["message"]
    assert not (tmp_path / "empty").exists()
