"""The SDK over HTTP, against a real ``mlws server``: every tracking call the README shows records
what the same calls record on a local workspace; a process given a run's token logs to its run
(and reaches nothing else); failures come back as the SDK's own errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import jupyter_mlws as mlws
from jupyter_mlws.errors import Conflict, InvalidInput, PermissionDenied, Unavailable

PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)


@pytest.fixture
def remote(http_workspace, monkeypatch):
    """The session's server reached with its user's token (closed after the test)."""
    for name in ("MLWS_WORKSPACE", "MLWS_RUN_ID", "MLWS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    workspace = mlws.Workspace.connect(http_workspace.url, token=http_workspace.token)
    yield workspace
    workspace.close()


def readme_run(ws, folder, experiment):
    """What the README's "Track a run from Python" shows (and a little more), on any workspace;
    returns the ids of the run, its child and a run that failed."""
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "train.py").write_text("print('train')\n")
    (folder / "out").mkdir()
    (folder / "out" / "model.pkl").write_bytes(b"\x80model")
    (folder / "roc.png").write_bytes(PNG)
    (folder / "outputs").mkdir()
    with ws.experiment(experiment).start_run(tags={"team": "a"}, snapshot=folder / "src",
                                             outputs=str(folder / "outputs")) as run:
        run.log_params({"model": "rf", "n": 100, "none": None, "shape": (64, 32), "lr": 1e-3})
        for step in range(1000):
            run.log("loss", 1 / (step + 1), step=step)
        run.log("loss", float("nan"))  # step 1000, the next one
        run.log_metrics({"acc": 0.9, "f1": -0.0}, step=3)
        assert run.log_batch("lr", [0.1, 0.05, float("inf")], steps=[0, 5, 9]) == 3
        run.log_list("acc_per_class", [0.9, 0.8, float("nan")])
        run.log_table("confusion", {"pred": [0, 1, 1], "true": [0, 1, 0]})
        run.log_image("roc", folder / "roc.png")
        run.log_image("roc", PNG)
        run.upload_file("model.pkl", folder / "out" / "model.pkl")
        run.attach_log("train.log", b"epoch 1\n")
        run.set_tag("stage", "dev")
        run.set_tags({"k": 1, "flag": True})
        run.set_description("baseline")
        with run.child("fold-1") as child:
            child.log("acc", 0.7)
        (folder / "outputs" / "report.txt").write_text("ok")
    with pytest.raises(ValueError):
        with ws.experiment(experiment).start_run(snapshot=False, outputs=None) as failed:
            failed.log("x", 1.0)
            raise ValueError("boom")
    return run.id, child.id, failed.id


def portrait(ws, run_id):
    """What a run records, read through a local workspace; what differs between two runs of the
    same code left out (ids, numbers and names, times)."""
    r = ws.runs.get(run_id)
    histories = {k: [(s, repr(v)) for s, _t, v in ws.runs.metric_history(run_id, k)] for k in r.metrics}
    values = [(v["key"], v["kind"], v["step"], v["data"], v["blob"]) for v in ws.runs.values(run_id)]
    files = [(f["kind"], f["path"], f["sha256"], f["size"]) for f in ws.runs.files(run_id)]
    error = (r.error or "").splitlines()[-1:] if r.error else None
    return {"status": r.status, "params": r.params, "tags": r.tags, "description": r.description,
            "metrics": {k: repr(v) for k, v in r.metrics.items()}, "counts": r.metric_counts,
            "source_type": r.source_type, "source_name": r.source_name, "error": error,
            "histories": histories, "values": values, "files": files,
            "children": [c.name for c in ws.runs.children(run_id)]}


def test_the_readme_calls_over_http_record_what_they_record_locally(remote, http_workspace, ws,
                                                                   tmp_path):
    local = readme_run(ws, tmp_path / "local", "iris")
    over_http = readme_run(remote, tmp_path / "remote", "iris-http")
    served = http_workspace.ws
    for a, b in zip(local, over_http):
        assert portrait(served, b) == portrait(ws, a)
    top = portrait(served, over_http[0])
    assert top["status"] == "completed" and top["params"]["shape"] == "[64, 32]"
    assert top["counts"]["loss"] == 1001 and top["histories"]["loss"][-1] == (1000, "nan")
    assert top["metrics"]["f1"] == "-0.0"
    assert {f[1] for f in top["files"]} >= {"model.pkl", "outputs/report.txt", "train.log", "train.py"}
    assert served.runs.get(over_http[1]).parent_id == over_http[0]
    failed = served.runs.get(over_http[2])
    assert failed.status == "failed" and "ValueError: boom" in failed.error


def test_reads_over_http_with_a_users_token(remote, http_workspace, tmp_path):
    with remote.experiment("reads").start_run(snapshot=False, outputs=None) as run:
        run.log_params({"model": "rf"})
        run.log("acc", 0.5)
        run.log("acc", 0.75)
        (tmp_path / "a.txt").write_text("hello")
        run.upload_file("dir/a.txt", tmp_path / "a.txt")
        with run.child("c1") as c1:
            c1.log("acc", 0.1)
        assert run.metric_history("acc")[-1][2] == 0.75  # flushed first
        assert run.refresh().metrics == {"acc": 0.75}
    got = remote.get_run(run.id[:8])
    assert got.id == run.id and got.status == "completed" and got.params == {"model": "rf"}
    assert [c.id for c in got.children()] == [c1.id]
    assert [f["path"] for f in got.files("artifact")] == ["dir/a.txt"]
    assert got.download("dir", tmp_path / "dl") == [tmp_path / "dl" / "dir" / "a.txt"]
    assert (tmp_path / "dl" / "dir" / "a.txt").read_text() == "hello"
    page = remote.search_runs("params.model = 'rf'", experiments=["reads"])
    assert [r.id for r in page] == [run.id] and page.next_page_token is None
    assert "reads" in [e["name"] for e in remote.list_experiments()]
    assert remote.compare_runs([run.id, c1.id])["metrics"]["acc"] == [0.75, 0.1]
    with pytest.raises(Conflict, match="not running in this process"):
        got.log("acc", 1.0)


def test_errors_come_back_as_the_sdks_own(remote, http_workspace, tmp_path, monkeypatch):
    with remote.experiment("errors").start_run(snapshot=False, outputs=None) as run:
        run.log_param("lr", 0.1)
        with pytest.raises(Conflict, match="param 'lr' is already '0.1'"):
            run.log_param("lr", 0.2)
        with pytest.raises(InvalidInput, match="columns have different lengths"):
            run.log_table("t", {"a": [1], "b": []})
        with pytest.raises(InvalidInput, match="not an image"):
            run.log_image("img", b"no image")
        with pytest.raises(InvalidInput, match="longer than 250"):
            run.log_params({"k" * 300: 1})
    with pytest.raises(Conflict, match="has already ended"):
        remote.runs.end(run.id, "failed")  # once ended, a run stays ended
    with pytest.raises(PermissionDenied) as refused:
        mlws.Workspace.connect(http_workspace.url, token="not-the-token")
    assert str(refused.value) == (f"the workspace server at {http_workspace.url} refused the token: "
                                  "check MLWS_TOKEN (or the token= given); a run's token ends "
                                  "with its run")
    assert "not-the-token" not in str(refused.value)
    monkeypatch.delenv("MLWS_TOKEN", raising=False)
    with pytest.raises(PermissionDenied) as anonymous:
        mlws.Workspace.connect(http_workspace.url)
    assert str(anonymous.value) == (f"the workspace server at {http_workspace.url} needs a token: "
                                    "set MLWS_TOKEN or pass token= (your API token, which an "
                                    "owner of the workspace makes for you with 'mlws access token "
                                    "create USER'; or the server's own token, if you run the "
                                    "server)")
    from mlws_testing import free_port

    url = f"http://127.0.0.1:{free_port()}/base/"
    with pytest.raises(Unavailable) as down:
        mlws.Workspace.connect(url, token="s3cret-token-value")
    assert url in str(down.value) and "s3cret-token-value" not in str(down.value)
    # a Jupyter URL with its token, and MLWS_WORKSPACE / MLWS_TOKEN, reach it too
    with mlws.Workspace.connect(f"{http_workspace.url}?token={http_workspace.token}") as again:
        assert again.get_run(run.id).status == "completed"
    monkeypatch.setenv("MLWS_WORKSPACE", http_workspace.url)
    monkeypatch.setenv("MLWS_TOKEN", http_workspace.token)
    with mlws.Workspace.open() as opened:
        assert opened.get_run(run.id).params == {"lr": "0.1"}
        with pytest.raises(PermissionDenied, match="environment variables"):
            opened.get_secret("db-pass")


def test_metrics_go_in_batches_through_the_buffer(remote, http_workspace, monkeypatch):
    sent = []
    send = remote.client.send

    def counting(method, path, *args, **kwargs):
        sent.append((method, path[-1]))
        return send(method, path, *args, **kwargs)

    monkeypatch.setattr(remote.client, "send", counting)
    with remote.experiment("batches").start_run(snapshot=False, outputs=None) as run:
        for i in range(50_000):
            run.log("loss", i * 0.5)
        run.flush()
        assert http_workspace.ws.runs.get(run.id).metric_counts == {"loss": 50_000}
    batches = sent.count(("POST", "batch"))
    assert 3 <= batches <= 12, sent  # at most 20,000 points a request, not a request per point
    step, _ts, value = http_workspace.ws.runs.metric_history(run.id, "loss")[-1]
    assert (step, value) == (49_999, 49_999 * 0.5)


SCRIPT = textwrap.dedent("""
    import jupyter_mlws as mlws
    mlws.log("acc", 0.5)
    run = mlws.current_run()
    run.log_params({"lr": 0.1})
    for i in range(5000):
        mlws.log("loss", i * 0.5)
    with run.child("kid") as kid:
        kid.log("x", 1.0)
    ws = mlws.Workspace.open()
    for what, call in (("search", lambda: ws.search_runs()), ("secret", lambda: mlws.get_secret("s")),
                       ("other", lambda: ws.get_run(OTHER)), ("experiments", ws.list_experiments)):
        try:
            call()
            print(what, "ALLOWED")
        except mlws.PermissionDenied as exc:
            print(what, "REFUSED", exc)
