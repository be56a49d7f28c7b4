"""Tunnels over an SSH connection.

**Reverse** (:func:`open_reverse`): a port on the host's 127.0.0.1 forwarded, over the SSH
connection, to a host:port reachable from here.  A remote executor reaches the user's workspace server this way
(``MLWS_WORKSPACE=http://127.0.0.1:PORT`` on the host), with no port opened on either network.

paramiko keeps one handler of forwarded connections per transport: each connection's handler
looks the server port up in the connection's own table, so several tunnels share it, and one
closed (``cancel-tcpip-forward``) leaves the others working.
"""

from __future__ import annotations

import select
import socket
import threading

import paramiko

from ...errors import InvalidInput
from ..failures import TUNNEL, StepFailed

#: the host's address the forwarded port listens on (never a public one)
REMOTE_HOST = "127.0.0.1"
#: bytes moved per read
_CHUNK = 64 * 1024


def _check_port(port: object, what: str, low: int) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not low <= port <= 65535:
        raise InvalidInput(f"{what} must be a port number from {low} to 65535, got {port!r}")
    return port


def open_reverse(conn, local_host: str, local_port: int, remote_port: int = 0) -> int:
    """Forward the host's ``127.0.0.1:remote_port`` (0: one the host picks) to
    ``local_host:local_port``; return the host's port.

    Each connection made to it on the host is carried back over the SSH connection and joined
    to a new TCP connection to ``local_host:local_port`` from here (refused ones are closed on
    the host's side).  StepFailed (tunnel) when the host's sshd refuses to forward (its
    ``AllowTcpForwarding``) or the port is taken there.
    """
    _check_port(local_port, "the local port", 1)
    _check_port(remote_port, "the remote port", 0)
    transport = conn.transport
    try:
        port = transport.request_port_forward(
            REMOTE_HOST, remote_port, handler=lambda channel, origin, server: _accept(conn, channel, server))
    except paramiko.SSHException:
        raise StepFailed(TUNNEL, conn.where, (
            f"the host refused to listen on {REMOTE_HOST}:{remote_port or 'a free port'} for us: its "
            "sshd must allow TCP forwarding (AllowTcpForwarding yes or remote), and the port must "
            "be free")) from None
    conn._forwards[port] = (local_host, local_port)
    return port


def close_reverse(conn, remote_port: int) -> None:
    """Stop forwarding the host's ``remote_port`` (connections already carried go on)."""
    if conn._forwards.pop(remote_port, None) is None:
        return
    transport = conn.transport
    if transport is not None and transport.is_active():
        transport.global_request("cancel-tcpip-forward", (REMOTE_HOST, remote_port), wait=True)


def _accept(conn, channel, server: tuple[str, int]) -> None:
    """A connection arrived on a forwarded port (in paramiko's thread: hand it to a thread)."""
    target = conn._forwards.get(server[1])
    if target is None:
        channel.close()
        return
    threading.Thread(target=_carry, args=(channel, target), name="mlws-ssh-tunnel",
                     daemon=True).start()


def _carry(channel, target: tuple[str, int]) -> None:
    """Join ``channel`` to a new TCP connection to ``target`` until both sides have ended."""
    try:
        sock = socket.create_connection(target, timeout=10)
    except OSError:
        channel.close()
        return
    _join(channel, sock)


class LocalForward:
    """A listening port on this machine's 127.0.0.1 (:attr:`port`) whose connections are carried
    to ``127.0.0.1:remote_port`` on the host; :meth:`close` stops listening (connections already
    carried go on until they end)."""

    def __init__(self, conn, remote_port: int, local_port: int = 0):
        self.conn, self.remote_port = conn, _check_port(remote_port, "the remote port", 1)
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind((REMOTE_HOST, _check_port(local_port, "the local port", 0)))
        self._server.listen(64)
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._serve, name="mlws-ssh-forward", daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                sock, origin = self._server.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._forward, args=(sock, origin), name="mlws-ssh-tunnel",
                             daemon=True).start()

    def _forward(self, sock, origin) -> None:
        try:
            channel = self.conn.transport.open_channel(
                "direct-tcpip", (REMOTE_HOST, self.remote_port), origin, timeout=10)
        except (paramiko.SSHException, EOFError, OSError, AttributeError):
            sock.close()  # the host refused (nothing listens there, or no forwarding allowed)
            return
        _join(channel, sock)

    def close(self) -> None:
        try:
            self._server.close()
        except OSError:
            pass


def open_local(conn, remote_port: int, local_port: int = 0) -> LocalForward:
    """Forward this machine's ``127.0.0.1:local_port`` (0: a free one) to ``127.0.0.1:
    remote_port`` on ``conn``'s host, over the connection; the :class:`LocalForward` (its
    ``port``).  A connection the host refuses (nothing listens there yet, or its sshd forbids
    forwarding) is closed at once.  OSError when the local port is taken."""
    return LocalForward(conn, remote_port, local_port)


def _join(channel, sock) -> None:
    """Move bytes both ways between ``channel`` and ``sock`` until both sides have ended."""
    sock.settimeout(None)
    other = {sock: channel, channel: sock}
    reading = {sock, channel}
    try:
        while reading:
            ready, _, _ = select.select(list(reading), [], [], 5.0)
            for src in ready:
                data = src.recv(_CHUNK)
                if data:
                    other[src].sendall(data)
                    continue
                reading.discard(src)  # one side ended: tell the other it gets no more
                if other[src] is sock:
                    sock.shutdown(socket.SHUT_WR)
                else:
                    channel.shutdown_write()
    except (OSError, EOFError, paramiko.SSHException):
        pass
    finally:
        channel.close()
        sock.close()
