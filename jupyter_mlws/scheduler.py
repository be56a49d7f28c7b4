"""The scheduler host's contract (WAVE7B): what a watcher provider returns.

sched13 builds the host (in the Jupyter server extension and as ``mlws scheduler``); this is the
minimal shape it keeps: each provider in :data:`PROVIDERS` (``"module:function"``, loaded
lazily) is ``function(ws) -> Watchers``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

#: the watcher providers, ``"module:function"``; a missing module is skipped
PROVIDERS = ["jupyter_mlws.schedules.watch:watchers", "jupyter_mlws.vms.watch:watchers"]


@dataclass
class Watchers:
    """What one provider watches: ``ticks``, ``(kind, source, handler)`` for
    ``ws.ticker().watch``; ``periodic``, ``(interval seconds, fn)`` run on a thread."""

    ticks: list[tuple[str, Callable, object]] = field(default_factory=list)
    periodic: list[tuple[float, Callable[[], None]]] = field(default_factory=list)
