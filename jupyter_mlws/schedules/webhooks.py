"""Webhook URLs checked against server-side request forgery (SSRF), and posting to them.

A webhook is a URL a workspace user types and the scheduler's machine calls.  Unchecked, it
would let any contributor make that machine reach what only it can reach: the cloud's instance
metadata (and the credentials it hands out), services on 127.0.0.1, the private network.  The
rules (:func:`check_webhook_url`, and again for every request :func:`post_webhook` makes):

- ``http://`` or ``https://`` only; no user name or password (``user:pw@``) in the URL; no
  spaces, control characters or backslashes; at most :data:`URL_MAX` characters;
- the host is resolved and *every* address it resolves to is checked (a name with one bad
  address is refused whole);
- always refused: cloud metadata addresses (169.254.169.254, fd00:ec2::254, 100.100.100.200,
  169.254.170.2; the names ``metadata.google.internal``, ``metadata.goog``, ``metadata``,
  ``instance-data``), link-local (169.254.0.0/16, fe80::/10), unspecified (0.0.0.0/8, ``::``),
  multicast, broadcast and reserved addresses, and an IPv4 address written in decimal, octal or
  hex (``http://2130706433/``, ``http://0177.0.0.1/``: resolvers disagree on those, write
  ``a.b.c.d``);
- refused unless the workspace's owner allows private webhooks (``mlws.toml``: ``[schedules]``
  ``webhooks_allow_private = true``): loopback (127.0.0.0/8, ``::1``, and names such as
  ``localhost`` that resolve there), private (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7,
  fec0::/10) and any other address that is not public;
- an IPv4 address inside an IPv6 one (``::ffff:a.b.c.d``, 6to4 ``2002::/16``, NAT64
  ``64:ff9b::/96``) is judged as that IPv4 address.

DNS rebinding (a name that resolves to a public address when checked and to 127.0.0.1 when
used) is closed by resolving once per request and connecting to a checked address ourselves: an
urllib3 pool on that IP, with the name sent as the ``Host`` header and as TLS SNI, and the
certificate verified against the name.  No proxy from the environment is used.  Redirects:
at most :data:`MAX_REDIRECTS`, each target checked by the same rules before it is contacted
(307/308 post the body again; 301/302/303 follow with a GET, as browsers do).

Errors say what is wrong ("refused: 169.254.169.254 is a cloud metadata address") and name a
URL only as :func:`redact_url` shows it (scheme, host and port: never a user name, password,
path or query, where webhook services keep their tokens).
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

from ..addresses import METADATA_NAMES, IPAddress, judge, refused_reason
from ..errors import InvalidInput, Unavailable


#: the longest webhook URL, characters
URL_MAX = 2048
#: redirects followed at most, each target checked
MAX_REDIRECTS = 3
#: the statuses that redirect (a ``Location`` header gives where)
REDIRECTS = (301, 302, 303, 307, 308)
#: answers worth trying again later (the receiver is busy or down), besides 5xx
RETRY_STATUSES = (408, 425, 429)

#: what a refusal of a private address says to do
ALLOW_PRIVATE_HINT = ("a workspace owner may allow private and loopback webhooks with "
                      "webhooks_allow_private = true under [schedules] in the workspace's "
                      "mlws.toml")

_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
_NUMERIC_HOST = re.compile(r"[0-9a-fx.]+")


def redact_url(url: object) -> str:
    """``url`` as logs, errors and listings show it: ``scheme://host[:port]/…`` (``/…`` when it
    has a path or query, ``/`` when not); never a user name, password, path or query.  Anything
    that is not such a URL shows as ``a webhook URL``."""
    try:
        parts = urlsplit(str(url))
        host, port = parts.hostname, parts.port
    except ValueError:
        return "a webhook URL"
    if not parts.scheme or not host:
        return "a webhook URL"
    host = f"[{host}]" if ":" in host else host
    rest = "/…" if parts.path not in ("", "/") or parts.query or parts.fragment else "/"
    return f"{parts.scheme.lower()}://{host}{f':{port}' if port else ''}{rest}"


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart: ``url`` normalised (scheme and host lower-case, the host in
    IDNA, no fragment), ``host`` without brackets, ``address`` set when the host is an IP
    literal, ``path`` with its query (at least ``/``)."""

    url: str
    scheme: str
    host: str
    port: int
    host_header: str
    path: str
    address: IPAddress | None


