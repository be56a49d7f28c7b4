"""Users' API tokens in the core (:mod:`jupyter_mlws.access.tokens`): who may make, list and
revoke whose, their lifetime, and that the store keeps only a hash (the server's side:
tests/test_team_tokens.py, against a real ``mlws server``)."""

from __future__ import annotations

import pytest

from jupyter_mlws import Workspace, bearer
from jupyter_mlws.access import os_user
from jupyter_mlws.errors import InvalidInput, NotFound, PermissionDenied
from jupyter_mlws.store import schema as S


@pytest.fixture
def ws(tmp_path):
    ws = Workspace.create(tmp_path / "ws")
    for user, role in (("alice", "contributor"), ("bob", "reader")):
        ws.access.grant(os_user(), user, role)
    yield ws
    ws.close()


def test_a_token_is_shown_once_and_stored_as_its_hash(ws):
    made = ws.access.tokens.create("alice", note="laptop", expires="30d")
    assert made["token"].startswith("mlws_user_") and made["state"] == "active"
    assert made["expires_at"] - made["created_at"] == 30 * 86400 * 1000
    assert ws.access.tokens.verify(made["token"]) == "alice"
    with ws.db.read() as conn:
        rows = conn.execute(S.user_tokens.select()).mappings().all()
    assert [r["token_hash"] for r in rows] == [bearer.digest(made["token"])]
    assert all(made["token"] not in str(v) for r in rows for v in r.values())
    listed = ws.access.tokens.list()
    assert "token" not in listed[0] and listed[0]["last_used_at"] is not None
    assert (ws.root / "mlws.db").read_bytes().find(made["token"].encode()) == -1


@pytest.mark.parametrize("options, message", [
    ({"expires": "10m"}, "expires must be from 1h to 366d, got 10m"),
    ({"expires": "400d"}, "expires must be from 1h to 366d, got 400d"),
    ({"expires": "soon"}, "expires is a duration such as 90s, 30m, 2h or 1d"),
    ({"note": "x" * 201}, "a token's note is text of at most 200 characters"),
])
def test_bad_input_makes_no_token(ws, options, message):
    with pytest.raises(InvalidInput, match=message):
        ws.access.tokens.create("alice", **options)
    assert ws.access.tokens.list() == []


def test_who_manages_whose_tokens(ws):
    with pytest.raises(InvalidInput, match="user 'carol' has no role in this workspace"):
        ws.access.tokens.create("carol")
    mine = ws.access.tokens.create("alice", actor="alice")  # a contributor: her own
    with pytest.raises(PermissionDenied, match="only an owner creates tokens for other users"):
        ws.access.tokens.create("bob", actor="alice")
    with pytest.raises(PermissionDenied, match="user 'bob' has the role reader"):
        ws.access.tokens.create("bob", actor="bob")  # a reader's are an owner's to make
    bobs = ws.access.tokens.create("bob")  # by the owner
    assert [t["id"] for t in ws.access.tokens.list(actor="bob")] == [bobs["id"]]
    with pytest.raises(PermissionDenied, match="only an owner lists other users' tokens"):
        ws.access.tokens.list("bob", actor="alice")
    with pytest.raises(NotFound, match=f"no user token '{bobs['id']}'"):
        ws.access.tokens.revoke(bobs["id"], actor="alice")
    with pytest.raises(PermissionDenied, match="user 'bob' has the role reader"):
        ws.access.tokens.revoke(bobs["id"], actor="bob")
    assert ws.access.tokens.revoke(mine["id"], actor="alice")["state"] == "revoked"
    assert {t["id"]: t["state"] for t in ws.access.tokens.list()} == {
        mine["id"]: "revoked", bobs["id"]: "active"}


def test_a_revoked_or_expired_token_is_refused_naming_it_not_showing_it(ws):
    made = ws.access.tokens.create("alice")
    ws.db.transact(lambda conn: conn.execute(
        S.user_tokens.update().values(expires_at=1)))
    with pytest.raises(PermissionDenied) as info:
        ws.access.tokens.verify(made["token"])
    assert str(info.value) == (f"user token {made['id']} of 'alice' has expired: create a new one "
                               "('mlws access token create USER')")
    other = ws.access.tokens.create("alice")
    ws.access.tokens.revoke(other["id"])
    with pytest.raises(PermissionDenied, match=f"user token {other['id']} of 'alice' was revoked"):
        ws.access.tokens.verify(other["token"])
    for bad in ("", "mlws_run_" + "x" * 40, "mlws_user_" + "x" * 43):
        with pytest.raises(PermissionDenied, match="not known to the workspace"):
            ws.access.tokens.verify(bad)
