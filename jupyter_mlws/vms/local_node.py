"""One node of the ``local`` provider: a folder of this machine and an sshd of its own.

A node lives in ``ROOT/NODE_ID/`` (ROOT is the workspace's ``.mlws/vms/local``)::

    node.json          what the node is: name, size, image, tags, login user, port, state
    home/              the node's home: every SSH session and SFTP starts here, HOME points here
    sshd/              its sshd: sshd_config, host key (0600), authorized_keys, session script,
                       sshd.pid, sshd.log

**How the node is isolated.**  Its sshd listens on a free port of 127.0.0.1 only, takes only the
key the workspace made for the VM (``AuthorizedKeysFile`` is the node's own file: a real
``~/.ssh`` is never read or written; ``PermitUserRC no``, ``PermitUserEnvironment no``), and
logs in one user: this OS user when the workspace runs as a normal user (sshd runs as that
user, ``UsePAM no``, no root needed), or, when it runs as root, the unprivileged account named by
the workspace's ``local_vm_user`` (sshd as root never logs root in).  Every session is forced
through the node's session script: ``HOME`` is the node's ``home/`` (sshd's ``SetEnv``), the
session starts there, SFTP starts there.  It is a folder sandbox, for trying the product and for
tests: code on the node runs as that user, with that user's rights on this machine.  Stopping the
node ends its sshd and every process its sessions started (they carry ``MLWS_LOCAL_NODE`` in
their environment); its folder stays.  Destroying it removes the folder too.
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import shutil
import socket
import time
from pathlib import Path

from ..compute.local import alive, spawn_detached, stop_marked
from ..errors import Unavailable
from ..fsutil import atomic_write

SSHD = Path("/usr/sbin/sshd")
#: where OpenSSH's SFTP server may be, by distribution
SFTP_SERVERS = ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server",
                "/usr/libexec/sftp-server", "/usr/lib/ssh/sftp-server")
#: the environment variable every process of a node's sessions carries (its id)
MARKER = "MLWS_LOCAL_NODE"
#: seconds a new sshd has to listen
LISTEN_TIMEOUT = 20.0
#: seconds a stopped node's processes have to end after SIGTERM
STOP_GRACE = 5.0
RUNNING, STOPPED = "running", "stopped"


def sshd_binary() -> Path:
    """OpenSSH's server, else Unavailable saying how to install it."""
    if not os.access(SSHD, os.X_OK):
        raise Unavailable("the local provider needs OpenSSH's server (/usr/sbin/sshd): install it "
                          "(apt-get install openssh-server)")
    return SSHD


