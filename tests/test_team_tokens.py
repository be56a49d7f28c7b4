"""A team server with roles enforced, as the README sets it up, against a real ``mlws server
--enforce-roles`` subprocess (its token in ``JUPYTER_TOKEN``, never on its command line): the
server's own token signs in as the server's OS user (the workspace's owner), who gives alice
(contributor) and bob (reader) API tokens of their own with ``mlws access token create``; each
works as that user over HTTP (the SDK's ``Workspace.connect``, the CLI with ``MLWS_TOKEN``), runs
record who made them, bob is refused writes, a revoked or expired token is refused saying so, and
no token appears in the server's log, the workspace's files or any message."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_mlws import Workspace
from jupyter_mlws.access import os_user
from jupyter_mlws.cli import main
from jupyter_mlws.errors import PermissionDenied
from mlws_testing import start_jupyter, stop_jupyter, wait_for

NOTEBOOKS = Path(__file__).parent / "notebooks"
MLWS = str(Path(sys.executable).parent / "mlws")


class Team:
    """The module's team server: ``url``, ``token`` (the server's own), ``log``, ``ws`` (opened
    locally to read back), ``root``, ``proc``; ``tokens`` made for users by the tests."""

    def __init__(self, ws, server):
        self.ws, self.url, self.token, self.log = ws, server.url, server.token, server.log
        self.root, self.proc = ws.root, server.proc
        self.tokens: dict[str, str] = {}


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    root = tmp_path_factory.mktemp("team-tokens")
    ws = Workspace.create(root / "served")
    server = start_jupyter(root, lambda port, token: [
        MLWS, "-w", str(ws.root), "server", "--port", str(port), "--enforce-roles"],
        cwd=root, token_env=True)
    try:
        yield Team(ws, server)
    finally:
        stop_jupyter(server)
        ws.close()


def mlws(*args, token: str | None, workspace: str, cwd: Path | None = None):
    """``mlws ARGS`` (click's runner, in this process) with MLWS_WORKSPACE and MLWS_TOKEN set:
    exit code, stdout, stderr."""
    env = {"MLWS_WORKSPACE": workspace, "MLWS_TOKEN": token, "MLWS_RUN_ID": None}
    old = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        r = CliRunner().invoke(main, [str(a) for a in args], env=env)
    finally:
        os.chdir(old)
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r.exit_code, r.stdout, r.stderr


def call(team: Team, method: str, path: str, token: str, body=None):
    """A raw request with ``Authorization: token TOKEN`` (and ``body`` as JSON): (status, JSON or
    text)."""
    req = urllib.request.Request(team.url + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"token {token}",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as exc:
        body = exc.read().decode()
        try:
            return exc.code, json.loads(body)
        except ValueError:
            return exc.code, body


@pytest.fixture(scope="module")
def people(team):
    """The owner (the server's token) grants alice contributor and bob reader, and creates their
    tokens, over HTTP with the CLI."""
    for user, role in (("alice", "contributor"), ("bob", "reader")):
        code, out, err = mlws("access", "grant", user, role, token=team.token, workspace=team.url)
        assert (code, out.strip()) == (0, f"{user} is now {role}"), err
        code, out, err = mlws("access", "token", "create", user, "--note", f"{user}'s laptop",
                              "--expires", "30d", token=team.token, workspace=team.url)
        assert code == 0, err
        team.tokens[user] = out.strip()
        assert team.tokens[user].startswith("mlws_user_") and len(out.splitlines()) == 1
        assert f"for {user}" in err and "not shown again" in err and team.tokens[user] not in err
    return team.tokens


def test_the_servers_token_is_not_on_its_command_line(team):
    cmdline = Path(f"/proc/{team.proc.pid}/cmdline").read_bytes()
    assert team.token.encode() not in cmdline


def test_the_servers_token_signs_in_as_the_owner_under_enforce_roles(team):
    """The newcomer's BLOCKER: every request with the shared token was a new random user,
    "user '2cc6...' has no role in this workspace", even the owner's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLWS_")}
    done = subprocess.run([MLWS, "workspace", "show"], capture_output=True, text=True, timeout=120,
                          env={**env, "MLWS_WORKSPACE": team.url, "MLWS_TOKEN": team.token})
    assert done.returncode == 0, done.stderr
    assert f"{os_user()} (owner)" in done.stdout and "roles_enforced" in done.stdout
    assert "has no role" not in done.stdout + done.stderr


def test_the_page_url_mlws_server_prints_works_as_the_workspace(team):
    code, out, err = mlws("workspace", "show", "--json", token=None,
                          workspace=f"{team.url}mlws/?token={team.token}")
    assert code == 0, err
    assert json.loads(out)["you"] == f"{os_user()} (owner)"
    assert team.token not in out + err


def test_alice_logs_and_submits_runs_recorded_as_hers(team, people, tmp_path):
    with Workspace.connect(team.url, people["alice"]) as ws:
        with ws.experiment("team").start_run(snapshot=False) as run:
            run.log("loss", 0.25)
        assert ws.get_run(run.id).record.user == "alice"
    assert team.ws.get_run(run.id).record.user == "alice"
    assert team.ws.get_run(run.id).metrics["loss"] == 0.25
    # the CLI over HTTP: a notebook sent with its folder is refused on the server's own account
    # (the local target: an owner's, tests/test_team_server_security.py), nothing recorded
    shutil.copy(NOTEBOOKS / "train.ipynb", tmp_path / "train.ipynb")
    code, out, err = mlws("run", "submit", "train.ipynb", "-p", "lr", "0.5", "--wait",
                          token=people["alice"], workspace=team.url, cwd=tmp_path)
    assert code == 6 and "running code on the local target" in err, err
    code, out, err = mlws("run", "list", "-f", "user = 'alice'", "--json",
                          token=people["alice"], workspace=team.url)
    assert code == 0, err
    assert {r["id"] for r in json.loads(out)["runs"]} == {run.id}
    # who ran each, in the table, in 'run show' and on the SDK's runs (newcomer findings)
    code, out, err = mlws("run", "list", "-f", "user = 'alice'", token=people["bob"],
                          workspace=team.url)
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.split()[:5] == ["ID", "NAME", "EXPERIMENT", "USER", "STATUS"]
    assert [row.split()[3] for row in rows] == ["alice"]
    code, out, err = mlws("run", "show", run.id, token=people["bob"], workspace=team.url)
    assert code == 0 and re.search(r"^user:\s+alice on \S+$", out, re.M), out + err
    with Workspace.connect(team.url, people["bob"]) as ws:
        assert {r.user for r in ws.search_runs("user = 'alice'")} == {"alice"}
        assert ws.get_run(run.id).user == "alice"
    # the owner's runs over HTTP are the server's OS user's
    with Workspace.connect(team.url, team.token) as ws:
        with ws.experiment("team").start_run(snapshot=False) as mine:
            pass
    assert team.ws.get_run(mine.id).record.user == os_user()


def test_a_pipeline_alice_runs_over_rest_is_hers_with_all_its_steps(team, people):
    """``POST pipelines`` with alice's token: the pipeline's run and each step's run record alice
    (they recorded the server's OS user), as her notebooks and sweeps do; so do the runs of a
    step reused from an earlier run."""
    project = team.root.parent / "alice-pipe"  # in the server's folder (the one it started in)
    project.mkdir()
    (project / "make.py").write_text("import pathlib\npathlib.Path('outputs').mkdir()\n"
                                     "pathlib.Path('outputs/o.txt').write_text('x')\n")
    definition = {"name": "alice-pipe", "steps": [
        {"name": "make", "script": "make.py", "outputs": ["o.txt"]}]}
    body = {"definition": definition, "project_dir": "alice-pipe"}
    # a contributor's steps would run on the server's own account: refused, nothing recorded
    code, refused = call(team, "POST", "mlws/api/pipelines", people["alice"], body)
    assert code == 403 and "running code on the local target" in refused["message"], refused
    team.ws.access.grant(os_user(), "alice", "owner", check_actor=False)  # an owner's is run
    try:
        for _ in range(2):  # the second run reuses the first's step
            code, made = call(team, "POST", "mlws/api/pipelines", people["alice"], body)
            assert code == 201, made
            run_id = made["run"]["id"]
            wait_for(lambda: team.ws.get_run(run_id).status not in ("queued", "running"),
                     f"pipeline run {run_id} ending", timeout=90)
            assert team.ws.get_run(run_id).status == "completed"
            children = team.ws.runs.children(run_id)
            assert len(children) == 1
            assert [r.user for r in (team.ws.get_run(run_id).record, *children)] == ["alice", "alice"]
    finally:
        team.ws.access.grant(os_user(), "alice", "contributor", check_actor=False)
    assert children[0].tags.get("reused_from")


def test_alices_endpoint_would_run_on_the_servers_account_and_is_refused(team, people):
    """An endpoint's process runs its scoring script and unpickles its model on the server's
    own account: local's rule (an owner's, unless run_as_server opens it), nothing recorded."""
    body = {"model": "m:1", "script": "score.py"}
    for method, path, extra in (("POST", "mlws/api/endpoints", {"name": "alice-api"}),
                                ("PUT", "mlws/api/endpoints/alice-api/deployments/green", {})):
        code, refused = call(team, method, path, people["alice"], {**body, **extra})
        assert code == 403 and "running code on the local target" in refused["message"], refused
    assert team.ws.endpoints.list() == []


def test_bob_reads_but_is_refused_writes(team, people, tmp_path):
    with Workspace.connect(team.url, people["bob"]) as ws:
        assert ws.describe()["you"] == "bob (reader)"
        assert ws.search_runs(max_results=5) is not None
        with pytest.raises(PermissionDenied, match="user 'bob' has the role reader"):
            ws.experiment("team").start_run(snapshot=False)
    shutil.copy(NOTEBOOKS / "train.ipynb", tmp_path / "train.ipynb")
    before = len(team.ws.search_runs(max_results=1000))
    code, _, err = mlws("run", "submit", "train.ipynb", token=people["bob"], workspace=team.url,
                        cwd=tmp_path)
    assert code != 0 and "has the role reader" in err and "contributor" in err
    assert len(team.ws.search_runs(max_results=1000)) == before
    code, _, err = mlws("access", "token", "create", "bob", token=people["bob"], workspace=team.url)
    assert code != 0 and "has the role reader" in err and "an owner makes" in err
    assert "write access to roles and API tokens (POST tokens) needs contributor" in err
    assert "access to access" not in err and "'mlws access grant bob contributor'" in err
    code, _, err = mlws("access", "grant", "bob", "owner", token=people["bob"], workspace=team.url)
    assert code != 0 and "needs owner" in err
    assert team.ws.access.role_of("bob") == "reader"


def test_who_manages_which_tokens(team, people):
    # alice makes a second token of her own, sees only hers, and cannot touch bob's
    code, out, err = mlws("access", "token", "create", "alice", "--note", "ci", "--json",
                          token=people["alice"], workspace=team.url)
    assert code == 0, err
    second = json.loads(out)
    assert second["user"] == "alice" and second["created_by"] == "alice"
    code, out, err = mlws("access", "token", "list", "--json", token=people["alice"],
                          workspace=team.url)
    assert code == 0, err
    listed = json.loads(out)
    assert {t["user"] for t in listed} == {"alice"} and len(listed) >= 2
    assert "token" not in listed[0] and second["token"] not in out
    code, _, err = mlws("access", "token", "list", "bob", token=people["alice"], workspace=team.url)
    assert code != 0 and "only an owner lists other users' tokens" in err
    bobs = team.ws.access.tokens.list("bob")[0]["id"]
    code, _, err = mlws("access", "token", "revoke", bobs, token=people["alice"], workspace=team.url)
    assert code != 0 and f"no user token '{bobs}'" in err
    code, _, err = mlws("access", "token", "create", "bob", token=people["alice"], workspace=team.url)
    assert code != 0 and "only an owner creates tokens for other users" in err
    # alice revokes her second token
    code, out, err = mlws("access", "token", "revoke", second["id"], token=people["alice"],
                          workspace=team.url)
    assert (code, out.strip()) == (0, f"token {second['id']} of alice is revoked"), err
    # the owner sees everyone's, in a table without tokens
    code, out, err = mlws("access", "token", "list", token=team.token, workspace=team.url)
    assert code == 0, err
    assert out.split()[:7] == ["ID", "USER", "STATE", "NOTE", "CREATED", "EXPIRES", "LAST"]
    assert "bob's laptop" in out and "revoked" in out and "mlws_user_" not in out
    # no role, no token
    code, _, err = mlws("access", "token", "create", "carol", token=team.token, workspace=team.url)
    assert code != 0 and "user 'carol' has no role" in err


def test_a_user_token_reaches_the_workspace_api_only(team, people):
    status, _ = call(team, "GET", "api/status", people["alice"])
    assert status == 403
    status, _ = call(team, "GET", "api/me", people["alice"])
    assert status == 403
    status, body = call(team, "GET", "mlws/api/workspace", people["alice"])
    assert status == 200 and body["you"]["user"] == "alice"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect (to the login page) is the answer itself


def browse(url: str, data: dict | None = None, opener=None):
    """A browser's request (no Authorization header, redirects not followed): (status, the
    Location header, body text)."""
    opener = opener or urllib.request.build_opener(_NoRedirect)
    body = None if data is None else urllib.parse.urlencode(data).encode()
    try:
        with opener.open(urllib.request.Request(url, data=body), timeout=30) as reply:
            return reply.status, reply.headers.get("Location"), reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location"), exc.read().decode()


def test_a_user_token_in_a_browser_says_where_it_works(team, people):
    """Newcomer finding: ``/mlws/?token=mlws_user_...`` landed on Jupyter's login page, and the
    token pasted there said only "Invalid credentials"."""
    token = people["alice"]
    for page in ("mlws/", "lab", "tree", "api/contents", "api/kernels", "api/sessions",
                 "api/terminals", "api/status"):
        status, location, body = browse(f"{team.url}{page}?token={token}")
        assert status == 403 and location is None, (page, status, location)
        assert "user's API token" in body.replace("&#39;", "'") and "mlws run list" in body, page
        assert "JupyterHub" in body and token not in body, page
        assert f"MLWS_WORKSPACE={team.url} MLWS_TOKEN=" in body, body  # this server's URL
        if not page.startswith("api/"):  # a page: on lines of their own (Jupyter shows it in <pre>)
            assert f"\n\n    MLWS_WORKSPACE={team.url} MLWS_TOKEN=" in body, body
    # pasted in the login form (a browser: the form's XSRF cookie first)
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPCookieProcessor(jar))
    assert browse(f"{team.url}login", opener=opener)[0] == 200
    xsrf = next(c.value for c in jar if c.name == "_xsrf")
    status, location, body = browse(f"{team.url}login?next=%2Fmlws%2F",
                                    {"password": token + "\n", "_xsrf": xsrf}, opener=opener)
    assert status == 401 and location is None
    assert "Invalid credentials" not in body and "user's API token" in body.replace("&#39;", "'")
    assert "mlws run list" in body and token not in body
    # the server's own token still signs a browser in, to the page as the owner
    status, location, _ = browse(f"{team.url}login?next=%2Fmlws%2F",
                                 {"password": team.token, "_xsrf": xsrf}, opener=opener)
    assert status == 302 and location.endswith("/mlws/")
    status, _, body = browse(f"{team.url}mlws/", opener=opener)
    assert status == 200 and "mlws.js" in body
    # and the page opened with the server's token is not refused for having a token in its URL
    assert browse(f"{team.url}mlws/?token={team.token}")[0] in (200, 302)


def test_a_revoked_or_expired_token_is_refused_saying_why(team, people):
    made = team.ws.access.tokens.create("alice", note="short-lived")
    token = made["token"]
    assert call(team, "GET", "mlws/api/runs", token)[0] == 200
    # it expires (the clock moved on: its expiry set in the past)
    from jupyter_mlws.store import schema as S

    team.ws.db.transact(lambda conn: conn.execute(
        S.user_tokens.update().where(S.user_tokens.c.id == made["id"]).values(expires_at=1)))
    status, body = call(team, "GET", "mlws/api/runs", token)
    assert status == 403 and body["message"] == (
        f"user token {made['id']} of 'alice' has expired: create a new one "
        "('mlws access token create USER')")
    # revoked by the owner with the CLI: refused at once
    code, out, err = mlws("access", "token", "list", "alice", "--json", token=team.token,
                          workspace=team.url)
    first = next(t for t in json.loads(out) if t["note"] == "alice's laptop")
    assert first["last_used_at"] is not None and first["state"] == "active"
    code, out, err = mlws("access", "token", "revoke", first["id"], token=team.token,
                          workspace=team.url)
    assert code == 0, err
    code, _, err = mlws("workspace", "show", token=people["alice"], workspace=team.url)
    assert code != 0 and f"user token {first['id']} of 'alice' was revoked" in err
    with pytest.raises(PermissionDenied, match="was revoked"):
        Workspace.connect(team.url, people["alice"])
    status, body = call(team, "GET", "mlws/api/runs", "mlws_user_" + "x" * 43)
    assert status == 403 and "not known to the workspace" in body["message"]


def test_a_user_whose_role_is_revoked(team, people):
    """Newcomer findings: after 'access revoke' the user's tokens listed as active, and each
    refusal named a request ("GET tracking") the user never made."""
    code, out, err = mlws("access", "grant", "dave", "reader", token=team.token, workspace=team.url)
    assert code == 0, err
    made = team.ws.access.tokens.create("dave", note="dave's laptop")
    code, out, err = mlws("access", "revoke", "dave", token=team.token, workspace=team.url)
    assert (code, out.strip()) == (0, "dave has no role now"), err
    assert "1 API token(s) of dave are refused until an owner grants dave a role again" in err
    code, out, err = mlws("access", "token", "list", "dave", "--json", token=team.token,
                          workspace=team.url)
    assert code == 0 and [t["state"] for t in json.loads(out)] == ["no role"], out + err
    code, out, err = mlws("access", "token", "list", "dave", token=team.token, workspace=team.url)
    assert code == 0 and "no role" in out.splitlines()[1] and "active" not in out
    code, _, err = mlws("run", "list", token=made["token"], workspace=team.url)
    assert code == 6 and "user 'dave' has no role in this workspace" in err
    assert "tracking" not in err and "'mlws access grant dave reader'" in err
    # granted again, the same token works again, and lists as active
    assert mlws("access", "grant", "dave", "reader", token=team.token, workspace=team.url)[0] == 0
    assert mlws("run", "list", token=made["token"], workspace=team.url)[0] == 0
    assert team.ws.access.tokens.list("dave")[0]["state"] == "active"


def test_no_token_leaks(team, people):
    """Last in the module: every token made above, searched in the server's log, every file of
    the workspace (its database included) and the refusals' messages."""
    log = team.log.read_text(errors="replace")
    assert people and all(t not in log for t in people.values())  # (Jupyter prints its own)
    assert "mlws_user_" not in log
    made = [*people.values(), team.token]
    for path in team.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(t.encode() in data for t in made), path
