"""Which network addresses a URL a user gives may make the workspace's machine reach.

A URL a workspace user types (a datastore's host or endpoint, a webhook) is reached from the
workspace's machine.  Unchecked, it would let a contributor make that machine fetch what only it
can reach: the cloud's instance metadata service (and the credentials it hands out), services on
its own loopback, the private network.

:func:`refused_reason` classifies one address:

- always refused: the clouds' metadata addresses (:data:`METADATA_ADDRESSES`), link-local
  (169.254.0.0/16, fe80::/10), unspecified (0.0.0.0/8, ``::``), multicast, broadcast and
  reserved addresses;
- refused unless ``allow_private``: loopback, private (10/8, 172.16/12, 192.168/16, 100.64/10,
  fc00::/7, fec0::/10) and any other address that is not public;
- an IPv4 address carried in an IPv6 one (``::ffff:a.b.c.d``, 6to4, NAT64) is judged as that
  IPv4 address.

:func:`check_host` resolves a host name and judges *every* address it resolves to (one bad
address refuses the name), and refuses the metadata services' names outright.
"""

from __future__ import annotations

import ipaddress
import socket

from .errors import InvalidInput, Unavailable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: the clouds' instance metadata services: refused whatever is allowed
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, Azure, GCP, OpenStack, Oracle, DigitalOcean
    "fd00:ec2::254",    # AWS over IPv6
    "100.100.100.200",  # Alibaba Cloud
    "169.254.170.2",    # AWS ECS task credentials
))
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata",
                            "instance-data"})

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: private in practice
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_BROADCAST = ipaddress.ip_address("255.255.255.255")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def refused_reason(ip: str | IPAddress, *, allow_private: bool) -> str | None:
    """Why ``ip`` may not be reached ("a cloud metadata address", "a link-local address", ...),
    or None when it may (see the module's text).  InvalidInput when ``ip`` is no IP address."""
    try:
        address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    except ValueError:
        raise InvalidInput(f"{str(ip)[:80]!r} is not an IP address") from None
    judged = judge(address, allow_private=allow_private)
    return None if judged is None else judged[0]


def judge(address: IPAddress, *, allow_private: bool) -> tuple[str, bool] | None:
    """``(why, always)`` when ``address`` is refused (``always``: refused whatever
    ``allow_private`` says), else None (see the module's text)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            address = ipaddress.IPv6Address(str(address).partition("%")[0])
        inner = _embedded_ipv4(address)
        if inner is not None:
            judged = judge(inner, allow_private=allow_private)
            return None if judged is None else (f"{judged[0]} ({inner} inside an IPv6 address)",
                                                judged[1])
    always = _always_refused(address)
    if always is not None:
        return always, True
    private = None if allow_private else _private(address)
    return None if private is None else (private, False)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _always_refused(address: IPAddress) -> str | None:
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified or address in _THIS_NETWORK:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address == _BROADCAST or (address.is_reserved and not address.is_loopback):
        return "a reserved address"
    return None


def _private(address: IPAddress) -> str | None:
    if address.is_loopback:
        return "a loopback address"
    if address.is_private or address in _SHARED or getattr(address, "is_site_local", False):
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return None


def check_host(host: str, *, allow_private: bool, what: str) -> None:
    """Refuse ``host`` (a name or an IP literal, as a URL gives it) when it, or any address it
    resolves to, is refused (:func:`refused_reason`).

    ``what`` names the URL in messages ("datastore URL").  Raises InvalidInput ("refused: ...")
    for a refused host, Unavailable when the name does not resolve.
    """
    host = host.strip("[]").rstrip(".").lower()
    if host in METADATA_NAMES:
        raise InvalidInput(f"refused: the {what}'s host {host} is a cloud metadata address")
    try:
        found = [ipaddress.ip_address(host.partition("%")[0])]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise Unavailable(f"the {what}'s host {host!r} does not resolve: check the name "
                              "(and this machine's DNS)") from None
        found = [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos]
    for address in found:
        why = refused_reason(address, allow_private=allow_private)
        if why is not None:
            said = f"is {why}" if str(address) == host else f"resolves to {address}, {why}"
            raise InvalidInput(f"refused: the {what}'s host {host} {said}")
