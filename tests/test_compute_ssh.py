"""SSH compute targets against a real OpenSSH server (tests/sshd.py, one per session): host keys
pinned after their fingerprint is shown, refused when changed or unknown, failures named by
step, commands whose arguments arrive literally and whose process tree cancel kills, SFTP both
ways, a reverse tunnel carrying HTTP, and no private key ever written to a file."""

from __future__ import annotations

import http.server
import importlib.util
import os
import pty
import re
import select
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sshd import SshServer, ed25519_pair, free_port

from jupyter_mlws.access import os_user
from jupyter_mlws.cli import main
from jupyter_mlws.compute.failures import StepFailed
from jupyter_mlws.compute.local import alive, group_alive
from jupyter_mlws.errors import InvalidInput, Unavailable

KEY = "box-key"
CHECKS = ["DNS", "TCP connect", "SSH handshake", "host key", "authentication", "python",
          "jupyter_mlws", "disk"]


def mlws(ws, *args):
    return CliRunner().invoke(main, ["-w", str(ws.root), *map(str, args)], catch_exceptions=False)


def fingerprint(public_key: str) -> str:
    """The key's fingerprint as OpenSSH's own ssh-keygen prints it."""
    out = subprocess.run(["ssh-keygen", "-lf", "-"], input=public_key + "\n", capture_output=True,
                         text=True, check=True).stdout
    return out.split()[1]


@pytest.fixture
def key(ws, sshd):
    ws.secrets.set(os_user(), KEY, sshd.user.private_key)
    return KEY


def create(ws, server, name="box", **options):
    settings = dict(host="127.0.0.1", port=server.port, user=server.user.name, key_secret=KEY,
                    python=server.user.python)
    return ws.compute.create(name, "ssh", **{**settings, **options})


@pytest.fixture
def box(ws, sshd, key):
    return create(ws, sshd, accept_host_key=True)


@pytest.fixture
def conn(ws, box):
    with ws.compute.connect("box") as connection:
        yield connection


@pytest.fixture
def marker():
    """A file a command injection would create (the sshd runs on this machine)."""
    path = Path(f"/tmp/mlws-injected-{uuid.uuid4().hex}")
    yield path
    path.unlink(missing_ok=True)


def cli_args(sshd, *extra):
    return ["compute", "create", "box", "--type", "ssh", "--host", "127.0.0.1", "--port", sshd.port,
            "--user", sshd.user.name, "--key-secret", KEY, "--python", sshd.user.python, *extra]


def report_lines(stdout: str) -> list[tuple[str, str]]:
    """(check title, status) of each line ``mlws compute test`` printed."""
    out = []
    for line in stdout.splitlines():
        title = next(t for t in [*CHECKS, "automl"] if line.startswith(t))
        out.append((title, line[len(title):].split()[0]))
    return out


# -- creating: the fingerprint shown, confirmed, pinned ------------------------------------------


def test_create_shows_the_fingerprint_pins_it_and_test_passes(ws, sshd, key):
    shown = fingerprint(sshd.host_key)
    r = mlws(ws, *cli_args(sshd))  # no terminal, neither --yes nor --host-key
    assert r.exit_code == 2
    assert shown in r.stderr and "--yes" in r.stderr and "--host-key" in r.stderr
    assert f"presents an ssh-ed25519 key with fingerprint {shown}" in " ".join(r.stderr.split())
    assert "nothing was created" in r.stderr and [t["name"] for t in ws.compute.list()] == ["local"]
    old = os.umask(0)  # the file's mode is given when it is opened, whatever the umask
    try:
        r = mlws(ws, *cli_args(sshd, "--yes"))
    finally:
        os.umask(old)
    assert r.exit_code == 0 and f"host key {shown} pinned" in r.stdout
    known = ws.root / ".mlws" / "known_hosts"
    assert stat.S_IMODE(known.stat().st_mode) == 0o600
    assert known.read_text() == f"[127.0.0.1]:{sshd.port} {sshd.host_key}\n"
    r = mlws(ws, "compute", "show", "box")
    assert f"host key:    {shown}" in r.stdout and f"user:        {sshd.user.name}" in r.stdout
    r = mlws(ws, "compute", "test", "box")
    assert r.exit_code == 0, r.stdout
    # a host python without FLAML (as root: the system's, with jupyter_mlws only) runs notebooks
    # and commands, not automated ML's searches: said, not failed
    bare = sshd.user.python != sys.executable or importlib.util.find_spec("flaml") is None
    assert report_lines(r.stdout) == [(title, "OK") for title in CHECKS[:-1]] + [
        ("automl", "SKIP" if bare else "OK"), ("disk", "OK")], r.stdout
    assert ("cannot import flaml, lightgbm: automated ML runs its search there" in r.stdout) == bare
    assert f"{shown} as pinned" in r.stdout and f"as {sshd.user.name}" in r.stdout
    assert "free in the work folder" in r.stdout
    # the test's read, then creation's (the secret must hold a key), newest first
    assert [e["action"] for e in ws.secrets.audit(KEY)][:3] == ["read", "read", "set"]


