"""Shared fixtures: workspaces on SQLite in tmp dirs, and a real PostgreSQL server per session."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

PG_BINS = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
PG_BIN = PG_BINS[-1].parent if PG_BINS else None


@pytest.fixture(autouse=True)
def _undo_import_markers():
    """Forget the modules a test marked absent through jupyter_mlws.startup (by running the CLI's
    ``run submit --wait`` or an executor in this process): those marks are for a process that only
    executes runs, and left here they would hide pyarrow from every later test (pandas' Parquet)."""
    import sys

    before = {name for name, mod in sys.modules.items() if mod is None}
    yield
    for name in [n for n, mod in sys.modules.items() if mod is None and n not in before]:
        del sys.modules[name]


@pytest.fixture
def ws(tmp_path, monkeypatch):
    """A fresh SQLite workspace; the test runs inside its folder."""
    from jupyter_mlws import Workspace

    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    monkeypatch.delenv("MLWS_RUN_ID", raising=False)
    monkeypatch.chdir(tmp_path)
    workspace = Workspace.create(tmp_path / "ws")
    yield workspace
    workspace.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: str) -> None:
    prefix = [] if os.geteuid() != 0 else ["su", "postgres", "-c"]
    args = prefix + [cmd] if prefix else ["sh", "-c", cmd]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server on 127.0.0.1 for this test session; yields its base URL."""
    if PG_BIN is None:
        if os.environ.get("MLWS_REQUIRE_POSTGRES"):
            pytest.fail("MLWS_REQUIRE_POSTGRES is set but PostgreSQL is not installed")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    data = Path(tempfile.mkdtemp(prefix="mlws-pg-"))
    shutil.chown(data, "postgres") if os.geteuid() == 0 else None
    port = _free_port()
    _as_postgres(f"{PG_BIN}/initdb -D {data}/db -U mlws --auth=trust")
    _as_postgres(f"{PG_BIN}/pg_ctl -D {data}/db -w -l {data}/log -o "
                 f"'-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={data} "
                 "-c fsync=off -c max_connections=200' start")
    try:
        yield f"postgresql+psycopg://mlws@127.0.0.1:{port}"
    finally:
        _as_postgres(f"{PG_BIN}/pg_ctl -D {data}/db -w -m immediate stop")
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server):
    """A new empty PostgreSQL database on the session's server."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(pg_server.replace("postgresql+psycopg", "postgresql") + "/postgres",
                         autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{pg_server}/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_ws(request, tmp_path, monkeypatch):
    """A workspace on each metadata store: SQLite and PostgreSQL."""
    from jupyter_mlws import Workspace

    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    monkeypatch.delenv("MLWS_RUN_ID", raising=False)
    monkeypatch.chdir(tmp_path)
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    workspace = Workspace.create(tmp_path / "ws", metadata=url)
    yield workspace
    workspace.close()