""")


def test_a_process_given_a_run_token_logs_to_its_run_and_nothing_else(http_workspace, tmp_path):
    ws = http_workspace.ws
    other = ws.runs.create("executor", status="running")
    queued = ws.runs.create("executor", status="queued", source_type="notebook")
    token = ws.run_tokens.issue(queued.id)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLWS_")}
    env.update(MLWS_WORKSPACE=http_workspace.url, MLWS_TOKEN=token, MLWS_RUN_ID=queued.id)
    proc = subprocess.run([sys.executable, "-c", SCRIPT.replace("OTHER", repr(other.id))], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert [line.split()[:2] for line in proc.stdout.splitlines()] == [
        ["search", "REFUSED"], ["secret", "REFUSED"], ["other", "REFUSED"], ["experiments", "REFUSED"]]
    record = ws.runs.get(queued.id)
    assert record.status == "running"  # picked up; the process only detached from it
    assert record.metrics["acc"] == 0.5 and record.metric_counts["loss"] == 5000
    assert record.params == {"lr": "0.1"}
    kid = ws.runs.children(queued.id)[0]
    assert kid.status == "completed" and kid.metrics == {"x": 1.0}
    assert ws.runs.get(other.id).metrics == {}
    ws.runs.end(queued.id, "completed")
    ws.runs.end(other.id, "completed")
    with pytest.raises(PermissionDenied, match=f"run {queued.id} has ended"):
        mlws.Workspace.connect(http_workspace.url, token=token)
    # the token is in no log and no file of the workspace
    assert token not in proc.stdout + proc.stderr
    assert token not in http_workspace.log.read_text(errors="replace")
    for path in ws.root.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path


UNREADABLE_CLIENT = """
import os, sys
import jupyter_mlws as mlws
from jupyter_mlws.errors import InvalidInput
ws = mlws.Workspace.connect(os.environ["URL"], token=os.environ["TOKEN"])
try:
    ws.experiment("unreadable-snapshot").start_run(snapshot=".")
