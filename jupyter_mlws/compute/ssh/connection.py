"""One verified, authenticated SSH connection, and everything done over it.

:meth:`SSHConnection.open` takes the steps in order (DNS, TCP connect, SSH handshake, host key,
authentication) and names the one that fails (:class:`~..failures.StepFailed`).  The host key
is checked against the workspace's known_hosts file with paramiko's ``RejectPolicy`` (an
unknown host is refused, never added); no agent, no keys from ``~/.ssh``: the only key offered
is the one given, read from a workspace secret and kept in memory, never written to a file.

Over the connection (what a per-run runner, an environment build or ``compute test`` need):

- :meth:`~SSHConnection.run` / :meth:`~SSHConnection.start`: a command from an argv list, every
  value quoted, in its own process group, its output streamed back (:mod:`.commands`);
- :meth:`~SSHConnection.put` / :meth:`~SSHConnection.get` / :meth:`~SSHConnection.remove`:
  files and folder trees over SFTP (:mod:`.transfer`);
- :meth:`~SSHConnection.reverse_tunnel`: a port on the host's 127.0.0.1 forwarded back to a
  host:port reachable from here (:mod:`.tunnel`), so that a remote executor reaches the user's
  workspace server over HTTP.

**Keepalive.**  A connection sends an SSH keepalive after ``keepalive`` seconds without traffic
(paramiko's ``Transport.set_keepalive``: NAT and firewalls keep a quiet connection open).  A
keepalive alone asks for no answer, so it cannot tell a host that went silent (powered off, its
network cut, its SSH server frozen): :meth:`~SSHConnection.watch` also asks the host for an
answer every ``keepalive`` seconds (a session channel opened and closed at once: a round trip
through its SSH server, nothing started there) and declares the connection **lost** when none
came for :data:`KEEPALIVE_MISSES` intervals: within ``(KEEPALIVE_MISSES + 1) * keepalive``
seconds of the host going silent (40 s with the default 10 s); a connection whose TCP peer
closes or resets is lost at once.
"""

from __future__ import annotations

import io
import logging
import os
import time
from pathlib import Path
from typing import Callable, Mapping, NamedTuple, Sequence

from ...errors import MlwsError, missing_dependency
from ..failures import AUTHENTICATION, DNS, HANDSHAKE, HOST_KEY, TCP, StepFailed
from ..network import DEFAULT_TIMEOUT, address_of, connect_tcp, resolve
from ..settings import DEFAULT_KEEPALIVE
from .hostkeys import HostKey, KnownHosts, known_name

try:
    import paramiko
except ImportError:  # the ssh extra is not installed
    raise missing_dependency("paramiko", "ssh") from None

#: the logger paramiko's transports of ours log to (see :func:`_quiet_channel`)
LOG_CHANNEL = "jupyter_mlws.compute.ssh.paramiko"
#: ``on_step(step, detail)``: told of each connection step that passed
OnStep = Callable[[str, str], None]
#: seconds without traffic before a keepalive is sent (and between two probes of a watched one)
KEEPALIVE_S = DEFAULT_KEEPALIVE
#: probe intervals without an answer after which a watched connection is lost
KEEPALIVE_MISSES = 3


class _UnknownHost(paramiko.SSHException):
    """The host presented a key the known_hosts file does not pin."""

    def __init__(self, name: str, key):
        super().__init__(f"{name} is not in the workspace's known_hosts")
        self.name, self.key = name, key


class _Refuse(paramiko.RejectPolicy):
    """paramiko's RejectPolicy, raising an error that keeps the key the host presented."""

    def missing_host_key(self, client, hostname, key):
        raise _UnknownHost(hostname, key)


class _AsDebug(logging.Handler):
    """Hands paramiko's records on to jupyter_mlws's log at DEBUG (its transport thread logs a
    failed handshake's traceback at ERROR, which Python's last-resort handler would print on a
    user's terminal beside our own one-line reason)."""

    def emit(self, record: logging.LogRecord) -> None:
        target = logging.getLogger("jupyter_mlws.compute.ssh")
        if target.isEnabledFor(logging.DEBUG):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            target.handle(record)