@pytest.fixture
def listener():
    """A port on 127.0.0.1 that accepts TCP connections (what a Dask scheduler's does first)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


@pytest.fixture(scope="session")
def sshd():
    """A real OpenSSH server on 127.0.0.1 for this test session (see tests/sshd.py): its
    ``port``, ``host_key`` (``ssh-ed25519 AAAA...``) and ``user`` (``name``, ``home``,
    ``private_key``)."""
    from sshd import SSHD, SshServer, login_user

    required = os.environ.get("MLWS_REQUIRE_SSH")
    if not SSHD.is_file():
        if required:
            pytest.fail("MLWS_REQUIRE_SSH is set but OpenSSH's server is not installed")
        pytest.skip("OpenSSH's server is not installed (apt-get install openssh-server)")
    try:
        import paramiko  # noqa: F401
    except ImportError:
        if required:
            pytest.fail("MLWS_REQUIRE_SSH is set but paramiko is not installed: pip install -e '.[test]'")
        pytest.skip("paramiko is not installed (pip install 'jupyter_mlws[ssh]')")
    server = SshServer(login_user()).start()
    yield server
    server.remove()


@pytest.fixture(scope="session")
def moto_s3():
    """A real S3 API server (``moto_server``, moto[server]) on 127.0.0.1 for this test session
    (see tests/moto_s3.py): ``endpoint``, ``bucket()`` (a new empty bucket), ``url(bucket,
    path)``, ``fs()`` (a plain s3fs on it), ``credentials`` (a datastore secret's JSON) and
    ``env`` (the AWS variables an artifact store on it reads)."""
    from moto_s3 import MotoS3

    for package in ("moto", "s3fs", "flask"):
        try:
            __import__(package)
        except ImportError:
            pytest.fail(f"{package} is not installed: pip install -e '.[test]'")
    server = MotoS3(_free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def aws_env(moto_s3, monkeypatch):
    """The AWS variables of the session's moto server set in this process (what an artifact store
    on it reads: a workspace's files never hold its credentials), and no workspace or run from the
    environment."""
    for key, value in moto_s3.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    monkeypatch.delenv("MLWS_RUN_ID", raising=False)
    return moto_s3.env


class HttpWorkspace:
    """A workspace served by a real ``mlws server`` subprocess: its ``url``, the Jupyter
    ``token`` of its user, the server's ``log`` file, and ``ws``, the same workspace opened
    locally (to read back what came over HTTP)."""

    def __init__(self, ws, server):
        self.ws = ws
        self.url = server.url
        self.token = server.token
        self.log = server.log


@pytest.fixture(scope="session")
def http_workspace(tmp_path_factory):
    """One ``mlws server`` per session over a workspace of its own, logging at DEBUG level
    (whatever it logs can be searched for tokens)."""
    import sys

    from jupyter_mlws import Workspace
    from mlws_testing import start_jupyter, stop_jupyter

    root = tmp_path_factory.mktemp("http-ws")
    ws = Workspace.create(root / "ws")
    mlws = str(Path(sys.executable).parent / "mlws")
    server = start_jupyter(root, lambda port, token: [
        mlws, "-w", str(ws.root), "server", "--port", str(port), f"--IdentityProvider.token={token}",
        "--log-level=DEBUG"], cwd=root)
    try:
        yield HttpWorkspace(ws, server)
    finally:
        stop_jupyter(server)
        ws.close()


#: the small pure-Python wheels environment builds install (--no-index --find-links), and the
#: build backend of a tiny local package
WHEELHOUSE_PINS = ("six==1.16.0", "iniconfig==2.0.0", "flit_core==3.9.0")


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory) -> Path:
    """A folder of a few small wheels, downloaded once per session from the package index: every
    environment build in the tests installs from it alone (--no-index --find-links)."""
    import sys

    folder = tmp_path_factory.mktemp("wheelhouse")
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                           "--only-binary=:all:", "--disable-pip-version-check", "-d", str(folder),
                           *WHEELHOUSE_PINS], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"cannot download the test wheels: {done.stderr[-2000:]}"
    return folder


@pytest.fixture(scope="session")
def small_kernel(tmp_path_factory):
    """A small kernel environment of its own (tests/kernel_env.py): its ``venv``, ``wheelhouse``
    and ``jupyter_path`` (a ``python3`` kernelspec running it: set ``JUPYTER_PATH`` to use it)."""
    from kernel_env import make

    return make(tmp_path_factory.mktemp("small-kernel"))


def _need_distributed():
    try:
        import distributed  # noqa: F401
    except ImportError:
        if os.environ.get("MLWS_REQUIRE_DASK"):
            pytest.fail("MLWS_REQUIRE_DASK is set but distributed is not installed: pip install -e '.[test]'")
        pytest.skip("distributed is not installed (pip install 'jupyter_mlws[dask]')")


@pytest.fixture(scope="session")
def dask_cluster():
    """A real ``dask scheduler`` with two ``dask worker`` processes on 127.0.0.1 for this test
    session (see tests/dask_cluster.py): ``address``, ``workers``, ``add_worker``,
    ``kill_worker``.  A test that kills or adds workers leaves two running workers behind."""
    _need_distributed()
    from dask_cluster import Cluster

    cluster = Cluster().start(2)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def local_cluster():
    """A ``distributed.LocalCluster`` (two worker processes) held by a process of its own: its
    ``address``."""
    _need_distributed()
    from dask_cluster import LocalClusterProcess

    cluster = LocalClusterProcess(2)
    yield cluster
    cluster.stop()
