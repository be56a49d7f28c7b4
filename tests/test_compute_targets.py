"""Compute targets as workspace records (no SSH server needed here: see test_compute_ssh.py):
the built-in local target, dask targets, settings refused with a clear message and nothing
recorded, roles, deleting a target runs still use, ``compute test`` of local and dask targets,
and the ``mlws compute`` commands."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sshd import ed25519_pair

from jupyter_mlws.access import os_user
from jupyter_mlws.cli import main
from jupyter_mlws.errors import AlreadyExists, Conflict, InvalidInput, NotFound, PermissionDenied

ED25519 = " ".join(ed25519_pair()[1].split()[:2])
NOTEBOOKS = Path(__file__).parent / "notebooks"


def mlws(ws, *args):
    return CliRunner().invoke(main, ["-w", str(ws.root), *map(str, args)], catch_exceptions=False)


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_local_is_built_in_listed_first_and_never_deleted(ws):
    assert ws.compute.list() == [{"name": "local", "type": "local", "builtin": True,
                                  "created_at": None, "created_by": "", "secrets": {}}]
    assert ws.compute.get("local")["builtin"] is True
    with pytest.raises(Conflict, match="built in: it cannot be deleted"):
        ws.compute.delete("local")
    with pytest.raises(InvalidInput, match="the local target is built in"):
        ws.compute.create("local2", "local")
    with pytest.raises(AlreadyExists, match="built in: choose another name"):
        ws.compute.create("local", "dask", address="tcp://127.0.0.1:8786")


def test_a_dask_target_is_recorded_shown_and_deleted(ws):
    target = ws.compute.create("cluster", "dask", address="tcp://127.0.0.1:8786")
    assert target["type"] == "dask" and target["address"] == "tcp://127.0.0.1:8786"
    assert target["created_by"] == os_user() and target["created_at"] > 0 and not target["builtin"]
    assert [t["name"] for t in ws.compute.list()] == ["local", "cluster"]
    assert ws.compute.get("cluster") == target
    with pytest.raises(AlreadyExists, match="'mlws compute delete cluster'"):
        ws.compute.create("cluster", "dask", address="tcp://127.0.0.1:9999")
    ws.compute.delete("cluster")
    with pytest.raises(NotFound, match="no compute target 'cluster'"):
        ws.compute.get("cluster")
    with pytest.raises(NotFound):
        ws.compute.delete("cluster")


@pytest.mark.parametrize("name, kind, settings, message", [
    ("bad name!", "dask", {"address": "tcp://h:1"}, "compute target name 'bad name!' is not valid"),
    ("x", "slurm", {}, "unknown compute target type 'slurm': use one of ssh, dask"),
    ("x", "dask", {}, "needs --address"),
    ("x", "dask", {"address": "http://h:8786"}, "give tcp://HOST:PORT"),
    ("x", "dask", {"address": "tcp://h"}, "give tcp://HOST:PORT"),
    ("x", "dask", {"address": "tcp://h:99999"}, "give tcp://HOST:PORT"),
    ("x", "dask", {"address": "tcp://h:1", "host": "h"}, "host is not a setting of dask targets"),
    ("x", "ssh", {"host": "h"}, "needs --host and --user"),
    ("x", "ssh", {"host": "h; rm", "user": "u"}, "invalid host 'h; rm'"),
    ("x", "ssh", {"host": "-oProxyCommand=x", "user": "u"}, "invalid host"),
    ("x", "ssh", {"host": "h", "user": "u", "port": 0}, "invalid port 0"),
    ("x", "ssh", {"host": "h", "user": "u", "port": True}, "invalid port True"),
    ("x", "ssh", {"host": "h", "user": "u;id"}, "invalid user"),
    ("x", "ssh", {"host": "h", "user": "u", "workdir": "~/w"}, "starts with '~'"),
    ("x", "ssh", {"host": "h", "user": "u", "workdir": "/"}, "cannot be '/'"),
    ("x", "ssh", {"host": "h", "user": "u", "workdir": "a\nb"}, "without control characters"),
    ("x", "ssh", {"host": "h", "user": "u", "key_secret": "no such"}, "invalid secret name"),
    ("x", "ssh", {"host": "h", "user": "u", "address": "tcp://h:1"}, "address is not a setting of ssh"),
    ("x", "ssh", {"host": "h", "user": "u", "host_key": "ssh-dss AAAA"}, "starts with its type"),
    ("x", "ssh", {"host": "h", "user": "u", "host_key": "ssh-ed25519 not-base64!"}, "not base64"),
    ("x", "ssh", {"host": "h", "user": "u", "host_key": "ssh-rsa " + ED25519.split()[1]},
     "not a ssh-rsa key"),
])
def test_bad_settings_are_refused_and_nothing_is_recorded(ws, name, kind, settings, message):
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace("?", r"\?")):
        ws.compute.create(name, kind, **settings)
    assert [t["name"] for t in ws.compute.list()] == ["local"]


def test_the_key_secret_must_exist_and_be_live(ws):
    with pytest.raises(NotFound, match="no secret named 'gpu-key'"):
        ws.compute.create("gpu", "ssh", host="h", user="u", key_secret="gpu-key", host_key=ED25519)
    ws.secrets.set(os_user(), "gpu-key", "not really a key")
    ws.secrets.delete(os_user(), "gpu-key")
    with pytest.raises(Conflict, match="secret 'gpu-key' is deleted"):
        ws.compute.create("gpu", "ssh", host="h", user="u", key_secret="gpu-key", host_key=ED25519)
    assert [t["name"] for t in ws.compute.list()] == ["local"]


def test_a_given_host_key_is_pinned_without_connecting(ws):
    # nothing listens on that port: --host-key needs no connection
    target = ws.compute.create("gpu", "ssh", host="127.0.0.1", port=dead_port(), user="alice",
                               host_key=ED25519 + " a comment")
    assert target["host_key"] == ED25519
    assert target["host_key_fingerprint"] == "SHA256:" + _sha256(ED25519)
    assert target["workdir"] == "mlws-work" and target["python"] == "python3"
    assert target["key_secret"] is None and target["port"] != 22


def _sha256(key: str) -> str:
    import base64
    import hashlib

    return base64.b64encode(hashlib.sha256(base64.b64decode(key.split()[1])).digest()).decode().rstrip("=")


def test_roles_readers_list_and_show_contributors_change(ws):
    me = os_user()
    ws.access.grant(me, "carol", "contributor")
    ws.access.grant(me, "rita", "reader")
    ws.compute.create("cluster", "dask", address="tcp://127.0.0.1:1", actor="carol")
    with pytest.raises(PermissionDenied, match="rita.*contributor or above"):
        ws.compute.create("c2", "dask", address="tcp://127.0.0.1:1", actor="rita")
    with pytest.raises(PermissionDenied):
        ws.compute.delete("cluster", actor="rita")
    with pytest.raises(PermissionDenied):
        ws.compute.test("local", actor="rita")
    with pytest.raises(PermissionDenied):
        ws.compute.create("c3", "dask", address="tcp://127.0.0.1:1", actor="nobody")
    assert [t["name"] for t in ws.compute.list()] == ["local", "cluster"]
    assert ws.compute.get("cluster")["created_by"] == "carol"
    ws.compute.delete("cluster", actor="carol")


def test_a_target_with_live_runs_cannot_be_deleted(ws):
    ws.compute.create("cluster", "dask", address="tcp://127.0.0.1:1")
    run = ws.experiment("e").start_run()
    ws.compute.assign(run.id, "cluster", {"key": "abc"})
    assert ws.compute.target_of(run.id) == ("cluster", {"key": "abc"})
    with pytest.raises(Conflict, match=f"'cluster' has queued or running runs \\({run.id}\\).*cancel"):
        ws.compute.delete("cluster")
    run.end()
    ws.compute.delete("cluster")
    assert ws.compute.target_of("0" * 16) == ("local", None)
    with pytest.raises(NotFound):
        ws.compute.assign(run.id, "cluster")


def test_every_target_type_has_a_backend_built_for_its_record(ws):
    from jupyter_mlws.compute.base import ComputeTarget

    assert isinstance(ws.compute.target("local"), ComputeTarget)
    ws.compute.create("cluster", "dask", address="tcp://127.0.0.1:1")
    cluster = ws.compute.target("cluster")  # built for its record; nothing connects yet
    assert (cluster.name, cluster.address) == ("cluster", "tcp://127.0.0.1:1")
    ws.compute.create("gpu", "ssh", host="h", user="u", host_key=ED25519)
    gpu = ws.compute.target("gpu")  # nothing connects until a run is submitted
    assert isinstance(gpu, ComputeTarget) and gpu.name == "gpu"


def test_testing_local_and_dask_targets(ws, listener):
    report = ws.compute.test("local")
    assert report["ok"] and [c["check"] for c in report["checks"]] == ["python", "jupyter_mlws", "disk"]
    assert all(c["status"] == "ok" for c in report["checks"])
    ws.compute.timeout = 1.0  # the listener says nothing: the scheduler step gives up after 1 s
    ws.compute.create("up", "dask", address=f"tcp://127.0.0.1:{listener}")
    report = ws.compute.test("up")
    checks = {c["check"]: c for c in report["checks"]}
    assert checks["dns"]["status"] == checks["tcp"]["status"] == "ok"
    assert checks["tcp"]["detail"] == f"127.0.0.1:{listener}"
    # a port that answers is not yet a scheduler (tests/test_compute_dask.py tests real ones)
    assert checks["scheduler"]["status"] == "fail" and checks["jupyter_mlws"]["status"] == "skip"
    ws.compute.create("down", "dask", address=f"tcp://127.0.0.1:{dead_port()}")
    report = ws.compute.test("down")
    assert not report["ok"]
    assert [(c["check"], c["status"]) for c in report["checks"]] == [
        ("dns", "ok"), ("tcp", "fail"), ("scheduler", "skip"), ("jupyter_mlws", "skip")]
    assert "connection refused" in report["checks"][1]["detail"]
    ws.compute.create("nowhere", "dask", address="tcp://no-such-host.invalid:8786")
    report = ws.compute.test("nowhere")
    assert [(c["check"], c["status"]) for c in report["checks"]] == [
        ("dns", "fail"), ("tcp", "skip"), ("scheduler", "skip"), ("jupyter_mlws", "skip")]
    assert "'no-such-host.invalid' does not resolve" in report["checks"][0]["detail"]


def test_the_cli(ws, dask_cluster):
    listener = dask_cluster.port  # a real scheduler: 'compute test' passes
    r = mlws(ws, "compute", "create", "cluster", "--type", "dask", "--address", f"tcp://127.0.0.1:{listener}")
    assert r.exit_code == 0 and "compute target cluster (dask) created" in r.stdout
    r = mlws(ws, "compute", "list")
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "WHERE", "CREATED", "BY"]
    assert lines[1].split()[:3] == ["local", "local", "this"] and "built in" in lines[1]
    assert lines[2].split()[:3] == ["cluster", "dask", f"tcp://127.0.0.1:{listener}"]
    assert json.loads(mlws(ws, "compute", "show", "cluster", "--json").stdout)["address"].endswith(str(listener))
    r = mlws(ws, "compute", "test", "cluster")
    assert r.exit_code == 0 and r.stdout.splitlines()[1].split()[:3] == ["TCP", "connect", "OK"]
    assert r.stdout.splitlines()[2].split()[:3] == ["Dask", "scheduler", "OK"]
    r = mlws(ws, "compute", "create", "bad", "--type", "dask", "--address", "tcp://127.0.0.1:" + str(dead_port()))
    assert r.exit_code == 0
    r = mlws(ws, "compute", "test", "bad")
    assert r.exit_code == 1 and "FAIL" in r.stdout and "connection refused" in r.stdout
    r = mlws(ws, "compute", "create", "x", "--type", "dask", "--host", "h", "--address", "tcp://h:1")
    assert r.exit_code == 2 and "host is not a setting of dask targets" in r.stderr
    r = mlws(ws, "compute", "delete", "local")
    assert r.exit_code == 5 and "built in" in r.stderr
    assert mlws(ws, "compute", "delete", "cluster").exit_code == 0
    assert mlws(ws, "compute", "show", "cluster").exit_code == 3


def test_listing_targets_loads_no_ssh_library(ws):
    ws.compute.create("gpu", "ssh", host="h", user="u", host_key=ED25519)
    code = ("import sys\nfrom jupyter_mlws import Workspace\n"
            f"ws = Workspace.open({str(ws.root)!r})\n"
            "names = [t['name'] for t in ws.compute.list()]\n"
            "print(names, 'paramiko' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['local', 'gpu'] False"


def test_a_submission_a_target_refuses_names_the_run_it_recorded(ws, tmp_path, monkeypatch):
    """``mlws run submit NB --compute deadc --wait`` on a dask target nothing listens on: the run
    is recorded and ended failed; the message names it (what 'mlws run show' is given)."""
    import shutil
    from pathlib import Path

    pytest.importorskip("distributed")
    shutil.copy(Path(__file__).parent / "notebooks" / "train.ipynb", tmp_path / "train.ipynb")
    monkeypatch.chdir(tmp_path)
    ws.compute.create("deadc", "dask", address=f"tcp://127.0.0.1:{dead_port()}")
    r = mlws(ws, "run", "submit", "train.ipynb", "--compute", "deadc", "--wait", "--no-env-check")
    assert r.exit_code == 7, r.output
    [run] = ws.runs.search().runs
    assert run.status == "failed" and run.error.startswith("could not be started on deadc: ")
    assert r.stderr.startswith(f"error: run {run.id} failed: could not be started on deadc: "), r.stderr


def test_compute_show_labels_every_row_of_an_ssh_target(ws):
    ws.compute.create("box", "ssh", host="box.example.org", user="u", host_key=ED25519)
    lines = mlws(ws, "compute", "show", "box").stdout.splitlines()
    assert all(line.split(":", 1)[0].strip() for line in lines), lines
    assert [line.split()[:3] for line in lines if line.startswith(("host key", "public key"))] == [
        ["host", "key:", ws.compute.get("box")["host_key_fingerprint"]],
        ["public", "key:", "ssh-ed25519"]]


def test_update_changes_python_and_env_checked_as_at_creation(ws):
    ws.compute.create("gpu", "ssh", host="127.0.0.1", user="alice", host_key=ED25519)
    ws.compute.create("farm", "dask", address="tcp://127.0.0.1:8786")
    out = mlws(ws, "compute", "update", "gpu", "--python", "/opt/venv/bin/python", "--env", "build")
    assert out.exit_code == 0 and out.stdout == (
        "compute target gpu python: /opt/venv/bin/python; env: build\n"
        "the host was not asked: 'mlws compute test gpu' checks that /opt/venv/bin/python runs "
        "there and imports jupyter_mlws\n"), out.output
    shown = mlws(ws, "compute", "show", "gpu").stdout
    assert "\npython:      /opt/venv/bin/python\n" in shown and "\nenv:         build\n" in shown, shown
    target = ws.compute.get("gpu")
    # what create refuses, update refuses, and nothing changes
    for args, message in ((["--python", "~alice/venv/bin/python"], "is not an absolute path"),
                          (["--python", "~"], "is not an absolute path"),
                          (["--python", "venv/bin/python"], "is not an absolute path"),
                          (["--env", "conda"], "Invalid value for '--env'"),
                          ([], "say what to change")):
        out = mlws(ws, "compute", "update", "gpu", *args)
        assert out.exit_code == 2 and message in out.stderr, (args, out.output)
    with pytest.raises(InvalidInput, match="python is not a setting of dask targets"):
        ws.compute.update("farm", python="python3")
    with pytest.raises(InvalidInput, match="host cannot be changed: only python, env can"):
        ws.compute.update("gpu", host="elsewhere")
    with pytest.raises(Conflict, match="local target is built in"):
        ws.compute.update("local", env="build")
    assert ws.compute.get("gpu") == target and ws.compute.get("farm")["env"] == "system"
    assert ws.compute.update("farm", env="build")["env"] == "build"
    # '~/...' is the login's home on the host (expanded there, not here: test_compute_ssh.py)
    out = mlws(ws, "compute", "update", "gpu", "--python", "~/venv/bin/python")
    assert out.exit_code == 0 and ws.compute.get("gpu")["python"] == "~/venv/bin/python", out.output


def test_a_submissions_own_mistakes_are_told_before_any_target_is_asked(ws, tmp_path):
    """``run submit --compute`` checks the notebook, the project folder and the parameters
    first: the environment check (an SSH round trip; here a host that is not there) comes
    after, so a typo is told at once, without a drift warning before it."""
    ws.compute.create("box", "ssh", host="127.0.0.1", port=dead_port(), user="u", host_key=ED25519)
    notebook = tmp_path / "nb.ipynb"
    shutil.copy(NOTEBOOKS / "train.ipynb", notebook)
    for args, said in (([tmp_path / "missing.ipynb"], "error: no notebook at "),
                       ([notebook, "--project-dir", tmp_path / "nowhere"], "error: no folder "),
                       ([notebook, "-p", "bad name", "1"], "error: "),
                       ([notebook, "--retries", "11"], "error: retries must be an integer")):
        out = mlws(ws, "run", "submit", *args, "--compute", "box")
        assert out.exit_code in (2, 3) and out.stderr.startswith(said), (args, out.stderr)
        assert "warning" not in out.stderr and "TCP connect" not in out.stderr, (args, out.stderr)
    assert ws.search_runs() == []


def test_runs_list_and_filter_by_their_compute_target(ws, tmp_path, listener):
    """``run list --json`` says where each run executes and ``compute`` is a filter field, by
    the one search rule (a run with no target recorded is ``local``)."""
    ws.compute.create("cluster", "dask", address=f"tcp://127.0.0.1:{listener}")
    ws.runs.create("e", name="here", source_type="notebook", status="queued")
    there = ws.runs.create("e", name="there", source_type="notebook", status="queued")
    ws.compute.assign(there.id, "cluster")
    listed = json.loads(mlws(ws, "run", "list", "--json").stdout)["runs"]
    assert {r["name"]: r["compute"] for r in listed} == {"here": "local", "there": "cluster"}
    for text, names in (("compute = 'cluster'", ["there"]), ("compute = 'local'", ["here"]),
                        ("compute != 'cluster'", ["here"]), ("attributes.compute LIKE 'clu%'", ["there"])):
        out = mlws(ws, "run", "list", "-f", text, "--json")
        assert [r["name"] for r in json.loads(out.stdout)["runs"]] == names, (text, out.output)
