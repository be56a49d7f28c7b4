"""A team server's own account is the owner's: what a newcomer found a contributor could reach.

Against a real ``mlws server --enforce-roles`` subprocess whose token comes from a file ending
with a line break (``JUPYTER_TOKEN_FILE``, as ``echo`` writes it) and whose environment holds
credentials (``MLWS_DATABASE_URL``, a ``*_PASSWORD``, a ``*_TOKEN``): a contributor's code is
refused on the ``local`` target (it would run as the server's account), an owner's run there
sees none of the server's credentials yet logs to its run, a token with a line break works and
one with a bad character is one line that never shows it, a request without a token is told
which token to give, and an ssh run the server starts reports to the server itself (no
background server is left behind).  The rule itself, and the environment a run's process
gets, are checked on the store first.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from jupyter_mlws import Workspace
from jupyter_mlws.access import os_user
from jupyter_mlws.compute.local import run_process_env
from jupyter_mlws.config import WorkspaceConfig, load
from jupyter_mlws.errors import InvalidInput, PermissionDenied
from jupyter_mlws.remote.client import checked_token
from jupyter_mlws.startup import server_token
from mlws_testing import start_jupyter, stop_jupyter
from ssh_runs import remote_python  # noqa: F401 (a fixture: the host's interpreter)

NOTEBOOKS = Path(__file__).parent / "notebooks"
MLWS = str(Path(sys.executable).parent / "mlws")
#: the credentials the team server's environment holds (none may reach a run's process)
CANARIES = {"MLWS_DATABASE_URL": "postgresql+psycopg://team:db-canary-pw@127.0.0.1:1/team",
            "TEAM_DB_PASSWORD": "password-canary", "CLOUD_API_TOKEN": "cloud-token-canary"}
REFUSED = "running code on the local target executes it as the server's own OS account"


# -- the rule and the environment, on the store ------------------------------------------------


def _notebook(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(NOTEBOOKS / "train.ipynb", folder / "train.ipynb")
    return folder / "train.ipynb"


def test_code_on_local_is_an_owners_with_roles_checked(ws, tmp_path):
    nb = _notebook(tmp_path / "project")
    ws.access.grant(os_user(), "alice", "contributor")
    ws.access.grant(os_user(), "olga", "owner")
    (tmp_path / "pipeline.yaml").write_text("name: p\nsteps:\n  - name: a\n    notebook: project/train.ipynb\n")
    attempts = {
        "notebook": lambda: ws.notebooks.submit(nb, actor="alice", check_actor=True, detach=False),
        "sweep": lambda: ws.notebooks.submit_grid(nb, {"lr": [0.1, 0.2]}, actor="alice",
                                                  check_actor=True, detach=False),
        "command": lambda: ws.submit_command(["python", "-c", "1"], compute="local", cwd=tmp_path,
                                             actor="alice", check_actor=True),
        "pipeline": lambda: ws.pipelines.run(tmp_path / "pipeline.yaml", actor="alice",
                                             check_actor=True),
        "schedule": lambda: ws.schedules.create("nightly", notebook=nb, cron="0 6 * * *",
                                                user="alice", check_actor=True),
    }
    for what, attempt in attempts.items():
        with pytest.raises(PermissionDenied) as refused:
            attempt()
        message = str(refused.value)
        assert message.startswith("user 'alice' has the role contributor: ") and REFUSED in message, what
        assert "ssh or dask target" in message and "run_as_server" in message, what
    assert ws.search_runs() == [] and ws.schedules.list(check_actor=False) == []  # nothing recorded
    # an owner, this OS user itself, and a caller that decided (a personal server) may
    for actor, check in (("olga", True), (os_user(), True), ("alice", False)):
        sub = ws.notebooks.submit(nb, actor=actor, check_actor=check, detach=False)
        assert ws.get_run(sub.run_id).status == "queued"
    # another target than local is anyone's who may submit
    ws.compute.create("cluster", "dask", address="tcp://127.0.0.1:9", check_actor=False)
    ws.compute.require_execution("cluster", "alice", True)
    # the owner opens local to contributors in mlws.toml
    ws.compute.run_as_server = "contributor"
    assert ws.get_run(ws.notebooks.submit(nb, actor="alice", check_actor=True,
                                          detach=False).run_id).status == "queued"
    ws.access.grant(os_user(), "rita", "reader")
    with pytest.raises(PermissionDenied, match="user 'rita' has the role reader: running code"):
        ws.compute.require_execution(None, "rita", True)


def test_mlws_toml_opens_local_runs(tmp_path):
    ws = Workspace.create(tmp_path / "w")
    ws.close()
    config = ws.root / "mlws.toml"
    assert load(ws.root).local_run_as_server == "owner"
    config.write_text(config.read_text() + '\n[compute.local]\nrun_as_server = "contributor"\n')
    assert load(ws.root).local_run_as_server == "contributor"
    with Workspace.open(ws.root) as opened:
        assert opened.compute.run_as_server == "contributor"
        assert "[compute.local]" in opened.config.to_toml()  # kept when the file is rewritten
    config.write_text(config.read_text().replace('"contributor"', '"reader"'))
    with pytest.raises(InvalidInput, match=r'sets \[compute.local\] run_as_server to \'reader\': '
                                           r'write "owner" \(the default\) or "contributor"'):
        load(ws.root)


def test_a_runs_process_gets_no_credentials_but_the_stores(tmp_path):
    environ = {"PATH": "/bin", "JUPYTER_TOKEN": "t", "JUPYTER_TOKEN_FILE": "/f", "MLWS_TOKEN": "m",
               "JUPYTERHUB_API_TOKEN": "h", "PGPASSWORD": "p", "AWS_SECRET_ACCESS_KEY": "s",
               "my_db_password": "x", "MLWS_SERVED_AT": "id http://127.0.0.1:1/", "LANG": "C", **CANARIES}
    # a server checking roles: none of its credentials
    assert run_process_env(environ=environ, strict=True) == {"PATH": "/bin", "LANG": "C",
                                                             "MLWS_SERVED_AT": "id http://127.0.0.1:1/"}
    kept = run_process_env(("MLWS_DATABASE_URL", "AWS_SECRET_ACCESS_KEY"), environ, strict=True)
    assert set(kept) == {"PATH", "LANG", "MLWS_SERVED_AT", "MLWS_DATABASE_URL", "AWS_SECRET_ACCESS_KEY"}
    # a user's own process (the CLI, a personal server): their cloud keys and passwords stay for
    # their runs; what signs in to a server and the database URL do not
    mine = run_process_env(environ=environ, strict=False)
    assert set(mine) == {"PATH", "LANG", "MLWS_SERVED_AT", "PGPASSWORD", "AWS_SECRET_ACCESS_KEY",
                         "my_db_password"} | (set(CANARIES) - {"MLWS_DATABASE_URL"})
    # what the workspace's own stores read stays: a team's env: metadata URL, an object store's keys
    assert WorkspaceConfig(tmp_path, "w").store_env == ()
    team = WorkspaceConfig(tmp_path, "w", metadata="env:MLWS_DATABASE_URL", artifacts="s3://b/a")
    assert team.store_env[0] == "MLWS_DATABASE_URL" and "AWS_SECRET_ACCESS_KEY" in team.store_env


def test_a_token_loses_the_whitespace_around_it_and_never_shows():
    assert checked_token("  mlws_user_abc\n") == "mlws_user_abc"
    assert checked_token(" \n") is None and checked_token(None) is None
    for bad in ("mlws_user_a b", "mlws_user_a\nb", "mlws_user_\x01x", "mlws_user_é"):
        with pytest.raises(InvalidInput) as refused:
            checked_token(bad)
        assert "mlws_user" not in str(refused.value) and "copy the token again" in str(refused.value)


def test_mlws_server_reads_its_token_file_without_the_line_break(tmp_path):
    token_file = tmp_path / "admin.token"
    token_file.write_text("a" * 48 + "\n")
    environ = {"JUPYTER_TOKEN_FILE": str(token_file)}
    server_token(environ)
    assert environ["JUPYTER_TOKEN"] == "a" * 48
    environ = {"JUPYTER_TOKEN": " b\n"}
    server_token(environ)
    assert environ == {"JUPYTER_TOKEN": "b"}
    for text, message in (("\n", "is empty"), ("a b\n", "holds a space")):
        token_file.write_text(text)
        with pytest.raises(InvalidInput, match=message) as refused:
            server_token({"JUPYTER_TOKEN_FILE": str(token_file)})
        assert "a b" not in str(refused.value)
    with pytest.raises(InvalidInput, match="cannot be read"):
        server_token({"JUPYTER_TOKEN_FILE": str(tmp_path / "missing")})


# -- a real team server -----------------------------------------------------------------------


class Team:
    def __init__(self, ws, server, alice):
        self.ws, self.url, self.token, self.log, self.proc = ws, server.url, server.token, server.log, server.proc
        self.root, self.alice = ws.root, alice


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    root = tmp_path_factory.mktemp("team-security")
    ws = Workspace.create(root / "served")
    token_file = root / "admin.token"

    def argv(port, token):
        token_file.write_text(token + "\n")  # what echo, print() and editors write
        return [MLWS, "-w", str(ws.root), "server", "--port", str(port), "--enforce-roles"]

    server = start_jupyter(root, argv, cwd=root,
                           extra_env={"JUPYTER_TOKEN_FILE": str(token_file), **CANARIES})
    try:
        ws.access.grant(os_user(), "alice", "contributor")
        alice = ws.access.tokens.create("alice")["token"]
        yield Team(ws, server, alice)
    finally:
        stop_jupyter(server)
        ws.close()


def mlws(*args, token, workspace, cwd=None, timeout=300):
    """The real ``mlws`` CLI as a teammate's shell runs it: exit code, stdout, stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLWS_", "JUPYTER"))}
    env["MLWS_WORKSPACE"] = workspace
    if token is not None:
        env["MLWS_TOKEN"] = token
    done = subprocess.run([MLWS, *map(str, args)], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def test_the_owners_token_file_with_a_line_break_signs_in(team):
    code, out, err = mlws("workspace", "show", token=team.token, workspace=team.url)
    assert code == 0, err
    assert f"{os_user()} (owner)" in out


def test_a_contributor_is_refused_the_servers_account(team, tmp_path):
    _notebook(tmp_path)
    code, _, err = mlws("run", "submit", "train.ipynb", token=team.alice, workspace=team.url, cwd=tmp_path)
    assert code == 6, err
    assert "user 'alice' has the role contributor" in err and REFUSED in err
    assert "--compute NAME" in err and "Traceback" not in err
    assert team.ws.search_runs(filter_string="user = 'alice'") == []


def test_an_owners_local_run_sees_none_of_the_servers_credentials(team, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import os, json\nimport jupyter_mlws as mlws\n"
        "print(json.dumps(sorted(os.environ)))\n"
        "print(json.dumps([v[::-1] for v in os.environ.values()]))\n"  # reversed: not masked
        "mlws.log('logged', 1.0)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "probe.ipynb")
    code, out, err = mlws("run", "submit", "probe.ipynb", "--wait", token=team.token,
                          workspace=team.url, cwd=tmp_path)
    assert code == 0, err
    run = team.ws.get_run(out.strip().splitlines()[-1])
    assert run.status == "completed" and run.metrics["logged"] == 1.0  # its own MLWS_* work
    logs = team.ws.run_logs(run.id, "stdout.log")["stdout.log"].decode()
    names = json.loads(next(line for line in logs.splitlines() if line.startswith('["')))
    assert "MLWS_RUN_ID" in names and "MLWS_WORKSPACE" in names
    assert not {"JUPYTER_TOKEN", "JUPYTER_TOKEN_FILE", *CANARIES} & set(names), names
    for value in (team.token, *CANARIES.values()):
        assert value[::-1] not in logs


def test_a_token_with_a_line_break_works_and_a_bad_one_is_never_shown(team):
    code, out, err = mlws("workspace", "show", token=team.alice + "\n", workspace=team.url)
    assert code == 0, err
    assert "alice (contributor)" in out
    code, out, err = mlws("workspace", "show", token=team.alice[:20] + "\x01" + team.alice[20:],
                          workspace=team.url)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "copy the token again" in err
    assert team.alice[:20] not in out + err and team.alice[21:] not in out + err


def test_no_token_says_which_token_to_give(team):
    code, _, err = mlws("run", "list", token=None, workspace=team.url)
    assert code == 6 and "needs a token" in err and "mlws access token create USER" in err, err
    req = urllib.request.Request(team.url + "mlws/api/runs")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=30)
    body = json.loads(refused.value.read())
    assert refused.value.code == 403 and body["reason"] == "permission_denied"
    assert "mlws access token create USER" in body["message"]
    assert "server's own token" in body["message"]


def _background_servers(under: Path) -> list[int]:
    """The pids of background workspace servers (``python -m jupyter_mlws.server.background ROOT
    PORT IDLE``) of a workspace under ``under``: this test session's (this worker's) temp root,
    never another test's running beside it."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"jupyter_mlws.server.background" in argv:
            root = Path(os.fsdecode(argv[argv.index(b"jupyter_mlws.server.background") + 1]))
            if root.resolve().is_relative_to(under.resolve()):
                found.append(int(pid))
    return found


def test_an_ssh_run_of_the_team_server_reports_to_it_and_nothing_outlives_it(
        team, sshd, remote_python, tmp_path, tmp_path_factory):
    """The newcomer's finding: the team server's ssh runs started a second, hidden workspace
    server (``jupyter_mlws.server.background``) that outlived ``mlws server`` and logged database
    tracebacks after it."""
    from jupyter_mlws.remote.server import BackgroundServer

    ours = tmp_path_factory.getbasetemp()
    before = _background_servers(ours)
    team.ws.secrets.set(os_user(), "box-key", sshd.user.private_key)
    team.ws.compute.create("box", "ssh", host="127.0.0.1", port=sshd.port, user=sshd.user.name,
                           key_secret="box-key", python=remote_python, workdir="mlws-team-security",
                           accept_host_key=True, check_actor=False)
    _notebook(tmp_path)
    try:
        code, out, err = mlws("run", "submit", "train.ipynb", "--compute", "box", "--wait",
                              token=team.alice, workspace=team.url, cwd=tmp_path)
        assert code == 0, err
        run = team.ws.get_run(out.strip().splitlines()[-1])
        assert run.status == "completed" and run.record.user == "alice"
        assert run.metrics["loss"] > 0
        assert not (team.root / ".mlws" / "server.json").exists()
        assert _background_servers(ours) == before
    finally:
        BackgroundServer(team.root).stop()  # had one started, it must not outlive the test
