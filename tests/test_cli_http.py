"""The ``mlws`` command line pointed at a workspace over HTTP (``MLWS_WORKSPACE=http://...`` with
``MLWS_TOKEN``), against a real ``mlws server`` subprocess shared by this module, as a team's
user on another machine types it: compute targets (a Dask scheduler with its workers), a notebook
sent with its project folder and run on the server and on a target, a command run here and on a
target, logs, re-runs, cancel, secrets (never a value), environments, models.  Every command of
the CLI either works or answers one line saying it works on a local workspace only: never a
traceback, never a path of the server."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from jupyter_mlws import Workspace
from jupyter_mlws.cli import main
from mlws_testing import start_jupyter, stop_jupyter, wait_for

NOTEBOOKS = Path(__file__).parent / "notebooks"
MLWS = str(Path(sys.executable).parent / "mlws")

#: what a team's user needs from another machine: these must never say "local workspace only"
MUST_WORK = {"workspace show", "experiment list", "run start", "run submit", "run rerun",
             "run promote", "run cancel", "run list", "run show", "run compare", "run logs",
             "run download", "run history", "run values", "run cells", "model register",
             "model list", "model show", "model delete", "model alias", "secret set",
             "secret list", "secret show", "secret delete", "secret recover", "secret purge",
             "secret audit", "compute create", "compute list", "compute show", "compute update",
             "compute delete", "compute test", "env list", "env show", "env build", "env prune",
             "env diff", "dataset list", "dataset show", "dataset versions", "dataset download",
             "dataset alias", "dataset delete"}
#: inherently local: these must say so
LOCAL_ONLY = {"workspace create", "workspace move-artifacts", "workspace backup", "server",
              "quickstart", "scheduler", "secret rotate-key", "dataset register"}


class Server:
    """The module's ``mlws server``: ``url``, ``token``, ``log``, ``ws`` (the workspace it
    serves, opened locally to read back what came over HTTP), ``root`` (its folder)."""

    def __init__(self, ws, server):
        self.ws, self.url, self.token, self.log = ws, server.url, server.token, server.log
        self.root = ws.root


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-http")
    ws = Workspace.create(root / "served")
    proc = start_jupyter(root, lambda port, token: [
        MLWS, "-w", str(ws.root), "server", "--port", str(port), f"--IdentityProvider.token={token}"],
        cwd=root)
    try:
        yield Server(ws, proc)
    finally:
        stop_jupyter(proc)
        ws.close()


@pytest.fixture
def laptop(server, tmp_path, monkeypatch):
    """Another machine's project folder (the current folder), the CLI pointed at the server."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(NOTEBOOKS / "train.ipynb", project / "train.ipynb")
    (project / "data.csv").write_text("x,y\n1,2\n")
    monkeypatch.chdir(project)
    monkeypatch.setenv("MLWS_WORKSPACE", server.url)
    monkeypatch.setenv("MLWS_TOKEN", server.token)
    monkeypatch.delenv("MLWS_RUN_ID", raising=False)
    return project


def mlws(*args, input=None):
    """``mlws ARGS`` in this process (click's runner): exit code, stdout, stderr."""
    r = CliRunner().invoke(main, [str(a) for a in args], input=input)
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r.exit_code, r.stdout, r.stderr


def local_only_line(server, command: str) -> str:
    return (f"error: `mlws {command}` works on a local workspace only; this is {server.url}: "
            "run it on the server")


# -- every command: works, or one line --------------------------------------------------------


def _leaves(group: click.Group, path=()):
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from _leaves(cmd, (*path, name))
        else:
            yield " ".join((*path, name)), cmd


def _placeholders(cmd: click.Command) -> list[str]:
    """Arguments that parse: "x" for each argument and required option (a choice's first)."""
    args: list[str] = []
    for p in cmd.params:
        value = p.type.choices[0] if isinstance(p.type, click.Choice) else (
            "1" if isinstance(p.type, (click.types.IntParamType, click.types.FloatParamType)) else "x")
        if isinstance(p, click.Argument):
            args += [value] * max(p.nargs, 1)
        elif p.required:
            args += [p.opts[0], *[value] * max(p.nargs, 1)]
    return args