def _quiet_channel() -> str:
    """The log channel our transports use: its records reach jupyter_mlws's debug log only
    (never the root logger, whatever a host application configured there)."""
    channel = logging.getLogger(LOG_CHANNEL)
    if not any(isinstance(h, _AsDebug) for h in channel.handlers):
        channel.addHandler(_AsDebug())
        channel.propagate = False
    return LOG_CHANNEL


def load_private_key(text: str, secret: str, where: str):
    """The paramiko key of a private key's text (OpenSSH or PEM: ed25519, ECDSA, RSA), in
    memory; StepFailed at the authentication step when it is none of them or needs a passphrase."""
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(text))
        except paramiko.PasswordRequiredException:
            raise StepFailed(AUTHENTICATION, where, f"the private key in secret {secret!r} is "
                             "encrypted with a passphrase: store a copy without one (ssh-keygen -p "
                             "-N '' -f COPY, then mlws secret set NAME --stdin < COPY)") from None
        except (paramiko.SSHException, ValueError, TypeError, IndexError, AssertionError):
            continue
    raise StepFailed(AUTHENTICATION, where, f"secret {secret!r} does not hold an SSH private key "
                     "(OpenSSH or PEM; ed25519, ECDSA or RSA): set it from the key file with "
                     f"'mlws secret set {secret} --stdin < KEYFILE'")


