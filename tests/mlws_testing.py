"""What several test folders (and bench/) share; setup.cfg puts tests/ on sys.path."""

from __future__ import annotations

import json
import os
import pickle
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def iris_model(folder: Path, C: float = 1.0):
    """Fit a LogisticRegression on iris, pickle it as ``folder/model.pkl`` (the folder is made);
    return the model and the training features."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(C=C, max_iter=1000).fit(X, y)
    folder.mkdir(parents=True)
    with open(folder / "model.pkl", "wb") as f:
        pickle.dump(model, f)
    return model, X


# -- a Jupyter server in a private HOME ------------------------------------------------------

#: JupyterLab settings that keep toasts off the page (no news, no update check)
NO_NEWS = {"fetchNews": "false", "checkForUpdates": False}


@dataclass
class JupyterServer:
    proc: subprocess.Popen
    url: str
    token: str
    log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_jupyter(root: Path, argv: Callable[[int, str], list[str]], cwd: Path,
                  timeout: float = 60, allow_root: bool = True,
                  token_env: bool = False, extra_env: dict | None = None) -> JupyterServer:
    """Start ``argv(port, token)`` (``jupyter lab``, ``mlws server``) with HOME and every Jupyter
    folder under ``root/home``, nothing of the caller's Jupyter or MLWS_ environment, and wait
    for ``/api/status``; its output goes to ``root/server.log``.  ``allow_root``: add
    ``--allow-root`` when the tests run as root.  ``token_env``: the token is given in
    ``JUPYTER_TOKEN`` (as the README shows: never on a command line, which ``ps`` shows).
    ``extra_env``: more variables of the server's environment (after the others)."""
    home = root / "home"
    settings = home / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps(NO_NEWS))
    # this checkout's built lab extension, ahead of the one installed in the environment (the
    # Jupyter data dir comes first on the lab's extension path): a worktree's tests see its build
    built = Path(__file__).resolve().parents[1] / "jupyter_mlws" / "labextension"
    if (built / "package.json").exists():
        (home / "data" / "labextensions").mkdir(parents=True, exist_ok=True)
        link = home / "data" / "labextensions" / "jupyter-mlws"
        if not link.exists():
            link.symlink_to(built, target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "MLWS_"))}
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(home / "lab-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "lab-workspaces"), JUPYTER_PLATFORM_DIRS="1",
               # the data dir before the environment's, even in a venv (where jupyter_core puts
               # the environment's first): a copy installed there must not hide this build
               JUPYTER_PREFER_ENV_PATH="0")
    port, token = free_port(), secrets.token_hex(16)
    if token_env:
        env["JUPYTER_TOKEN"] = token
    env.update(extra_env or {})
    cmd = argv(port, token) + (["--allow-root"] if allow_root and os.geteuid() == 0 else [])
    log = root / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = JupyterServer(proc, f"http://127.0.0.1:{port}/", token, log)
    deadline = time.monotonic() + timeout
    while True:
        try:
            req = urllib.request.Request(f"{server.url}api/status", headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(req, timeout=2):
                return server
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop_jupyter(server)
                raise RuntimeError(f"{cmd[0]} did not start: " + log.read_text(errors="replace")[-3000:])
            time.sleep(0.2)


def wait_for(check: Callable[[], object], what: str, timeout: float = 60.0):
    """Poll ``check()`` every 0.1 s until it returns something true, and return that; fail
    saying ``what`` did not happen within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout:g} s")


def stop_group(proc: subprocess.Popen, grace: float = 10) -> None:
    """End a server a test or benchmark started in its own session: its process group gets
    SIGTERM, then SIGKILL after ``grace`` seconds (s); nothing when it has already exited."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(5)


def stop_jupyter(server: JupyterServer) -> None:
    """Stop the server's process group (SIGTERM, then SIGKILL after 10 s)."""
    stop_group(server.proc)


# -- slow clients ---------------------------------------------------------------------------


def trickling_clients(port: int, data: bytes, count: int, *, at_once: bytes = b"",
                      every: float = 0.5, limit: float = 20.0) -> list[bool]:
    """Open ``count`` connections to 127.0.0.1:``port``, send each ``at_once``, then ``data`` one
    byte every ``every`` seconds, never its last byte (a request that is never finished), until
    the server closes them or ``limit`` seconds pass; then close what is left.  Returns, per
    connection, whether the server closed it (bounded: at most ``limit`` seconds and ``count``
    sockets)."""
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]
    for s in socks:
        s.sendall(at_once)
        s.setblocking(False)
    closed = [False] * count
    deadline, sent = time.monotonic() + limit, 0
    try:
        while not all(closed) and time.monotonic() < deadline:
            for i, s in enumerate(socks):
                if closed[i]:
                    continue
                try:
                    closed[i] = s.recv(4096) == b""  # an answer is no close; the end of stream is
                except BlockingIOError:
                    pass
                except OSError:  # reset
                    closed[i] = True
                if not closed[i] and sent < len(data) - 1:
                    try:
                        s.send(data[sent:sent + 1])
                    except BlockingIOError:
                        pass
                    except OSError:
                        closed[i] = True
            sent += 1
            time.sleep(every)
    finally:
        for s in socks:
            s.close()
    return closed


