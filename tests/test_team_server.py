"""`mlws server`: a Jupyter server with the workspace API alone, for a team."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from jupyter_mlws import Workspace


def _get(url: str, token: str | None = None) -> int:
    headers = {"Authorization": f"token {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
    except urllib.error.URLError:  # not listening yet
        return 0


def test_the_team_server_serves_the_workspace_and_not_the_machine(tmp_path):
    Workspace.create(tmp_path / "ws").close()
    (tmp_path / "ws" / "secret.txt").write_text("not for the team")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "MLWS_"))}
    env.update(HOME=str(tmp_path), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"), JUPYTER_DATA_DIR=str(tmp_path / "data"))
    mlws = Path(sys.executable).parent / "mlws"
    cmd = [str(mlws), "-w", str(tmp_path / "ws"), "server", "--port", str(port),
           f"--IdentityProvider.token={token}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    proc = subprocess.Popen(cmd, cwd=tmp_path / "ws", env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while _get(base + "api/status", token) != 200:
            assert proc.poll() is None and time.monotonic() < deadline, "mlws server did not start"
            time.sleep(0.2)
        assert _get(base + "mlws/api/workspace", token) == 200
        with urllib.request.urlopen(urllib.request.Request(
                base + "mlws/api/workspace", headers={"Authorization": f"token {token}"})) as resp:
            assert json.load(resp)["name"] == "ws"
        assert _get(base + "mlws/api/workspace") in (401, 403)  # sign-in required
        for route in ("api/contents", "api/contents/secret.txt", "files/secret.txt", "api/kernels",
                      "api/sessions", "api/terminals", "lab"):
            assert _get(base + route, token) == 404, route
    finally:
        proc.terminate()
        proc.wait(15)
