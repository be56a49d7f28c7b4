"""The workspace's secrets in the core and the SDK: storage, versions, soft delete, retention,
rotation, roles, audit and the masking rules (jupyter_mlws/secrets/)."""

from __future__ import annotations

import base64
import os
import sqlite3
import stat
import urllib.parse

import pytest

from jupyter_mlws import Workspace
from jupyter_mlws.access import os_user
from jupyter_mlws.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unavailable
from jupyter_mlws.secrets.masking import MaskedBytes, MaskedStream, Masker, mask_message
from jupyter_mlws.secrets.names import parse_bindings

VALUE = "pa55/w0rd+x=?&-CANARY-7f3c"
DAY = 86400.0


class Clock:
    """A clock the test moves (seconds since the epoch)."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def me():
    return os_user()


@pytest.fixture
def clock(ws):
    ws.secrets.clock = clock = Clock()
    return clock


def _db_bytes(ws) -> bytes:
    root = ws.root
    return b"".join(p.read_bytes() for p in root.glob("mlws.db*"))


def test_values_are_versioned_and_encrypted_at_rest_under_a_private_key_file(ws, me):
    info = ws.secrets.set(me, "db-password", VALUE)
    assert (info["name"], info["version"], info["state"]) == ("db-password", 1, "active")
    assert ws.secrets.set(me, "db-password", "second-value")["version"] == 2
    assert ws.get_secret("db-password") == "second-value"
    assert ws.get_secret("db-password", version=1) == VALUE
    key = ws.root / ".mlws" / "secrets.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) & 0o077 == 0
    # neither the value nor its common encodings is anywhere in the database files
    raw = _db_bytes(ws)
    for form in (VALUE, base64.b64encode(VALUE.encode()).decode(), urllib.parse.quote(VALUE, safe="")):
        assert form.encode() not in raw
    assert VALUE.encode() not in key.read_bytes()
    shown = ws.secrets.show("db-password")
    assert [v["version"] for v in shown["versions"]] == [2, 1]
    assert VALUE not in str(shown) and VALUE not in str(ws.secrets.list())
    assert [s["name"] for s in ws.secrets.list()] == ["db-password"]
    with pytest.raises(NotFound, match="no version 3"):
        ws.get_secret("db-password", version=3)


def test_a_ciphertext_moved_to_another_name_or_version_does_not_decrypt(ws, me):
    ws.secrets.set(me, "a-secret", VALUE)
    ws.secrets.set(me, "b-secret", "other-value")
    db = sqlite3.connect(ws.root / "mlws.db")
    blob = db.execute("SELECT ciphertext FROM secret_versions v JOIN secrets s ON s.pk = v.secret_pk "
                      "WHERE s.name = 'a-secret'").fetchone()[0]
    db.execute("UPDATE secret_versions SET ciphertext = ? WHERE secret_pk = "
               "(SELECT pk FROM secrets WHERE name = 'b-secret')", (blob,))
    db.commit()
    db.close()
    with pytest.raises(Unavailable, match="does not decrypt") as refused:
        ws.get_secret("b-secret")
    assert VALUE not in str(refused.value)


def test_names_values_and_bindings_are_checked_and_messages_never_quote_a_value(ws, me):
    for bad in ("", "9lives", "a b", "x" * 128, "a/b", "é"):
        with pytest.raises(InvalidInput, match="invalid secret name"):
            ws.secrets.set(me, bad, VALUE)
    for bad, reason in (("abc", "shorter than 4"), ("ab\0cdef", "NUL"),
                        ("x" * (64 << 10) + "y", "over the limit"),
                        ("\ud800abcd", "lone surrogate"), (b"bytes-value", "must be text")):
        with pytest.raises(InvalidInput, match=reason) as refused:
            ws.secrets.set(me, "ok-name", bad)
        assert "abcd" not in str(refused.value) and "xxxx" not in str(refused.value)
    assert ws.secrets.list() == []
    assert parse_bindings(["db-password", "api=API_TOKEN"]) == {"db_password": "db-password",
                                                                 "API_TOKEN": "api"}
    for bad, reason in ((["x=PATH"], "cannot be injected"), (["x=MLWS_RUN_ID"], "cannot be injected"),
                        (["x=1A"], "invalid environment variable"), (["a=V", "b=V"], "both be injected"),
                        ([f"s{i}" for i in range(101)], "over the limit"), ([3], "NAME=ENVVAR")):
        with pytest.raises(InvalidInput, match=reason):
            parse_bindings(bad)


def test_soft_delete_recover_purge_and_conflicts(ws, me, clock):
    ws.secrets.set(me, "token", VALUE)
    gone = ws.secrets.delete(me, "token")
    assert gone["state"] == "deleted" and gone["purge_at"] == int((clock.now + 7 * DAY) * 1000)
    assert ws.secrets.list() == [] and [s["name"] for s in ws.secrets.list(deleted=True)] == ["token"]
    with pytest.raises(Conflict, match="recover it with 'mlws secret recover token'.*purge"):
        ws.secrets.set(me, "token", "new-value")
    with pytest.raises(Conflict, match="is deleted"):
        ws.get_secret("token")
    with pytest.raises(Conflict, match="deleted already"):
        ws.secrets.delete(me, "token")
    assert ws.secrets.recover(me, "token")["state"] == "active"
    assert ws.get_secret("token") == VALUE  # every version came back
    with pytest.raises(Conflict, match="not deleted"):
        ws.secrets.recover(me, "token")
    with pytest.raises(Conflict, match="delete it first"):
        ws.secrets.purge(me, "token")
    ws.secrets.delete(me, "token")
    ws.secrets.purge(me, "token")
    with pytest.raises(NotFound):
        ws.secrets.show("token")
    assert ws.secrets.set(me, "token", "fresh-value")["version"] == 1  # the name is free again
    actions = [e["action"] for e in ws.secrets.audit("token")][::-1]
    assert actions == ["set", "delete", "recover", "read", "delete", "purge", "set"]


def test_a_deleted_secret_is_purged_once_its_retention_has_passed(ws, me, clock):
    ws.secrets.set(me, "old", VALUE)
    ws.secrets.delete(me, "old")
    clock.now += 7 * DAY - 1
    assert [s["name"] for s in ws.secrets.list(deleted=True)] == ["old"]
    assert ws.secrets.recover(me, "old")["state"] == "active"  # just in time
    ws.secrets.delete(me, "old")
    clock.now += 7 * DAY + 1
    assert ws.secrets.list(deleted=True) == []
    with pytest.raises(NotFound):
        ws.secrets.recover(me, "old")
    assert ws.secrets.set(me, "old", "a-new-value")["version"] == 1  # purged on the way
    assert any(e["action"] == "expire" for e in ws.secrets.audit("old"))
    assert "ciphertext" not in str(ws.secrets.audit("old"))
    with sqlite3.connect(ws.root / "mlws.db") as db:
        assert db.execute("SELECT count(*) FROM secret_versions").fetchone()[0] == 1


def test_retention_is_the_workspaces_setting(tmp_path, me):
    (tmp_path / "w").mkdir()
    ws = Workspace.create(tmp_path / "w")
    ws.close()
    toml = tmp_path / "w" / "mlws.toml"
    toml.write_text(toml.read_text().replace("secret_retention_days = 7.0", "secret_retention_days = 1.5"))
    with Workspace.open(tmp_path / "w") as ws:
        ws.secrets.clock = clock = Clock()
        ws.secrets.set(me, "t-1", VALUE)
        assert ws.secrets.delete(me, "t-1")["purge_at"] == int((clock.now + 1.5 * DAY) * 1000)


def test_roles_readers_never_read_values_contributors_change_owners_purge_and_rotate(ws, me):
    ws.access.grant(me, "carol", "contributor")
    ws.access.grant(me, "rita", "reader")
    ws.secrets.set("carol", "shared", VALUE)
    assert ws.secrets.read("carol", "shared") == VALUE
    for call in (lambda: ws.secrets.read("rita", "shared"),
                 lambda: ws.secrets.set("rita", "shared", "abcdef"),
                 lambda: ws.secrets.delete("rita", "shared"),
                 lambda: ws.secrets.bind("rita", "r1", ["shared"]),
                 lambda: ws.secrets.read("stranger", "shared")):
        with pytest.raises(PermissionDenied, match="contributor or above"):
            call()
    assert ws.secrets.list()[0]["name"] == "shared"  # metadata is for readers too
    ws.secrets.delete("carol", "shared")
    for call in (lambda: ws.secrets.purge("carol", "shared"), lambda: ws.secrets.rotate_key("carol")):
        with pytest.raises(PermissionDenied, match="needs owner"):
            call()
    ws.secrets.recover("carol", "shared")
    reads = [(e["user"], e["action"]) for e in ws.secrets.audit("shared")]
    assert ("carol", "read") in reads and ("rita", "read") not in reads


def test_every_read_is_audited_with_who_when_and_which_run(ws, me, clock):
    ws.secrets.set(me, "api", VALUE)
    with ws.experiment("e").start_run(snapshot=False, outputs=None) as run:
        assert ws.get_secret("api") == VALUE
    entry = ws.secrets.audit("api")[0]
    assert entry == {"name": "api", "action": "read", "version": 1, "user": me, "run_id": run.id,
                     "ts": int(clock.now * 1000)}
    assert VALUE not in repr(ws.secrets.audit())


def test_code_in_a_run_reads_only_the_secrets_the_run_was_given(ws, me, monkeypatch):
    ws.secrets.set(me, "given", VALUE)
    ws.secrets.set(me, "other", "other-value")
    with ws.experiment("e").start_run(snapshot=False, outputs=None) as run:
        pass
    ws.secrets.bind(me, run.id, ["given=GIVEN"])
    monkeypatch.setenv("MLWS_RUN_ID", run.id)
    assert ws.get_secret("given") == VALUE
    with pytest.raises(PermissionDenied, match="was not given secret 'other'.*--secret other"):
        ws.get_secret("other")
    assert ws.secrets.audit("given")[0]["run_id"] == run.id
    assert ws.secrets.env_for_run(run.id) == {"GIVEN": VALUE}


def test_rotation_re_encrypts_everything_and_readers_keep_working(ws, me, tmp_path):
    for i in range(5):
        ws.secrets.set(me, f"s{i}", f"value-number-{i}")
    ws.secrets.set(me, "s0", "value-number-0-v2")
    other = Workspace.open(ws.root)  # another process's view: it read the key before the rotation
    assert other.get_secret("s1") == "value-number-1"
    old = ws.secrets.count_versions()
    done = ws.secrets.rotate_key(me, batch=2)
    assert done["re_encrypted"] == 6 and set(ws.secrets.count_versions()) == {done["key_id"]} != set(old)
    keyfile = (ws.root / ".mlws" / "secrets.key").read_text()
    assert done["key_id"] in keyfile and list(old)[0] not in keyfile  # the old key is gone
    assert stat.S_IMODE((ws.root / ".mlws" / "secrets.key").stat().st_mode) == 0o600
    assert other.get_secret("s1") == "value-number-1"  # reads the new key file when it meets its id
    other.secrets.set(me, "s9", "written-after")   # and writes under the new key
    assert set(ws.secrets.count_versions()) == {done["key_id"]}
    fresh = Workspace.open(ws.root)
    assert [fresh.get_secret(f"s{i}") for i in range(5)] == ["value-number-0-v2"] + [
        f"value-number-{i}" for i in range(1, 5)]
    assert fresh.get_secret("s0", version=1) == "value-number-0"
    other.close()
    fresh.close()


def test_an_interrupted_rotation_is_finished_by_the_next(ws, me, monkeypatch):
    from jupyter_mlws.secrets import rotation

    for i in range(3):
        ws.secrets.set(me, f"s{i}", f"value-number-{i}")
    calls = []

    def crash(conn, vault, primary, batch):
        if calls:
            raise KeyboardInterrupt  # the process dies after one batch
        calls.append(primary)
        return original(conn, vault, primary, batch)

    original = rotation._re_encrypt
    monkeypatch.setattr(rotation, "_re_encrypt", crash)
    with pytest.raises(KeyboardInterrupt):
        ws.secrets.rotate_key(me, batch=1)
    monkeypatch.setattr(rotation, "_re_encrypt", original)
    # meanwhile both keys decrypt, and new values go under the new key
    assert len(ws.secrets.count_versions()) == 2
    assert [Workspace.open(ws.root).get_secret(f"s{i}") for i in range(3)] == [
        f"value-number-{i}" for i in range(3)]
    done = ws.secrets.rotate_key(me)
    assert done["key_id"] == calls[0] and done["re_encrypted"] == 2
    assert set(ws.secrets.count_versions()) == {calls[0]}


def test_a_missing_or_open_key_file_is_a_clear_error(ws, me):
    ws.secrets.set(me, "s1", VALUE)
    key = ws.root / ".mlws" / "secrets.key"
    os.chmod(key, 0o644)
    with pytest.raises(Unavailable, match=r"may be read by other users \(mode 0644\).*chmod 600") as err:
        Workspace.open(ws.root).get_secret("s1")
    assert str(ws.root) not in str(err.value)
    os.chmod(key, 0o600)
    key.rename(key.with_suffix(".moved"))
    fresh = Workspace.open(ws.root)
    for call in (lambda: fresh.get_secret("s1"), lambda: fresh.secrets.set(me, "s2", VALUE)):
        with pytest.raises(Unavailable, match="key file .*missing.*restore"):
            call()
    assert not key.exists()  # never silently replaced by a new key
    fresh.close()


def test_backup_keeps_the_key_with_mode_0600(ws, me, tmp_path):
    ws.secrets.set(me, "s1", VALUE)
    dest = ws.backup(tmp_path / "copy")
    assert stat.S_IMODE((dest / ".mlws" / "secrets.key").stat().st_mode) == 0o600
    with Workspace.open(dest) as copy:
        assert copy.get_secret("s1") == VALUE


# -- masking ---------------------------------------------------------------------------------


def test_the_masker_covers_the_value_and_its_encodings():
    masker = Masker([VALUE])
    encoded = [VALUE, repr(VALUE), base64.b64encode(VALUE.encode()).decode(),
               base64.urlsafe_b64encode(VALUE.encode()).decode(), urllib.parse.quote(VALUE, safe=""),
               urllib.parse.quote_plus(VALUE), urllib.parse.quote(VALUE)]
    for shift in ("", "u", "us", "use", "user:"):  # inside the base64 of a longer text
        encoded.append(base64.b64encode((shift + VALUE + "!tail").encode()).decode())
    for text in encoded:
        masked = masker.text(f"<{text}>")
        assert VALUE not in masked and "***" in masked, text
        for form in encoded[:7]:
            assert form not in masked
    assert masker.text("nothing to see") == "nothing to see"
    assert masker.bytes(f"x{VALUE}y".encode()) == b"x***y"
    multi = Masker(["-----BEGIN KEY-----\nAAAAB3NzaC1yc2E\nZZZZ-end-line\n-----END KEY-----\n"])
    assert multi.text("AAAAB3NzaC1yc2E") == "***"  # a private key printed line by line


def test_a_value_split_over_writes_is_still_masked():
    stream = MaskedStream(Masker([VALUE]))
    out = "".join(stream.write(piece) for piece in ("start ", VALUE[:5], VALUE[5:12], VALUE[12:], " end"))
    out += stream.flush()
    assert out == "start *** end"
    stream = MaskedStream(Masker([VALUE]))
    assert stream.write("plain text\n") == "plain text\n"  # nothing that could begin a value waits
    raw = MaskedBytes(Masker([VALUE]))
    data = f"é {VALUE} \xff".encode("utf-8")
    out = b"".join(raw.write(data[i:i + 3]) for i in range(0, len(data), 3)) + raw.flush()
    assert out == "é *** \xff".encode("utf-8")


def test_jupyter_messages_are_masked_but_images_are_left_alone():
    masker = Masker([VALUE])
    png = base64.b64encode(b"\x89PNG" + VALUE.encode()).decode()
    msgs = [{"msg_type": "stream", "content": {"name": "stdout", "text": f"v={VALUE}\n"}},
            {"msg_type": "error", "content": {"ename": "E", "evalue": VALUE, "traceback": [f"E: {VALUE}"]}},
            {"msg_type": "display_data", "content": {"data": {"text/plain": repr(VALUE), "image/png": png,
                                                              "application/json": {"k": [VALUE]}}}}]
    for msg in msgs:
        mask_message(masker, msg)
    assert VALUE not in str([m["content"] for m in msgs[:2]])
    assert msgs[2]["content"]["data"] == {"text/plain": "'***'", "image/png": png,
                                          "application/json": {"k": ["***"]}}


def test_secrets_on_each_store(any_ws, me):
    """SQLite and PostgreSQL alike: versions, the encrypting key's lock, rotation, soft delete."""
    any_ws.secrets.set(me, "s1", VALUE)
    any_ws.secrets.set(me, "s1", VALUE + "-2")
    assert any_ws.secrets.rotate_key(me)["re_encrypted"] == 2
    assert any_ws.get_secret("s1", version=1) == VALUE and any_ws.get_secret("s1") == VALUE + "-2"
    any_ws.secrets.delete(me, "s1")
    any_ws.secrets.purge(me, "s1")
    assert any_ws.secrets.list(deleted=True) == [] and any_ws.secrets.count_versions() == {}
    assert (any_ws.root / ".mlws" / "secrets.key").is_file()  # apart from the database, wherever it is