# -- real filesystems that run out of space or go read-only ----------------------------------


def small_filesystem(path: Path, size_mb: int = 3) -> Path:
    """Mount a real ``size_mb`` MB filesystem (tmpfs) at ``path``; pytest skips the test when
    this process may not mount (it needs root).  Unmount it with :func:`unmount`."""
    import pytest

    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)],
            capture_output=True).returncode != 0:
        pytest.skip("a small real filesystem (a tmpfs mount) needs root")
    return path


def unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], check=True)


def remount(path: Path, mode: str) -> None:
    """Remount the filesystem at ``path`` read-only (``"ro"``) or read-write (``"rw"``)."""
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True)


def fill(folder: Path) -> Path:
    """Fill the filesystem holding ``folder`` until the device reports it full; return the file
    that holds the space (delete it to free the space)."""
    filler = folder / "filler.bin"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == 28, exc  # ENOSPC
    with open(filler, "ab", buffering=0) as f:  # the last few bytes too
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError:
            pass
    return filler


# -- secrets: what a leak looks like ----------------------------------------------------------


def secret_forms(value: str) -> dict[str, bytes]:
    """A secret's value as code most often prints it: itself, base64 (standard and URL-safe),
    URL-encoded; what no file of a workspace may hold."""
    import base64
    from urllib.parse import quote, quote_plus

    raw = value.encode()
    return {"value": raw, "base64": base64.b64encode(raw), "urlsafe base64": base64.urlsafe_b64encode(raw),
            "url-encoded": quote(value, safe="").encode(), "url-encoded (plus)": quote_plus(value).encode(),
            "url-encoded (path)": quote(value).encode()}


def leaks(folder: Path, value: str, extra: dict[str, bytes] | None = None) -> list[str]:
    """Every file under ``folder`` (raw bytes: databases, their WAL, blobs, logs) holding a form of
    ``value``, as ``"path: form"``."""
    forms = {**secret_forms(value), **(extra or {})}
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [f"{path.relative_to(folder)}: {name}" for name, form in forms.items() if form in data]
    return found


@contextmanager
def served_at(ws, url: str):
    """Workspace ``ws``'s mlws.toml names ``url`` as its server (``server_url``: where runs on
    other machines report) meanwhile."""
    config = ws.root / "mlws.toml"
    original = config.read_text()
    config.write_text(original + f'server_url = "{url}"\n')
    ws.config.server_url = url
    try:
        yield ws
    finally:
        config.write_text(original)
        ws.config.server_url = None


@contextmanager
def remote_project(ws, url: str, folder: Path, monkeypatch):
    """Workspace ``ws`` reporting to its server at ``url`` (:func:`served_at`), its compute and
    notebook services built afresh before and after (another test may have replaced a backend),
    the test run from ``folder``, which holds a project with train.ipynb: yields the notebook's
    path."""
    ws._compute = ws._notebooks = None
    notebook = train_project(folder)
    monkeypatch.chdir(folder)
    try:
        with served_at(ws, url):
            yield notebook
    finally:
        ws.compute.close()
        ws._compute = ws._notebooks = None


def train_project(folder: Path) -> Path:
    """A project folder below ``folder`` holding tests/notebooks/train.ipynb; the notebook's path."""
    import shutil

    project = folder / "project"
    project.mkdir()
    return Path(shutil.copy(Path(__file__).resolve().parent / "notebooks" / "train.ipynb",
                            project / "train.ipynb"))


def fresh_target(ws, name: str, kind: str, **settings) -> dict:
    """Compute target ``name`` of workspace ``ws`` created anew (one left by another test is
    deleted first)."""
    from jupyter_mlws.errors import NotFound

    try:
        ws.compute.delete(name, check_actor=False)
    except NotFound:
        pass
    return ws.compute.create(name, kind, check_actor=False, **settings)
