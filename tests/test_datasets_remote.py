"""Datasets away from the workspace's folder: the SDK over HTTP (``Workspace.connect(...)
.dataset(REF)``, against the session's real ``mlws server``) and ``dataset:REF`` parameters of
runs executed on a Dask cluster and on an ssh host (the session's real LocalCluster and sshd),
which download the version from the server with their run's token."""

from __future__ import annotations

import json
import os
import uuid

import pytest
from ssh_runs import NAME, WORKDIR, gpu1, remote_python, runner_gone  # noqa: F401

import jupyter_mlws as mlws
from jupyter_mlws.errors import Conflict, LocalOnly, NotFound, PermissionDenied
from mlws_testing import fresh_target, remote_project


def _name(prefix: str) -> str:
    """A dataset name of this test alone (the session's workspace is shared)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def remote(http_workspace, monkeypatch):
    for var in ("MLWS_WORKSPACE", "MLWS_RUN_ID", "MLWS_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(http_workspace.ws.root.parent / "client-cache"))
    workspace = mlws.Workspace.connect(http_workspace.url, token=http_workspace.token)
    yield workspace
    workspace.close()


@pytest.fixture
def table(http_workspace, tmp_path):
    """A tabular dataset of two CSV files registered on the server's workspace: its name."""
    folder = tmp_path / "table"
    (folder / "part").mkdir(parents=True)
    (folder / "a.csv").write_text("x,y\n1,a\n2,b\n")
    (folder / "part" / "b.csv").write_text("x,y\n3,c\n")
    name = _name("table")
    http_workspace.ws.datasets.register(name, folder, tabular=True)
    return name


def test_the_http_sdk_reads_a_dataset_as_the_local_sdk_does(remote, http_workspace, table, tmp_path):
    version = remote.dataset(table)
    assert (version.ref, version.file_count, version.tabular) == (f"{table}:1", 2, True)
    assert [f["path"] for f in version.files()] == ["a.csv", "part/b.csv"]
    with version.open("part/b.csv") as f:
        assert f.read() == b"x,y\n3,c\n"
    dest = version.download(tmp_path / "dl")
    assert (dest / "part" / "b.csv").read_text() == "x,y\n3,c\n"
    mounted = version.mount()
    assert (mounted / "a.csv").read_text() == "x,y\n1,a\n2,b\n"
    assert (mounted / "a.csv").stat().st_mode & 0o222 == 0  # read-only
    assert sorted(version.to_pandas()["x"]) == [1, 2, 3]
    assert table in [d["name"] for d in remote.datasets.list()]
    assert [v.ref for v in remote.datasets.versions(table)] == [f"{table}:1"]
    with pytest.raises(NotFound, match=f"dataset {table!r} has no version 7"):
        remote.dataset(f"{table}:7")
    with pytest.raises(LocalOnly, match="ws.datasets.register works on a local workspace only"):
        remote.datasets.register("x", tmp_path)
    assert http_workspace.ws.datasets.show(table)["used_by"]["runs"] == []  # no run: no lineage

    with remote.experiment("remote-reads").start_run(snapshot=False) as run:
        remote.dataset(f"{table}:1").files()
    assert [(d["ref"], d["how"]) for d in http_workspace.ws.datasets.of_run(run.id)] == [
        (f"{table}:1", "read")]


