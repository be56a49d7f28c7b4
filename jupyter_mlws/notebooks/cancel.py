"""A cancel of an executing notebook run or sweep: SIGTERM (``mlws run cancel``) or the run ended
elsewhere, raised as :class:`Canceled` in the main thread.

The executor (:mod:`.executor`) and the sweep (:mod:`.sweep`) both stop on it; it lives here so
that neither imports the other for it.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Callable


class Canceled(BaseException):
    """SIGTERM: stop the notebook (the kernel is shut down on the way out)."""


def _raise_cancel(signum, frame) -> None:
    raise Canceled()


def cancel_dropped() -> bool:
    """Whether a SIGTERM's cancel was dropped (see :func:`install_cancel`); asking clears it."""
    dropped = _dropped_cancel.is_set()
    _dropped_cancel.clear()
    return dropped


#: set when a cancel was raised where Python drops exceptions: it is raised again from there
_dropped_cancel = threading.Event()


def install_cancel() -> Callable[[], None]:
    """Make SIGTERM raise :class:`Canceled` in the main thread; return what undoes it.

    A signal that lands while Python runs a callback that cannot raise (a weakref callback
    during garbage collection, a ``__del__``) would see its exception printed and dropped:
    :func:`cancel_dropped` then says so, and the cancel watch (or the sweep's loop) raises it
    again.
    """
    previous = signal.signal(signal.SIGTERM, _raise_cancel)
    hook = sys.unraisablehook
    _dropped_cancel.clear()

    def redeliver(unraisable) -> None:
        if isinstance(unraisable.exc_value, Canceled):
            _dropped_cancel.set()
        else:
            hook(unraisable)

    sys.unraisablehook = redeliver

    def undo() -> None:
        signal.signal(signal.SIGTERM, previous)
        sys.unraisablehook = hook

    return undo


def watch_for_cancel(is_canceled: Callable[[], bool]) -> threading.Event:
    """Raise :class:`Canceled` in the main thread once ``is_canceled()`` (the run was ended
    elsewhere: ``mlws run cancel``), or again when a SIGTERM's was dropped; polled every 0.5 s.
    Return the event that stops the watch."""
    import _thread

    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.5):
            if cancel_dropped() or is_canceled():
                _thread.interrupt_main(signal.SIGTERM)
                return

    threading.Thread(target=watch, name="mlws-cancel-watch", daemon=True).start()
    return stop
