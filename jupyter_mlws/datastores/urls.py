"""Datastore URLs: which are accepted, what they say, and how messages show them.

A datastore URL names a place fsspec reaches, and never a credential:

==========  ======================================================  ==========================
scheme      form                                                    options (in the query)
==========  ======================================================  ==========================
``s3``      ``s3://BUCKET[/PREFIX]``                                ``endpoint_url``, ``region``
``gs``      ``gs://BUCKET[/PREFIX]``                                ``project``
``abfs``    ``abfs://CONTAINER[/PREFIX]``                           ``account_name``
``sftp``    ``sftp://USER@HOST[:PORT]/ABSOLUTE/PATH``               (none)
``file``    ``file:///ABSOLUTE/PATH``                               (none)
==========  ======================================================  ==========================

Refused: a password or (but for sftp's login) a user in the URL (credentials belong in a
workspace secret), ``..`` segments, spaces, control characters and backslashes, an unknown
option, and a host (sftp's, an ``endpoint_url``'s) that is, or resolves to, a link-local or
cloud metadata address (:mod:`jupyter_mlws.addresses`; private and loopback hosts are allowed:
an on-premises MinIO, an SFTP server on the LAN).  Messages show a URL as :func:`shown_url`
does: scheme, host and path, never a query or the part before ``@``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from ..addresses import check_host
from ..errors import InvalidInput

#: accepted schemes and the one each stands for
SCHEMES = {"s3": "s3", "s3a": "s3", "gs": "gs", "gcs": "gs", "abfs": "abfs", "az": "abfs",
           "sftp": "sftp", "file": "file"}
#: the options each scheme takes in its URL's query
OPTIONS = {"s3": ("endpoint_url", "region"), "gs": ("project",), "abfs": ("account_name",),
           "sftp": (), "file": ()}
#: the longest URL, characters
URL_MAX = 2048
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,254}")
WHAT = "datastore URL"


@dataclass(frozen=True)
class Location:
    """A checked datastore URL: ``scheme`` (canonical), ``host`` (a bucket, a container, an
    sftp host; ``""`` for file), ``port`` and ``user`` (sftp), ``root`` (the path inside the
    filesystem: ``bucket/prefix`` or ``/abs/path``) and ``options`` (from the query)."""

    scheme: str
    host: str
    root: str
    port: int | None = None
    user: str | None = None
    options: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The URL as recorded: canonical, with its options in the query."""
        query = f"?{urlencode(sorted(self.options.items()))}" if self.options else ""
        return self.shown + query

    @property
    def shown(self) -> str:
        """The URL as messages and listings show it: no query, no credentials."""
        if self.scheme == "file":
            return "file://" + quote(self.root)
        if self.scheme == "sftp":
            port = f":{self.port}" if self.port and self.port != 22 else ""
            return f"sftp://{self.user}@{_bracketed(self.host)}{port}{quote(self.root)}"
        return f"{self.scheme}://{quote(self.root)}"


