"""``compute create`` and ``compute test`` as a newcomer meets them (issue 11): a port that
answers TCP but no SSH banner, a secret that holds no key, the steps in their order, an
interpreter below the login's home (``~/...``, expanded on the host), one that cannot run, and
an ``--env build`` target, which needs no jupyter_mlws of its own."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from sshd import ed25519_pair

from jupyter_mlws.access import os_user
from jupyter_mlws.cli import main
from jupyter_mlws.errors import InvalidInput

KEY = "box-key"
STEPS = ["dns", "tcp", "handshake", "host_key", "authentication", "python", "jupyter_mlws", "disk"]


def mlws(ws, *args):
    return CliRunner().invoke(main, ["-w", str(ws.root), *map(str, args)], catch_exceptions=False)


@pytest.fixture
def key(ws, sshd):
    ws.secrets.set(os_user(), KEY, sshd.user.private_key)
    return KEY


def create(ws, sshd, name, **options):
    settings = dict(host="127.0.0.1", port=sshd.port, user=sshd.user.name, key_secret=KEY,
                    python=sshd.user.python, host_key=sshd.host_key)
    return ws.compute.create(name, "ssh", **{**settings, **options})


def checks_of(report: dict) -> list[tuple[str, str]]:
    return [(c["check"], c["status"]) for c in report["checks"]]


@pytest.fixture
def silent_port():
    """A port on 127.0.0.1 that accepts TCP connections and never says a word (a hung sshd, a
    service waiting for its client to speak first); connections are held until the test ends."""
    held: list[socket.socket] = []
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.settimeout(0.2)
        done = threading.Event()

        def accept() -> None:
            while not done.is_set():
                try:
                    held.append(server.accept()[0])
                except OSError:
                    continue

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        yield server.getsockname()[1]
        done.set()
        thread.join(2)
    for conn in held:
        conn.close()


def test_a_port_without_an_ssh_banner_is_said_so_and_paramiko_prints_nothing(ws, silent_port):
    """paramiko's transport thread logs the banner failure's traceback at ERROR: none of it
    reaches the terminal (only jupyter_mlws's debug log), and our one line says what the port
    did, without paramiko's inner "No existing session".  (In a process of its own: pytest
    captures even loggers that do not propagate.)"""
    code = ("import sys\nfrom jupyter_mlws import Workspace\n"
            "from jupyter_mlws.compute.failures import StepFailed\n"
            f"ws = Workspace.open({str(ws.root)!r})\n"
            "ws.compute.timeout = 1.0\n"
            "try:\n"
            f"    ws.compute.create('silent', 'ssh', host='127.0.0.1', port={silent_port}, user='u',"
            " accept_host_key=True)\n"
            "except StepFailed as exc:\n"
            "    print(exc)\n"
            f"ws.compute.create('silent', 'ssh', host='127.0.0.1', port={silent_port}, user='u', "
            f"host_key={' '.join(ed25519_pair()[1].split()[:2])!r})\n"
            "print(ws.compute.test('silent')['checks'][2])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stderr == "", out.stderr[-3000:]
    said, check = out.stdout.splitlines()
    assert said == (f"ssh 127.0.0.1:{silent_port}: the SSH handshake step failed: 127.0.0.1:"
                    f"{silent_port} accepted TCP but sent no SSH banner within 1 s: is an SSH server "
                    "listening there (not another service), and is it answering (not hung)?"), said
    assert check.startswith("{'check': 'handshake', 'title': 'SSH handshake', 'status': 'fail', "
                            f"'detail': '127.0.0.1:{silent_port} accepted TCP but sent no SSH "
                            "banner within 1 s"), check


def test_a_secret_that_holds_no_key_is_refused_at_create_never_shown(ws, sshd, key):
    ws.secrets.set(os_user(), "hf-token", "hf_abcdefghijklmnopqrstuvwxyz0123")
    out = mlws(ws, "compute", "create", "box", "--type", "ssh", "--host", "127.0.0.1", "--port",
               sshd.port, "--user", sshd.user.name, "--key-secret", "hf-token", "--yes")
    assert out.exit_code == 2, out.output
    assert out.stderr.startswith("error: secret 'hf-token' does not hold an SSH private key"), out.stderr
    assert "nothing was created" in out.stderr and "hf_abc" not in out.output
    assert [t["name"] for t in ws.compute.list()] == ["local"]
    with pytest.raises(InvalidInput, match="does not hold an SSH private key"):
        create(ws, sshd, "box", key_secret="hf-token")


def test_a_key_gone_bad_fails_authentication_in_its_turn(ws, sshd, key):
    """A key secret changed to something that is not a key (or deleted) after creation fails
    the authentication step, after the handshake and the host key, which were checked."""
    ws.secrets.set(os_user(), "garbled-key", sshd.user.private_key)
    create(ws, sshd, "garbled", key_secret="garbled-key")
    ws.secrets.set(os_user(), "garbled-key", "just some text")
    report = ws.compute.test("garbled")
    assert checks_of(report) == [("dns", "ok"), ("tcp", "ok"), ("handshake", "ok"), ("host_key", "ok"),
                                 ("authentication", "fail"), ("python", "skip"),
                                 ("jupyter_mlws", "skip"), ("disk", "skip")], report
    assert "does not hold an SSH private key" in report["checks"][4]["detail"]
    ws.secrets.delete(os_user(), "garbled-key")
    report = ws.compute.test("garbled")
    assert [c for c, _ in checks_of(report)] == STEPS, report
    assert checks_of(report)[3:5] == [("host_key", "ok"), ("authentication", "fail")], report
    assert "secret 'garbled-key' is deleted" in report["checks"][4]["detail"]


def test_a_python_below_the_logins_home_is_expanded_on_the_host(ws, sshd, key):
    """``--python '~/...'`` is the login's home's on the host (this machine's home differs);
    one that cannot be executed says so without the shell's ``mlws: 1: exec:``."""
    home_python = "~/" + Path(sshd.user.python).relative_to(sshd.user.home).as_posix()
    create(ws, sshd, "tilde", python=home_python)
    report = ws.compute.test("tilde")
    assert report["ok"], report
    assert ws.compute.get("tilde")["python"] == home_python
    create(ws, sshd, "noexec", python="/etc/passwd")
    python = {c["check"]: c for c in ws.compute.test("noexec")["checks"]}["python"]
    assert python["status"] == "fail"
    assert python["detail"] == "'/etc/passwd' did not run: /etc/passwd: Permission denied", python


def test_an_env_build_target_needs_python_and_venv_not_jupyter_mlws(ws, sshd, key):
    """The README: ``--env build`` needs no preparation beyond Python 3.10+: ``compute test``
    checks what a build needs there and says when environments are built."""
    create(ws, sshd, "builds", python="/usr/bin/python3", env="build")
    out = mlws(ws, "compute", "test", "builds")
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert [line.split()[0] for line in lines[5:]] == ["python", "environment", "disk"], out.stdout
    assert lines[6].split()[1] == "OK", out.stdout
    assert "each run's environment is built here with" in lines[6]
    assert "the first time a run needs it" in lines[6] and "mlws env list --compute builds" in lines[6]
