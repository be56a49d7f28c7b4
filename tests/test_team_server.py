"""A team server with no shared disk: metadata on PostgreSQL, artifacts on S3 (moto), a real
``mlws server``, and two SDK clients at once: one over HTTP through the server, one on another
"machine" (its own folder holding only a copy of mlws.toml) reaching PostgreSQL and S3 itself.
Each reads what the other wrote, and no blob lands on any local disk."""

from __future__ import annotations

import os
import shutil
import sys
import threading
from pathlib import Path

import pytest

from jupyter_mlws import Workspace
from mlws_testing import start_jupyter, stop_jupyter


def _log_runs(ws, who: str, folder: Path, out: dict, errors: list, runs: int = 3) -> None:
    try:
        for i in range(runs):
            data = os.urandom(1_500_000 + i)
            path = folder / f"{who}-{i}.bin"
            path.write_bytes(data)
            with ws.experiment("team").start_run(snapshot=False, tags={"who": who}) as run:
                run.log_params({"i": i})
                for step in range(50):
                    run.log("loss", 1 / (step + 1), step=step)
                run.upload_file(f"out/{who}.bin", path)
            out[run.id] = data
    except Exception as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)


@pytest.mark.postgres
def test_two_clients_share_a_team_server_on_postgresql_and_s3(pg_url, moto_s3, aws_env, tmp_path):
    bucket = moto_s3.bucket()
    server_root = tmp_path / "server"
    Workspace.create(server_root / "ws", metadata=pg_url, artifacts=moto_s3.url(bucket, "team")).close()
    laptop = tmp_path / "laptop" / "ws"  # another machine: the config alone, no shared folder
    laptop.mkdir(parents=True)
    shutil.copy(server_root / "ws" / "mlws.toml", laptop / "mlws.toml")
    mlws = str(Path(sys.executable).parent / "mlws")
    server = start_jupyter(server_root, lambda port, token: [
        mlws, "-w", str(server_root / "ws"), "server", "--port", str(port),
        f"--IdentityProvider.token={token}"], cwd=server_root)
    direct = None
    try:
        over_http = Workspace.connect(server.url, server.token)
        direct = Workspace.open(laptop)
        written = {"http": {}, "direct": {}}
        errors: list = []
        (tmp_path / "files").mkdir()
        threads = [threading.Thread(target=_log_runs, args=(ws, who, tmp_path / "files", written[who], errors))
                   for who, ws in (("http", over_http), ("direct", direct))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        assert errors == []
        assert len(written["http"]) == len(written["direct"]) == 3
        # each client reads the other's runs and artifacts
        for run_id, data in written["direct"].items():
            run = over_http.get_run(run_id)
            assert run.tags["who"] == "direct" and run.status == "completed"
            got = run.download("out", tmp_path / "via-http" / run_id)
            assert [p.read_bytes() for p in got] == [data]  # streamed from S3 by the server
        for run_id, data in written["http"].items():
            run = direct.get_run(run_id)
            assert run.metrics["loss"] == pytest.approx(1 / 50)
            with direct.artifacts.open(run_id, "out/http.bin") as f:  # uploaded through the server
                assert f.read() == data
        assert {r.id for r in direct.search_runs("tags.who = 'http'")} == set(written["http"])
    finally:
        if direct is not None:
            direct.close()
        stop_jupyter(server)
    # no shared disk: every blob is in the bucket, none in either machine's folder
    for root in (server_root / "ws", laptop):
        assert not (root / "artifacts" / "blobs").exists()
        assert not (root / "mlws.db").exists()
    keys = moto_s3.fs().find(f"{bucket}/team/blobs")
    assert len(keys) >= 6