def sftp_server() -> str:
    """OpenSSH's SFTP server program."""
    for path in SFTP_SERVERS:
        if os.access(path, os.X_OK):
            return path
    raise Unavailable("the local provider needs OpenSSH's sftp-server: install openssh-server")


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_private(path: Path, text: str) -> None:
    """A file only its owner reads, created so (never chmod-ed afterwards)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


class LocalNode:
    """The node in folder ``folder`` (see the module's text); :meth:`make` creates one."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.id = self.folder.name
        self.home = self.folder / "home"
        self.etc = self.folder / "sshd"

    # -- what it is --------------------------------------------------------------------------

    @property
    def info(self) -> dict:
        """``node.json``: ``id, name, size, image, tags, user, port, host_key, python,
        created, state``."""
        return json.loads((self.folder / "node.json").read_text())

    def _save(self, **changes) -> dict:
        data = {**self.info, **changes}
        atomic_write(self.folder / "node.json", json.dumps(data).encode())
        return data

    def exists(self) -> bool:
        return (self.folder / "node.json").is_file()

    @classmethod
    def make(cls, folder: Path, *, name: str, size: str, image: str, tags: dict, user: str,
             public_key: str, python: str) -> "LocalNode":
        """Create the node's folder, host key and authorized key (not started)."""
        from .keys import new_key_pair, public_text

        node = cls(folder)
        folder.mkdir(mode=0o755, parents=True)
        node.etc.mkdir(mode=0o755)
        node.home.mkdir(mode=0o700)
        host = new_key_pair(f"mlws-local-node-{node.id}")
        _write_private(node.etc / "host_ed25519", host.private)
        (node.etc / "authorized_keys").write_text(public_key.strip() + "\n")
        (node.etc / "authorized_keys").chmod(0o644)  # sshd reads it as the login user
        atomic_write(folder / "node.json", json.dumps({
            "id": node.id, "name": name, "size": size, "image": image, "tags": dict(tags),
            "user": user, "port": None, "host_key": public_text(host.public), "python": python,
            "created": time.time(), "state": STOPPED}).encode())
        if os.geteuid() == 0 and user != "root":
            shutil.chown(node.home, user)
        return node

    # -- its sshd ----------------------------------------------------------------------------

    def _config(self, port: int) -> Path:
        """Write the sshd_config of the node listening on ``port`` (and its session script)."""
        session = self.etc / "session"
        sftp = sftp_server()
        session.write_text("\n".join([
            "#!/bin/sh",
            "# every session of this node starts in its home (HOME: sshd's SetEnv)",
            'cd "$HOME" || exit 1',
            'case "$SSH_ORIGINAL_COMMAND" in',
            '  "") exec /bin/sh -l ;;',
            f'  {shlex.quote(sftp)}) exec {shlex.quote(sftp)} -d "$HOME" ;;',
            "esac",
            'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"', ""]))
        session.chmod(0o755)
        user = self.info["user"]
        path = self.etc / "sshd_config"
        path.write_text("\n".join([
            f"Port {port}", "ListenAddress 127.0.0.1",
            f'HostKey "{self.etc / "host_ed25519"}"', f'PidFile "{self.etc / "sshd.pid"}"',
            f'AuthorizedKeysFile "{self.etc / "authorized_keys"}"', f"AllowUsers {user}",
            "PubkeyAuthentication yes", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no", "PermitRootLogin no",
            "AllowTcpForwarding yes", "AllowAgentForwarding no", "X11Forwarding no",
            "GatewayPorts no", "PermitUserEnvironment no", "PermitUserRC no", "PrintMotd no",
            "MaxSessions 50", "MaxStartups 50",
            f'SetEnv "HOME={self.home}" "{MARKER}={self.id}"',
            f"ForceCommand exec /bin/sh {shlex.quote(str(session))}",
            f"Subsystem sftp {sftp}", ""]))
        return path

    def _pid(self) -> int | None:
        try:
            return int((self.etc / "sshd.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def running(self) -> bool:
        """Whether the node's sshd runs (the recorded pid is an sshd of this node's config)."""
        return alive(self._pid(), cmdline=str(self.etc / "sshd_config").encode())

    def start(self) -> int:
        """Start the node's sshd on a free port (its host key unchanged); return the port.
        Unavailable when it does not listen in time (the message has the end of its log)."""
        if self.running():
            return self.info["port"]
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege-separation folder
        for _attempt in range(3):  # a free port may be taken before sshd binds it
            port = free_port()
            (self.etc / "sshd.pid").unlink(missing_ok=True)
            spawn_detached([str(sshd_binary()), "-D", "-e", "-f", str(self._config(port))],
                           self.etc / "sshd.log")
            if self._listening(port):
                self._save(port=port, state=RUNNING)
                return port
        tail = (self.etc / "sshd.log").read_text(errors="replace")[-600:].strip()
        raise Unavailable(f"the local node {self.id}'s sshd did not start: {tail}")

    def _listening(self, port: int) -> bool:
        """Wait until the node's sshd listens on ``port``; False when it exited or never did."""
        deadline = time.monotonic() + LISTEN_TIMEOUT
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                if self._pid() is not None:
                    return True
            except OSError:
                if self._pid() is not None and not self.running():
                    return False
            time.sleep(0.01)
        self.stop()
        return False

    def stop(self) -> None:
        """End the node's sshd and every process its sessions started; keep its folder."""
        pid = self._pid()
        if pid is not None and self.running():
            stop_marked(None, None, STOP_GRACE, pids=[pid])
        stop_marked(MARKER, self.id, STOP_GRACE)
        (self.etc / "sshd.pid").unlink(missing_ok=True)
        if self.exists():
            self._save(state=STOPPED)

    def destroy(self) -> None:
        """Stop the node and remove its folder."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def login_user(configured: str | None) -> str:
    """Who the local provider's nodes log in: ``configured`` (the workspace's ``local_vm_user``),
    else this OS user; never root.  Unavailable, saying what to do, otherwise."""
    name = configured or pwd.getpwuid(os.geteuid()).pw_name
    if os.geteuid() != 0 and name != pwd.getpwuid(os.geteuid()).pw_name:
        raise Unavailable(f"the local provider runs as {pwd.getpwuid(os.geteuid()).pw_name}, so "
                          f"its nodes can log in only that user, not {name!r}: remove "
                          "local_vm_user from mlws.toml")
    if name == "root" or (os.geteuid() == 0 and configured is None):
        raise Unavailable("the workspace runs as root, and the local provider never logs its nodes "
                          "in as root: create an unprivileged account (useradd -m -s /bin/sh "
                          "mlws-vm && usermod -p '*' mlws-vm) and set local_vm_user = \"mlws-vm\" "
                          "in the workspace's mlws.toml")
    try:
        pwd.getpwnam(name)
    except KeyError:
        raise Unavailable(f"the local provider's login user {name!r} (local_vm_user in mlws.toml) "
                          "does not exist on this machine: create it or fix the setting") from None
    return name


#: what to do when the local VMs' login user cannot run their Python
LOCAL_PYTHON_HINT = ("set local_vm_python in the [workspace] table of the workspace's mlws.toml to "
                     "the python of a venv that account can run (outside a 0700 home such as "
                     "/root), with jupyter_mlws[vms] and jupyterlab installed")
#: what the check runs with the nodes' Python: jupyter_mlws imported, jupyterlab found
PYTHON_CHECK = ("import importlib.util, jupyter_mlws; "
                "assert importlib.util.find_spec('jupyterlab'), 'No module named jupyterlab'")


def check_python(python: str, user: str, timeout: float = 60.0) -> None:
    """Check that ``user`` (the nodes' login user) can run ``python`` with jupyter_mlws and
    jupyterlab: run as that user when this process is root.  Unavailable saying what to set
    (:data:`LOCAL_PYTHON_HINT`) otherwise; the interpreter's own last line says why."""
    import subprocess

    as_user = {}
    if os.geteuid() == 0 and user != "root":
        entry = pwd.getpwnam(user)
        as_user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    env = {"PATH": "/usr/bin:/bin", "HOME": "/", "LANG": "C.UTF-8"}
    try:
        done = subprocess.run([python, "-c", PYTHON_CHECK], capture_output=True, text=True,
                              env=env, cwd="/", timeout=timeout, **as_user)
        status, why = done.returncode, (done.stderr.strip().splitlines() or [""])[-1]
    except PermissionError:
        status, why = None, "permission denied"
    except OSError as exc:
        status, why = None, exc.strerror or type(exc).__name__
    except subprocess.TimeoutExpired:
        status, why = None, f"it did not answer within {timeout:g} s"
    if status != 0:
        raise Unavailable(f"the local VMs' login user {user!r} cannot run their Python "
                          f"(local_vm_python, default the workspace's): {why[:200]}: "
                          f"{LOCAL_PYTHON_HINT}")


def open_path_to(folder: Path, user: str) -> None:
    """As root, let ``user`` reach ``folder`` (the nodes' root): the workspace's ``.mlws`` and the
    folders below it down to ``folder`` become traversable by others (0711: not listable; every
    file in them keeps its own private mode).  Unavailable when a folder above the workspace's
    ``.mlws`` is closed to others (the message says what to do)."""
    if os.geteuid() != 0 or user == "root":
        return
    mlws = next(p for p in [folder, *folder.parents] if p.name == ".mlws")
    for path in [mlws.parent, *mlws.parent.parents]:
        if not path.stat().st_mode & 0o001:
            raise Unavailable(f"the workspace's folder, or one above it, is closed to other users, "
                              f"so the local VMs' login user {user!r} cannot reach their homes in "
                              "it: let others pass through it (chmod o+x on it and on the folders "
                              "above), or move the workspace")
    for path in [folder, *folder.parents]:
        if path == mlws.parent:
            break
        path.chmod(path.stat().st_mode | 0o011)
