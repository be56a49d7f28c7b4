"""Datastores through the SDK and the CLI, against real stores: moto's S3 on 127.0.0.1, the test
sshd's SFTP, local folders.  What a user sees: the records (never a credential), refusals that say
what to do and record nothing, the objects a datastore holds, roles."""

from __future__ import annotations

import json
import logging

import pytest
from click.testing import CliRunner

from jupyter_mlws.cli import main
from jupyter_mlws.errors import (
    AlreadyExists, Conflict, InvalidInput, NotFound, PermissionDenied, Unavailable,
)
from mlws_testing import leaks
from moto_s3 import SECRET


def _records(ws):
    return [(d["name"], d["url"], d["credentials_secret"]) for d in ws.datastores.list()]


def test_default_is_built_in_and_holds_objects(ws):
    (default,) = ws.datastores.list()
    assert default["name"] == "default" and default["builtin"] and default["scheme"] == "file"
    assert default["url"] == f"file://{ws.root}/datastores/default"
    store = ws.datastores.get("default")
    sha, size = store.objects.put_bytes(b"rows\n")
    assert (sha, size) == (__import__("hashlib").sha256(b"rows\n").hexdigest(), 5)
    assert (ws.root / "datastores" / "default" / ".mlws" / "objects" / sha[:2] / sha[2:]).read_bytes() == b"rows\n"
    assert store.join("train/a.csv") == f"{ws.root}/datastores/default/train/a.csv"
    with pytest.raises(Conflict, match="built in"):
        ws.datastores.delete("default")
    with pytest.raises(AlreadyExists, match="built in"):
        ws.datastores.register("default", "file:///tmp/x")


@pytest.mark.parametrize("rel", ["../x", "/etc/passwd", "a/../../b", "a\\..\\b", "%2e%2e/x", "C:/x"])
def test_a_path_in_a_datastore_cannot_leave_it(ws, rel):
    with pytest.raises(InvalidInput):
        ws.datastores.get("default").join(rel)


def test_s3_datastore_registered_with_a_secret_and_used(any_ws, moto_s3):
    ws = any_ws
    bucket = moto_s3.bucket()
    ws.secrets.set(ws.access.creator(), "lake-s3", moto_s3.credentials)
    record = ws.datastores.register("lake", moto_s3.url(bucket, "raw"), credentials_secret="lake-s3",
                                    description="raw files")
    assert record["url"] == f"s3://{bucket}/raw" and record["options"] == {"endpoint_url": moto_s3.endpoint}
    assert record["credentials_secret"] == "lake-s3" and record["created_by"] == ws.access.creator()
    assert [d["name"] for d in ws.datastores.list()] == ["default", "lake"]
    assert ws.datastores.get_record("lake") == record

    store = ws.datastores.get("lake")
    assert store.root == f"{bucket}/raw" and store.url == f"s3://{bucket}/raw"
    sha, size = store.objects.put_bytes(b"a,b\n1,2\n")
    assert moto_s3.fs().cat_file(f"{bucket}/raw/.mlws/objects/{sha[:2]}/{sha[2:]}") == b"a,b\n1,2\n"
    assert store.objects.exists(sha) and store.objects.size(sha) == size
    with store.objects.open(sha) as f:
        f.seek(4)
        assert f.read() == b"1,2\n"
    store.fs.pipe_file(store.join("tables/t.csv"), b"x\n")
    assert moto_s3.fs().cat_file(f"{bucket}/raw/tables/t.csv") == b"x\n"
    # the secret's reads are audited, its value never in a record
    assert any(e["action"] == "read" and e["name"] == "lake-s3" for e in ws.secrets.audit("lake-s3"))
    assert SECRET not in json.dumps(ws.datastores.list())

    ws.datastores.delete("lake")
    assert [d["name"] for d in ws.datastores.list()] == ["default"]
    with pytest.raises(NotFound, match="'mlws datastore list'"):
        ws.datastores.get("lake")


def _refused(ws, match, exc=InvalidInput, **kwargs):
    before = _records(ws)
    with pytest.raises(exc, match=match) as caught:
        ws.datastores.register(kwargs.pop("name", "d"), kwargs.pop("url"), **kwargs)
    assert _records(ws) == before  # nothing was recorded
    return str(caught.value)


