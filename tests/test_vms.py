"""Notebook VMs on the local provider, end to end: each node a real sshd on 127.0.0.1 logging in
an unprivileged user (tests/vm_support.py), never the real ``~/.ssh``.

Create with a setup script, SSH in (the node's own home), stop (every process of the node ends),
start (the startup script again, a new port, the same host key), restart, delete twice; a changed
host key refused with both fingerprints; a failing or hanging script failing the VM with the end
of its log and its node destroyed; bad input refused with nothing changed; roles and ownership;
the CLI."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_mlws.access import os_user
from jupyter_mlws.errors import (AlreadyExists, Conflict, InvalidInput, NotFound, PermissionDenied,
                                 Unavailable)
from jupyter_mlws.vms.service import VMFailed
from vm_support import node_folders, vm_workspace

ME = os_user()
SETUP = "echo setting up; echo made > made.txt; pwd; id -un\n"
STARTUP = "echo startup ran\n"


@pytest.fixture(scope="module")
def ws(sshd):  # sshd: the session's check that OpenSSH's server and paramiko are here
    workspace = vm_workspace()
    yield workspace
    for vm in workspace.vms.list():
        workspace.vms.delete(vm["name"], check_actor=False)
    workspace.close()
    shutil.rmtree(workspace.root.parent, ignore_errors=True)


def _run(ws, name: str, command: str) -> str:
    with ws.vms.connect(name) as conn:
        status, out = conn.run(["/bin/sh", "-c", command])
    assert status == 0, out
    return out


def _listens(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


def test_a_local_vm_is_created_reached_stopped_started_and_deleted(ws):
    vm = ws.vms.create("box", provider="local", size="host", setup_script=SETUP,
                       startup_script=STARTUP, idle_shutdown="30m",
                       schedule="start 0 8 * * 1-5;stop 0 19 * * 1-5", tz="Europe/Berlin")
    assert vm["state"] == "running" and vm["owner"] == ME
    assert [e["to_state"] for e in vm["events"]] == ["creating", "bootstrapping", "running"]
    ws.secrets.set(ME, "mine", "a-users-own-value")
    assert {s["name"]: s["vm"] for s in ws.secrets.list()} == {vm["key_secret"]: "box", "mine": None}
    header, *rows = _cli(ws, "secret", "list").stdout.splitlines()
    assert header.split()[-1] == "VM"
    assert {row.split()[0]: row.split()[-1] for row in rows} == {vm["key_secret"]: "box", "mine": "-"}
    assert vm["idle_shutdown_s"] == 1800 and vm["schedule_tz"] == "Europe/Berlin"
    assert vm["schedule"] == "start 0 8 * * 1-5; stop 0 19 * * 1-5"
    [node] = node_folders(ws)
    assert vm["node_id"] == node and vm["host"] == "127.0.0.1"
    home = ws.root / ".mlws" / "vms" / "local" / node / "home"
    log = ws.vms.logs("box").decode()
    # the log shows the VM's own path (its home: ~), never this server's (the node's folder)
    assert "setting up\n~\n" in log and "startup ran" in log
    assert str(ws.root) not in log and os.path.realpath(ws.root) not in log
    assert log.index("setting up") < log.index("startup ran")
    # every session starts in the node's own home, HOME pointing there; the setup script ran there
    assert _run(ws, "box", 'pwd; echo "$HOME"; cat made.txt').split() == [str(home), str(home), "made"]
    real_home = Path(pwd.getpwnam(vm["ssh_user"]).pw_dir)
    assert vm["key_secret"] not in (real_home / ".ssh" / "authorized_keys").read_text() \
        if (real_home / ".ssh" / "authorized_keys").exists() else True
    # the pin: the workspace's known_hosts, private, holding the key the VM's record holds
    known = ws.root / ".mlws" / "known_hosts"
    assert stat.S_IMODE(known.stat().st_mode) == 0o600
    assert f"[127.0.0.1]:{vm['ssh_port']} {vm['host_key']}" in known.read_text()

    _run(ws, "box", "nohup sleep 600 >/dev/null 2>&1 &")
    stopped = ws.vms.stop("box")
    assert stopped["state"] == "stopped" and not _listens(vm["ssh_port"])
    # nothing the node's sessions started is left running
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "sleep 600" not in ps
    with pytest.raises(Conflict, match="stopped: start it"):
        ws.compute.target("box")

    started = ws.vms.start("box")
    assert started["state"] == "running" and started["host_key"] == vm["host_key"]
    assert _run(ws, "box", "cat made.txt").strip() == "made"  # the folder was kept
    assert ws.vms.logs("box").decode().count("startup ran") == 2
    if started["ssh_port"] != vm["ssh_port"]:  # a new port: pinned with the same key, the old forgotten
        assert f"[127.0.0.1]:{vm['ssh_port']} " not in known.read_text()
    restarted = ws.vms.restart("box")
    assert restarted["state"] == "running"
    assert ws.vms.logs("box").decode().count("startup ran") == 3
    assert [e["to_state"] for e in restarted["events"]][3:] == [
        "stopping", "stopped", "starting", "running", "stopping", "stopped", "starting", "running"]

    assert ws.vms.gc()["leftovers"] == []
    deleted = ws.vms.delete("box")
    assert deleted["state"] == "deleted" and node_folders(ws) == set()
    assert f"{restarted['ssh_port']}]" not in known.read_text()
    assert ws.secrets.show(vm["key_secret"])["state"] == "deleted"
    assert {s["name"]: s["vm"] for s in ws.secrets.list(deleted=True)} == {vm["key_secret"]: "box"}
    again = ws.vms.delete("box")  # a no-op: no new event
    assert again["state"] == "deleted" and len(again["events"]) == len(deleted["events"])
    assert ws.vms.list() == [] and [v["name"] for v in ws.vms.list(deleted=True)] == ["box"]
    assert ws.vms.show("box")["state"] == "deleted"
    # the name is free again: a new VM (another id, a history of its own)
    anew = ws.vms.create("box", provider="local", size="host")
    assert anew["id"] != vm["id"] and len(anew["events"]) == 3
    assert ws.vms.delete("box")["state"] == "deleted"


def test_a_changed_host_key_is_refused_naming_both_fingerprints(ws):
    from sshd import ed25519_pair

    vm = ws.vms.create("rekeyed", provider="local", size="host")
    ws.vms.stop("rekeyed")
    key = ws.root / ".mlws" / "vms" / "local" / vm["node_id"] / "sshd" / "host_ed25519"
    private, public = ed25519_pair()
    key.unlink()
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, private.encode())
    os.close(fd)
    with pytest.raises(VMFailed) as failed:
        ws.vms.start("rekeyed")
    from jupyter_mlws.compute.ssh.hostkeys import parse_host_key

    new = parse_host_key(public).fingerprint
    shown = ws.vms.show("rekeyed")
    assert shown["state"] == "failed" and vm["host_key_fingerprint"] in str(failed.value)
    assert new in str(failed.value) and f"[127.0.0.1]:{shown['ssh_port']}" in str(failed.value)
    assert "the host key step failed" in shown["reason"] and "its node was stopped" in shown["reason"]
    assert not _listens(shown["ssh_port"])
    ws.vms.delete("rekeyed")


def test_a_failing_or_hanging_setup_script_fails_the_vm_and_destroys_its_node(ws):
    with pytest.raises(VMFailed, match="the setup script exited with status 3") as failed:
        ws.vms.create("broken", provider="local", size="host",
                      setup_script="echo about to fail\nexit 3\n")
    vm = ws.vms.show("broken")
    assert vm["state"] == "failed" and "about to fail" in vm["reason"]
    assert "its node was destroyed" in vm["reason"] and vm["node_id"] is None
    assert "about to fail" in str(failed.value) and node_folders(ws) == set()
    with pytest.raises(Conflict, match="has no node"):
        ws.vms.start("broken")
    with pytest.raises(VMFailed, match="did not end within 1 s"):
        ws.vms.create("hangs", provider="local", size="host", setup_script="echo waiting\nsleep 60\n",
                      script_timeout="1s")
    vm = ws.vms.show("hangs")
    assert vm["state"] == "failed" and "waiting" in vm["reason"] and node_folders(ws) == set()
    for name in ("broken", "hangs"):
        assert ws.vms.delete(name)["state"] == "deleted"


def _state(ws):
    return ([(v["name"], v["state"]) for v in ws.vms.list(deleted=True)], node_folders(ws),
            len(ws.secrets.list()))


def test_bad_input_is_refused_and_changes_nothing(ws):
    ws.vms.create("dup", provider="local", size="host")
    before = _state(ws)
    cases = [
        (dict(name="x", provider="nope", size="host"), InvalidInput,
         "unknown vm provider 'nope': use one of azure, ec2, gce, local, openstack"),
        (dict(name="x", provider="local", size="xl"), InvalidInput,
         "the local provider has no size 'xl': use one of host"),
        (dict(name="x", provider="local", size="host", region="mars"), InvalidInput,
         "the local provider does not know region 'mars'"),
        (dict(name="x", provider="local", size="host", image="ubuntu"), InvalidInput,
         "has no image 'ubuntu'"),
        (dict(name="../x", provider="local", size="host"), InvalidInput, "invalid vm name '../x'"),
        (dict(name="Box", provider="local", size="host"), InvalidInput, "invalid vm name"),
        (dict(name="dup", provider="local", size="host"), AlreadyExists, "vm 'dup' exists"),
        (dict(name="local", provider="local", size="host"), AlreadyExists, "compute target"),
        (dict(name="x", provider="ec2", size="t3.micro"), InvalidInput,
         "the ec2 provider needs --credentials-secret NAME"),
        (dict(name="x", provider="ec2", size="t3.micro", credentials_secret="none-such"), NotFound,
         "none-such"),
        (dict(name="x", provider="local", size="host", idle_shutdown="5 parsecs"), InvalidInput,
         "--idle-shutdown is a duration"),
        (dict(name="x", provider="local", size="host", idle_shutdown="10s"), InvalidInput,
         "from 1m to 30d"),
        (dict(name="x", provider="local", size="host", schedule="start at eight"), InvalidInput,
         "schedule entry 1 ('start at eight'): cron expression 'at eight' has 2 field(s)"),
        (dict(name="x", provider="local", size="host", schedule="start 0 8 * * 1-5; stop 0 25 * * *"),
         InvalidInput, "schedule entry 2 ('stop 0 25 * * *'): cron expression '0 25 * * *': the "
         "hour field '25' is not valid (allowed: 0-23"),
        (dict(name="x", provider="local", size="host", schedule="stop 0 19 * * *", tz="Mars/Base"),
         InvalidInput, "unknown time zone 'Mars/Base'"),
        (dict(name="x", provider="local", size="host", tz="UTC"), InvalidInput, "give the schedule"),
        (dict(name="x", provider="local", size="host", setup_script="  \n"), InvalidInput,
         "the setup script is empty"),
        (dict(name="x", provider="local", size="host", owner="bob"), PermissionDenied, None),
    ]
    ws.access.grant(ME, "carol", "contributor")
    for kwargs, kind, text in cases:
        actor = "carol" if kwargs.get("owner") else None
        with pytest.raises(kind) as raised:
            ws.vms.create(kwargs.pop("name"), actor=actor, **kwargs)
        assert text is None or text in str(raised.value), (kwargs, raised.value)
    with pytest.raises(NotFound, match="no vm 'ghost'"):
        ws.vms.delete("ghost")
    with pytest.raises(InvalidInput, match="invalid vm name"):
        ws.vms.show("../../etc")
    ws.secrets.set(ME, "not-json", "this is not json")
    with pytest.raises(InvalidInput, match="does not hold a JSON object") as raised:
        ws.vms.create("x", provider="ec2", size="t3.micro", credentials_secret="not-json")
    assert "this is not json" not in str(raised.value)
    ws.secrets.delete(ME, "not-json")
    with pytest.raises(Conflict, match="not-json"):
        ws.vms.create("x", provider="ec2", size="t3.micro", credentials_secret="not-json")
    ws.secrets.purge(ME, "not-json")
    assert _state(ws) == before
    ws.vms.delete("dup")


def test_a_python_the_login_user_cannot_run_is_refused_at_create_saying_what_to_set(ws, tmp_path):
    """The newcomer's case: as root, the default Python is this venv under /root (a 0700 home),
    which the unprivileged login user cannot run; create said nothing and setup crashed."""
    import sys

    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    python = closed / "python"
    if os.geteuid() == 0:
        python.symlink_to(sys.executable)  # fine for root, closed to the login user
    settings = ws.vms.providers.settings["local"]
    before, kept = _state(ws), settings["python"]
    settings["python"] = str(python)
    try:
        with pytest.raises(Unavailable) as err:
            ws.vms.create("nopy", provider="local", size="host")
    finally:
        settings["python"] = kept
    text = str(err.value)
    assert "cannot run their Python (local_vm_python" in text, text
    assert "set local_vm_python in the [workspace] table of the workspace's mlws.toml" in text
    assert "jupyter_mlws[vms] and jupyterlab" in text
    assert _state(ws) == before  # nothing recorded, no node, no key secret


def test_readers_see_state_only_and_only_the_owner_acts(ws):
    ws.access.grant(ME, "bob", "reader")
    ws.access.grant(ME, "carol", "contributor")
    mine = ws.vms.create("mine", provider="local", size="host")
    theirs = ws.vms.create("theirs", provider="local", size="host", owner="carol")
    assert theirs["owner"] == "carol" and "host" in mine
    for viewer in ("bob", "carol"):
        shown = ws.vms.show("mine", actor=viewer)
        assert shown["state"] == "running" and shown["reason"]
        assert not {"host", "ssh_port", "host_key", "key_secret", "node_id"} & set(shown)
        assert all("host" not in v for v in ws.vms.list(actor=viewer) if v["name"] == "mine")
    assert ws.vms.show("theirs", actor="carol")["host"] == "127.0.0.1"
    with pytest.raises(PermissionDenied, match="belongs to"):
        ws.vms.stop("mine", actor="carol")
    with pytest.raises(PermissionDenied, match="belongs to"):
        ws.vms.logs("mine", actor="carol")
    with pytest.raises(PermissionDenied, match="has the role reader"):
        ws.vms.stop("theirs", actor="bob")
    with pytest.raises(PermissionDenied, match="has the role reader"):
        ws.vms.create("readers", provider="local", size="host", actor="bob")
    with pytest.raises(PermissionDenied, match="has the role reader"):
        ws.vms.gc(actor="bob")
    # a contributor's gc --yes deletes only what is hers: neither "mine" nor its node is touched
    assert ws.vms.gc(delete=True, actor="carol")["deleted"] == 0
    assert ws.vms.stop("theirs", actor="carol")["state"] == "stopped"
    assert ws.vms.show("mine")["state"] == "running"
    for name in ("mine", "theirs"):
        ws.vms.delete(name)  # a workspace owner may delete anyone's


def _cli(ws, *args):
    from jupyter_mlws.cli import main

    return CliRunner().invoke(main, ["-w", str(ws.root), *map(str, args)], catch_exceptions=False)


def test_the_cli_creates_shows_logs_stops_starts_and_deletes(ws, tmp_path):
    (tmp_path / "setup.sh").write_text(SETUP)
    r = _cli(ws, "vm", "create", "cli-box", "--provider", "local", "--size", "host",
             "--setup-script", tmp_path / "setup.sh", "--idle-shutdown", "2h")
    assert r.exit_code == 0 and r.output.startswith("vm cli-box running (") , r.output
    r = _cli(ws, "vm", "list")
    assert r.exit_code == 0 and "cli-box" in r.output and "running" in r.output
    r = _cli(ws, "vm", "show", "cli-box")
    assert r.exit_code == 0 and "idle shutdown: 7200 s" in r.output
    assert "history:" in r.output and "-> bootstrapping" in r.output
    assert "host key:" in r.output and "SHA256:" in r.output
    # why it is (not) idle: the last idle check's decision (none yet here), in text and JSON
    [idle] = [l for l in r.output.splitlines() if l.startswith("idle:")]
    assert idle.split(None, 1)[1].startswith("not checked yet"), idle
    assert "idle" in json.loads(_cli(ws, "vm", "show", "cli-box", "--json").output)
    r = _cli(ws, "vm", "logs", "cli-box")
    assert r.exit_code == 0 and "setting up" in r.output
    whole = r.output.splitlines(keepends=True)
    assert len(whole) > 3
    assert _cli(ws, "vm", "logs", "cli-box", "--tail", 3).output == "".join(whole[-3:])  # lines
    assert _cli(ws, "vm", "stop", "cli-box").output == "vm cli-box stopped\n"
    assert _cli(ws, "vm", "start", "cli-box").output == "vm cli-box running\n"
    shown = json.loads(_cli(ws, "vm", "show", "cli-box", "--json").output)
    assert shown["state"] == "running" and shown["setup_script"] is True
    r = _cli(ws, "compute", "list")
    assert "cli-box" in r.output and " vm " in r.output
    for change in (["--env", "build"], ["--python", "/usr/bin/python3"]):
        r = _cli(ws, "compute", "update", "cli-box", *change)
        assert r.exit_code != 0 and "no compute target" not in r.output, r.output
        assert "compute target 'cli-box' is a notebook vm: 'mlws compute update' does not change " \
               "it. Runs on it execute with the VM's own Python" in r.output, r.output
        assert "local_vm_python in the [workspace] table of mlws.toml" in r.output
    r = _cli(ws, "compute", "gc")
    assert r.exit_code == 0 and r.output.startswith("no leftovers")
    # a node tagged for this workspace that no VM owns: listed, then deleted with --yes
    from libcloud.compute.base import NodeAuthSSHKey

    from jupyter_mlws.vms.keys import new_key_pair

    driver = ws.vms.steps.driver("local", None, None, ME)
    stray = driver.create_node("stray", driver.list_sizes()[0], driver.list_images()[0],
                               auth=NodeAuthSSHKey(new_key_pair().public),
                               ex_metadata={"mlws:workspace": ws.config.id, "mlws:vm": "0" * 16,
                                            "mlws:owner": "dora"})
    r = _cli(ws, "compute", "gc")
    assert r.exit_code == 0 and stray.id in r.output and "no vm record" in r.output
    header, row = [line.split() for line in r.output.splitlines()
                   if line.startswith(("PROVIDER", "local"))]
    assert dict(zip(header, row))["OWNER"] == "dora"  # whose it is, from its mlws:owner tag
    assert "delete them with 'mlws compute gc --yes'" in r.output and stray.id in node_folders(ws)
    r = _cli(ws, "compute", "gc", "--yes")
    assert r.exit_code == 0 and stray.id in r.output and stray.id not in node_folders(ws)
    assert _cli(ws, "vm", "delete", "cli-box").output == "vm cli-box deleted\n"
    assert _cli(ws, "vm", "delete", "cli-box").output == "vm cli-box deleted\n"
    r = _cli(ws, "vm", "create", "x", "--provider", "nope", "--size", "host")
    assert r.exit_code == 2 and "use one of azure, ec2, gce, local, openstack" in r.output
    r = _cli(ws, "vm", "start", "ghost")
    assert r.exit_code == 3 and "no vm 'ghost'" in r.output
    r = _cli(ws, "compute", "delete", "cli-box")
    assert r.exit_code == 3  # a deleted VM is no compute target


@pytest.mark.skipif(os.geteuid() != 0, reason="run as a normal user, the module's tests show it")
def test_vm_show_cuts_a_long_history_reason_at_a_word(ws, tmp_path):
    words = " ".join(f"word{i:03d}" for i in range(60))
    with pytest.raises(VMFailed):
        ws.vms.create("cut-box", provider="local", size="host",
                      setup_script=f"echo {words}; exit 3\n")
    r = _cli(ws, "vm", "show", "cut-box")
    [line] = [l for l in r.output.splitlines() if "-> failed" in l]
    assert line.endswith("…"), line
    said = line[:-1].split("root: ", 1)[1]
    [reason] = [e["reason"] for e in ws.vms.show("cut-box")["events"] if e["to_state"] == "failed"]
    first = reason.splitlines()[0]
    assert len(first) > 100 and first.startswith(said) and first[len(said)] == " ", (said, first)
    ws.vms.delete("cut-box")


def test_a_normal_user_runs_local_vms_without_root(ws):
    """As the unprivileged test user: sshd runs as that user on a high port, logs it in."""
    import site
    import tempfile

    from sshd import login_user

    user = login_user()
    folder = Path(tempfile.mkdtemp(prefix="mlws-vm-user-"))
    folder.chmod(0o777)
    script = folder / "try.py"
    script.write_text(f"""