def _answer_prompt(ws, sshd, answer: str) -> tuple[int, str]:
    """``mlws compute create`` on a terminal, answering its question; (exit code, what it showed)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "jupyter_mlws.cli", "-w", str(ws.root),
                             *map(str, cli_args(sshd))], stdin=follower, stdout=subprocess.PIPE,
                            stderr=follower, close_fds=True)
    os.close(follower)
    shown, deadline = b"", time.monotonic() + 60
    try:
        while b"[y/N]" not in shown and time.monotonic() < deadline:
            if select.select([leader], [], [], 1)[0]:
                shown += os.read(leader, 4096)
        os.write(leader, answer.encode() + b"\n")
        proc.wait(60)
        while select.select([leader], [], [], 0.2)[0]:
            try:
                shown += os.read(leader, 4096)
            except OSError:
                break
    finally:
        os.close(leader)
        proc.stdout.close()
    return proc.returncode, shown.decode(errors="replace")


def test_on_a_terminal_the_fingerprint_is_asked_about(ws, sshd, key):
    code, shown = _answer_prompt(ws, sshd, "n")
    assert fingerprint(sshd.host_key) in shown and "ssh-ed25519" in shown
    assert code == 2 and "was not accepted: nothing was created" in shown
    assert [t["name"] for t in ws.compute.list()] == ["local"]
    code, shown = _answer_prompt(ws, sshd, "y")
    assert code == 0, shown
    assert ws.compute.get("box")["host_key"] == sshd.host_key


def test_a_given_host_key_is_pinned_and_a_wrong_fingerprint_refused(ws, sshd, key):
    r = mlws(ws, *cli_args(sshd, "--host-key", sshd.host_key + " root@somewhere"))
    assert r.exit_code == 0 and fingerprint(sshd.host_key) in r.stdout
    other = " ".join(ed25519_pair()[1].split()[:2])
    with pytest.raises(Exception, match=re.escape(f"not the {fingerprint(other)} you confirmed")):
        create(ws, sshd, "b2", host_key_fingerprint=fingerprint(other))
    assert create(ws, sshd, "b3", host_key_fingerprint=fingerprint(sshd.host_key))["host_key"] == sshd.host_key
    assert [t["name"] for t in ws.compute.list()] == ["local", "b3", "box"]


# -- host keys refused ---------------------------------------------------------------------------


def test_a_changed_host_key_is_refused_naming_the_host_and_both_fingerprints(ws, sshd, key):
    server = SshServer(sshd.user).start()
    try:
        first = fingerprint(server.host_key)
        create(ws, server, "moved", accept_host_key=True)
        assert ws.compute.test("moved")["ok"]
        server.stop()
        second = fingerprint(server.new_host_key())
        server.start()  # the same address, another key: a reinstalled host, or an impostor
        with pytest.raises(StepFailed) as failed:
            ws.compute.connect("moved")
        assert failed.value.step == "host_key"
        message = str(failed.value)
        assert f"[127.0.0.1]:{server.port}" in message and first in message and second in message
        assert "Nothing was sent" in message and f"presented an ssh-ed25519 key with fingerprint {second}" in message
        r = mlws(ws, "compute", "test", "moved")
        assert r.exit_code == 1
        assert report_lines(r.stdout) == [("DNS", "OK"), ("TCP connect", "OK"), ("SSH handshake", "OK"),
                                          ("host key", "FAIL")] + [(t, "SKIP") for t in CHECKS[4:]]
        assert first in r.stdout and second in r.stdout
        # the pin is unchanged: nothing was learnt from the impostor
        assert ws.compute.get("moved")["host_key_fingerprint"] == first
        assert fingerprint((ws.root / ".mlws" / "known_hosts").read_text().split(maxsplit=1)[1]) == first
    finally:
        server.remove()


def test_an_unknown_host_is_refused_and_never_added(sshd, tmp_path):
    from jupyter_mlws.compute.ssh.connection import SSHConnection
    from jupyter_mlws.compute.ssh.hostkeys import KnownHosts

    known = KnownHosts(tmp_path / "known_hosts")
    with pytest.raises(StepFailed) as failed:
        SSHConnection.open("127.0.0.1", sshd.port, sshd.user.name, known_hosts=known,
                           private_key=sshd.user.private_key)
    assert failed.value.step == "host_key"
    assert "has not pinned" in str(failed.value) and fingerprint(sshd.host_key) in str(failed.value)
    assert not known.path.exists()


def test_a_known_hosts_file_others_may_change_is_refused(ws, box):
    known = ws.root / ".mlws" / "known_hosts"
    known.chmod(0o666)
    with pytest.raises(Unavailable, match="may be changed by other users") as refused:
        ws.compute.connect("box")
    assert str(ws.root) not in str(refused.value)  # named within the workspace, not by its path


# -- failures named by their step ------------------------------------------------------------------


def test_authentication_failures_name_their_step(ws, sshd, key):
    ws.secrets.set(os_user(), "other-key", ed25519_pair()[0])
    ws.secrets.set(os_user(), "not-a-key", sshd.user.private_key)
    create(ws, sshd, "wrong", key_secret="other-key", host_key=sshd.host_key)
    create(ws, sshd, "keyless", key_secret=None, host_key=sshd.host_key)
    create(ws, sshd, "garbled", key_secret="not-a-key", host_key=sshd.host_key)
    ws.secrets.set(os_user(), "not-a-key", "just some text")  # a key is checked at creation only
    for name, why in (("wrong", "was refused with the key in secret 'other-key'"),
                      ("keyless", "has no key to offer: create it with --key-secret"),
                      ("garbled", "does not hold an SSH private key")):
        report = ws.compute.test(name)
        checks = {c["check"]: c for c in report["checks"]}
        assert not report["ok"] and checks["authentication"]["status"] == "fail", report
        assert why in checks["authentication"]["detail"]
        assert checks["dns"]["status"] == "ok"
        assert checks["python"]["status"] == "skip"


def test_a_dead_port_names_the_tcp_step_and_a_bad_name_the_dns_step(ws, sshd, key):
    create(ws, sshd, "dead", port=free_port(), host_key=sshd.host_key)
    create(ws, sshd, "nowhere", host="no-such-host.invalid", host_key=sshd.host_key)
    r = mlws(ws, "compute", "test", "dead")
    assert r.exit_code == 1
    assert report_lines(r.stdout) == [("DNS", "OK"), ("TCP connect", "FAIL")] + [
        (t, "SKIP") for t in CHECKS[2:]]
    assert "connection refused: nothing listens on port" in r.stdout
    r = mlws(ws, "compute", "test", "nowhere")
    assert r.exit_code == 1 and report_lines(r.stdout)[0] == ("DNS", "FAIL")
    assert "'no-such-host.invalid' does not resolve" in r.stdout
    # fetching a key to confirm fails the same way, and nothing is created
    r = mlws(ws, "compute", "create", "x", "--type", "ssh", "--host", "127.0.0.1", "--port",
             free_port(), "--user", "u", "--yes")
    assert r.exit_code == 7 and "the TCP connect step failed: connection refused" in r.stderr
    assert "x" not in [t["name"] for t in ws.compute.list()]


# -- commands: quoted, in a process group, stopped with everything they started ----------------------


HOSTILE = ["x; touch {m}", "$(touch {m})", "`touch {m}`", "a'b\"c\\d", "*", "", "  spaced  ",
           "$HOME", "-n", "line\nbreak", "|| touch {m} &&", "über ✓"]


def test_arguments_folders_and_variables_arrive_literally(ws, sshd, conn, marker):
    values = [v.format(m=marker) for v in HOSTILE]
    status, out = conn.run(["printf", "%s|\\n", *values])
    assert status == 0 and out == "".join(f"{v}|\n" for v in values)
    status, out = conn.run(["sh", "-c", 'printf "%s" "$V"'], env={"V": values[0] + values[1]})
    assert (status, out) == (0, values[0] + values[1])
    folder = f"work dir; touch {marker} $(id)"
    assert conn.run(["mkdir", "-p", "--", folder]) == (0, "")
    status, out = conn.run(["pwd"], cwd=folder)
    assert status == 0 and out.strip().endswith("/" + folder)
    assert (sshd.user.home / folder).is_dir()
    conn.remove(folder)
    assert not (sshd.user.home / folder).exists()
    # a target's work folder too: compute test creates it and measures its disk
    target = create(ws, sshd, "odd", workdir=folder, host_key=sshd.host_key)
    assert ws.compute.test(target["name"])["ok"]
    assert (sshd.user.home / folder).is_dir()
    conn.remove(folder)
    assert not marker.exists()
    with pytest.raises(InvalidInput):
        conn.run("echo hi; id")  # one string for a shell: never
    with pytest.raises(InvalidInput):
        conn.run(["true"], env={"A;B": "x"})


def _group(pgid: int) -> list[int]:
    """The live processes of this machine's process group ``pgid``."""
    out = []
    for entry in os.listdir("/proc"):
        try:
            fields = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if entry.isdigit() and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            out.append(int(entry))
    return out