@pytest.mark.parametrize("url, match", [
    ("s3://bkt/x?endpoint_url=http://169.254.169.254/", "169.254.169.254 is a cloud metadata address"),
    ("s3://bkt/x?endpoint_url=http://[fd00:ec2::254]/", "cloud metadata address"),
    ("s3://bkt/x?endpoint_url=http://100.100.100.200", "cloud metadata address"),
    ("s3://bkt/x?endpoint_url=http://metadata.google.internal", "cloud metadata address"),
    ("s3://bkt/x?endpoint_url=http://169.254.10.1:9000", "link-local address"),
    ("s3://bkt/x?endpoint_url=http://[::ffff:169.254.169.254]", "cloud metadata address"),
    ("s3://bkt/x?endpoint_url=http://2852039166/", "resolves to 169.254.169.254, a cloud metadata"),
    ("sftp://u@169.254.169.254/data", "cloud metadata address"),
    ("sftp://u@[fe80::1]/data", "link-local address"),
    ("ftp://host/x", "unknown datastore scheme 'ftp'"),
    ("s3://bkt/x?region=eu&token=abc", "unknown option 'token'"),
    ("s3://bkt/../x", "'..' segments"),
    ("s3://bkt/%2e%2e/x", "'..' segments"),
    ("s3://B!/x", "names no valid bucket"),
    ("file://host/x", "names a host"),
    ("file://", "file:///ABSOLUTE/PATH"),
    ("sftp://host/data", "needs a login"),
    ("s3://bkt/x?endpoint_url=ftp://h", "endpoint_url is an http"),
    ("s3://bkt/x y", "spaces"),
])
def test_refused_urls_say_why_and_record_nothing(ws, url, match):
    _refused(ws, match, url=url)


@pytest.mark.parametrize("url", [
    "s3://AKIAEXAMPLE:wJalrXUtnFEMIK7MDENG@bucket/x",
    "sftp://user:hunter2-password@127.0.0.1/data",
    "s3://bucket/x?endpoint_url=http://AKIAEXAMPLE:wJalrXUtnFEMIK7MDENG@127.0.0.1:9",
])
def test_credentials_in_a_url_are_refused_and_never_repeated(ws, url, caplog):
    caplog.set_level(logging.DEBUG)
    message = _refused(ws, "credentials", url=url)
    for secret in ("wJalrXUtnFEMIK7MDENG", "hunter2-password"):
        assert secret not in message and secret not in caplog.text
    assert "mlws secret set" in message or "--credentials-secret" in message


def test_bad_credentials_and_missing_buckets_record_nothing(ws, moto_s3):
    bucket = moto_s3.bucket()
    me = ws.access.creator()
    ws.secrets.set(me, "not-json", "just-a-password-value")
    ws.secrets.set(me, "no-secret-key", '{"key": "AKIAEXAMPLE"}')
    ws.secrets.set(me, "good", moto_s3.credentials)
    url = moto_s3.url(bucket)
    message = _refused(ws, "does not hold s3 credentials", url=url, credentials_secret="not-json")
    assert "just-a-password-value" not in message and '"key"' in message
    _refused(ws, "does not hold s3 credentials", url=url, credentials_secret="no-secret-key")
    _refused(ws, "no secret named 'missing'", NotFound, url=url, credentials_secret="missing")
    _refused(ws, "bucket or container 'nope-1' does not exist", url=moto_s3.url("nope-1"),
             credentials_secret="good")
    _refused(ws, "takes no credentials", url=f"file://{ws.root}/d", credentials_secret="good")
    ws.secrets.delete(me, "good")
    _refused(ws, "is deleted: recover it", Conflict, url=url, credentials_secret="good")
    # a store that does not answer: nothing is recorded, the reason is told
    ws.secrets.recover(me, "good")
    down = _refused(ws, "cannot be reached", Unavailable, url=f"s3://{bucket}?endpoint_url=http://127.0.0.1:9",
                    credentials_secret="good")
    assert "nothing was registered" in down
    ws.datastores.register("d", url, credentials_secret="good")
    _refused(ws, "datastore 'd' exists", AlreadyExists, name="d", url=url, credentials_secret="good")