class SSHConnection:
    """An open SSH connection to one host; use :meth:`open`, and close it (or use ``with``).

    Attributes
    ----------
    host, user : str
    port : int
    where : str
        ``ssh user@host:port``: how messages name it.
    """

    def __init__(self, client, host: str, port: int, user: str, keepalive: float = KEEPALIVE_S):
        self.client = client
        self.host, self.port, self.user = host, port, user
        self.keepalive = keepalive
        self.where = f"ssh {user}@{host}:{port}"
        self._sftp = None
        self._forwards: dict[int, tuple[str, int]] = {}

    # -- connecting ---------------------------------------------------------------------

    @classmethod
    def open(cls, host: str, port: int, user: str, *, known_hosts: KnownHosts,
             private_key: str | None, key_secret: str | None = None,
             timeout: float = DEFAULT_TIMEOUT, on_step: OnStep | None = None,
             keepalive: float = KEEPALIVE_S,
             key_error: MlwsError | None = None) -> "SSHConnection":
        """Connect and authenticate.

        Parameters
        ----------
        host, port, user
            Whom to reach, as the target names them.
        known_hosts : KnownHosts
            The workspace's file; the host's key must be pinned there.
        private_key : str or None
            The private key's text (from a workspace secret), kept in memory.  None: no key is
            offered, and authentication fails saying so.
        key_secret : str, optional
            The secret's name, for messages.
        timeout : float
            Seconds each step may take (TCP connect, the SSH banner, the handshake,
            authentication).
        on_step : callable, optional
            ``on_step(step, detail)`` for each step that passed, in order.
        keepalive : float
            Seconds without traffic before a keepalive is sent (>= 1; see the module's text).
        key_error : MlwsError, optional
            Why the key could not be read (its secret is missing or deleted): raised as the
            authentication step's failure, once the handshake and the host key passed (as is a
            ``private_key`` that holds no usable key).

        Raises
        ------
        StepFailed
            With ``step`` one of ``dns``, ``tcp``, ``handshake``, ``host_key``,
            ``authentication``; the message names the host and the reason (for a changed key:
            both fingerprints).
        """
        where = f"ssh {user}@{host}:{port}"
        told = on_step or (lambda step, detail: None)
        infos = resolve(host, port, where)
        told(DNS, infos[0][4][0])
        sock = connect_tcp(infos, port, where, timeout)
        address = address_of(sock)
        told(TCP, address)
        started = time.monotonic()
        client = paramiko.SSHClient()
        client.set_log_channel(_quiet_channel())
        # a key that cannot be had fails the authentication step, in its turn: after the
        # handshake and the host key (no key is offered: paramiko sends no request then)
        pkey, key_failure = None, key_error
        if private_key and key_failure is None:
            try:
                pkey = load_private_key(private_key, key_secret or "", where)
            except StepFailed as exc:
                key_failure = exc
        try:
            _load_known(client, known_hosts)
            client.set_missing_host_key_policy(_Refuse())
            client.connect(host, port, username=user, pkey=pkey, sock=sock, timeout=timeout,
                           banner_timeout=timeout, auth_timeout=timeout, allow_agent=False,
                           look_for_keys=False)
        except BaseException as exc:
            transport = client.get_transport()
            failure = _failure(exc, client, host, port, user, key_secret, where,
                               _Silence(address, timeout, time.monotonic() - started)) \
                if isinstance(exc, Exception) else None
            step = getattr(failure, "step", None)
            if step in (HOST_KEY, AUTHENTICATION):
                _tell_passed(told, transport, step)
            if step == AUTHENTICATION and key_failure is not None:
                failure = key_failure
            client.close()
            sock.close()
            if failure is None:
                raise
            raise failure from None
        _tell_passed(told, client.get_transport(), None)
        told(AUTHENTICATION, f"as {user}")
        client.get_transport().set_keepalive(max(1, int(keepalive)))
        return cls(client, host, port, user, keepalive)

    @property
    def transport(self):
        """The paramiko ``Transport`` (one TCP connection; channels multiplexed over it)."""
        return self.client.get_transport()

    def is_active(self) -> bool:
        """Whether the connection is still up."""
        transport = self.transport
        return transport is not None and transport.is_active()

    def answers(self, timeout: float) -> bool:
        """Whether the host's SSH server answers within ``timeout`` seconds (a session channel
        opened and closed at once: nothing is started on the host)."""
        try:
            channel = self.transport.open_session(timeout=timeout)
        except (paramiko.SSHException, EOFError, OSError, AttributeError):
            return False
        channel.close()
        return True

    def watch(self) -> "Watchdog":
        """Start watching the connection (see the module's text): a :class:`Watchdog` whose
        ``lost`` says when the host stopped answering (the connection is then closed, which ends
        whatever waits on it); :meth:`Watchdog.stop` it."""
        return Watchdog(self, self.keepalive)

    def close(self) -> None:
        """Close the SFTP session, the tunnels and the connection (a command still running on
        the host goes on: stop it first)."""
        for port in list(self._forwards):
            self.close_tunnel(port)
        if self._sftp is not None:
            self._sftp.close()
            self._sftp = None
        self.client.close()

    def __enter__(self) -> "SSHConnection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- commands ---------------------------------------------------------------------

    def start(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
              cwd: str | None = None):
        """Start ``argv`` on the host in a process group of its own; return at once.

        See :func:`.commands.start`: values are quoted, ``env`` travels on the command's
        stdin (never in a command line the host's process list shows).  Returns a
        :class:`~.commands.RemoteProcess` (its ``pgid``, ``wait``, ``stop``).
        """
        from .commands import start

        return start(self, argv, env=env, cwd=cwd)

    def run(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
            cwd: str | None = None, timeout: float | None = None,
            on_output: Callable[[str, bytes], None] | None = None):
        """Run ``argv`` on the host and wait for it; return ``(status, output)``.

        ``output`` is stdout and stderr as text, in arrival order (its last 1 MiB);
        ``on_output(stream, data)`` also hears each chunk as it arrives (``stream``:
        ``"stdout"`` or ``"stderr"``).  After ``timeout`` seconds the command's process group
        is stopped and StepFailed (execution) raised; so it is when the connection drops.
        """
        from .commands import run

        return run(self, argv, env=env, cwd=cwd, timeout=timeout, on_output=on_output)

    def stop_group(self, pgid: int, grace: float = 5.0) -> None:
        """Stop the host's process group ``pgid`` (a :class:`~.commands.RemoteProcess`'s
        ``pgid``, recorded by whoever started it): SIGTERM, then SIGKILL after ``grace``
        seconds.  See :func:`.commands.stop_group`."""
        from .commands import stop_group

        stop_group(self, pgid, grace)

    # -- files -------------------------------------------------------------------------

    @property
    def sftp(self):
        """The connection's SFTP session (opened on first use)."""
        if self._sftp is None:
            self._sftp = self.client.open_sftp()
        return self._sftp

    def put(self, local: str | os.PathLike, remote: str) -> int:
        """Upload a file or a folder tree to ``remote`` (relative to the login folder, or
        absolute); return the bytes sent.  See :func:`.transfer.put`."""
        from .transfer import put

        return put(self, Path(local), remote)

    def get(self, remote: str, local: str | os.PathLike, *, max_bytes: int | None = None) -> int:
        """Download a file or a folder tree from ``remote`` into ``local``; return the bytes
        received.  See :func:`.transfer.get`."""
        from .transfer import get

        return get(self, remote, Path(local), max_bytes=max_bytes)

    def remove(self, remote: str) -> None:
        """Remove the remote folder ``remote`` and everything in it (a run's work folder).
        See :func:`.transfer.remove`."""
        from .transfer import remove

        remove(self, remote)

    # -- tunnels ------------------------------------------------------------------------

    def reverse_tunnel(self, local_port: int, local_host: str = "127.0.0.1",
                       remote_port: int = 0) -> int:
        """Forward connections to the host's ``127.0.0.1:remote_port`` (0: a free port the host
        picks) back to ``local_host:local_port`` as reached from here; return the host's port.
        See :mod:`.tunnel`."""
        from .tunnel import open_reverse

        return open_reverse(self, local_host, local_port, remote_port)

    def close_tunnel(self, remote_port: int) -> None:
        """Stop forwarding the host's ``remote_port``."""
        from .tunnel import close_reverse

        close_reverse(self, remote_port)


