"""Facts about this interpreter's installed distributions, read once until they change.

Reading every distribution's metadata (``importlib.metadata``: which modules each provides,
which Python each requires) takes about a second in an environment of a few hundred; a drift
check needs it on every submission.  :func:`cached` keeps a function's answer until a folder of
``sys.path`` changes (a distribution installed or removed adds or removes entries there, which
changes the folder's modification time).
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Callable, TypeVar

T = TypeVar("T")


def installed_key() -> tuple:
    """What changes when a distribution is installed or removed here: ``sys.path``'s folders and
    their modification times (ns; None for one that does not exist)."""
    out = []
    for entry in sys.path:
        try:
            out.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            out.append((entry, None))
    return tuple(out)


def cached(fn: Callable[[], T]) -> Callable[[], T]:
    """``fn`` (no arguments) answered once per :func:`installed_key`; the caller must not change
    the answer it gets.  ``fn.cache_clear()`` forgets it."""
    held: dict = {}

    @functools.wraps(fn)
    def wrapper() -> T:
        key = installed_key()
        if held.get("key") != key:
            held["value"], held["key"] = fn(), key
        return held["value"]

    wrapper.cache_clear = held.clear  # type: ignore[attr-defined]
    return wrapper