def test_every_command_works_or_says_in_one_line_that_it_is_local_only(server, laptop):
    said_local = set()
    for command, cmd in _leaves(main):
        r = CliRunner().invoke(main, [*command.split(), *_placeholders(cmd)],
                                               input="")
        shown = r.stdout + r.stderr
        assert r.exception is None or isinstance(r.exception, SystemExit), (command, r.exception)
        assert "Traceback" not in shown and "AttributeError" not in shown, (command, shown)
        assert str(server.root) not in shown and str(Path(__file__).parent) not in shown, command
        if "works on a local workspace only" in shown:
            assert r.exit_code == 2 and r.stderr.strip() == local_only_line(server, command), shown
            said_local.add(command)
    assert said_local & MUST_WORK == set(), "commands a team's user needs are local only"
    assert said_local >= LOCAL_ONLY
    assert {"endpoint list", "vm list", "schedule list"} <= said_local  # not offered over HTTP yet


def test_a_local_only_command_is_one_line_on_stderr_of_the_real_command(server, tmp_path):
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("MLWS_")}
    done = subprocess.run([MLWS, "-w", server.url, "workspace", "move-artifacts", str(tmp_path)],
                          env={**env, "MLWS_TOKEN": server.token}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == local_only_line(server, "workspace move-artifacts") + "\n"


# -- what a team's user does ------------------------------------------------------------------


def test_workspace_show_describes_the_server_without_its_paths(server, laptop):
    code, out, _ = mlws("workspace", "show")
    assert code == 0
    assert f"url:" in out and server.url in out and "metadata:           sqlite" in out
    assert str(server.root) not in out


def test_secrets_are_set_listed_and_deleted_never_shown(server, laptop):
    value = "hunter2-over-http"
    code, out, _ = mlws("secret", "set", "api-key", "--stdin", input=value + "\n")
    assert (code, out.strip()) == (0, "secret api-key version 1 set")
    code, out, _ = mlws("secret", "list")
    assert code == 0 and "api-key" in out and value not in out
    assert "api-key" in mlws("secret", "show", "api-key")[1]
    assert server.ws.get_secret("api-key") == value  # stored as sent (read on the server)
    code, out, _ = mlws("secret", "delete", "api-key")
    assert code == 0 and "mlws secret recover api-key" in out
    assert "api-key" not in mlws("secret", "list")[1]
    assert "api-key" in mlws("secret", "list", "--deleted")[1]
    assert mlws("secret", "recover", "api-key")[0] == 0
    assert value not in server.log.read_text(errors="replace")


def test_a_notebook_is_sent_with_its_folder_and_run_on_the_server(server, laptop):
    code, out, err = mlws("run", "submit", "train.ipynb", "-p", "lr", "0.5", "--wait")
    assert code == 0, err
    run_id = out.strip().splitlines()[-1]
    assert f"run {run_id} completed" in err
    run = server.ws.get_run(run_id)
    assert run.params["lr"] == "0.5" and run.record.source_name == "train.ipynb"
    assert {f["path"] for f in run.files("snapshot")} == {"train.ipynb", "data.csv"}
    assert not list((server.root / "work").glob("upload-*"))  # its folder was removed
    code, out, _ = mlws("run", "show", run_id)
    assert code == 0 and "compute:    local" in out and "lr = 0.5" in out
    assert "[snapshot] data.csv" in out
    code, out, err = mlws("run", "list", "--json")
    assert code == 0, err
    assert {r["id"]: r["compute"] for r in json.loads(out)["runs"]}[run_id] == "local"
    code, out, _ = mlws("run", "logs", run_id)
    assert code == 0 and "==> stdout.log <==" in out
    assert mlws("run", "logs", run_id, "--follow")[1] == out  # an ended run: its logs, then stop
    code, out, err = mlws("run", "rerun", run_id, "-p", "epochs", "2", "--wait")
    assert code == 0, err
    again = server.ws.get_run(out.strip().splitlines()[-1])
    assert again.params["epochs"] == "2" and again.tags["rerun_of"] == run_id
    # its outputs/result.txt, registered as a model and listed
    code, out, err = mlws("model", "register", "loss-model", "--run", run_id, "--artifact",
                          "outputs/result.txt")
    assert code == 0, err
    code, out, _ = mlws("model", "list")
    assert code == 0 and "loss-model" in out
    code, out, _ = mlws("model", "show", "loss-model:1")
    assert code == 0 and f"run:" in out and run_id in out


def test_a_bad_submission_records_nothing(server, laptop):
    before = len(server.ws.search_runs(max_results=1000))
    code, _, err = mlws("run", "submit", "missing.ipynb")
    assert code == 3 and "missing.ipynb" in err
    code, _, err = mlws("run", "submit", "train.ipynb", "--compute", "nowhere")
    assert code == 3 and "nowhere" in err
    (laptop / "elsewhere").mkdir()
    code, _, err = mlws("run", "submit", "train.ipynb", "--project-dir", "elsewhere")
    assert code == 2 and "not inside the project folder" in err
    assert len(server.ws.search_runs(max_results=1000)) == before


def test_a_run_is_canceled_over_http(server, laptop):
    shutil.copy(NOTEBOOKS / "slow.ipynb", laptop / "slow.ipynb")
    code, out, err = mlws("run", "submit", "slow.ipynb")
    assert code == 0, err
    run_id = out.strip()
    wait_for(lambda: server.ws.get_run(run_id).status == "running", "the run starting")
    code, out, _ = mlws("run", "cancel", run_id)
    assert (code, out.strip()) == (0, f"run {run_id} canceled")


def test_a_command_runs_here_and_logs_to_the_servers_workspace(server, laptop):
    code, out, err = mlws("run", "start", "-e", "here", "--", sys.executable, "-c",
                          "import jupyter_mlws as m; print('from here'); m.current_run().log('x', 2.5)")
    assert code == 0, err
    run = server.ws.search_runs(experiments=["here"])[0]
    assert run.status == "completed" and run.metrics["x"] == 2.5
    assert run.record.source_type == "command"
    assert server.ws.run_logs(run.id)["stdout.log"] == b"from here\n"
    code, _, err = mlws("run", "start", "--secret", "api-key", "--", "true")
    assert code == 2 and "--compute NAME" in err


def test_environments_are_listed_and_compared_on_the_server(server, laptop):
    code, out, _ = mlws("env", "list")
    assert code == 0 and out.startswith("HASH")
    code, _, err = mlws("env", "build")
    assert code == 2 and "--from-kernel" in err


def test_a_dask_target_runs_a_notebook_and_a_command_sent_from_here(server, laptop, dask_cluster):
    code, out, err = mlws("compute", "create", "box", "--type", "dask", "--address",
                          dask_cluster.address)
    assert code == 0, err
    code, out, _ = mlws("compute", "list")
    assert code == 0 and "box" in out and dask_cluster.address.split("://")[1] in out
    assert dask_cluster.address in mlws("compute", "show", "box")[1]
    code, out, _ = mlws("compute", "test", "box")
    assert code == 0 and "Dask scheduler" in out
    code, out, err = mlws("run", "submit", "train.ipynb", "--compute", "box", "-p", "epochs", "3",
                          "--wait", "--no-env-check")
    assert code == 0, err
    run = server.ws.get_run(out.strip().splitlines()[-1])
    assert run.status == "completed" and run.params["epochs"] == "3"
    assert server.ws.compute.target_of(run.id)[0] == "box"
    assert "compute:    box" in mlws("run", "show", run.id)[1]
    code, out, err = mlws("run", "start", "--compute", "box", "-e", "remote-cmd", "--",
                          "python", "-c", "print(open('data.csv').read().strip())")
    assert code == 0, err
    assert "x,y\n1,2" in out  # streamed back from the worker, the snapshot its folder
    cmd_run = server.ws.search_runs(experiments=["remote-cmd"])[0]
    assert cmd_run.status == "completed" and server.ws.compute.target_of(cmd_run.id)[0] == "box"
    assert mlws("compute", "delete", "box") == (0, "compute target box deleted\n", "")


def test_an_ssh_targets_host_key_is_shown_then_pinned_and_tested_from_the_server(server, laptop,
                                                                                  sshd):
    key = sshd.user.private_key
    assert mlws("secret", "set", "ssh-key", "--stdin", input=key)[0] == 0
    create = ("compute", "create", "sshbox", "--type", "ssh", "--host", "127.0.0.1", "--port",
              sshd.port, "--user", sshd.user.name, "--key-secret", "ssh-key")
    code, _, err = mlws(*create)  # not at a terminal: nobody to confirm the key
    assert code == 2 and "fingerprint SHA256:" in err and "--yes" in err
    assert "sshbox" not in mlws("compute", "list")[1]
    code, out, err = mlws(*create, "--yes")
    assert code == 0, err
    assert "host key SHA256:" in out and "pinned" in out
    code, out, _ = mlws("compute", "show", "sshbox")
    assert f"user:        {sshd.user.name}" in out and "key secret:  ssh-key" in out
    code, out, _ = mlws("compute", "test", "sshbox")
    checks = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "OK" in checks["DNS"] and "OK" in checks["authentication"], out
    assert key.strip().splitlines()[1] not in out + server.log.read_text(errors="replace")
    assert mlws("compute", "delete", "sshbox")[0] == 0


def test_a_build_the_check_knows_will_fail_is_refused_over_http_too(server, laptop, sshd):
    """The release check (a target whose Python, a stand-in saying it is 3.0.0, cannot take
    pins of the kernel's environment) is the server's: ``mlws env build`` and ``run submit
    --build-env`` typed here are refused with its reason, nothing built or recorded; ``--yes``
    builds anyway (the build then fails on the host)."""
    old = sshd.user.home / "old-python-http"
    old.write_text("#!/bin/sh\necho 3.0.0\n")
    old.chmod(0o755)
    subprocess.run(["chown", f"{sshd.user.name}:", str(old)], check=True)
    from jupyter_mlws.access import os_user

    server.ws.secrets.set(os_user(), "old-key", sshd.user.private_key)
    server.ws.compute.create("oldhttp", "ssh", host="127.0.0.1", port=sshd.port,
                             user=sshd.user.name, key_secret="old-key", host_key=sshd.host_key,
                             python=str(old), env="build", workdir="mlws-oldhttp")
    try:
        runs_before = len(server.ws.search_runs(max_results=1000))
        for command in (("env", "build", "--from-kernel", "python3", "--compute", "oldhttp"),
                        ("run", "submit", "train.ipynb", "--compute", "oldhttp", "--build-env")):
            code, _, err = mlws(*command)
            assert code == 2, (command, err)
            assert err.startswith("error: oldhttp's Python is 3.0.0, the kernel's "), err
            assert "Nothing was built: fix that first, or build anyway with --yes" in err
            assert str(server.root) not in err
        assert server.ws.environments.list("oldhttp") == []
        assert len(server.ws.search_runs(max_results=1000)) == runs_before
        code, _, err = mlws("env", "build", "--from-kernel", "python3", "--compute", "oldhttp",
                            "--yes")
        assert code != 0 and "Nothing was built" not in err, err
        assert [e["state"] for e in server.ws.environments.list("oldhttp")] == ["failed"]
    finally:
        server.ws.compute.delete("oldhttp", check_actor=False)
        server.ws.secrets.delete(os_user(), "old-key")


def test_run_list_json_takes_each_runs_target_from_the_page_alone(server, laptop, monkeypatch):
    """``mlws run list --json`` over HTTP: the GET runs page carries each run's target, so
    the listing is that one request (it made one more per run)."""
    from jupyter_mlws.remote.client import Client

    server.ws.compute.create("listed", "dask", address="tcp://127.0.0.1:9", check_actor=False)
    made = []
    for i in range(3):
        record = server.ws.runs.create("listing", status="queued")
        server.ws.runs.end(record.id, "canceled")
        made.append(record.id)
    server.ws.compute.assign(made[1], "listed")
    asked = []
    real = Client._request

    def counted(self, method, path, query, **options):
        asked.append((method, tuple(path)))
        return real(self, method, path, query, **options)

    monkeypatch.setattr(Client, "_request", counted)
    try:
        code, out, err = mlws("run", "list", "-e", "listing", "--json")
        assert code == 0, err
        assert {r["id"]: r["compute"] for r in json.loads(out)["runs"]} == {
            made[0]: "local", made[1]: "listed", made[2]: "local"}
        assert [a for a in asked if a[1][:1] == ("runs",)] == [("GET", ("runs",))], asked
    finally:
        monkeypatch.undo()
        server.ws.compute.delete("listed", check_actor=False)
