"""Artifacts on object storage, against moto's S3 on 127.0.0.1: a workspace created with
``--artifacts s3://...`` keeps runs' files, snapshots, models and endpoints' scripts there (and
nothing in a local blob folder); ``mlws workspace move-artifacts`` copies a workspace's blobs
there resumably, checking each, and switches its config; an upload killed mid-way leaves no
object."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_mlws import Workspace
from jupyter_mlws.cli import main
from jupyter_mlws.errors import Conflict, InvalidInput, Unavailable
from mlws_testing import iris_model, wait_for

SCRIPTS = Path(__file__).parent / "endpoint_scripts"


def _blob_keys(moto_s3, bucket: str, prefix: str) -> set[str]:
    fs = moto_s3.fs()
    return {"".join(k.split("/")[-2:]) for k in fs.find(f"{bucket}/{prefix}/blobs")}


def test_runs_snapshots_models_and_endpoints_live_on_s3(moto_s3, aws_env, tmp_path, monkeypatch):
    bucket = moto_s3.bucket()
    url = moto_s3.url(bucket, "team")
    made = CliRunner().invoke(main, ["workspace", "create", str(tmp_path / "ws"), "--artifacts", url])
    assert made.exit_code == 0, made.output
    project = tmp_path / "project"
    project.mkdir()
    (project / "train.py").write_text("print('training')\n")
    monkeypatch.chdir(project)
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.describe()["artifacts"] == f"s3://{bucket}/team"
        big = os.urandom(3_000_000)
        (project / "weights.bin").write_bytes(big)
        with ws.experiment("iris").start_run(snapshot=project) as run:
            run.upload_file("out/weights.bin", project / "weights.bin")
        files = {f["path"]: f for f in ws.get_run(run.id).files()}
        assert files["out/weights.bin"]["size"] == len(big)
        snapshot = {f["path"] for f in ws.runs.files(run.id, "snapshot")}
        assert "train.py" in snapshot
        iris_model(tmp_path / "model")
        version = ws.register_model("iris", tmp_path / "model")
        # every blob the records name is in the bucket, none on local disk
        named = {f["sha256"] for kind in ("artifact", "snapshot") for f in ws.runs.files(run.id, kind)}
        named |= {f["sha256"] for f in version.files}
        assert named <= _blob_keys(moto_s3, bucket, "team")
        assert not (tmp_path / "ws" / "artifacts" / "blobs").exists()
        # read back: a run's artifact and a model, streamed from S3 into local files
        ws.get_run(run.id).download("out", tmp_path / "dl")
        assert (tmp_path / "dl" / "out" / "weights.bin").read_bytes() == big
        ws.models.download("iris:1", tmp_path / "model-dl")
        assert (tmp_path / "model-dl" / "model.pkl").read_bytes() == (tmp_path / "model" / "model.pkl").read_bytes()
        # an endpoint's scoring script is a blob too: the endpoint runs from what S3 holds
        info = ws.deploy("iris:1", "echo", SCRIPTS / "score_echo.py", workers=1)
        try:
            script_sha = info["deployments"][0]["entry_script_sha256"]
            assert script_sha in _blob_keys(moto_s3, bucket, "team")
            from test_endpoints import call

            status, _, out = call(info, {"data": [1]}, key=ws.endpoints.keys("echo")["primary"])
            assert status == 200 and out == {"echo": {"data": [1]}, "version": "green"}
        finally:
            ws.endpoints.delete("echo")
    # no credential in the workspace's files
    text = (tmp_path / "ws" / "mlws.toml").read_text()
    assert moto_s3.env["AWS_SECRET_ACCESS_KEY"] not in text and f"s3://{bucket}/team" in text


def test_create_refuses_an_unreachable_or_refused_store_and_creates_nothing(moto_s3, aws_env, tmp_path):
    with pytest.raises(InvalidInput, match="cloud metadata address"):
        Workspace.create(tmp_path / "a", artifacts="s3://bkt/x?endpoint_url=http://169.254.169.254")
    with pytest.raises(InvalidInput, match="does not exist"):
        Workspace.create(tmp_path / "b", artifacts=moto_s3.url("no-such-bucket-1"))
    with pytest.raises(InvalidInput, match="cannot live on sftp"):
        Workspace.create(tmp_path / "c", artifacts="sftp://u@127.0.0.1/x")
    for name in "abc":
        assert not (tmp_path / name / "mlws.toml").exists()


def test_a_missing_blob_or_a_store_that_stops_answering_says_so(moto_s3, aws_env, tmp_path):
    bucket = moto_s3.bucket()
    with Workspace.create(tmp_path / "ws", artifacts=moto_s3.url(bucket)) as ws:
        with ws.experiment("e").start_run(snapshot=False) as run:
            run.upload_file("a.txt", _file(tmp_path / "a.txt", b"abc"))
        sha = ws.get_run(run.id).files()[0]["sha256"]
        moto_s3.fs().rm_file(f"{bucket}/blobs/{sha[:2]}/{sha[2:]}")
        with pytest.raises(Exception, match=f"blob {sha[:12]} is missing from the blob store s3://{bucket}/blobs"):
            ws.get_run(run.id).download(None, tmp_path / "dl")
    from jupyter_mlws.artifact_store import blob_store_at

    down = blob_store_at(f"s3://{bucket}?endpoint_url=http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(Unavailable, match=f"the blob store s3://{bucket}/blobs failed") as caught:
        down.put_bytes(b"new")
    assert "nothing of this write was stored" in str(caught.value)
    assert moto_s3.env["AWS_SECRET_ACCESS_KEY"] not in str(caught.value)


def _file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _local_ws_with_runs(tmp_path: Path, n: int = 5) -> tuple[Workspace, dict]:
    ws = Workspace.create(tmp_path / "ws")
    contents = {}
    for i in range(n):
        with ws.experiment("e").start_run(snapshot=False) as run:
            data = os.urandom(200_000 + i)
            run.upload_file(f"f{i}.bin", _file(tmp_path / f"f{i}.bin", data))
            contents[run.id] = data
    return ws, contents


def test_move_artifacts_copies_checks_and_switches(moto_s3, aws_env, tmp_path):
    ws, contents = _local_ws_with_runs(tmp_path)
    local = set(ws.blobs.ids())
    bucket = moto_s3.bucket()
    url = moto_s3.url(bucket, "moved")
    ws.close()
    out = CliRunner().invoke(main, ["-w", str(tmp_path / "ws"), "workspace", "move-artifacts", url, "--json"])
    assert out.exit_code == 0, out.output
    moved = json.loads(out.output)
    assert moved == {"blobs": len(local), "copied": len(local), "bytes": moved["bytes"],
                     "artifacts": f"s3://{bucket}/moved", "default_datastore": {
                         "url": f"s3://{bucket}/moved/datastores/default", "objects": 0,
                         "copied": 0, "bytes": 0}}
    assert moved["bytes"] == sum(200_000 + i for i in range(5))
    assert _blob_keys(moto_s3, bucket, "moved") == local
    with Workspace.open(tmp_path / "ws") as again:
        assert again.describe()["artifacts"] == f"s3://{bucket}/moved"
        for run_id, data in contents.items():
            with again.artifacts.open(run_id, again.get_run(run_id).files()[0]["path"]) as f:
                assert f.read() == data
        with pytest.raises(Conflict, match="there already"):
            again.move_artifacts(url)


def test_an_interrupted_move_resumes_and_a_damaged_blob_stops_it(moto_s3, aws_env, tmp_path):
    from jupyter_mlws.artifact_store import blob_store_at, move_blobs

    ws, _ = _local_ws_with_runs(tmp_path, n=6)
    bucket = moto_s3.bucket()
    target = blob_store_at(moto_s3.url(bucket))
    seen = []

    def interrupt(sha, size, copied):
        seen.append(sha)
        if len(seen) == 3:
            raise KeyboardInterrupt  # Ctrl-C, a dropped connection: the move stops here

    with pytest.raises(KeyboardInterrupt):
        move_blobs(ws.blobs, target, on_blob=interrupt)
    assert (tmp_path / "ws" / "mlws.toml").read_text().count("s3://") == 0  # nothing switched
    again = move_blobs(ws.blobs, target)
    assert again["copied"] == again["blobs"] - 3  # only what was missing
    # a blob whose bytes no longer match its sha256 is not copied, and stops the move
    victim = sorted(ws.blobs.ids())[0]
    moto_s3.fs().rm_file(target.key(victim))
    ws.blobs.path(victim).write_bytes(b"bit rot")
    with pytest.raises(Conflict, match=f"blob {victim[:12]} in the old artifact store does not match"):
        ws.move_artifacts(moto_s3.url(bucket))
    assert not target.exists(victim)
    assert "s3://" not in (tmp_path / "ws" / "mlws.toml").read_text()
    ws.close()


def test_move_artifacts_moves_the_default_datastores_dataset_files(moto_s3, aws_env, tmp_path):
    """The default datastore lives beside the blobs: moved to S3, its datasets' objects go too
    (resumably: a second move elsewhere copies only what is missing), and every dataset reads."""
    with Workspace.create(tmp_path / "ws") as ws:
        folder = tmp_path / "data"
        folder.mkdir()
        for i in range(3):
            (folder / f"f{i}.txt").write_text(f"file {i}\n")
        ws.datasets.register("train", folder)
        (folder / "f0.txt").write_text("changed\n")
        ws.datasets.register("train", folder)
    bucket = moto_s3.bucket()
    url = moto_s3.url(bucket, "moved")
    out = CliRunner().invoke(main, ["-w", str(tmp_path / "ws"), "workspace", "move-artifacts", url])
    assert out.exit_code == 0, out.output
    assert (f"datastore default now in s3://{bucket}/moved/datastores/default: 4 of 4 objects "
            "(datasets' files) copied") in out.stdout
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.datastores.get("default").url == f"s3://{bucket}/moved/datastores/default"
        for ref, first in (("train:1", "file 0\n"), ("train:2", "changed\n")):
            dest = ws.dataset(ref).download(tmp_path / ref.replace(":", "-"))
            assert (dest / "f0.txt").read_text() == first
            assert (dest / "f2.txt").read_text() == "file 2\n"
        # back to a folder: the default datastore is the workspace's own folder again, which
        # still holds the 4 objects (the old place is left as it was): none copied again
        back = ws.move_artifacts(str(tmp_path / "back"))
    assert (back["default_datastore"]["objects"], back["default_datastore"]["copied"]) == (4, 0)
    with Workspace.open(tmp_path / "ws") as ws:
        assert (ws.dataset("train:2").download(tmp_path / "again") / "f0.txt").read_text() == "changed\n"


_UPLOADER = textwrap.dedent("""
    import sys
    from jupyter_mlws import Workspace
    ws = Workspace.open(sys.argv[1])
    with ws.experiment("e").start_run(snapshot=False) as run:
        print(run.id, flush=True)
        run.upload_file("big.bin", sys.argv[2])