@pytest.mark.parametrize("script, grace", [("sleep 300 & sleep 301 & wait", 10.0),
                                           ("trap '' TERM; sleep 300 & sleep 301 & wait", 1.0)])
def test_stop_kills_the_remote_process_tree(conn, script, grace):
    proc = conn.start(["sh", "-c", script])
    assert proc.pgid and proc.pgid > 1
    deadline = time.monotonic() + 30
    while len(_group(proc.pgid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    members = _group(proc.pgid)
    assert len(members) >= 3 and proc.alive()  # sh and its two sleeps
    proc.stop(grace=grace)  # SIGTERM; the second ignores it: SIGKILL after the grace
    assert not group_alive(proc.pgid) and not any(alive(pid) for pid in members)
    assert not proc.alive()
    assert proc.wait(timeout=30) != 0


def test_a_group_is_stopped_from_another_connection(ws, conn):
    proc = conn.start(["sleep", "300"])
    with ws.compute.connect("box") as later:  # a cancel from another process knows the pgid only
        later.stop_group(proc.pgid, grace=5)
    assert proc.wait(timeout=30) != 0 and not group_alive(proc.pgid)


def test_output_streams_back_and_a_timeout_stops_the_command(conn):
    heard = []
    status, out = conn.run(["sh", "-c", "echo one; echo two >&2; sleep 0.2; echo three; exit 3"],
                           on_output=lambda stream, data: heard.append((stream, data)))
    assert status == 3 and sorted(out.split()) == ["one", "three", "two"]
    assert (b"".join(d for s, d in heard if s == "stdout"), b"".join(d for s, d in heard if s == "stderr")) \
        == (b"one\nthree\n", b"two\n")
    with pytest.raises(StepFailed, match="'sleep' did not end within 0.5 s, and was stopped") as failed:
        conn.run(["sleep", "300"], timeout=0.5)
    assert failed.value.step == "execution"
    status, out = conn.run(["true"], cwd="no/such/folder")
    assert status != 0 and "can't cd" in out or "No such file" in out


# -- files --------------------------------------------------------------------------------------


def test_sftp_round_trip_of_a_tree(sshd, conn, tmp_path):
    src = tmp_path / "src"
    (src / "sub" / "deep").mkdir(parents=True)
    (src / "empty").mkdir()
    (src / "a.txt").write_text("a\n")
    blob = os.urandom(300_000)
    (src / "sub" / "b.bin").write_bytes(blob)
    (src / "sub" / "deep" / "run.sh").write_text("#!/bin/sh\necho ran\n")
    (src / "sub" / "deep" / "run.sh").chmod(0o755)
    (src / "link").symlink_to("/etc/passwd")  # links never travel
    remote = f"rt-{uuid.uuid4().hex[:8]}"
    assert conn.put(src, f"{remote}/up") == 2 + len(blob) + len("#!/bin/sh\necho ran\n")
    there = sshd.user.home / remote / "up"
    assert sorted(p.relative_to(there).as_posix() for p in there.rglob("*")) == [
        "a.txt", "empty", "sub", "sub/b.bin", "sub/deep", "sub/deep/run.sh"]
    assert conn.run([f"{remote}/up/sub/deep/run.sh"]) == (0, "ran\n")  # its executable bit kept
    assert conn.run(["ln", "-s", "/etc", f"{remote}/up/etc-link"])[0] == 0
    back = tmp_path / "back"
    assert conn.get(f"{remote}/up", back) == 2 + len(blob) + len("#!/bin/sh\necho ran\n")
    assert (back / "sub" / "b.bin").read_bytes() == blob and (back / "a.txt").read_text() == "a\n"
    assert (back / "empty").is_dir() and not (back / "etc-link").exists() and not (back / "link").exists()
    assert conn.put(src / "a.txt", f"{remote}/one/a.txt") == 2
    assert conn.get(f"{remote}/one/a.txt", tmp_path / "one.txt") == 2
    with pytest.raises(StepFailed, match="limit") as failed:
        conn.get(f"{remote}/up", tmp_path / "small", max_bytes=1000)
    assert failed.value.step == "transfer"
    with pytest.raises(StepFailed, match="downloading 'nothing-here' failed") as failed:
        conn.get("nothing-here", tmp_path / "x")
    assert str(tmp_path) not in str(failed.value)  # never a local path
    for refused in ("/", ".", "~", "a/../..", "/home"):
        with pytest.raises(InvalidInput, match="refusing to remove"):
            conn.remove(refused)
    conn.remove(remote)
    assert not (sshd.user.home / remote).exists()


# -- the reverse tunnel ---------------------------------------------------------------------------


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"hello from the workspace {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


FETCH = "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())"


def test_a_reverse_tunnel_carries_http_from_the_host_to_a_local_server(conn):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = conn.reverse_tunnel(server.server_port)
        second = conn.reverse_tunnel(server.server_port)
        assert port != second and port > 0
        for p in (port, second):
            status, out = conn.run(["python3", "-c", FETCH, f"http://127.0.0.1:{p}/runs?x={p}"])
            assert (status, out) == (0, f"hello from the workspace /runs?x={p}\n")
        conn.close_tunnel(second)  # the other one goes on
        assert conn.run(["python3", "-c", FETCH, f"http://127.0.0.1:{second}/"])[0] != 0
        assert conn.run(["python3", "-c", FETCH, f"http://127.0.0.1:{port}/again"])[1] == \
            "hello from the workspace /again\n"
    finally:
        server.shutdown()
        server.server_close()


# -- no private key on disk ------------------------------------------------------------------------


@pytest.fixture
def since():
    """The time this test's own fixtures began (it comes first in the test's arguments): a file
    a key was written to by the workspace, the key's secret or the target is newer."""
    return time.time() - 1


def test_no_private_key_file_is_ever_written(since, ws, sshd, box):
    body = sshd.user.private_key.splitlines()[4].encode()  # its private half (the first lines are
    assert len(body) > 40  # the format's header and the public key, the same in other files)
    assert ws.compute.test("box")["ok"]
    with ws.compute.connect("box") as connection:
        assert connection.run(["true"]).status == 0
    hits = []
    for folder in (ws.root, Path(tempfile.gettempdir())):  # other processes come and go there
        for parent, _dirs, files in os.walk(folder, onerror=lambda error: None):
            for name in files:
                path = Path(parent) / name
                try:
                    info = path.lstat()
                    if path.is_file() and not path.is_symlink() and info.st_mtime >= since \
                            and info.st_size < 50 << 20 and body in path.read_bytes():
                        hits.append(path)
                except OSError:
                    continue
    assert hits == []


def test_build_env_that_the_check_knows_will_fail_is_refused_before_building(ws, sshd, key,
                                                                             tmp_path):
    """``--build-env`` to a target whose Python (a stand-in saying it is 3.0.0) cannot take pins
    of the kernel's environment: the check's warning, before anything is built (nothing is
    recorded, no run); ``--yes`` builds anyway (and the build then fails on the host)."""
    old = sshd.user.home / "old-python"
    old.write_text("#!/bin/sh\necho 3.0.0\n")
    old.chmod(0o755)
    subprocess.run(["chown", f"{sshd.user.name}:", str(old)], check=True)
    create(ws, sshd, name="oldbox", accept_host_key=True, python=str(old), env="build",
           workdir="mlws-oldbox")
    notebook = shutil.copy(Path(__file__).parent / "notebooks" / "train.ipynb", tmp_path / "t.ipynb")
    r = mlws(ws, "run", "submit", notebook, "--compute", "oldbox", "--build-env")
    assert r.exit_code == 2, r.output
    here = ws.environments.current().python_full
    assert r.stderr.startswith(f"error: oldbox's Python is 3.0.0, the kernel's {here}: "), r.stderr
    assert "Nothing was built: fix that first, or build anyway with --yes" in r.stderr
    assert ws.search_runs() == [] and ws.environments.list("oldbox") == []
    # mlws env build runs the same check (it went on and built)
    built = mlws(ws, "env", "build", "--compute", "oldbox")
    assert built.exit_code == 2, built.output
    assert built.stderr.startswith(f"error: oldbox's Python is 3.0.0, the kernel's {here}: ")
    assert "Nothing was built: fix that first, or build anyway with --yes" in built.stderr
    assert ws.environments.list("oldbox") == []
    anyway = mlws(ws, "run", "submit", notebook, "--compute", "oldbox", "--build-env", "--yes")
    assert anyway.exit_code != 0 and "Nothing was built" not in anyway.stderr, anyway.output
    assert [e["state"] for e in ws.environments.list("oldbox")] == ["failed"]  # it was tried


def test_the_checks_after_a_failed_one_are_skipped(ws, sshd, key):
    """What ``compute test`` prints after a FAIL never reads as if the target could run work."""
    create(ws, sshd, name="nopy", accept_host_key=True, python="/nowhere/python3")
    r = mlws(ws, "compute", "test", "nopy")
    assert r.exit_code == 1
    assert report_lines(r.stdout)[5:] == [("python", "FAIL"), ("jupyter_mlws", "SKIP"),
                                          ("disk", "SKIP")], r.stdout


def test_build_env_on_a_target_running_the_hosts_python_is_refused(ws, sshd, key, tmp_path):
    """``--build-env`` on an ``env: system`` target would build what no run there uses: refused
    before anything is built or recorded, saying what to do instead."""
    create(ws, sshd, name="sysbox", accept_host_key=True, python="/nowhere/python3")
    notebook = shutil.copy(Path(__file__).parent / "notebooks" / "train.ipynb", tmp_path / "t.ipynb")
    r = mlws(ws, "run", "submit", notebook, "--compute", "sysbox", "--build-env")
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("error: runs on sysbox use the host's own Python (/nowhere/python3) as "
                               "it is (env system): no environment is built for them, so --build-env "
                               "has nothing to do."), r.stderr
    assert "'mlws compute update sysbox --env build'" in r.stderr
    assert ws.search_runs() == [] and ws.environments.list("sysbox") == []