class Watchdog:
    """A thread asking ``conn``'s host for an answer every ``interval`` seconds; when none came
    for :data:`KEEPALIVE_MISSES` intervals it sets :attr:`lost` and closes the connection.

    Attributes
    ----------
    lost : bool
        The host stopped answering (a connection closed by its peer is not watched further).
    silent_for : float
        Seconds without an answer when it was declared lost.
    """

    def __init__(self, conn: SSHConnection, interval: float, misses: int = KEEPALIVE_MISSES):
        import threading

        self.conn, self.interval, self.misses = conn, max(1.0, float(interval)), misses
        self.lost = False
        self.silent_for = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mlws-ssh-watchdog", daemon=True)
        self._thread.start()

    @property
    def bound(self) -> float:
        """Seconds of silence after which the connection is declared lost."""
        return self.interval * self.misses

    def _run(self) -> None:
        import time

        last = time.monotonic()
        while not self._stop.wait(self.interval):
            if not self.conn.is_active():
                return  # closed under it: whoever waits on it sees that at once
            left = self.bound - (time.monotonic() - last)
            if self.conn.answers(max(0.5, min(self.interval, left))):
                last = time.monotonic()
            elif time.monotonic() - last >= self.bound and not self._stop.is_set():
                self.silent_for = time.monotonic() - last
                self.lost = True
                self.conn.transport.close()  # ends every wait on its channels
                return

    def stop(self) -> None:
        """Stop watching (a probe under way is left to end with the connection)."""
        self._stop.set()
        self._thread.join(0.5)


def fetch_host_key(host: str, port: int, timeout: float = DEFAULT_TIMEOUT) -> HostKey:
    """The key ``host``:``port`` presents (DNS, TCP connect and the SSH handshake; no
    authentication): what ``compute create`` shows to confirm.  StepFailed names the step that
    failed."""
    where = f"ssh {host}:{port}"
    sock = connect_tcp(resolve(host, port, where), port, where, timeout)
    silence = _Silence(address_of(sock), timeout, 0.0)
    started = time.monotonic()
    transport = paramiko.Transport(sock)
    transport.set_log_channel(_quiet_channel())
    transport.banner_timeout = timeout
    try:
        transport.start_client(timeout=timeout)
        return HostKey.of(transport.get_remote_server_key())
    except (paramiko.SSHException, EOFError, OSError) as exc:
        silence = silence._replace(waited=time.monotonic() - started)
        raise StepFailed(HANDSHAKE, where, _no_handshake(exc, transport, silence)) from None
    finally:
        transport.close()
        sock.close()


def _tell_passed(told: OnStep, transport, failed: str | None) -> None:
    """Tell the handshake (and the host key, unless that failed) passed, before ``failed``."""
    if transport is None or getattr(transport, "host_key", None) is None:
        return  # the key exchange did not end: the failure was the handshake's
    told(HANDSHAKE, transport.remote_version)
    if failed != HOST_KEY:
        told(HOST_KEY, f"{HostKey.of(transport.get_remote_server_key()).fingerprint} as pinned")


