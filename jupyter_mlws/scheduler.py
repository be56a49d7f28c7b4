"""The scheduler host: one place for everything in a workspace that must happen on time.

It runs inside the Jupyter server extension (started with the server, stopped with it) and as a
standalone process, ``mlws scheduler`` (for schedules and VM stops that outlive the user's
server); any number of hosts may watch one workspace: each cron tick is acted on once, by the
host that claims it (:mod:`jupyter_mlws.ticks`).

What it runs comes from *watcher providers*, loaded lazily by ``"module:function"`` from
:data:`PROVIDERS`.  Each ``function(ws) -> Watchers`` gives

- ``ticks``: ``(owner kind, source, handler)`` triples, watched by one :class:`~jupyter_mlws.ticker.Ticker`
  over the workspace's tick claims (``ws.ticker()``);
- ``periodic``: ``(interval seconds, fn)`` pairs: ``fn()`` is called every ``interval`` seconds
  on the host's periodic thread (e.g. the idle check of notebook VMs);
- ``joins``: ``join(timeout)`` callables waiting for work the provider's handlers started on
  threads of their own (a scheduled run being submitted): called by :meth:`Scheduler.once` and
  :meth:`Scheduler.stop`.

A provider module that is missing (a feature not installed, or not written yet) is skipped with
one debug log line; a provider that fails otherwise is skipped with an error logged.  An
exception in one periodic ``fn`` (or one tick handler) is logged and never stops the host.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger(__name__)

#: the watcher providers, ``"module:function"``; each ``function(ws) -> Watchers``
PROVIDERS = ["jupyter_mlws.schedules.watch:watchers", "jupyter_mlws.vms.watch:watchers"]


@dataclass
class Watchers:
    """What one provider asks the host to run (see the module's text)."""

    ticks: list[tuple[str, Callable, Any]] = field(default_factory=list)
    periodic: list[tuple[float, Callable[[], None]]] = field(default_factory=list)
    joins: list[Callable[[float | None], None]] = field(default_factory=list)


def load(ws, providers: list[str] | None = None) -> list[Watchers]:
    """Every provider's Watchers for ``ws``, in order; missing or failing providers skipped
    (logged)."""
    found = []
    for spec in PROVIDERS if providers is None else providers:
        module_name, _, function = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):  # the provider itself is absent
                log.debug("scheduler: watcher provider %s is not installed; skipped", spec)
                continue
            log.exception("scheduler: watcher provider %s failed to import; skipped", spec)
            continue
        except ImportError:
            log.debug("scheduler: watcher provider %s cannot be imported; skipped", spec)
            continue
        try:
            got = getattr(module, function)(ws)
        except Exception:
            log.exception("scheduler: watcher provider %s failed; skipped", spec)
            continue
        if not isinstance(got, Watchers):
            log.error("scheduler: watcher provider %s returned %s, not Watchers; skipped", spec,
                      type(got).__name__)
            continue
        found.append(got)
    return found


class Scheduler:
    """The host over one open workspace.

    Parameters
    ----------
    ws : Workspace
        The workspace (the caller opens and closes it).
    providers : list of str, optional
        ``"module:function"`` providers (default :data:`PROVIDERS`).
    interval : float
        The ticker's longest time between passes, seconds (default 30).
    clock : callable, optional
        The ticker's clock (aware datetimes); tests pass a controllable one.

    :meth:`start` runs the ticker and the periodic functions on two daemon threads until
    :meth:`stop`; :meth:`once` runs one ticker pass and every periodic function once, here.
    """

    def __init__(self, ws, *, providers: list[str] | None = None, interval: float = 30.0,
                 clock=None):
        self.ws = ws
        self.ticker = ws.ticker(interval=interval, clock=clock)
        self.periodic: list[tuple[float, Callable[[], None]]] = []
        self.joins: list[Callable[[float | None], None]] = []
        for watchers in load(ws, providers):
            for kind, source, handler in watchers.ticks:
                try:
                    self.ticker.watch(kind, source, handler)
                except Exception:
                    log.exception("scheduler: the %s ticks cannot be watched; skipped", kind)
            self.periodic += [(float(every), fn) for every, fn in watchers.periodic]
            self.joins += watchers.joins
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @staticmethod
    def _call(fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:
            log.exception("scheduler: %s failed; it runs again at its next time",
                          getattr(fn, "__qualname__", repr(fn)))

    def once(self) -> int:
        """One ticker pass, then every periodic function once, then wait for the work they
        started on threads of their own; returns the ticks claimed."""
        try:
            claimed = len(self.ticker.tick())
        except Exception:
            log.exception("scheduler: the ticker pass failed")
            claimed = 0
        for _every, fn in self.periodic:
            self._call(fn)
        self._join(None)
        return claimed

    def _join(self, timeout: float | None) -> None:
        for join in self.joins:
            self._call(lambda: join(timeout))

    def _run_periodic(self) -> None:
        due = [time.monotonic()] * len(self.periodic)
        while not self._stop.is_set():
            now = time.monotonic()
            for i, (every, fn) in enumerate(self.periodic):
                if now >= due[i]:
                    self._call(fn)
                    due[i] = max(now, due[i]) + every
            wait = min(due) - time.monotonic() if due else 3600.0
            self._stop.wait(max(0.05, wait))

    def start(self) -> None:
        """Run the ticker and the periodic functions on daemon threads until :meth:`stop`."""
        if self._threads:
            return
        self._stop.clear()
        self._threads = [threading.Thread(target=self.ticker.run, args=(self._stop,),
                                          name="mlws-scheduler-ticks", daemon=True)]
        if self.periodic:
            self._threads.append(threading.Thread(target=self._run_periodic,
                                                  name="mlws-scheduler-periodic", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop both threads and wait for their current work (``timeout`` seconds each), and
        for the work their handlers started."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        self._join(timeout)

    def request_stop(self) -> None:
        """Ask the threads to stop, without waiting (safe in a signal handler)."""
        self._stop.set()

    def wait(self) -> None:
        """Block until :meth:`stop` (from another thread or a signal handler)."""
        while not self._stop.wait(1.0):
            pass