def parse(url: object) -> Target:
    """The syntax rules of the module's text; InvalidInput naming what is wrong."""
    if not isinstance(url, str) or not url:
        raise InvalidInput("a webhook is an http:// or https:// URL, e.g. "
                           "https://hooks.example.com/mlws")
    if len(url) > URL_MAX:
        raise InvalidInput(f"refused: a webhook URL is at most {URL_MAX} characters "
                           f"({redact_url(url)} has {len(url)})")
    if _UNSAFE_CHARS.search(url):
        raise InvalidInput(f"refused: {redact_url(url)} contains spaces, control characters or "
                           "backslashes: percent-encode them")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput(f"refused: {redact_url(url)} is not a valid URL (check its host "
                           "and port)") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        what = f"{scheme}: is not a webhook scheme" if scheme else "the URL has no scheme"
        raise InvalidInput(f"refused: {what}: give an http:// or https:// URL")
    if "@" in parts.netloc:
        raise InvalidInput(f"refused: a webhook URL cannot carry a user name or password "
                           f"(the part before '@'): remove it from {redact_url(url)}")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidInput("refused: the webhook URL has no host")
    if port == 0:
        raise InvalidInput("refused: port 0 is not a port a webhook listens on")
    if not (parts.path + parts.query).isascii():
        raise InvalidInput(f"refused: the path of {redact_url(url)} has characters that are not "
                           "ASCII: percent-encode them")
    address = _literal(host)
    if address is None:
        host = _idna(host, url)
    port_text = f":{port}" if port else ""
    netloc = (f"[{host}]" if ":" in host else host) + port_text
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(url=urlunsplit((scheme, netloc, parts.path or "/", parts.query, "")),
                  scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80),
                  host_header=netloc, path=path, address=address)