def _load_known(client, known_hosts: KnownHosts) -> None:
    """Load the workspace's known_hosts file into ``client`` (after checking its mode); with no
    file, the client knows no host and refuses every one."""
    known_hosts.check()
    if known_hosts.path.is_file():
        client.load_host_keys(str(known_hosts.path))


class _Silence(NamedTuple):
    """What a handshake that never came says: the ``address`` reached over TCP, the ``timeout``
    it had, the seconds it ``waited``."""

    address: str
    timeout: float
    waited: float


def _no_handshake(exc: Exception, transport, silence: _Silence) -> str:
    """Why the SSH handshake failed, for a user: no banner at all (a hung sshd, a silent
    listener), a first line that is not SSH's (another service), or the key exchange's own
    error (never paramiko's "No existing session", which says only that it did not end)."""
    where = silence.address
    said = str(exc)
    if "Indecipherable protocol version" in said:
        first = said.partition("version")[2].strip().strip('"')[:80]
        return (f"{where} answered, but not as an SSH server (its first line: {first!r}): is "
                "that port another service's? Give the SSH server's --port")
    if transport is None or not getattr(transport, "remote_version", ""):
        if silence.waited < silence.timeout * 0.8:
            return (f"{where} accepted TCP but closed the connection without an SSH banner: is an "
                    "SSH server listening there (not another service), and does it accept new "
                    "connections (its MaxStartups, a TCP wrapper)?")
        return (f"{where} accepted TCP but sent no SSH banner within {silence.timeout:g} s: is an "
                "SSH server listening there (not another service), and is it answering (not hung)?")
    inner = getattr(transport, "saved_exception", None) or exc
    detail = str(inner).splitlines()[0][:200] if str(inner) else type(inner).__name__
    if detail == "No existing session":
        detail = f"the key exchange did not end within {silence.timeout:g} s"
    return (f"the SSH server at {where} ({transport.remote_version[:80]}) did not complete the "
            f"handshake: {detail}")


def _failure(exc: Exception, client, host: str, port: int, user: str, key_secret: str | None,
             where: str, silence: _Silence) -> Exception:
    """The step ``client.connect`` failed at, and why (the workspace's own errors as they are)."""
    name = known_name(host, port)
    if isinstance(exc, MlwsError):
        return exc
    if isinstance(exc, paramiko.BadHostKeyException):
        got, pinned = HostKey.of(exc.key), HostKey.of(exc.expected_key)
        return StepFailed(HOST_KEY, where, (
            f"the host {name} presented an {got.type} key with fingerprint {got.fingerprint}, but "
            f"the workspace pinned {pinned.fingerprint} for it: the host was reinstalled or its "
            "key replaced, or someone is intercepting the connection. Nothing was sent. If you "
            "know the new key is right, delete the target and create it again (it shows the new "
            "key to confirm, or pins --host-key)"))
    if isinstance(exc, _UnknownHost):
        got = HostKey.of(exc.key)
        return StepFailed(HOST_KEY, where, (
            f"the host {name} presented an {got.type} key with fingerprint {got.fingerprint}, which "
            "the workspace has not pinned: create a compute target for it, which shows the key "
            "to confirm ('mlws compute create ... --yes' or --host-key)"))
    if isinstance(exc, paramiko.AuthenticationException):
        return StepFailed(AUTHENTICATION, where, (
            f"user {user!r} was refused with the key in secret {key_secret!r}: add its public key "
            f"to that user's authorized_keys on the host (ssh-keygen -y -f KEYFILE prints it)"))
    transport = client.get_transport()
    past_kex = transport is not None and getattr(transport, "host_key", None) is not None
    if isinstance(exc, paramiko.SSHException) and "No authentication methods" in str(exc):
        return StepFailed(AUTHENTICATION, where, "the target has no key to offer: create it with "
                          "--key-secret NAME, a workspace secret holding its private key")
    if past_kex:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return StepFailed(AUTHENTICATION, where, f"the connection ended during authentication ({detail})")
    return StepFailed(HANDSHAKE, where, _no_handshake(exc, transport, silence))