def test_a_missing_backend_names_its_extra(ws):
    import importlib.util

    if importlib.util.find_spec("gcsfs") is not None:
        pytest.skip("gcsfs is installed here")
    _refused(ws, r"pip install 'jupyter_mlws\[gcs\]'", Unavailable, url="gs://bucket/x")


def test_credentials_never_reach_records_listings_logs_or_files(ws, moto_s3, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    bucket = moto_s3.bucket()
    ws.secrets.set(ws.access.creator(), "lake-s3", moto_s3.credentials)
    ws.datastores.register("lake", moto_s3.url(bucket), credentials_secret="lake-s3")
    store = ws.datastores.get("lake")
    store.objects.put_bytes(b"x" * 1000)
    runner = CliRunner()
    shown = [runner.invoke(main, ["-w", str(ws.root), "datastore", *args]).output
             for args in (["list"], ["list", "--json"], ["show", "lake"], ["show", "lake", "--json"])]
    assert all(SECRET not in text for text in shown)
    assert "secret lake-s3" in shown[2] and moto_s3.endpoint in shown[2]
    assert SECRET not in caplog.text and SECRET not in "".join(capfd.readouterr())
    assert SECRET not in repr(store) and SECRET not in str(ws.datastores.get_record("lake"))
    ws.close()
    # the workspace's files hold it encrypted only (the secrets' key file aside)
    assert [f for f in leaks(ws.root, SECRET) if not f.startswith(".mlws/secrets.key")] == []


def test_roles(ws, moto_s3):
    from jupyter_mlws.access import os_user

    me = os_user()
    ws.access.grant(me, "rita", "reader")
    ws.access.grant(me, "carl", "contributor")
    ws.secrets.set(me, "lake-s3", moto_s3.credentials)
    url = moto_s3.url(moto_s3.bucket())
    with pytest.raises(PermissionDenied):
        ws.datastores.register("lake", url, credentials_secret="lake-s3", user="rita")
    ws.datastores.register("lake", url, credentials_secret="lake-s3", user="carl")
    with pytest.raises(PermissionDenied, match="owner"):  # the server's own disk: owners only
        ws.datastores.register("open", f"file://{ws.root}/open", user="carl")
    ws.datastores.register("open", f"file://{ws.root}/open", user=me)
    assert ws.datastores.get("open", user="rita").root == f"{ws.root}/open"
    with pytest.raises(PermissionDenied):
        ws.datastores.get("lake", user="rita")  # its credentials are a secret's value
    ws.datastores.get("lake", user="rita", check_actor=False)  # a server acting for a reader
    for user in ("rita", "carl"):
        with pytest.raises(PermissionDenied, match="owner"):
            ws.datastores.delete("lake", user=user)
    ws.datastores.delete("lake", user=me)


def test_delete_is_refused_while_datasets_live_in_it(ws, monkeypatch):
    ws.datastores.register("local", f"file://{ws.root}/local")
    monkeypatch.setattr(ws.datastores, "_in_use", lambda name: ["train:1", "train:2"] if name == "local" else [])
    with pytest.raises(Conflict, match=r"holds dataset versions \(train:1, train:2\)"):
        ws.datastores.delete("local")
    assert [d["name"] for d in ws.datastores.list()] == ["default", "local"]


def test_sftp_datastore_verifies_the_host_key(ws, sshd, tmp_path):
    user, port = sshd.user, sshd.port
    ws.secrets.set(ws.access.creator(), "sftp-key", user.private_key)
    folder = f"{user.home}/mlws-sftp-{tmp_path.name}"
    url = f"sftp://{user.name}@127.0.0.1:{port}{folder}"
    # an unpinned host is refused, saying how to pin it
    _refused(ws, "is not pinned in the workspace: give --host-key", url=url, credentials_secret="sftp-key")
    # a wrong key: the connection is refused at the host key step, nothing is recorded or pinned
    from sshd import ed25519_pair

    wrong = " ".join(ed25519_pair()[1].split()[:2])
    message = _refused(ws, "host key", Unavailable, url=url, credentials_secret="sftp-key", host_key=wrong)
    assert not ws.compute.known_hosts.keys("127.0.0.1", port)
    assert user.private_key.splitlines()[1] not in message
    _refused(ws, "logs in with an SSH private key", url=url)
    record = ws.datastores.register("box", url, credentials_secret="sftp-key", host_key=sshd.host_key)
    assert record["url"] == url and record["host_key"] == sshd.host_key
    assert record["host_key_fingerprint"].startswith("SHA256:")
    with ws.datastores.get("box") as store:
        sha, _ = store.objects.put_bytes(b"over sftp\n")
        assert store.objects.read_bytes(sha) == b"over sftp\n"
        assert store.fs.ls(f"{folder}/.mlws/objects/{sha[:2]}") == [f"{folder}/.mlws/objects/{sha[:2]}/{sha[2:]}"]
        assert not store.fs.ls(f"{folder}/.mlws/objects/tmp")  # the temp was renamed into place
    # another key pinned for the same host is a conflict
    _refused(ws, "pins another key", Conflict, name="box2", url=url, credentials_secret="sftp-key",
             host_key=wrong)


def test_cli_register_list_show_delete(ws, moto_s3):
    bucket = moto_s3.bucket()
    ws.secrets.set(ws.access.creator(), "lake-s3", moto_s3.credentials)
    runner = CliRunner()

    def mlws(*args):
        return runner.invoke(main, ["-w", str(ws.root), "datastore", *args])

    done = mlws("register", "lake", moto_s3.url(bucket, "p"), "--credentials-secret", "lake-s3",
                "--description", "the lake")
    assert done.exit_code == 0 and done.output == f"datastore lake registered: s3://{bucket}/p\n"
    listed = mlws("list")
    assert listed.exit_code == 0 and "NAME" in listed.output and "lake-s3" in listed.output
    assert [d["name"] for d in json.loads(mlws("list", "--json").output)] == ["default", "lake"]
    shown = mlws("show", "lake")
    assert "endpoint_url" in shown.output and "the lake" in shown.output
    bad = mlws("register", "x", "s3://bkt?endpoint_url=http://169.254.169.254")
    assert bad.exit_code != 0 and "cloud metadata address" in bad.output
    assert mlws("delete", "default").exit_code != 0
    gone = mlws("delete", "lake")
    assert gone.exit_code == 0 and "files are left" in gone.output
    missing = mlws("show", "lake")
    assert missing.exit_code != 0 and "no datastore 'lake'" in missing.output


def test_a_machine_without_the_key_file_is_told_how_to_read_a_datastore_with_credentials(
        ws, moto_s3, tmp_path):
    """A teammate who joined by copying mlws.toml has no secrets key file: reading a dataset on
    a datastore with credentials says whose credentials are missing and how to read it."""
    from jupyter_mlws import Workspace

    bucket = moto_s3.bucket()
    ws.secrets.set(ws.access.creator(), "lake-s3", moto_s3.credentials)
    ws.datastores.register("lake", moto_s3.url(bucket, "raw"), credentials_secret="lake-s3")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.csv").write_text("x\n1\n")
    ws.datasets.register("t", tmp_path / "d", datastore="lake")
    root = ws.root
    ws.close()
    (root / ".mlws" / "secrets.key").rename(tmp_path / "elsewhere.key")
    with Workspace.open(root) as teammate:
        with pytest.raises(Unavailable) as refused:
            teammate.dataset("t:1").download(tmp_path / "out")
    message = str(refused.value)
    assert message.startswith("datastore 'lake''s credentials are the workspace secret 'lake-s3', "
                              "which is encrypted under the workspace's secrets key file (")
    assert ("this machine does not have it: read the datastore's data through the workspace "
            "server (MLWS_WORKSPACE=URL, or Workspace.connect(URL, token)), or copy the key file"
            in message)
    assert "restore the key file from a backup" not in message and str(tmp_path) not in message
    assert not (tmp_path / "out").exists()


def test_a_new_version_goes_to_the_datastore_of_the_latest_one_unless_told(ws, tmp_path):
    ws.datastores.register("lake", f"file://{tmp_path}/lake")
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("1\n")
    run = CliRunner().invoke

    def ok(*args):
        done = run(main, ["-w", str(ws.root), "dataset", "register", "t", str(src), *args])
        assert done.exit_code == 0, done.output
        return done.output

    assert ok("--datastore", "lake").startswith("registered t:1 in datastore lake: 1 file, ")
    (src / "a.txt").write_text("2\n")
    assert ok().startswith("registered t:2 in datastore lake: 1 file, ")
    assert ok().startswith("t:2 unchanged: the same 1 file (root ")
    assert [v.datastore for v in ws.datasets.versions("t")] == ["lake", "lake"]
    assert ok("--datastore", "default").startswith("registered t:3 in datastore default: ")
    (src / "a.txt").write_text("3\n")
    assert ws.datasets.register("t", src).version.datastore == "default"
    assert ws.datasets.register("new", src).version.datastore == "default"


def test_many_small_files_go_to_s3_with_one_request_each(ws, moto_s3, tmp_path):
    """Registering many files into an S3 datastore: the objects it lacks are found by one
    listing (a HEAD each when few), then each sent once, concurrently; progress is reported."""
    bucket = moto_s3.bucket()
    ws.secrets.set(ws.access.creator(), "lake-s3", moto_s3.credentials)
    ws.datastores.register("lake", moto_s3.url(bucket, "raw"), credentials_secret="lake-s3")
    src = tmp_path / "many"
    src.mkdir()
    for i in range(600):
        (src / f"f{i:04d}.txt").write_text(f"row {i}\n" * (i % 7 + 1))
    heard = []
    with moto_s3.recorded() as seen:
        done = ws.datasets.register("many", src, datastore="lake",
                                    progress=lambda *counts: heard.append(counts))
    methods = [m for m, _path in seen]
    assert (done.uploaded_files, methods.count("PUT")) == (600, 600)
    assert len(methods) - 600 <= 3  # the listing of the datastore's objects: no HEAD per object
    assert len(heard) == 600 and heard[-1] == (600, done.uploaded_bytes, 600, done.uploaded_bytes)
    assert done.upload_seconds > 0 and done.hash_seconds > 0
    dest = ws.dataset("many").download(tmp_path / "back")
    assert (dest / "f0599.txt").read_text() == "row 599\n" * 5

    for i in range(5):  # a few changed files: a HEAD each at most, a PUT each
        (src / f"f{i:04d}.txt").write_text(f"changed {i}\n")
    with moto_s3.recorded() as seen:
        again = ws.datasets.register("many", src)
    methods = [m for m, _path in seen]
    assert again.version.ref == "many:2" and again.version.datastore == "lake"
    assert (again.uploaded_files, methods.count("PUT"), methods.count("HEAD")) == (5, 5, 5)


def test_a_file_changed_before_its_upload_is_not_stored(ws, moto_s3, tmp_path):
    from jupyter_mlws.store.blobs import batch

    bucket = moto_s3.bucket()
    ws.secrets.set(ws.access.creator(), "lake-s3", moto_s3.credentials)
    ws.datastores.register("lake", moto_s3.url(bucket, "raw"), credentials_secret="lake-s3")
    objects = ws.datastores.get("lake").objects
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text("good\n")
    bad.write_text("now different\n")
    listed_sha = __import__("hashlib").sha256(b"as hashed\n").hexdigest()
    good_sha = __import__("hashlib").sha256(b"good\n").hexdigest()
    files = [batch.LocalFile(str(good), good_sha, 5, "good.txt"),
             batch.LocalFile(str(bad), listed_sha, 10, "bad.txt")]
    assert batch.missing(objects, [good_sha, listed_sha]) == {good_sha, listed_sha}
    with pytest.raises(Conflict, match="bad.txt changed"):
        batch.put_files(objects, files, changed=lambda f: Conflict(f"{f.shown} changed"))
    assert not objects.exists(listed_sha)
    assert batch.missing(objects, [good_sha, listed_sha]) <= {good_sha, listed_sha}


def test_an_s3_datastore_without_credentials_is_told_how_to_give_them(ws, moto_s3, monkeypatch,
                                                                      tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(Unavailable) as refused:
        ws.datastores.register("lake", moto_s3.url(moto_s3.bucket(), "raw"))
    message = str(refused.value)
    assert "Unable to locate credentials; store its credentials in a workspace secret" in message
    assert "(--credentials-secret NAME), or give this machine's own" in message
    assert message.endswith("nothing was registered")
    assert [d["name"] for d in ws.datastores.list()] == ["default"]
