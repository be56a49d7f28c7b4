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


def test_on_s3_an_existing_blob_is_not_uploaded_again(moto_s3, tmp_path):
    bucket = moto_s3.bucket()
    store = FsspecBlobStore(moto_s3.fs(), f"{bucket}/blobs", spool_dir=tmp_path / "spool")
    (tmp_path / "spool").mkdir()
    assert store.atomic
    (tmp_path / "f.bin").write_bytes(b"z" * 5000)
    with moto_s3.recorded() as seen:
        first = store.put_file(tmp_path / "f.bin")
    key = f"{moto_s3.endpoint}/{bucket}/blobs/{first[0][:2]}/{first[0][2:]}"
    assert seen == [("HEAD", key), ("PUT", key)]  # one lookup (no listing), one upload
    with moto_s3.recorded() as seen:
        assert store.put_file(tmp_path / "f.bin") == first
        assert store.put_chunks([b"z" * 2500, b"z" * 2500]) == first
        assert store.put_bytes(b"z" * 5000) == first
    assert seen == [("HEAD", key)] * 3
    assert os.listdir(tmp_path / "spool") == []  # spooled streams are removed once stored


def test_on_s3_a_large_file_goes_through_the_backend_and_a_changed_one_is_refused(
        moto_s3, tmp_path, monkeypatch):
    import jupyter_mlws.store.blobs.fsspec as F
    from jupyter_mlws.errors import Conflict

    monkeypatch.setattr(F, "IN_MEMORY_MAX", 1000)  # past it: hashed, then the backend's put_file
    store = FsspecBlobStore(moto_s3.fs(), f"{moto_s3.bucket()}/blobs")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(5000))
    sha, size = store.put_file(big)
    assert (sha, size) == (hashlib.sha256(big.read_bytes()).hexdigest(), 5000)
    assert store.read_bytes(sha) == big.read_bytes()

    put = store.fs.put_file

    def written_meanwhile(local, remote, **kwargs):  # another process appends during the upload
        put(local, remote, **kwargs)
        with open(local, "ab") as f:
            f.write(b"more")

    monkeypatch.setattr(store.fs, "put_file", written_meanwhile)
    big.write_bytes(os.urandom(5000))
    with pytest.raises(Conflict, match="'big.bin' changed while it was uploaded: nothing was stored"):
        store.put_file(big)
    assert list(store.ids()) == [sha]  # the object whose bytes may not be its name is gone


def test_a_download_is_checked_against_the_blob_id(moto_s3, tmp_path):
    from jupyter_mlws.artifacts import copy_blob
    from jupyter_mlws.errors import Conflict

    bucket = moto_s3.bucket()
    store = FsspecBlobStore(moto_s3.fs(), f"{bucket}/blobs", shown=f"s3://{bucket}/blobs")
    data = os.urandom(3 << 20)
    sha, _ = store.put_bytes(data)
    with moto_s3.recorded() as seen:
        assert copy_blob(store, sha, tmp_path / "out" / "a.bin") == len(data)
    assert seen == [("GET", f"{moto_s3.endpoint}/{bucket}/blobs/{sha[:2]}/{sha[2:]}")]  # one streamed GET
    assert (tmp_path / "out" / "a.bin").read_bytes() == data

    moto_s3.fs().pipe_file(f"{bucket}/blobs/{sha[:2]}/{sha[2:]}", b"damaged")
    with pytest.raises(Conflict, match=f"blob {sha[:12]} in the blob store s3://{bucket}/blobs "
                                       "does not match its sha256"):
        copy_blob(store, sha, tmp_path / "out" / "b.bin")
    with pytest.raises(NotFound, match="is missing from the blob store"):
        copy_blob(store, "1" * 64, tmp_path / "out" / "c.bin")
    assert os.listdir(tmp_path / "out") == ["a.bin"]  # no partial or damaged file left