def shown_url(url: object) -> str:
    """Any URL as a message may show it: scheme, host, port and path; never the part before
    ``@`` (a password), a query or a fragment."""
    try:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return f"a {WHAT}"
    if not parts.scheme:
        return f"a {WHAT}"
    return f"{parts.scheme.lower()}://{_bracketed(host)}{port}{parts.path}"


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def parse(url: object, *, check_hosts: bool = True) -> Location:
    """The :class:`Location` of a datastore URL, checked (see the module's text).

    ``check_hosts``: resolve and judge the hosts it reaches (sftp's, ``endpoint_url``'s).
    Raises InvalidInput naming what is wrong (the URL shown without credentials or query);
    Unavailable when a host does not resolve.
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput(f"a {WHAT} is like s3://bucket/prefix, gs://bucket, abfs://container, "
                           "sftp://user@host/path or file:///path")
    if len(url) > URL_MAX:
        raise InvalidInput(f"a {WHAT} is at most {URL_MAX} characters ({shown_url(url)} has {len(url)})")
    if _UNSAFE.search(url):
        raise InvalidInput(f"the {WHAT} {shown_url(url)} contains spaces, control characters or "
                           "backslashes: percent-encode them")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput(f"the {WHAT} {shown_url(url)} is not a valid URL (check its host and "
                           "port)") from None
    scheme = SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise InvalidInput(f"unknown datastore scheme {parts.scheme.lower()[:20]!r}: use one of "
                           "s3://, gs://, abfs://, sftp:// or file://")
    if parts.password is not None or (parts.username is not None and scheme != "sftp"):
        raise InvalidInput(f"refused: the {WHAT} {shown_url(url)} carries credentials (the part "
                           "before '@'): store them in a workspace secret ('mlws secret set NAME') "
                           "and name it as the datastore's credentials secret "
                           "(--credentials-secret NAME)")
    if parts.fragment:
        raise InvalidInput(f"the {WHAT} {shown_url(url)} has a fragment ('#...'): remove it")
    options = _options(parts.query, scheme, url)
    path = _path(parts.path, url)
    if scheme == "file":
        return _file(parts, path, url)
    if scheme == "sftp":
        return _sftp(parts, port, path, url, check_hosts)
    bucket = (parts.hostname or "").lower()
    if not _BUCKET.fullmatch(bucket) or parts.port is not None:
        raise InvalidInput(f"the {WHAT} {shown_url(url)} names no valid bucket or container: "
                           f"write {scheme}://BUCKET/PREFIX (lowercase letters, digits, '.', '-')")
    if "endpoint_url" in options:
        _check_endpoint(options["endpoint_url"], check_hosts)
    return Location(scheme, bucket, f"{bucket}{path}".rstrip("/"), options=options)


def _options(query: str, scheme: str, url: str) -> dict:
    allowed = OPTIONS[scheme]
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise InvalidInput(f"the query of the {WHAT} {shown_url(url)} is not key=value pairs") from None
    options = {}
    for key, value in pairs:
        if key not in allowed:
            takes = f"takes only {', '.join(allowed)}" if allowed else "takes no options"
            raise InvalidInput(f"unknown option {key[:40]!r} in the {WHAT}: {scheme}:// {takes}")
        if key in options or not value:
            raise InvalidInput(f"option {key!r} of the {WHAT} is empty or given twice")
        options[key] = value
    return options


def _path(path: str, url: str) -> str:
    """The URL's path, ``/``-separated, refusing ``..`` segments ('' for none)."""
    from urllib.parse import unquote

    decoded = path
    for _ in range(5):  # decoded repeatedly, as artifact names are
        decoded, before = unquote(decoded), decoded
        if decoded == before:
            break
    if _UNSAFE.search(decoded) or ".." in decoded.split("/"):
        raise InvalidInput(f"the path of the {WHAT} {shown_url(url)} has '..' segments, backslashes "
                           "or control characters: give the folder itself")
    segments = [s for s in decoded.split("/") if s not in ("", ".")]
    return "/" + "/".join(segments) if segments else ""


def _file(parts, path: str, url: str) -> Location:
    if parts.netloc not in ("", "localhost"):
        raise InvalidInput(f"the {WHAT} {shown_url(url)} names a host: a file:// URL is a folder "
                           "of this machine, file:///ABSOLUTE/PATH")
    if not path:
        raise InvalidInput("a file:// datastore is a folder of this machine: file:///ABSOLUTE/PATH")
    return Location("file", "", path)


def _sftp(parts, port: int | None, path: str, url: str, check_hosts: bool) -> Location:
    host = (parts.hostname or "").lower()
    if not host or not parts.username:
        raise InvalidInput(f"the {WHAT} {shown_url(url)} needs a login and a host: "
                           "sftp://USER@HOST[:PORT]/ABSOLUTE/PATH")
    if not path:
        raise InvalidInput(f"the {WHAT} {shown_url(url)} has no folder: sftp://USER@HOST/ABSOLUTE/PATH")
    if port == 0:
        raise InvalidInput("port 0 is not a port an SFTP server listens on")
    if check_hosts:
        check_host(host, allow_private=True, what=WHAT)
    return Location("sftp", host, path, port=port or 22, user=parts.username)


def _check_endpoint(endpoint: str, check_hosts: bool) -> None:
    """An s3 ``endpoint_url`` option: http(s), no credentials, a host that may be reached."""
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise InvalidInput("the datastore's endpoint_url is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput("the datastore's endpoint_url is an http:// or https:// URL, e.g. "
                           "http://minio.internal:9000")
    if "@" in parts.netloc or parts.query or parts.fragment:
        raise InvalidInput("the datastore's endpoint_url carries credentials or a query: give "
                           "scheme://host[:port] only (credentials go in --credentials-secret)")
    if check_hosts:
        check_host(parts.hostname, allow_private=True, what="datastore endpoint_url")
