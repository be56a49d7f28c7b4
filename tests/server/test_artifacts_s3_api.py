"""Artifact downloads through the Jupyter server from a workspace whose artifacts are on S3
(moto): the bytes arrive whole, and the server reads the object in ranges (READ_BLOCK read ahead
of the 1 MB the handler asks for at a time), never the whole file at once."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def mlws_ws(jp_root_dir, monkeypatch, moto_s3):
    from jupyter_mlws import Workspace

    for key, value in moto_s3.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    monkeypatch.delenv("MLWS_RUN_ID", raising=False)
    ws = Workspace.create(jp_root_dir / "ws", artifacts=moto_s3.url(moto_s3.bucket(), "ws"))
    yield ws
    ws.close()


async def test_an_artifact_on_s3_is_streamed_in_ranges(api, mlws_ws, tmp_path, monkeypatch):
    import s3fs.core

    from jupyter_mlws.store.blobs.fsspec import READ_BLOCK

    data = os.urandom(3 * READ_BLOCK + 12345)
    (tmp_path / "big.bin").write_bytes(data)
    with mlws_ws.experiment("e").start_run(snapshot=False) as run:
        run.upload_file("out/big.bin", tmp_path / "big.bin")
    ranges = []
    fetch = s3fs.core.S3File._fetch_range

    def recorded(self, start, end):
        ranges.append(end - start)
        return fetch(self, start, end)

    monkeypatch.setattr(s3fs.core.S3File, "_fetch_range", recorded)
    r = await api("GET", "runs", run.id, "artifacts", "out", "big.bin")
    assert r.code == 200 and r.raw == data
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert len(ranges) >= 3 and max(ranges) <= READ_BLOCK + (1 << 20), ranges
