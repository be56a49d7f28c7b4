"""Resource exhaustion and failing stores, on real filesystems and servers: a full disk, a
read-only workspace folder, an unreachable PostgreSQL server, an upload killed mid-way.

Each is one clear error of the workspace's tree that names what is wrong (relative to the
workspace) and what to do; the write that met it changed nothing, and the same Workspace object
works again once the cause is gone.  The filesystems are real tmpfs mounts (root only).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
from mlws_testing import fill, remount, small_filesystem, unmount

from jupyter_mlws import Workspace
from jupyter_mlws.errors import InsufficientStorage, InvalidInput, Unavailable


@pytest.fixture
def small_fs(tmp_path, monkeypatch):
    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    monkeypatch.delenv("MLWS_RUN_ID", raising=False)
    fs = small_filesystem(tmp_path / "fs", size_mb=8)
    yield fs
    unmount(fs)


def _cli(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("MLWS_WORKSPACE", "MLWS_RUN_ID")}
    return subprocess.run([sys.executable, "-m", "jupyter_mlws.cli", *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120)


def _plain(message: str, fs) -> None:
    """A message a user can act on: no driver's text, no server path."""
    assert "sqlalche" not in message and "OperationalError" not in message
    assert str(fs) not in message


def test_a_full_disk_is_one_clear_error_and_the_workspace_works_again_once_space_is_freed(
        small_fs, tmp_path):
    ws = Workspace.create(small_fs / "ws")
    run = ws.experiment("e").start_run(snapshot=False)
    run.log("before", 1.0)
    run.flush()
    (tmp_path / "model.bin").write_bytes(os.urandom(100_000))
    filler = fill(small_fs)

    with pytest.raises(InsufficientStorage) as batch:
        run.log_batch("loss", [float(i) for i in range(20_000)])
    message = str(batch.value)
    assert message.startswith("no space left on the device holding the workspace database (mlws.db)")
    assert "free space there, then try again" in message
    assert "nothing of this change was written" in message
    _plain(message, small_fs)
    with pytest.raises(InsufficientStorage, match=r"artifact store \(artifacts/blobs\).*nothing "
                                                  r"of this file was stored") as upload:
        run.upload_file("model.bin", tmp_path / "model.bin")
    _plain(str(upload.value), small_fs)
    assert os.listdir(small_fs / "ws" / "artifacts" / "blobs" / "tmp") == []  # no half blob
    for step in range(10_000):
        run.log("acc", step / 10_000, step=step)
    with pytest.raises(InsufficientStorage, match="the 10000 points not yet written are kept"):
        run.flush()
    # nothing was half-written, and what was recorded before is intact
    assert "loss" not in ws.get_run(run.id).metrics
    assert [p[2] for p in ws.runs.metric_history(run.id, "before")] == [1.0]
    # the CLI: one line and its exit code for a full disk
    proc = _cli("-w", small_fs / "ws", "model", "register", "m", "--path", tmp_path / "model.bin",
                cwd=tmp_path)
    assert proc.returncode == 9, proc.stderr
    assert proc.stderr.startswith("error: no space left on the device holding the workspace's "
                                  "artifact store (artifacts/blobs)")
    assert "Traceback" not in proc.stderr
    # a process logging to the run through mlws.log (as under 'mlws run start'): one line at exit
    child = subprocess.run(
        [sys.executable, "-c", "import jupyter_mlws as mlws\nfor i in range(5000): mlws.log('c', i)"],
        env={**os.environ, "MLWS_WORKSPACE": str(ws.root), "MLWS_RUN_ID": run.id},
        capture_output=True, text=True, timeout=120)
    assert child.returncode == 0
    assert child.stderr == (f"mlws: the last points of run {run.id} were not written: no space left "
                            "on the device holding the workspace database (mlws.db): free space "
                            "there, then try again (the workspace needs no restart); nothing of this "
                            "change was written, and what was recorded before is intact\n")

    filler.unlink()  # space is freed: the same objects work again, nothing to restart
    time.sleep(1.5)  # the writer's background retry may come first: it then raises nothing
    assert run.log_batch("loss", [float(i) for i in range(20_000)]) == 20_000
    run.upload_file("model.bin", tmp_path / "model.bin")
    run.end()
    got = ws.get_run(run.id)
    assert got.status == "completed"
    assert len(got.metric_history("loss")) == 20_000
    assert len(got.metric_history("acc")) == 10_000  # the points kept while the disk was full
    assert [f["path"] for f in got.files("artifact")] == ["model.bin"]
    ws.close()