""")


def test_an_upload_killed_mid_way_leaves_no_object(moto_s3, aws_env, tmp_path):
    """kill -9 while a 120 MB file is being uploaded as a multipart upload: no blob appears (whole
    or partial), the run records no file, and the next upload of the same file stores it whole."""
    bucket = moto_s3.bucket()
    Workspace.create(tmp_path / "ws", artifacts=moto_s3.url(bucket)).close()
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for _ in range(120):
            f.write(os.urandom(1 << 20))
    sha = hashlib.sha256(big.read_bytes()).hexdigest()
    proc = subprocess.Popen([sys.executable, "-c", _UPLOADER, str(tmp_path / "ws"), str(big)],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    run_id = proc.stdout.readline().strip()
    import boto3  # s3fs's client is async: a plain one to look with

    s3 = boto3.client("s3", endpoint_url=moto_s3.endpoint)
    def uploading():  # the upload under way: a multipart upload with at least one part sent
        uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        return uploads and s3.list_parts(Bucket=bucket, Key=uploads[0]["Key"],
                                         UploadId=uploads[0]["UploadId"]).get("Parts")
    wait_for(uploading, "a multipart upload with a part sent", timeout=120)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    proc.stdout.close()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == []  # nothing visible: not the blob, not a part of it
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.get_run(run_id).files() == []
        assert not ws.blobs.exists(sha)
        with ws.experiment("e").start_run(snapshot=False) as run:
            run.upload_file("big.bin", big)
        assert ws.blobs.exists(sha) and ws.blobs.size(sha) == big.stat().st_size
        assert s3.head_object(Bucket=bucket, Key=f"blobs/{sha[:2]}/{sha[2:]}")["ContentLength"] == 120 << 20