except InvalidInput as exc:
    print(f"refused: {exc}")
    sys.exit(3)
"""


def test_an_unreadable_file_in_the_snapshot_folder_is_named_and_nothing_stays_running(http_workspace, sshd):
    """A client whose project folder holds a file it may not read (another user's) is refused
    clearly, naming the file relative to the folder, as ``git add`` refuses one, and no run is
    left running.  The client runs as the test's login user (root reads every file)."""
    import shutil
    import uuid

    from sshd import executor_python

    folder = sshd.user.home / f"unreadable-{uuid.uuid4().hex[:8]}"
    (folder / "data").mkdir(parents=True)
    (folder / "train.py").write_text("print('train')\n")
    (folder / "data" / "private.csv").write_text("a,b\n")
    as_user = os.geteuid() == 0
    if as_user:
        subprocess.run(["chown", "-R", f"{sshd.user.name}:", str(folder)], check=True)
        os.chown(folder / "data" / "private.csv", 0, 0)  # root's: the login user cannot read it
    (folder / "data" / "private.csv").chmod(0o600 if as_user else 0)
    try:
        done = subprocess.run(
            [executor_python(sshd.user), "-c", UNREADABLE_CLIENT], cwd=folder, capture_output=True,
            text=True, timeout=120, user=sshd.user.name if as_user else None,
            env={"URL": http_workspace.url, "TOKEN": http_workspace.token, "HOME": str(sshd.user.home),
                 "PATH": os.environ["PATH"]})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert done.returncode == 3, done.stderr[-3000:]
    assert done.stdout.startswith("refused: cannot read 'data/private.csv' for the run's source "
                                  "snapshot (permission denied): make it readable, or leave it out "
                                  "of snapshots with a line 'data/private.csv' in a .mlwsignore file"), done.stdout
    assert str(folder) not in done.stdout
    runs = [r for r in http_workspace.ws.search_runs(max_results=1000)
            if r.record.experiment == "unreadable-snapshot"]
    assert [r.status for r in runs if r.status in ("queued", "running")] == []


@pytest.mark.parametrize("url, base", [
    ("http://h:8890/mlws/?token=abc", "http://h:8890/"),     # what mlws server prints
    ("http://h:8890/mlws?token=abc", "http://h:8890/"),
    ("http://h:8890/mlws/api/runs?token=abc", "http://h:8890/"),
    ("http://h:8890/jupyter/mlws/?token=abc", "http://h:8890/jupyter/"),
    ("http://h:8890/user/ann/?token=abc", "http://h:8890/user/ann/"),
    ("http://h:8890", "http://h:8890/"),
])
def test_a_page_url_is_taken_for_its_servers_base_url(url, base):
    from jupyter_mlws.remote.client import Client

    client = Client(url)
    assert (client.base_url, client.token) == (base, "abc" if "token" in url else None)
    assert "abc" not in client.url
