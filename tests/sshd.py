"""A real OpenSSH server for tests: ``sshd -D -e -f <own config>`` on a free 127.0.0.1 port.

Its host key and the login user's key are ed25519 keys generated here; the user's private key
never touches a file (it lives in memory and, in a test, in a workspace secret).  The login user
is a non-root user with a home of its own (``useradd -m``, unlocked with ``usermod -p '*'``);
run by a non-root user, sshd can only log that user in, so the tests log in as themselves.  The
authorized key lives in the server's own folder (``AuthorizedKeysFile``), never in a real
``~/.ssh``.
"""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from mlws_testing import stop_group

SSHD = Path("/usr/sbin/sshd")
#: the login user the tests create (as root)
USER = "mlws-ssh-test"


def ed25519_pair() -> tuple[str, str]:
    """A new ed25519 key: (private key in OpenSSH format, public key line ``ssh-ed25519 AAAA``)."""
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.OpenSSH, ser.NoEncryption())
    public = key.public_key().public_bytes(ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH)
    return private.decode(), public.decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LoginUser:
    """Who logs in: ``name``, ``home``, the key pair (the private key in memory only), and
    ``python``: an interpreter there that imports this checkout's jupyter_mlws."""

    name: str
    home: Path
    private_key: str
    public_key: str
    python: str


def login_user() -> LoginUser:
    """The test login user (created once, as root), with a fresh key pair."""
    private, public = ed25519_pair()
    if os.geteuid() != 0:
        me = getpass.getuser()
        return LoginUser(me, Path(pwd.getpwnam(me).pw_dir), private, public, sys.executable)
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", USER], check=True, capture_output=True)
    # useradd leaves the account locked ("!"), which sshd refuses even for key logins
    subprocess.run(["usermod", "-p", "*", USER], check=True, capture_output=True)
    home = Path(pwd.getpwnam(USER).pw_dir)
    return LoginUser(USER, home, private, public, _python_for(USER, home))


def _python_for(user: str, home: Path) -> str:
    """An interpreter the login user may run that imports jupyter_mlws: the system's Python with
    a copy of this checkout's package in the user's home (root's own venv is not theirs to read).
    ``import jupyter_mlws`` needs none of its dependencies."""
    import jupyter_mlws

    for old in home.glob("mlws-lib-pid*"):  # another test session's, when that session is over
        pid = old.name[len("mlws-lib-pid"):]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)
    lib = _lib(home)
    shutil.rmtree(lib, ignore_errors=True)
    shutil.copytree(Path(jupyter_mlws.__file__).parent, lib / "jupyter_mlws", symlinks=True,
                    ignore=shutil.ignore_patterns("static", "labextension", "__pycache__"))
    wrapper = home / f"mlws-python-{os.getpid()}"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={lib} exec /usr/bin/python3 "$@"\n')
    wrapper.chmod(0o755)
    subprocess.run(["chown", "-R", f"{user}:", str(lib), str(wrapper)], check=True)
    return str(wrapper)


def _lib(home: Path) -> Path:
    """This test session's copy of jupyter_mlws in the login user's home (sessions running at
    once on one machine share the login user, never this folder)."""
    return home / f"mlws-lib-pid{os.getpid()}"


def executor_python(user: LoginUser) -> str:
    """An interpreter of ``user`` that runs the remote executor and a kernel: ``user.python``'s
    copy of jupyter_mlws plus this venv's site-packages (readable by all; the same CPython minor
    version), as a host with jupyter_mlws installed has.  ``mlws-run-python`` in its home."""
    import site

    packages = next(p for p in site.getsitepackages() if Path(p, "nbclient").is_dir())
    wrapper = user.home / f"mlws-run-python-{os.getpid()}"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={_lib(user.home)}:{packages} '
                       'exec /usr/bin/python3 "$@"\n')
    wrapper.chmod(0o755)
    if os.geteuid() == 0:
        subprocess.run(["chown", f"{user.name}:", str(wrapper)], check=True)
    return str(wrapper)


def own_executor_python(user: LoginUser) -> tuple[str, Callable[[], None]]:
    """:func:`executor_python` with a copy of this checkout's jupyter_mlws that is the caller's
    alone (``mlws-lib-TAG``, ``mlws-run-python-TAG`` in ``user``'s home): the login user is the
    machine's, and another test session rewrites its shared ``mlws-lib`` at any time.  Returns
    the wrapper and a function that removes both."""
    import site
    import uuid

    import jupyter_mlws

    tag = uuid.uuid4().hex[:8]
    lib, wrapper = user.home / f"mlws-lib-{tag}", user.home / f"mlws-run-python-{tag}"
    shutil.copytree(Path(jupyter_mlws.__file__).parent, lib / "jupyter_mlws",
                    ignore=shutil.ignore_patterns("static", "labextension", "__pycache__"))
    packages = next(p for p in site.getsitepackages() if Path(p, "nbclient").is_dir())
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={lib}:{packages} exec /usr/bin/python3 "$@"\n')
    wrapper.chmod(0o755)
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", f"{user.name}:", str(lib), str(wrapper)], check=True)

    def remove() -> None:
        shutil.rmtree(lib, ignore_errors=True)
        wrapper.unlink(missing_ok=True)

    return str(wrapper), remove


def connections_to(port: int, pid: int | None = None) -> int:
    """How many TCP connections process ``pid`` (default: this one) holds open to 127.0.0.1:``port``
    (an sshd's: each SSH connection, its SFTP session included, is one)."""
    import psutil

    return sum(1 for c in psutil.Process(pid).net_connections(kind="tcp")
               if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


class SshServer:
    """One sshd for ``user`` in a folder of its own; :meth:`start`, :meth:`stop`,
    :meth:`new_host_key` (while stopped: the same port, another key)."""

    def __init__(self, user: LoginUser, port: int | None = None):
        self.user = user
        self.port = port or free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="mlws-sshd-"))
        self.folder.chmod(0o755)  # the login user reads its authorized key here
        (self.folder / "authorized_keys").write_text(user.public_key + "\n")
        (self.folder / "authorized_keys").chmod(0o644)
        self.host_key = ""
        self.new_host_key()
        self.proc: subprocess.Popen | None = None

    def new_host_key(self) -> str:
        """Give the server a new host key (restart it to use it); return its public line."""
        private, public = ed25519_pair()
        key = self.folder / "host_ed25519"
        key.unlink(missing_ok=True)
        _write_private(key, private)
        self.host_key = " ".join(public.split()[:2])
        return self.host_key

    def config(self) -> Path:
        path = self.folder / "sshd_config"
        path.write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {self.folder / 'host_ed25519'}",
            f"PidFile {self.folder / 'sshd.pid'}", f"AuthorizedKeysFile {self.folder / 'authorized_keys'}",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
            "StrictModes no", "AllowTcpForwarding yes", "GatewayPorts no", "X11Forwarding no",
            "PermitRootLogin no", f"AllowUsers {self.user.name}", "MaxSessions 50",
            "MaxStartups 50", "Subsystem sftp internal-sftp", ""]))
        return path

    def start(self) -> "SshServer":
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", exist_ok=True)  # its privilege-separation folder
        log = open(self.folder / "sshd.log", "ab")
        self.proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(self.config())],
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.folder / 'sshd.log').read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("sshd did not listen within 20 s")

    def stop(self) -> None:
        """Stop the server and its connections' processes (its process group)."""
        if self.proc is not None:
            stop_group(self.proc)
        self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
