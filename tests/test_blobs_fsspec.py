"""FsspecBlobStore on a filesystem whose writes are not atomic (fsspec's local one, as SFTP) and on
moto's S3: a blob appears only whole, is stored once, and a dead writer's leftovers are swept."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest
from fsspec.implementations.local import LocalFileSystem

from jupyter_mlws.errors import NotFound
from jupyter_mlws.store.blobs.fsspec import FsspecBlobStore
from jupyter_mlws.store.blobs.temps import this_host


@pytest.fixture
def store(tmp_path):
    return FsspecBlobStore(LocalFileSystem(), str(tmp_path / "blobs"), shown="file:///blobs")


def _stored_files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_a_blob_is_stored_once_and_read_as_a_stream(store, tmp_path):
    assert not store.atomic
    sha, size = store.put_chunks([b"a" * 10, b"b" * 5])
    assert (sha, size) == (hashlib.sha256(b"a" * 10 + b"b" * 5).hexdigest(), 15)
    assert store.put_bytes(b"a" * 10 + b"b" * 5) == (sha, 15)
    assert _stored_files(tmp_path / "blobs") == [f"{sha[:2]}/{sha[2:]}"]
    assert store.exists(sha) and store.size(sha) == 15 and list(store.ids()) == [sha]
    with store.open(sha) as f:
        f.seek(10)
        assert f.read() == b"b" * 5
    with pytest.raises(NotFound, match="missing from the blob store file:///blobs"):
        store.open("0" * 64)


def test_a_failing_source_stores_nothing(store, tmp_path):
    def chunks():
        yield b"half of it"
        raise OSError("the source broke")

    with pytest.raises(OSError, match="the source broke"):
        store.put_chunks(chunks())
    assert _stored_files(tmp_path / "blobs") == []
    assert list(store.ids()) == []


_KILLED_WRITER = """
import os, sys
from fsspec.implementations.local import LocalFileSystem
from jupyter_mlws.store.blobs.fsspec import FsspecBlobStore
def chunks():
    yield b"x" * 1000
    print("writing", flush=True)
    os.kill(os.getpid(), 9)
FsspecBlobStore(LocalFileSystem(), sys.argv[1]).put_chunks(chunks())
"""


def test_a_writer_killed_mid_way_leaves_no_blob_and_its_temp_is_swept(store, tmp_path):
    done = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(tmp_path / "blobs")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -9 and "writing" in done.stdout
    left = _stored_files(tmp_path / "blobs")
    assert len(left) == 1 and left[0].startswith(f"tmp/{this_host()}_")  # a temp, never a blob
    assert list(store.ids()) == []
    live = tmp_path / "blobs" / "tmp" / f"{this_host()}_{os.getpid()}_live"
    live.write_bytes(b"a writer at work")
    assert store.remove_stale_temps() == 1
    assert _stored_files(tmp_path / "blobs") == [f"tmp/{live.name}"]  # the live writer's stays


def test_on_s3_an_existing_blob_is_not_uploaded_again(moto_s3, tmp_path, monkeypatch):
    store = FsspecBlobStore(moto_s3.fs(), f"{moto_s3.bucket()}/blobs", spool_dir=tmp_path / "spool")
    (tmp_path / "spool").mkdir()
    assert store.atomic
    uploads = []
    put = store.fs.put_file
    monkeypatch.setattr(store.fs, "put_file", lambda *a, **k: uploads.append(a) or put(*a, **k))
    (tmp_path / "f.bin").write_bytes(b"z" * 5000)
    first = store.put_file(tmp_path / "f.bin")
    assert store.put_file(tmp_path / "f.bin") == first
    assert store.put_chunks([b"z" * 2500, b"z" * 2500]) == first
    assert len(uploads) == 1
    assert os.listdir(tmp_path / "spool") == []  # spooled streams are removed once stored
