"""The HTTP connection to a workspace server: a kept-alive pool, the token, errors as the SDK's.

One :class:`Client` per remote workspace, shared by the threads that use it (the metric
buffer's writer and the caller's).  It speaks JSON to ``{base_url}mlws/api/`` and streams files
both ways.  A refusal comes back as the error kind the server reported, with the server's
message (``{"message", "reason"}``: :func:`jupyter_mlws.errors.from_reason`); a server that
cannot be reached is Unavailable naming the URL.  The token travels in the ``Authorization``
header only: no message, log line or URL ever holds it.
"""

from __future__ import annotations

import json
import re
from typing import Any, BinaryIO, Iterable, Iterator, Mapping
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

from .. import __version__
from ..config import is_url, shown_url
from ..errors import InvalidInput, PermissionDenied, Unavailable, from_reason

#: where the workspace's REST API lives under a server's base URL
API = "mlws/api/"
#: bytes read at a time when a file is downloaded
CHUNK = 1 << 20
#: the header naming the attempt a request of a run executed elsewhere is made for (see
#: jupyter_mlws.executions: a superseded attempt's requests are refused)
ATTEMPT_HEADER = "X-Mlws-Attempt"
#: the workspace's page (``mlws/``, as ``mlws server`` prints it), its API or assets at the end
#: of a URL's path: what :func:`base_url_of` takes off
_PAGE = re.compile(r"(?P<base>.*/)mlws(?:/(?:(?:api|static)(?:/.*)?)?)?")


def base_url_of(path: str) -> str:
    """The server's base path of a URL's ``path``: the path itself, or, for the URL of the
    workspace's page (``/mlws/``), its API or its assets, the path before ``mlws``; always
    ending in ``/``.  (A server whose own base URL ends in ``/mlws/`` is given by its page's
    URL, ``.../mlws/mlws/``.)"""
    match = _PAGE.fullmatch(path)
    return match.group("base") if match else path.rstrip("/") + "/"


#: which token a client gives, said where one is missing (here and by the server)
WHICH_TOKEN = ("your API token, which an owner of the workspace makes for you with 'mlws access "
               "token create USER'; or the server's own token, if you run the server")

#: what the server answers a request that carries no token it accepts (Jupyter's own answer is a
#: bare "Forbidden"); a client says it in its own words (:meth:`Client._no_entry`)
NOT_SIGNED_IN = ("this request carries no token the server accepts: send 'Authorization: token "
                 f"TOKEN' with {WHICH_TOKEN}")


def checked_token(token: str | None) -> str | None:
    """``token`` without surrounding whitespace (a file's or a secret's last line break);
    None when that leaves nothing.  InvalidInput, which never shows the token, when a character
    inside it cannot be part of a token (a space, a control character, non-ASCII)."""
    if token is None:
        return None
    if not isinstance(token, str):
        raise InvalidInput(f"the token must be text, got {type(token).__name__}")
    token = token.strip()
    if any(not "!" <= ch <= "~" for ch in token):
        raise InvalidInput("the token (MLWS_TOKEN, or token=) holds a character no token has (a "
                           "space, a line break, a control or non-ASCII character) inside it: "
                           "copy the token again")
    return token or None