import io, paramiko
from libcloud.compute.base import NodeAuthSSHKey
from jupyter_mlws.vms.keys import new_key_pair
from jupyter_mlws.vms.local_driver import LocalNodeDriver
d = LocalNodeDriver(root={str(folder / 'ws/.mlws/vms/local')!r})
key = new_key_pair()
n = d.create_node("u", d.list_sizes()[0], d.list_images()[0], auth=NodeAuthSSHKey(key.public))
c = paramiko.SSHClient()
entry = paramiko.hostkeys.HostKeyEntry.from_line("[127.0.0.1]:%d %s" % (n.extra["ssh_port"], n.extra["host_key"]))
c.get_host_keys().add(entry.hostnames[0], entry.key.get_name(), entry.key)
c.set_missing_host_key_policy(paramiko.RejectPolicy())
c.connect("127.0.0.1", n.extra["ssh_port"], username=n.extra["ssh_user"], allow_agent=False,
          look_for_keys=False, pkey=paramiko.Ed25519Key.from_private_key(io.StringIO(key.private)))
print(c.exec_command("id -un; echo $HOME")[1].read().decode())
c.close()
d.destroy_node(n)
print(d.list_nodes())
""")
    packages = next(p for p in site.getsitepackages() if Path(p, "paramiko").is_dir())
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run(["su", user.name, "-s", "/bin/sh", "-c",
                          f"cd {folder} && PYTHONPATH={repo}:{packages} /usr/bin/python3 try.py"],
                         capture_output=True, text=True, timeout=120)
    shutil.rmtree(folder, ignore_errors=True)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.split()
    assert lines[0] == user.name and lines[1].startswith(str(folder / "ws/.mlws/vms/local/n-"))
    assert lines[-1] == "[]"


def test_a_local_vm_of_the_servers_own_account_is_an_owners(ws, monkeypatch):
    """Not as root, the local provider's nodes log in as the workspace's own account: code there
    is code on `local`, whose rule applies (a contributor is refused, nothing recorded)."""
    from jupyter_mlws.vms import service as vm_service

    ws.access.grant(ME, "carol", "contributor")
    before = _state(ws)
    monkeypatch.setattr(vm_service.os, "geteuid", lambda: 1000)  # a server not run by root
    with pytest.raises(PermissionDenied, match="running code on the local target executes it as "
                                               "the server's own OS account"):
        ws.vms.create("carols", provider="local", size="host", actor="carol")
    assert _state(ws) == before
