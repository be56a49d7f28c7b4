"""Temp names of blob writers: who wrote a temp file, and whether that writer is gone.

Temp files (and temp keys) are named ``<host>_<pid>_...`` after their writer; the host is its
name and its PID namespace, so containers sharing a host name never judge each other's pids.
A temp of this host's dead process is stale at once; another host's (a shared store) once not
written for :data:`STALE_TEMP_S`.
"""

from __future__ import annotations

import os
import re
import socket

#: a temp file of a writer not known to be alive is stale once not written for this long
STALE_TEMP_S = 3600
TEMP_NAME = re.compile(r"^(?P<host>.+)_(?P<pid>\d+)_")


def this_host() -> str:
    """This host as temp file names give it: its name and its PID namespace."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    return f"{socket.gethostname()}.{namespace}"


def temp_prefix() -> str:
    """The start of this process's temp names: ``<host>_<pid>_``."""
    return f"{this_host()}_{os.getpid()}_"


def alive(pid: int) -> bool:
    """Whether process ``pid`` of this host runs (a pid reused by another process counts)."""
    # not compute.local.alive: store/ imports nothing of the package but errors and config
    if pid <= 0:
        return True  # not a name this store writes: never judged by it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it runs, as another user
        return True
    return True


def stale(name: str, age_s: float) -> bool:
    """Whether the temp named ``name``, last written ``age_s`` seconds ago, is a dead writer's."""
    named = TEMP_NAME.match(name)
    if named and named["host"] == this_host():
        return not alive(int(named["pid"]))
    return age_s > STALE_TEMP_S
