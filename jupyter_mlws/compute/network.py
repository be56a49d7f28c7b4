"""The first two steps of reaching any remote target: the name resolves (DNS), a TCP connection
opens (refused, or no answer in time).  Each failure is a :class:`~.failures.StepFailed` naming
its step, in words a user can act on."""

from __future__ import annotations

import socket

from .failures import DNS, TCP, StepFailed

#: seconds a connection attempt (and each SSH step) may take by default
DEFAULT_TIMEOUT = 10.0


def resolve(host: str, port: int, where: str) -> list[tuple]:
    """The addresses of ``host``:``port`` (``socket.getaddrinfo``'s tuples), else StepFailed at
    the DNS step."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        why = getattr(exc, "strerror", None) or "not a valid host name"
        raise StepFailed(DNS, where, f"the host name {host!r} does not resolve ({why}): check "
                                     "its spelling, or give its IP address") from None
    if not infos:
        raise StepFailed(DNS, where, f"the host name {host!r} has no address")
    return infos


def connect_tcp(infos: list[tuple], port: int, where: str, timeout: float) -> socket.socket:
    """A TCP connection to the first of ``infos`` that answers (blocking, with ``timeout``
    seconds per operation), else StepFailed at the TCP step saying why."""
    why = ""
    for family, kind, proto, _name, address in infos:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
            return sock
        except ConnectionRefusedError:
            why = (f"connection refused: nothing listens on port {port} there (is the server "
                   "running, on that port?)")
        except (socket.timeout, TimeoutError):
            why = f"no answer within {timeout:g} s (the host is down, or a firewall drops the connection)"
        except OSError as exc:
            why = f"{exc.strerror or type(exc).__name__} (check the host and the network)"
        sock.close()
    raise StepFailed(TCP, where, why)


def address_of(sock: socket.socket) -> str:
    """``ip:port`` a connected socket reached (for a report)."""
    host, port = sock.getpeername()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
