"""The roles of jupyter_mlws.access (core, no server) and the 'mlws access' commands.

(They sit with the server tests because this change owns tests/server/; tests/test_access.py
is their natural home.)
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from jupyter_mlws import Conflict, InvalidInput, NotFound, PermissionDenied
from jupyter_mlws.access import os_user
from jupyter_mlws.cli import main
from jupyter_mlws.store import migrations


@pytest.fixture
def ws(tmp_path, monkeypatch):
    from jupyter_mlws import Workspace

    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    workspace = Workspace.create(tmp_path / "ws")
    yield workspace
    workspace.close()


def test_the_creator_is_owner_until_roles_are_assigned(ws):
    me = os_user()
    assert ws.access.creator() == me
    assert ws.access.role_of(me) == "owner" and ws.access.role_of("bob") is None
    assert ws.access.assignments() == [dict(user=me, role="owner", granted_by="", granted_at=None)]
    ws.access.grant(me, "bob", "reader")
    assert ws.access.role_of(me) == "owner"  # the first grant keeps the creator an owner
    assert {a["user"]: a["role"] for a in ws.access.assignments()} == {me: "owner", "bob": "reader"}


def test_role_rules(ws):
    me = os_user()
    ws.access.grant(me, "carol", "Contributor")
    ws.access.grant(me, "rita", "reader")
    assert ws.access.require("carol", "write", "runs") == "contributor"
    assert not ws.access.allows("carol", "admin") and ws.access.allows("rita", "read")
    with pytest.raises(PermissionDenied, match="needs contributor"):
        ws.access.require("rita", "write", "endpoints")
    with pytest.raises(PermissionDenied, match="no role"):
        ws.access.require("nobody", "read")
    with pytest.raises(PermissionDenied, match="only an owner"):
        ws.access.grant("carol", "carol", "owner")
    with pytest.raises(InvalidInput, match="unknown role"):
        ws.access.grant(me, "x", "admin")
    with pytest.raises(InvalidInput):
        ws.access.grant(me, "bad\nname", "reader")
    with pytest.raises(NotFound):
        ws.access.revoke(me, "ghost")
    with pytest.raises(Conflict, match="last owner"):
        ws.access.revoke(me, me)
    with pytest.raises(Conflict, match="last owner"):
        ws.access.grant(me, me, "reader")
    ws.access.grant(me, "alice", "owner")
    ws.access.grant("alice", me, "reader")  # another owner remains: allowed
    assert ws.access.role_of(me) == "reader"


def test_migrations_are_consecutive():
    assert [v for v, _d, _f in migrations.MIGRATIONS] == list(range(1, migrations.LATEST + 1))


def test_cli_access(ws):
    runner = CliRunner()
    base = ["--workspace", str(ws.root), "access"]
    r = runner.invoke(main, base + ["grant", "bob", "reader"])
    assert r.exit_code == 0 and "bob is now reader" in r.output
    r = runner.invoke(main, base + ["list", "--json"])
    assert {a["user"]: a["role"] for a in json.loads(r.output)}["bob"] == "reader"
    r = runner.invoke(main, base + ["grant", "bob", "boss"])
    assert r.exit_code == 2 and "unknown role" in r.output
    r = runner.invoke(main, base + ["revoke", os_user()])
    assert r.exit_code == 5 and "last owner" in r.output
    r = runner.invoke(main, base + ["revoke", "bob"])
    assert r.exit_code == 0
    ws.access.grant(os_user(), "alice", "owner")
    ws.access.grant("alice", os_user(), "reader")
    r = runner.invoke(main, base + ["grant", "eve", "owner"])
    assert r.exit_code == 6 and "only an owner" in r.output
