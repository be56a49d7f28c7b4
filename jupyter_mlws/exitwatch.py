"""How this program is ending, for the runs it leaves open (started without ``with``).

At interpreter exit (``atexit``) Python no longer says why it is exiting, so two hooks,
installed when the first run starts, watch for it:

- ``sys.excepthook`` sees an exception that reached the top of the main thread;
- ``sys.exit`` (and the ``exit()``/``quit()`` builtins) raise, in the main thread, a
  ``SystemExit`` of their own whose finaliser notes the status when the interpreter drops it
  with no Python code running, which happens only when it reached the top of the program.
  A ``SystemExit`` caught and handled is dropped while Python code runs, and is not noted.

Not seen: a ``raise SystemExit(n)`` statement written out (use ``sys.exit(n)`` or a ``with``
block), a ``SystemExit`` kept alive by the program (stored in a variable), and ``os._exit``
or a signal's default action, which skip ``atexit`` altogether (the run's heartbeat then
marks it killed).  Both hooks chain to what they replace.
"""

from __future__ import annotations

import builtins
import sys
import threading

#: the status of the sys.exit() that ended the program, as a 1-tuple (None: not seen)
_exit_status: tuple | None = None
#: the exception that reached sys.excepthook, if any
_uncaught: BaseException | None = None
_installed = False


class _ProgramExit(SystemExit):
    """The ``SystemExit`` the watched ``sys.exit`` raises; shown as a plain ``SystemExit``."""

    def __del__(self) -> None:
        global _exit_status
        try:
            sys._getframe(1)
        except ValueError:  # dropped by the interpreter itself: the program ends with it
            _exit_status = (self.code,)


_ProgramExit.__name__ = _ProgramExit.__qualname__ = "SystemExit"
_ProgramExit.__module__ = "builtins"


def _watched(exit_fn):
    """``exit_fn`` (sys.exit or a builtin Quitter), raising a watched SystemExit."""
    def exit(*args):
        try:
            return exit_fn(*args)
        except SystemExit as exc:
            if type(exc) is not SystemExit or threading.current_thread() is not threading.main_thread():
                raise  # a thread's sys.exit stays the plain one Python ignores silently
            code = exc.code
        raise _ProgramExit(code)

    exit.__doc__, exit.__wrapped__ = exit_fn.__doc__, exit_fn
    exit.__name__ = getattr(exit_fn, "__name__", "exit")
    return exit


class _Quitter:
    """``exit``/``quit`` as the site module makes them, watched."""

    def __init__(self, quitter):
        self._quitter = quitter
        self._call = _watched(quitter)

    def __repr__(self) -> str:
        return repr(self._quitter)

    def __call__(self, code=None):
        return self._call(code)


def _excepthook(exc_type, exc, tb, _previous=sys.excepthook) -> None:
    global _uncaught
    _uncaught = exc
    _previous(exc_type, exc, tb)


def install() -> None:
    """Watch how the program ends (once per process; both hooks chain to the previous ones)."""
    global _installed
    if _installed:
        return
    _installed = True
    sys.exit = _watched(sys.exit)
    for name in ("exit", "quit"):
        quitter = getattr(builtins, name, None)
        if quitter is not None and type(quitter).__name__ == "Quitter":
            setattr(builtins, name, _Quitter(quitter))
    _excepthook.__defaults__ = (sys.excepthook,)
    sys.excepthook = _excepthook


def ending() -> BaseException | None:
    """Why the program is ending, at exit: the uncaught exception, or a ``SystemExit`` with the
    status sys.exit() gave; None when it ran to its end (or the cause was not seen).

    An uncaught exception in an interactive session (the REPL) does not end it, and is ignored.
    """
    if _uncaught is not None and not (hasattr(sys, "ps1") or sys.flags.interactive):
        return _uncaught
    if _exit_status is not None:
        return SystemExit(*_exit_status)
    return None