def test_a_read_only_workspace_folder_is_told_apart_from_a_damaged_database(small_fs, tmp_path):
    Workspace.create(small_fs / "ws").close()
    remount(small_fs, "ro")
    try:
        with pytest.raises(Unavailable) as opened:
            Workspace.open(small_fs / "ws")
        proc = _cli("-w", small_fs / "ws", "run", "list", cwd=tmp_path)
    finally:
        remount(small_fs, "rw")
    message = str(opened.value)
    assert message == ("the workspace folder is read-only (its filesystem is mounted read-only), "
                       "so its database mlws.db cannot be opened for writing (SQLite writes its "
                       "-wal and -shm files beside it): mount the folder read-write, then try "
                       "again; nothing recorded was lost")
    assert "backup" not in message and "damaged" not in message
    _plain(message, small_fs)
    assert proc.returncode == 7 and proc.stderr == f"error: {message}\n"
    Workspace.open(small_fs / "ws").close()  # writable again: it opens

    # the database file alone read-only (bind-mounted so): it reads, and a write says why not
    db = small_fs / "ws" / "mlws.db"
    subprocess.run(["mount", "--bind", db, db], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", db], check=True)
        with Workspace.open(small_fs / "ws") as ws:
            assert ws.describe()["runs"] == 0
            with pytest.raises(Unavailable) as write:
                ws.experiment("e").start_run(snapshot=False)
    finally:
        subprocess.run(["umount", db], check=True)
    assert str(write.value) == ("the workspace file mlws.db is read-only (its filesystem is mounted "
                                "read-only): mount it read-write, then try again; nothing recorded "
                                "was lost")

    # a damaged database says so, names the file, and only it says to restore a backup
    (small_fs / "ws" / "mlws.db").write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (small_fs / "ws" / f"mlws.db{suffix}").unlink(missing_ok=True)
    with pytest.raises(InvalidInput) as damaged:
        Workspace.open(small_fs / "ws")
    assert str(damaged.value) == (
        "the workspace database mlws.db cannot be read (file is not a database): it is damaged "
        "or not a jupyter_mlws workspace; restore it from a backup")


def test_an_unreachable_postgresql_server_is_unavailable_without_its_password(tmp_path, monkeypatch):
    pytest.importorskip("psycopg")
    from jupyter_mlws import config as C

    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = tmp_path / "team"
    root.mkdir()
    C.write_new(C.WorkspaceConfig(root=root, name="team",
                                  metadata=f"postgresql+psycopg://mlws:s3cret@127.0.0.1:{port}/mlws"))
    with pytest.raises(Unavailable) as opened:
        Workspace.open(root)
    message = str(opened.value)
    assert message.startswith(f"cannot reach the workspace's PostgreSQL database at 127.0.0.1:{port}/mlws")
    assert "Connection refused" in message and "check that the server is running" in message
    assert "s3cret" not in message and "sqlalche" not in message
    proc = _cli("-w", root, "run", "list", cwd=tmp_path)
    assert proc.returncode == 7 and "s3cret" not in proc.stderr + proc.stdout
    assert proc.stderr == f"error: {message}\n"


# -- temp files of uploads killed mid-way ---------------------------------------------------

UPLOAD = """
import sys, time
from jupyter_mlws import Workspace
ws = Workspace.open(sys.argv[1])
def chunks():
    for i in range(int(sys.argv[2])):
        yield b"x" * (1 << 20)
    print("written", flush=True)
    time.sleep(120)  # killed here, mid-upload
    yield b"end"
ws.blobs.put_chunks(chunks())
"""


def _start_upload(ws, tmp_path, mb):
    script = tmp_path / "upload.py"
    script.write_text(textwrap.dedent(UPLOAD))
    proc = subprocess.Popen([sys.executable, str(script), str(ws.root), str(mb)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "written\n"
    return proc


def test_an_upload_killed_mid_way_leaves_no_temp_file_once_the_workspace_opens(ws, tmp_path):
    tmp = ws.root / "artifacts" / "blobs" / "tmp"
    live = _start_upload(ws, tmp_path, 1)  # a writer still at work beside the killed one
    try:
        killed = _start_upload(ws, tmp_path, 11)
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        killed.stdout.close()
        sizes = sorted(f.stat().st_size for f in tmp.iterdir())
        assert sizes == [1 << 20, 11 << 20]
        # another host's temp file (a shared artifact store) and one named by an older version:
        # removed once not written for an hour, kept while fresh
        old, fresh = tmp / "otherhost.1_1234_abc", tmp / "tmpfresh"
        for path in (old, fresh, tmp / "tmpold"):
            path.write_bytes(b"partial")
        hour_ago = time.time() - 3700
        for path in (old, tmp / "tmpold"):
            os.utime(path, (hour_ago, hour_ago))

        Workspace.open(ws.root).close()
        left = sorted(f.name for f in tmp.iterdir())
        assert "tmpfresh" in left and len(left) == 2  # the fresh file and the live writer's
        assert sorted(f.stat().st_size for f in tmp.iterdir()) == [7, 1 << 20]
    finally:
        live.kill()
        live.wait()
        live.stdout.close()