class Client:
    """Requests to the workspace server at ``url`` (its base URL, e.g. ``http://host:8890/``).

    ``token`` is a user's API token, the server's Jupyter token or a run's token; a
    ``?token=...`` in ``url`` (as Jupyter prints its URLs) counts too, and the URL of the
    workspace's page (``http://host:8890/mlws/?token=...``, as ``mlws server`` prints it) is
    taken for its server's base URL (:func:`base_url_of`).  Whitespace around the token is
    dropped; a token with any other character it cannot hold is InvalidInput
    (:func:`checked_token`, never showing it).  ``timeout``: seconds a request may wait for an
    answer.  ``attempt``: the attempt of a run executed elsewhere that the requests are made
    for (sent in :data:`ATTEMPT_HEADER`).  Connection failures before a request is sent are
    retried a few times; nothing is ever sent twice.
    """

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 30.0,
                 pool_size: int = 4, attempt: str | None = None):
        import urllib3

        if not is_url(url):
            raise InvalidInput(f"a workspace server is reached by an http:// or https:// URL, got "
                               f"{str(url)[:80]!r}")
        parts = urlsplit(url)
        token = checked_token(token or (parse_qs(parts.query).get("token") or [None])[0])
        netloc = parts.netloc.rsplit("@", 1)[-1]  # never credentials in the URL
        base = urlunsplit((parts.scheme, netloc, base_url_of(parts.path), "", ""))
        #: the server's URL as messages show it
        self.url = shown_url(base)
        #: the server's base URL (no credentials, no query) and the token: what a process
        #: started for a run is given to reach the server the same way (never shown)
        self.base_url, self.token = base, token
        self.timeout = timeout
        self._api = base + API
        self._headers = {"User-Agent": f"jupyter_mlws/{__version__}", "Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"token {token}"
        self.set_attempt(attempt)
        retries = urllib3.Retry(total=3, connect=3, read=0, status=0, other=0, redirect=0,
                                backoff_factor=0.2, raise_on_status=False)
        self._pool = urllib3.PoolManager(num_pools=2, maxsize=pool_size, retries=retries,
                                         timeout=urllib3.Timeout(connect=min(timeout, 10.0),
                                                                 read=timeout))
        self._errors = urllib3.exceptions.HTTPError

    def __repr__(self) -> str:
        return f"<Client {self.url}>"

    @property
    def attempt(self) -> str | None:
        """The attempt the requests are made for (None: none)."""
        return self._headers.get(ATTEMPT_HEADER)

    def set_attempt(self, attempt: str | None) -> None:
        """Make the following requests for ``attempt`` (None: for none)."""
        if attempt:
            self._headers[ATTEMPT_HEADER] = attempt
        else:
            self._headers.pop(ATTEMPT_HEADER, None)

    def close(self) -> None:
        """Close the kept-alive connections."""
        self._pool.clear()

    # -- requests --------------------------------------------------------------------

    def call(self, method: str, path: Iterable[str], body: Any = None, *,
             query: Mapping | None = None) -> Any:
        """``method`` on ``path`` (its parts, each quoted) with ``body`` as JSON (NaN and
        infinities as JSON's extension writes them); the answer's JSON (None when empty)."""
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        return self.send(method, path, data, query=query)

    def send(self, method: str, path: Iterable[str], data: bytes | BinaryIO | None = None, *,
             query: Mapping | None = None, content_type: str = "application/json",
             size: int | None = None) -> Any:
        """``method`` on ``path`` with ``data`` (bytes, or a binary file streamed as it is read,
        ``size`` bytes long); the answer's JSON (None when empty).  A large body gets longer to
        be answered in (the server stores it before it answers): a second per 20 MB more."""
        import urllib3

        headers = dict(self._headers)
        options = {}
        if data is not None:
            headers["Content-Type"] = content_type
            if size is not None:
                headers["Content-Length"] = str(size)
                options["timeout"] = urllib3.Timeout(connect=min(self.timeout, 10.0),
                                                     read=self.timeout + size / 20e6)
        reply = self._request(method, path, query, body=data, headers=headers, **options)
        raw = reply.data
        return json.loads(raw) if raw else None

    def stream(self, path: Iterable[str], *, query: Mapping | None = None) -> Iterator[bytes]:
        """The answer's bytes to a GET, as they arrive (the request is made when iterated)."""
        reply = self._request("GET", path, query, headers=self._headers, preload_content=False)
        try:
            yield from reply.stream(CHUNK)
        except self._errors as exc:
            raise self._unreachable(exc) from None
        finally:
            reply.release_conn()

    def _request(self, method: str, path: Iterable[str], query: Mapping | None, **options):
        url = self._api + "/".join(quote(str(p), safe="") for p in path)
        if query:
            url += "?" + urlencode({k: v for k, v in query.items() if v is not None}, doseq=True)
        try:
            reply = self._pool.request(method, url, **options)
        except self._errors as exc:
            raise self._unreachable(exc) from None
        if reply.status >= 400:
            error = self._refusal(reply)
            reply.release_conn()
            raise error
        return reply

    def _unreachable(self, exc: Exception) -> Unavailable:
        cause = getattr(exc, "reason", None) or exc
        what = "it did not answer in time" if "Timeout" in type(cause).__name__ else type(cause).__name__
        return Unavailable(f"the workspace server at {self.url} cannot be reached ({what}): check "
                           "that it runs and that the URL is its base URL")

    def _refusal(self, reply) -> Exception:
        """The workspace error a refusal carries, or Unavailable for an answer that is none."""
        try:
            data = json.loads(reply.data)
            message, reason = data["message"], data["reason"]
        except (ValueError, KeyError, TypeError):
            return Unavailable(
                f"the server at {self.url} answered HTTP {reply.status} without a workspace "
                "error: is it a Jupyter server with jupyter_mlws (or 'mlws server'), and the URL "
                "its base URL?")
        if reply.status in (401, 403) and str(message).strip() in ("Forbidden", "Unauthorized", "",
                                                                   NOT_SIGNED_IN):
            return self._no_entry()  # Jupyter's authentication said no: say what to do
        error = from_reason(reason, message)
        if isinstance(data.get("details"), dict):
            error.details = data["details"]  # facts to act on (a host key's fingerprint)
        return error

    def _no_entry(self) -> PermissionDenied:
        """The server did not let the request in: no token, or one it refused (never shown)."""
        if not self.token:
            return PermissionDenied(f"the workspace server at {self.url} needs a token: set "
                                    f"MLWS_TOKEN or pass token= ({WHICH_TOKEN})")
        return PermissionDenied(f"the workspace server at {self.url} refused the token: check "
                                "MLWS_TOKEN (or the token= given); a run's token ends with its run")