def _literal(host: str) -> IPAddress | None:
    """The IP address ``host`` is written as (None for a name); InvalidInput for an IPv4
    address in a form other than ``a.b.c.d`` (decimal, octal, hex, fewer parts)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if ":" not in host and _NUMERIC_HOST.fullmatch(host):
        try:
            canonical = socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return None  # a name after all
        raise InvalidInput(f"refused: {host} is the IPv4 address {canonical} in a non-standard "
                           f"(decimal, octal or hex) form: write it as {canonical}")
    return None


def _idna(host: str, url: str) -> str:
    """A host name in ASCII (IDNA for an internationalised one); InvalidInput for a bad name."""
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise InvalidInput(f"refused: the host of {redact_url(url)} is not a valid name") from None
    if not re.fullmatch(r"[a-z0-9_.-]+", ascii_host) or ".." in ascii_host:
        raise InvalidInput(f"refused: the host of {redact_url(url)} is not a valid name")
    return ascii_host


def refusal(address: IPAddress, *, allow_private: bool = False) -> str | None:
    """Why a webhook may not reach ``address`` ("a cloud metadata address", "a loopback
    address", ...), or None when it may (:mod:`jupyter_mlws.addresses`, the one rule)."""
    return refused_reason(address, allow_private=allow_private)


def addresses(target: Target, *, allow_private: bool = False,
              unresolved: type[Exception] = InvalidInput) -> list[IPAddress]:
    """Every address ``target``'s host resolves to (the literal itself for an IP), each
    checked: InvalidInput for the first refused one (see the module's text); ``unresolved``
    (an error class) when the name does not resolve."""
    if target.address is not None:
        found = [target.address]
    elif target.host in METADATA_NAMES:
        raise InvalidInput(f"refused: {target.host} is a cloud metadata address")
    else:
        found = _resolve(target, unresolved)
    for address in found:
        judged = judge(address, allow_private=allow_private)
        if judged is not None:
            why, always = judged
            said = (f"{target.host} is {why}" if target.address is not None
                    else f"{target.host} resolves to {address}, {why}")
            raise InvalidInput(f"refused: {said}" + ("" if always else f": {ALLOW_PRIVATE_HINT}"))
    return found


def _resolve(target: Target, unresolved: type[Exception]) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise unresolved(f"the webhook's host {target.host} cannot be resolved ({reason}): "
                         "check the name") from None
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        if address not in found:
            found.append(address)
    return found


def check_webhook_url(url: object, *, allow_private: bool = False) -> str:
    """``url`` normalised (scheme and host lower-case, IDNA host, no fragment) when a schedule
    may post to it; raises InvalidInput saying what is refused and why (see the module's text).

    Resolves the host (a name that does not resolve is refused too): call it when a webhook is
    given, and :func:`post_webhook` checks again when it sends.
    """
    target = parse(url)
    addresses(target, allow_private=allow_private)
    return target.url


def post_webhook(url: str, payload: dict, *, allow_private: bool = False,
                 timeout: float = 10.0) -> None:
    """POST ``payload`` as JSON to webhook ``url``; returns once it answered 2xx.

    Checks the URL and every address its host resolves to now (:func:`check_webhook_url`'s
    rules), connects to a checked address, and follows at most :data:`MAX_REDIRECTS`
    redirects, each target checked the same way before it is contacted.  ``timeout``: seconds
    for the connection and for each read.  Sends only ``payload`` (no cookie, no credential).

    Raises InvalidInput for a refused URL or redirect target (nothing is sent there) and for an
    answer saying the request is wrong (4xx: check the URL); Unavailable for what may pass
    (no connection, a timeout, a name that does not resolve now, 5xx, 408/425/429, too many
    redirects).  Messages name URLs only as :func:`redact_url` shows them.
    """
    try:
        body: bytes | None = json.dumps(payload, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"a webhook's payload must be JSON: {exc}") from None
    method, where, shown = "POST", url, redact_url(url)
    for hop in range(MAX_REDIRECTS + 1):
        try:
            target = parse(where)
            found = addresses(target, allow_private=allow_private, unresolved=Unavailable)
        except InvalidInput as exc:
            if hop == 0:
                raise
            raise InvalidInput(f"the webhook {shown} redirected to {redact_url(where)}, not "
                               f"followed: {exc}") from None
        status, reason, location = _exchange(target, found, method, body, timeout, shown)
        if status in REDIRECTS and location:
            where = urljoin(target.url, location)
            if status in (301, 302, 303):
                method, body = "GET", None
            continue
        _check_answer(shown, status, reason)
        return
    raise Unavailable(f"the webhook {shown} redirected more than {MAX_REDIRECTS} times: not "
                      "followed further")


def _check_answer(shown: str, status: int, reason: str) -> None:
    if 200 <= status < 300:
        return
    said = f"the webhook {shown} answered {status} {reason}".rstrip()
    if status >= 500 or status in RETRY_STATUSES:
        raise Unavailable(said)
    raise InvalidInput(f"{said}: check its URL, and that it takes a JSON POST")


def _exchange(target: Target, found: list[IPAddress], method: str, body: bytes | None,
              timeout: float, shown: str) -> tuple[int, str, str | None]:
    """One request to the first of ``found`` that takes a connection: ``(status, reason,
    Location)``; Unavailable when none answers."""
    import urllib3

    from .. import __version__

    headers = {"Host": target.host_header, "User-Agent": f"jupyter_mlws/{__version__}",
               "Accept": "*/*"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    failed: Exception | None = None
    for address in found:
        pool = _pool(target, address, timeout)
        try:
            response = pool.urlopen(method, target.path, body=body, headers=headers,
                                    redirect=False, retries=False, assert_same_host=False,
                                    preload_content=False)
            try:
                return response.status, response.reason or "", response.headers.get("Location")
            finally:
                response.close()
        except (urllib3.exceptions.NewConnectionError,
                urllib3.exceptions.ConnectTimeoutError) as exc:
            failed = exc  # this address takes no connection: the next one may
        except urllib3.exceptions.HTTPError as exc:
            raise Unavailable(f"the webhook {shown} could not be reached: "
                              f"{_why(exc, timeout)}") from None
        finally:
            pool.close()
    raise Unavailable(f"the webhook {shown} could not be reached: {_why(failed, timeout)}")


def _pool(target: Target, address: IPAddress, timeout: float):
    """An urllib3 pool connecting to ``address`` itself, for ``target``'s host."""
    import urllib3

    limits = urllib3.Timeout(connect=timeout, read=timeout)
    if target.scheme == "http":
        return urllib3.HTTPConnectionPool(str(address), target.port, timeout=limits,
                                          retries=False, maxsize=1)
    named = {} if target.address is not None else {
        "server_hostname": target.host, "assert_hostname": target.host}
    return urllib3.HTTPSConnectionPool(str(address), target.port, timeout=limits, retries=False,
                                       maxsize=1, cert_reqs="CERT_REQUIRED", **named)


def _why(exc: Exception | None, timeout: float) -> str:
    """A failed request's cause, for a person (no URL, no object reprs)."""
    import urllib3

    if isinstance(exc, urllib3.exceptions.TimeoutError) and not isinstance(
            exc, urllib3.exceptions.NewConnectionError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, urllib3.exceptions.SSLError):
        return f"TLS failed ({str(exc.args[0] if exc.args else exc)[:200]})"
    seen = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror.lower()
        seen = seen.__cause__ or seen.__context__
    return type(exc).__name__ if exc is not None else "no address to connect to"
