"""Run-scoped tokens: issued once, stored as a hash, valid for their runs only while they run."""

from __future__ import annotations

import hashlib

import pytest

from jupyter_mlws.errors import Conflict, InvalidInput, NotFound, PermissionDenied


def _running(ws, name="r"):
    return ws.experiment("tok").start_run(name, snapshot=False, outputs=None)


def test_a_token_names_its_run_and_only_its_hash_is_stored(ws):
    run = _running(ws)
    token = ws.run_tokens.issue(run.id)
    assert token.startswith("mlws_run_") and len(token) > 40
    assert ws.run_tokens.verify(token) == run.id
    assert ws.run_tokens.issue(run.id) != token  # each issue is a new token
    stored = (ws.root / "mlws.db").read_bytes() + b"".join(
        p.read_bytes() for p in ws.root.glob("mlws.db-*"))
    assert token.encode() not in stored
    assert hashlib.sha256(token.encode()).hexdigest().encode() in stored
    run.end()


def test_a_token_dies_with_its_run_whatever_ends_it(ws):
    for how in ("completed", "failed", "canceled"):
        run = _running(ws, how)
        token = ws.run_tokens.issue(run.id)
        if how == "canceled":
            ws.cancel_run(run.id)
            run.end()  # the handle learns it was canceled
        else:
            run.end(how)
        with pytest.raises(PermissionDenied) as refused:
            ws.run_tokens.verify(token)
        assert f"run {run.id} has ended ({how})" in str(refused.value)
        assert token not in str(refused.value)
    with pytest.raises(Conflict, match="has ended"):
        ws.run_tokens.issue(run.id)


def test_expired_revoked_unknown_and_malformed_tokens_are_refused(any_ws, monkeypatch):
    from jupyter_mlws import run_tokens

    ws = any_ws
    run = _running(ws)
    token = ws.run_tokens.issue(run.id, ttl=60)
    later = run_tokens.now_ms() + 61_000
    monkeypatch.setattr(run_tokens, "now_ms", lambda: later)
    with pytest.raises(PermissionDenied, match="has expired"):
        ws.run_tokens.verify(token)
    monkeypatch.undo()
    assert ws.run_tokens.verify(token) == run.id
    assert ws.run_tokens.revoke(run.id) == 1
    with pytest.raises(PermissionDenied, match="was revoked"):
        ws.run_tokens.verify(token)
    for bad in ("mlws_run_" + "x" * 43, token[:-1] + ("A" if token[-1] != "A" else "B"), "",
                "token", None, 42):
        with pytest.raises(PermissionDenied, match="not known to the workspace"):
            ws.run_tokens.verify(bad)
    for ttl in (0, -1, 31 * 86400, float("nan"), True, "60"):
        with pytest.raises(InvalidInput, match="ttl"):
            ws.run_tokens.issue(run.id, ttl=ttl)
    with pytest.raises(NotFound):
        ws.run_tokens.issue("feedfacefeedface")
    run.end()


def test_a_token_covers_its_run_and_the_runs_below_it_only(any_ws):
    ws = any_ws
    top = _running(ws, "top")
    child = top.child("child")
    grandchild = child.child("grandchild")
    other = _running(ws, "other")
    covers = ws.run_tokens.covers
    assert covers(top.id, top.id) and covers(top.id, child.id) and covers(top.id, grandchild.id)
    assert covers(top.id, grandchild.id[:6])  # a unique prefix names the run too
    assert covers(child.id, grandchild.id) and not covers(child.id, top.id)
    assert not covers(top.id, other.id) and not covers(other.id, child.id)
    assert not covers(top.id, "feedfacefeedface") and not covers(top.id, "") and not covers(top.id, None)
    for run in (grandchild, child, top, other):
        run.end()
