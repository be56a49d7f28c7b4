"""Creating, finding and opening workspaces; bad workspaces fail clearly and create nothing."""

import sqlite3

import pytest

from jupyter_mlws import Workspace
from jupyter_mlws.errors import AlreadyExists, Conflict, InvalidInput, NotFound


def test_create_then_open_by_path_env_and_walking_up(tmp_path, monkeypatch):
    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    Workspace.create(tmp_path / "ws", name="team").close()
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.name == "team"
        assert ws.describe()["runs"] == 0
    monkeypatch.setenv("MLWS_WORKSPACE", str(tmp_path / "ws"))
    with Workspace.open() as ws:
        assert ws.root == tmp_path / "ws"
    monkeypatch.delenv("MLWS_WORKSPACE")
    deep = tmp_path / "ws" / "project" / "src"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    with Workspace.open() as ws:
        assert ws.root == tmp_path / "ws"


def test_the_database_is_sqlite_in_wal_mode(ws):
    conn = sqlite3.connect(ws.root / "mlws.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_creating_over_an_existing_workspace_is_refused(ws):
    with pytest.raises(AlreadyExists, match="already exists"):
        Workspace.create(ws.root)


def test_opening_a_missing_workspace_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    with pytest.raises(NotFound, match="mlws workspace create"):
        Workspace.open(tmp_path / "nope")
    assert not (tmp_path / "nope").exists()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NotFound, match="MLWS_WORKSPACE"):
        Workspace.open()
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_config_is_reported(ws):
    (ws.root / "mlws.toml").write_text("[workspace\nname=")
    with pytest.raises(InvalidInput, match="damaged"):
        Workspace.open(ws.root)


def test_a_corrupt_database_is_reported_and_left_alone(ws):
    ws.close()
    (ws.root / "mlws.db").write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (ws.root / f"mlws.db{suffix}").unlink(missing_ok=True)
    with pytest.raises(InvalidInput, match="damaged or not a jupyter_mlws workspace"):
        Workspace.open(ws.root)
    assert (ws.root / "mlws.db").read_bytes().startswith(b"this is not")


def test_a_lost_database_is_reported_not_recreated(ws):
    ws.close()
    for suffix in ("", "-wal", "-shm"):
        (ws.root / f"mlws.db{suffix}").unlink(missing_ok=True)
    with pytest.raises(InvalidInput, match="lost its database"):
        Workspace.open(ws.root)
    assert not (ws.root / "mlws.db").exists()


def test_a_workspace_from_a_newer_version_is_refused(ws):
    ws.close()
    conn = sqlite3.connect(ws.root / "mlws.db")
    conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(Conflict, match="newer jupyter_mlws.*pip install -U"):
        Workspace.open(ws.root)


def test_migrations_record_the_schema_version(ws):
    from jupyter_mlws.store import migrations

    with ws.db.read() as conn:
        assert migrations.current_version(conn) == migrations.LATEST


def test_backup_is_a_workspace_with_the_same_runs(ws, tmp_path):
    with ws.experiment("e").start_run(snapshot=False) as run:
        run.log("x", 1.5)
        run.upload_file("a.txt", _file(tmp_path / "a.txt", b"hello"))
    dest = ws.backup(tmp_path / "copy")
    with Workspace.open(dest) as copy:
        got = copy.get_run(run.id)
        assert got.metrics == {"x": 1.5}
        with copy.artifacts.open(got.id, "a.txt") as f:
            assert f.read() == b"hello"
    with pytest.raises(Conflict, match="not empty"):
        ws.backup(dest)


def test_backup_copies_the_database_the_metadata_url_names(tmp_path):
    # the metadata in another file than the folder's mlws.db: that file is what is backed up
    meta = tmp_path / "elsewhere" / "meta.db"
    meta.parent.mkdir()
    with Workspace.create(tmp_path / "ws", metadata=f"sqlite:///{meta}") as ws:
        with ws.experiment("e").start_run(snapshot=False) as run:
            run.log("x", 2.5)
        dest = ws.backup(tmp_path / "copy")
    assert not (tmp_path / "ws" / "mlws.db").exists()  # nothing made up in the folder
    meta.unlink()  # the copy stands on its own
    with Workspace.open(dest) as copy:
        assert copy.get_run(run.id).metrics == {"x": 2.5}
        assert copy.describe()["metadata"] == f"sqlite:///{dest / 'mlws.db'}"


def _file(path, data):
    path.write_bytes(data)
    return path


def test_an_older_workspace_is_migrated_on_open_and_keeps_its_runs(tmp_path, monkeypatch):
    from sqlalchemy import inspect

    from jupyter_mlws.config import WorkspaceConfig, write_new
    from jupyter_mlws.store import migrations
    from jupyter_mlws.store.db import Database

    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    root = tmp_path / "old"
    root.mkdir()
    db = Database(f"sqlite:///{root / 'mlws.db'}")
    first = migrations.MIGRATIONS[0]
    db.transact(lambda conn: (first[2](conn), migrations._set_version(conn, first[0])))
    db.dispose()
    write_new(WorkspaceConfig(root=root, name="old"))
    with Workspace.open(root) as ws:
        with ws.db.read() as conn:
            assert migrations.current_version(conn) == migrations.LATEST
            assert "notebook_runs" in inspect(conn).get_table_names()
        with ws.experiment("e").start_run(snapshot=False) as run:
            run.log("x", 1.0)
    with Workspace.open(root) as ws:
        assert ws.get_run(run.id).metrics == {"x": 1.0}


@pytest.mark.postgres
def test_a_team_workspace_can_read_its_database_url_from_the_environment(pg_url, tmp_path, monkeypatch):
    from jupyter_mlws.errors import Unavailable

    monkeypatch.setenv("MLWS_TEST_DB", pg_url)
    with Workspace.create(tmp_path / "team", metadata="env:MLWS_TEST_DB") as ws:
        with ws.experiment("e").start_run(snapshot=False) as run:
            run.log("x", 1.0)
    assert "postgresql" not in (tmp_path / "team" / "mlws.toml").read_text()
    with Workspace.open(tmp_path / "team") as ws:
        assert ws.get_run(run.id).metrics == {"x": 1.0}
    monkeypatch.delenv("MLWS_TEST_DB")
    with pytest.raises(Unavailable, match=r"\$MLWS_TEST_DB, which is not set"):
        Workspace.open(tmp_path / "team")
