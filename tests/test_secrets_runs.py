"""Secrets in runs and on the command line, with real kernels and real ``mlws`` processes: the
leak test (a notebook printing a secret in 10 ways, then every file of the workspace grepped),
injection into ``mlws run start``, and ``mlws secret`` as a user types it."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import select
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from mlws_testing import leaks

from jupyter_mlws.access import os_user
from jupyter_mlws.cli import main
from test_cli import MLWS, mlws_process

NOTEBOOKS = Path(__file__).parent / "notebooks"
#: '/', '+', '=', '?', '&' make every encoding differ from the value
VALUE = "s3cr3t/Tok+en=?&xyz-CANARY-4242"
#: what the notebook prints in base64 inside a header (the value at another byte offset)
HEADER = __import__("base64").urlsafe_b64encode(("user:" + VALUE).encode())


def mlws(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)


@pytest.fixture
def project(tmp_path, ws):
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(NOTEBOOKS / "secret_leaks.ipynb", folder / "leaks.ipynb")
    ws.secrets.set(os_user(), "api-token", VALUE)
    return folder


def _executed(ws, run_id) -> str:
    """The executed notebook a run stored, as text."""
    stored = next(f for f in ws.runs.files(run_id, "artifact") if f["path"].startswith("notebook/"))
    return ws.blobs.path(stored["sha256"]).read_text()


def test_a_notebook_printing_a_secret_ten_ways_leaves_no_trace(ws, project):
    """print, repr, base64, URL-safe base64 inside a header, URL-encoded, an exception, logging,
    display(), sys.stderr.write, and a value split over two prints on one line: all masked.  A
    value printed in two pieces on two lines cannot be masked, and is never whole anywhere."""
    result = mlws("-w", ws.root, "run", "submit", project / "leaks.ipynb", "--secret", "api-token=API_TOKEN",
                  "--wait")
    run_id = result.stdout.split()[0]
    record = ws.runs.get(run_id)
    assert record.status == "failed", result.stderr  # the last cell raises, with the value
    assert record.error.startswith("cell 11 (In [11]) raised RuntimeError: 6 exception: bad token ***")
    assert record.tags["secrets"] == '["api-token"]' and VALUE not in json.dumps(record.to_dict())
    logs = ws.run_logs(run_id)
    stdout, stderr = logs["stdout.log"].decode(), logs["stderr.log"].decode()
    for line in ("1 print: ***", "2 repr: '***'", "3 base64: ***", "5 url-encoded: *** *** https://h/?t=***",
                 "10 split on one line: ***"):
        assert line in stdout, stdout
    assert "4 urlsafe base64 inside a header: " in stdout and HEADER.decode() not in stdout
    assert "7 logging: connecting with ***" in stderr and "9 stderr: token=***" in stderr
    assert "10b split on two lines: s3cr3t\n/Tok+en=?&xyz-CANARY-4242" in stdout  # cannot be masked
    notebook = _executed(ws, run_id)
    assert notebook.count("***") >= 12 and "RuntimeError" in notebook
    # a sweep does the same: its children are forked by a real mlws process (forking needs a
    # process that runs no other thread, which this test's process may not be)
    sweep = mlws_process("-w", ws.root, "run", "submit", project / "leaks.ipynb", "--secret",
                         "api-token=API_TOKEN", "--grid", "x=1,2", "--wait", cwd=project, timeout=240)
    children = ws.runs.children(sweep.stdout.split()[0])
    assert [c.error.splitlines()[0] for c in children] == [
        "cell 11 (In [12]) raised RuntimeError: 6 exception: bad token ***"] * 2
    assert leaks(ws.root, VALUE, {"header base64": HEADER}) == []
    reads = [e for e in ws.secrets.audit("api-token") if e["action"] == "read"]
    assert {e["run_id"] for e in reads} == {run_id, *(c.id for c in children)}


def test_run_start_gives_secrets_to_the_command_only_through_its_environment(ws, project, tmp_path):
    digest = hashlib.sha256(VALUE.encode()).hexdigest()
    code = ("import hashlib, os, sys, base64\n"
            "v = os.environ['API_TOKEN']\n"
            "assert hashlib.sha256(v.encode()).hexdigest() == sys.argv[1]\n"
            "assert v not in open('/proc/self/cmdline').read()\n"
            "print('token', v, flush=True)\n"
            "print(v[:7], end='', flush=True); print(v[7:], flush=True)\n"
            "sys.stderr.write(base64.b64encode(v.encode()).decode())\n")
    done = mlws_process("-w", ws.root, "run", "start", "--no-snapshot", "--secret", "api-token=API_TOKEN",
                        "--", "python", "-c", code, digest, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "token ***\n***\n"  # the echo is masked too
    assert "***" in done.stderr and VALUE not in done.stderr
    run = ws.search_runs()[0]
    assert run.tags["secrets"] == '["api-token"]'
    assert ws.run_logs(run.id)["stdout.log"] == b"token ***\n***\n"
    assert leaks(ws.root, VALUE) == []
    # a secret that does not exist: refused before any run is recorded
    refused = mlws_process("-w", ws.root, "run", "start", "--secret", "nope", "--", "true", cwd=tmp_path)
    assert refused.returncode == 3 and "no secret named 'nope'" in refused.stderr
    assert len(ws.search_runs()) == 1


def test_a_secret_deleted_after_submission_fails_the_run_with_the_reason(ws, project):
    from jupyter_mlws.notebooks.executor import execute_with_kernel

    sub = ws.notebooks.submit(project / "leaks.ipynb", secrets=["api-token=API_TOKEN"], detach=False)
    ws.secrets.delete(os_user(), "api-token")
    assert execute_with_kernel(ws.notebooks.reporter(sub.run_id)) == "failed"
    assert ws.runs.get(sub.run_id).error == (
        "its secrets could not be read: secret 'api-token' is deleted: recover it first "
        "('mlws secret recover api-token')")
    ws.secrets.recover(os_user(), "api-token")
    # a rerun keeps its source's secrets
    again = ws.rerun(sub.run_id, wait=True)
    assert again.tags["secrets"] == '["api-token"]' and "bad token ***" in again.record.error


def test_secret_commands_read_values_from_stdin_never_argv(ws):
    w = ["-w", ws.root]
    set_ = mlws(*w, "secret", "set", "db-pass", input="from-stdin-123\n")
    assert set_.stdout == "secret db-pass version 1 set\n"
    assert ws.get_secret("db-pass") == "from-stdin-123"  # one trailing newline dropped
    key = "-----BEGIN KEY-----\nabcdef\n-----END KEY-----\n"
    assert mlws(*w, "secret", "set", "ssh-key", "--stdin", input=key).exit_code == 0
    assert ws.get_secret("ssh-key") == key  # a multi-line value is kept as it is
    extra = mlws(*w, "secret", "set", "db-pass", "the-value-on-argv")
    assert extra.exit_code == 2 and ws.secrets.show("db-pass")["version"] == 1
    listed = json.loads(mlws(*w, "secret", "list", "--json").stdout)
    assert [(s["name"], s["version"]) for s in listed] == [("db-pass", 1), ("ssh-key", 1)]
    shown = mlws(*w, "secret", "show", "db-pass").stdout
    assert "from-stdin" not in shown and "versions:" in shown
    assert "deleted: 'mlws secret recover db-pass'" in mlws(*w, "secret", "delete", "db-pass").stdout
    conflict = mlws(*w, "secret", "set", "db-pass", input="another-value")
    assert conflict.exit_code == 5 and "recover it with 'mlws secret recover db-pass'" in conflict.stderr
    assert "db-pass" in mlws(*w, "secret", "list", "--deleted").stdout
    assert mlws(*w, "secret", "recover", "db-pass").exit_code == 0
    audit = mlws(*w, "secret", "audit", "db-pass").stdout
    assert [line.split()[4:7] for line in audit.splitlines()[1:]] == [  # TIME is date, time, zone
        ["recover", "-", os_user()], ["delete", "-", os_user()], ["read", "1", os_user()],
        ["set", "1", os_user()]]
    assert "from-stdin" not in audit
    assert "re-encrypted 2 version(s)" in mlws(*w, "secret", "rotate-key").stdout
    # an owner only purges
    ws.access.grant(os_user(), "boss", "owner")
    ws.access.grant(os_user(), os_user(), "contributor")
    mlws(*w, "secret", "delete", "db-pass")
    denied = mlws(*w, "secret", "purge", "db-pass")
    assert denied.exit_code == 6 and "needs owner" in denied.stderr
    assert mlws(*w, "secret", "rotate-key").exit_code == 6


@pytest.mark.skipif(not MLWS, reason="the mlws entry point is not installed")
def test_secret_set_at_a_terminal_prompts_without_echo(ws):
    env = {**{k: v for k, v in os.environ.items() if k not in ("MLWS_WORKSPACE", "MLWS_RUN_ID")}}
    pid, fd = pty.fork()
    if pid == 0:  # the child: mlws at a terminal
        os.execve(MLWS, [MLWS, "-w", str(ws.root), "secret", "set", "typed"], env)
    seen = _read_until(fd, b"(not shown): ")
    assert b"Value of typed" in seen
    os.write(fd, b"typed-at-the-prompt\n")
    seen += _read_until(fd, b"set")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert b"typed-at-the-prompt" not in seen  # not echoed
    assert ws.get_secret("typed") == "typed-at-the-prompt"


def _read_until(fd: int, marker: bytes, timeout: float = 30) -> bytes:
    out, deadline = b"", time.monotonic() + timeout
    while marker not in out and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.5)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


def test_mlws_get_secret_in_a_notebook_run_reads_given_secrets_only(ws, tmp_path):
    import nbformat

    ws.secrets.set(os_user(), "given", "given-value-1")
    ws.secrets.set(os_user(), "other", "other-value-2")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import jupyter_mlws as mlws\nassert mlws.get_secret('given') == 'given-value-1'\n"
        "mlws.get_secret('other')")])
    nbformat.write(nb, tmp_path / "read.ipynb")
    run = ws.submit_notebook(tmp_path / "read.ipynb", secrets=["given"], wait=True, in_process=True)
    assert run.status == "failed" and "PermissionDenied: run" in run.record.error
    assert "was not given secret 'other'" in run.record.error
    assert [e["action"] for e in ws.secrets.audit("other")] == ["set"]
    assert sum(e["action"] == "read" and e["run_id"] == run.id for e in ws.secrets.audit("given")) == 2


def test_what_a_running_run_shows_is_masked_and_a_canceled_run_keeps_no_trace(ws, project, tmp_path):
    """The live logs and the live notebook are masked as they are written, not only at the end:
    a run canceled (or killed) mid-cell keeps them as they are."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os, sys, time\nprint('live', os.environ['API_TOKEN'], flush=True)\n"
        "sys.stderr.write(os.environ['API_TOKEN'])\nsys.stderr.flush()\ntime.sleep(120)")])
    nbformat.write(nb, project / "live.ipynb")
    run = ws.submit_notebook(project / "live.ipynb", secrets=["api-token=API_TOKEN"])
    live_nb = ws.artifacts.live_root / run.id / "output.ipynb"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        logs = ws.run_logs(run.id)
        if b"live" in logs.get("stdout.log", b"") and b"***" in logs.get("stderr.log", b"") \
                and live_nb.is_file() and "live ***" in live_nb.read_text():
            break
        time.sleep(0.2)
    assert logs["stdout.log"] == b"live ***\n" and logs["stderr.log"] == b"***", logs
    assert VALUE not in live_nb.read_text()
    assert ws.cancel_run(run.id, grace=5).status == "canceled"
    ws.wait(run.id, timeout=60)
    assert leaks(ws.root, VALUE) == []