def test_a_damaged_file_is_refused_and_nothing_is_written(remote, http_workspace, tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "f.txt").write_text("the true content\n")
    name = _name("damaged")
    http_workspace.ws.datasets.register(name, folder)
    sha = http_workspace.ws.datasets.files(name)[0]["sha256"]
    objects = http_workspace.ws.datastores.get("default").objects
    stored = objects.root + f"/{sha[:2]}/{sha[2:]}"
    os.chmod(stored, 0o644)
    with open(stored, "w") as f:
        f.write("the false content\n")
    with pytest.raises(Conflict, match=f"blob {sha[:12]} in the workspace server at .* does not "
                                       "match its sha256"):
        remote.dataset(name).download(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_runs_token_reads_datasets_for_its_run_only(http_workspace, table, tmp_path):
    ws = http_workspace.ws
    run = ws.runs.create("token-reads", status="running")
    other = ws.runs.create("token-reads", status="running")
    token = ws.run_tokens.issue(run.id)
    with mlws.Workspace.connect(http_workspace.url, token=token) as remote:
        version = remote.dataset(table)
        assert version.download(tmp_path / "dl").joinpath("a.csv").read_text().startswith("x,y")
        with pytest.raises(PermissionDenied):
            remote.datasets.list()
        with pytest.raises(PermissionDenied, match=f"this token belongs to run {run.id}"):
            remote.client.call("GET", ("runs", other.id, "datasets", table))
    assert [(d["ref"], d["how"]) for d in ws.datasets.of_run(run.id)] == [(f"{table}:1", "read")]
    assert ws.datasets.of_run(other.id) == []


SCRIPT = """
import json, os, pathlib, jupyter_mlws
p = jupyter_mlws.parameters()
data = pathlib.Path(p["data"])
files = sorted(x.relative_to(data).as_posix() for x in data.rglob("*") if x.is_file()) \\
    if data.is_dir() else [data.name]
os.makedirs("outputs", exist_ok=True)
json.dump({"files": files, "first": (data / files[0] if data.is_dir() else data).read_text(),
           "writable": bool((data / files[0] if data.is_dir() else data).stat().st_mode & 0o222),
           "mine": os.path.realpath(data).startswith(os.path.realpath(os.getcwd()))},
          open("outputs/seen.json", "w"))
"""


def _seen(ws, run) -> dict:
    (record,) = [f for f in ws.runs.files(run.id) if f["path"] == "outputs/seen.json"]
    return json.loads(ws.blobs.read_bytes(record["sha256"]))


def test_a_dataset_parameter_reaches_a_run_on_a_dask_worker(http_workspace, table, local_cluster,
                                                            monkeypatch, tmp_path):
    ws = http_workspace.ws
    with remote_project(ws, http_workspace.url, tmp_path, monkeypatch) as notebook:
        fresh_target(ws, "lc", "dask", address=local_cluster.address)
        (notebook.parent / "see.py").write_text(SCRIPT)
        run = ws.submit_notebook(notebook.parent / "see.py", {"data": f"dataset:{table}"},
                                 compute="lc", wait=True)
    assert run.status == "completed", run.record.error
    assert run.params["data"] == f"dataset:{table}:1"
    assert _seen(ws, run) == {"files": ["a.csv", "part/b.csv"], "first": "x,y\n1,a\n2,b\n",
                              "writable": False, "mine": True}
    assert [(d["ref"], d["how"]) for d in ws.datasets.of_run(run.id)] == [(f"{table}:1", "input")]


def test_a_dataset_parameter_reaches_a_run_on_an_ssh_host(gpu1, sshd, tmp_path):  # noqa: F811
    ws, project = gpu1
    (tmp_path / "one.txt").write_text("one file\n")
    name = _name("one")
    ws.datasets.register(name, tmp_path / "one.txt")
    (project / "see.py").write_text(SCRIPT)
    run = ws.submit_notebook(project / "see.py", {"data": f"dataset:{name}:1"}, compute=NAME,
                             wait=True)
    assert run.status == "completed", run.record.error
    assert _seen(ws, run) == {"files": ["one.txt"], "first": "one file\n", "writable": False,
                              "mine": True}
    assert [(d["ref"], d["how"]) for d in ws.datasets.of_run(run.id)] == [(f"{name}:1", "input")]
    runner_gone(ws, run.id)
    assert not (sshd.user.home / WORKDIR / "runs" / run.id).exists()  # removed, copies included


@pytest.fixture
def shards(http_workspace, tmp_path):
    """A tabular dataset of several CSV files (three, one in a subfolder) on the server's
    workspace: its name."""
    folder = tmp_path / "shards"
    (folder / "more").mkdir(parents=True)
    for i, where in enumerate(["a.csv", "b.csv", "more/c.csv"]):
        (folder / where).write_text(f"x,y\n{i},{where}\n{i + 10},{where}\n")
    name = _name("shards")
    http_workspace.ws.datasets.register(name, folder, tabular=True)
    return name


def test_a_several_file_version_is_read_over_http_from_a_fresh_handle(remote, shards, tmp_path):
    # each read on a handle of its own: the first read of a handle fetches its files from
    # several threads at once (no earlier .open() having loaded the manifest)
    dest = remote.dataset(f"{shards}:1").download(tmp_path / "dl")
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == [
        "a.csv", "b.csv", "more/c.csv"]
    assert (dest / "more" / "c.csv").read_text() == "x,y\n2,more/c.csv\n12,more/c.csv\n"
    frame = remote.dataset(shards).to_pandas()
    assert sorted(frame["x"]) == [0, 1, 2, 10, 11, 12]
    mounted = remote.dataset(f"{shards}:1").mount()
    assert (mounted / "b.csv").read_text() == "x,y\n1,b.csv\n11,b.csv\n"


def test_the_cli_downloads_a_several_file_version_over_http(http_workspace, shards, tmp_path,
                                                           monkeypatch):
    from click.testing import CliRunner

    from jupyter_mlws.cli import main

    monkeypatch.setenv("MLWS_WORKSPACE", http_workspace.url)
    monkeypatch.setenv("MLWS_TOKEN", http_workspace.token)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("MLWS_RUN_ID", raising=False)
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(main, ["dataset", "download", shards, "-d", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    assert f"{shards}:1: 3 files" in done.stdout
    assert (tmp_path / "out" / "more" / "c.csv").is_file()


def test_deleting_over_http_takes_a_version_or_all_versions_explicitly(remote, http_workspace,
                                                                       tmp_path):
    from jupyter_mlws.errors import InvalidInput

    folder = tmp_path / "d"
    folder.mkdir()
    name = _name("gone")
    for text in ("one", "two"):
        (folder / "f.txt").write_text(text)
        http_workspace.ws.datasets.register(name, folder)
    with pytest.raises(InvalidInput, match=f"'{name}' names the whole dataset \\(2 versions\\)"):
        remote.datasets.delete(name)
    assert remote.datasets.delete(f"{name}:1") == [f"{name}:1"]
    assert remote.datasets.delete(name, all_versions=True) == [f"{name}:2"]
    with pytest.raises(NotFound):
        remote.dataset(name)
