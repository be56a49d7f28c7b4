"""What a Jupyter server says it is doing, read from its own REST API.

An :class:`ActivityProbe` asks a Jupyter server (a notebook VM's, through its URL and token)
three questions, each one short GET:

- ``/api/status``: ``started`` and ``last_activity`` (the newest of: the server's start, any
  kernel's activity, any terminal's, and any signed-in API request, which is what an open
  JupyterLab tab keeps sending);
- ``/api/kernels``: per kernel ``execution_state`` (``busy``, ``idle``, ``starting``...),
  ``last_activity`` (its last message on IOPub) and ``connections`` (open websockets: a browser
  tab showing a notebook on it);
- ``/api/terminals``: per terminal ``last_activity`` (its last input or output).

These are jupyter_server's fields (``ServerApp.last_activity``, ``MappingKernelManager
.kernel_model``, ``TerminalManager.get_terminal_model``).  The probe's own requests must not
count as activity: ``/api/status`` never does, and the two lists are asked with
``no_track_activity=1``, which jupyter_server honours for exactly this purpose.

A server that does not answer gives an :class:`Observation` with ``reachable=False`` and the
reason (refused, timed out, token refused, not a Jupyter server): *unknown*, never *idle*
(:mod:`.idle` decides what a long silence means).  Messages never hold the token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable
from urllib.parse import urlsplit, urlunsplit

from ..cron import UTC, utc
from ..errors import InvalidInput

#: kernel states in which a kernel is on its way to work
STARTING_STATES = frozenset({"starting", "restarting", "autorestarting"})
#: how long a kernel counts as starting: jupyter_server reports a kernel nobody ever connected to
#: as ``starting`` for ever (its state turns ``idle`` at a client's first request), which must not
#: keep a VM up
STARTING_LIMIT = timedelta(minutes=5)


@dataclass(frozen=True)
class KernelActivity:
    """One kernel as the server reports it."""

    id: str
    name: str
    execution_state: str
    last_activity: datetime | None
    connections: int


@dataclass(frozen=True)
class TerminalActivity:
    """One terminal as the server reports it."""

    name: str
    last_activity: datetime | None


@dataclass(frozen=True)
class Observation:
    """What the server said at ``at`` (the probe's clock, aware UTC).

    ``reachable`` False: the server did not answer, ``error`` says why (safe to show), and the
    other fields are empty.  Times are the server's (its clock and the probe's are assumed to
    agree, as NTP keeps them).
    """

    at: datetime
    reachable: bool
    error: str = ""
    started: datetime | None = None
    last_activity: datetime | None = None
    kernels: tuple[KernelActivity, ...] = ()
    terminals: tuple[TerminalActivity, ...] = ()

    def active_now(self, connection_limit: timedelta) -> str | None:
        """Why the server is in use at ``at`` (a busy kernel, one starting for at most
        :data:`STARTING_LIMIT`, or a browser connected to a kernel active within
        ``connection_limit``), or None."""
        for k in self.kernels:
            if k.execution_state == "busy" or (
                    k.execution_state in STARTING_STATES and k.last_activity is not None
                    and self.at - k.last_activity <= STARTING_LIMIT):
                return f"kernel {k.name} ({k.id[:8]}) is {k.execution_state}"
        connected = [k for k in self.kernels if k.connections > 0 and k.last_activity is not None
                     and self.at - k.last_activity <= connection_limit]
        if connected:
            count = sum(k.connections for k in connected)
            return f"{count} browser connection(s) to kernel {connected[0].name} ({connected[0].id[:8]})"
        return None

    def last_active(self) -> tuple[datetime | None, str]:
        """The newest activity the server reports, and what it was (for a reason)."""
        found: list[tuple[datetime, str]] = []
        found += [(k.last_activity, f"kernel {k.name} ({k.id[:8]})") for k in self.kernels
                  if k.last_activity is not None]
        found += [(t.last_activity, f"terminal {t.name}") for t in self.terminals
                  if t.last_activity is not None]
        if self.last_activity is not None:
            what = "the Jupyter server started" if self.last_activity == self.started \
                else "a signed-in request to the Jupyter server (an open JupyterLab tab)"
            found.append((self.last_activity, what))
        if not found:
            return None, ""
        newest = max(found, key=lambda pair: pair[0])
        # clocks apart by a little: activity "in the future" happened now
        return min(newest[0], self.at), newest[1]


class ActivityProbe:
    """Reads a Jupyter server's activity over its REST API.

    Parameters
    ----------
    url : str
        The server's base URL (``http://127.0.0.1:8888/`` or with a base path), http(s) only;
        no credentials in it.
    token : str, optional
        The server's token, sent in the ``Authorization`` header only.
    timeout : float
        Seconds each request may take (connect and read; default 5).
    clock : callable, optional
        Returns the current time (aware); default the system clock.

    Raises InvalidInput for a URL that is not http(s).
    """

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 5.0,
                 clock: Callable[[], datetime] | None = None):
        import urllib3

        parts = urlsplit(url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput("a Jupyter server is reached by an http:// or https:// URL")
        netloc = parts.netloc.rsplit("@", 1)[-1]
        self.url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/") + "/", "", ""))
        self.clock = clock or (lambda: datetime.now(UTC))
        self._headers = {"Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"token {token}"
        # one retry: a kept-alive connection the server closed meanwhile; the GETs are idempotent
        retries = urllib3.Retry(total=1, redirect=0, status=0, raise_on_status=False)
        self._pool = urllib3.PoolManager(
            num_pools=1, maxsize=1, retries=retries,
            timeout=urllib3.Timeout(connect=timeout, read=timeout))
        self._errors = urllib3.exceptions.HTTPError

    def observe(self, now: datetime | None = None) -> Observation:
        """One observation at ``now`` (default: the clock): three GETs, never raising."""
        at = utc(now) if now is not None else utc(self.clock())
        try:
            status = self._get("api/status")
            kernels = self._get("api/kernels?no_track_activity=1")
            terminals = self._get("api/terminals?no_track_activity=1", missing=[])
            return _observation(at, status, kernels, terminals)
        except _Unreachable as exc:
            return Observation(at, False, error=str(exc))

    def close(self) -> None:
        """Close the kept-alive connection."""
        self._pool.clear()

    def _get(self, path: str, missing=None):
        try:
            response = self._pool.request("GET", self.url + path, headers=self._headers)
        except self._errors as exc:
            raise _Unreachable(_why(exc)) from None
        if response.status == 404 and missing is not None:
            return missing  # terminals disabled on this server
        if response.status in (401, 403):
            raise _Unreachable(f"the Jupyter server refused the token (HTTP {response.status})")
        if response.status != 200:
            raise _Unreachable(f"the Jupyter server answered HTTP {response.status} to "
                               f"/{path.split('?')[0]}")
        try:
            return json.loads(response.data)
        except ValueError:
            raise _Unreachable(f"/{path.split('?')[0]} did not answer JSON: not a Jupyter "
                               "server") from None


class _Unreachable(Exception):
    """The server did not give a usable answer (the message says why, without the token)."""


def _why(exc: Exception) -> str:
    """A short, safe reason for a failed request: refused, timed out, DNS, TLS."""
    text = str(getattr(exc, "reason", None) or exc).lower()
    for needle, reason in (("timed out", "timed out"), ("refused", "connection refused"),
                           ("name or service", "the host name does not resolve"),
                           ("certificate", "TLS certificate refused"),
                           ("reset", "connection reset")):
        if needle in text:
            return f"the Jupyter server did not answer: {reason}"
    return f"the Jupyter server did not answer ({type(exc).__name__})"


def _observation(at: datetime, status, kernels, terminals) -> Observation:
    """The observation from the three answers; raises _Unreachable for answers of another shape
    (a server that is not a Jupyter server is not one that is idle)."""
    if not isinstance(status, dict) or _time(status.get("last_activity")) is None \
            or not isinstance(kernels, list) or not isinstance(terminals, list) \
            or not all(isinstance(x, dict) for x in kernels + terminals):
        raise _Unreachable("not a Jupyter server: no last_activity in /api/status, or lists of "
                           "another shape")
    try:
        return Observation(
            at, True, started=_time(status.get("started")),
            last_activity=_time(status["last_activity"]), kernels=tuple(_kernel(k) for k in kernels),
            terminals=tuple(TerminalActivity(str(t.get("name", "")), _time(t.get("last_activity")))
                            for t in terminals))
    except (TypeError, ValueError):  # e.g. connections that are no number
        raise _Unreachable("not a Jupyter server: a kernel's field of another type") from None


def _kernel(model: dict) -> KernelActivity:
    return KernelActivity(str(model.get("id", "")), str(model.get("name", "")),
                          str(model.get("execution_state", "")),
                          _time(model.get("last_activity")), int(model.get("connections") or 0))


def _time(text) -> datetime | None:
    """A Jupyter ISO time (``2025-03-28T10:00:00.123456Z``) as an aware datetime, or None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
