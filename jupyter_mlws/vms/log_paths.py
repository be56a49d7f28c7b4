"""This server's paths, out of the VMs' logs: each is shown as the VM sees it.

A VM's log (``mlws vm logs``, the sidebar) holds what its scripts and its JupyterLab print.  On a
node of the ``local`` provider that is full of this server's paths: the node's home is a folder
of the workspace (``.mlws/vms/local/NODE_ID/home``), and ``$HOME``, ``pwd`` or JupyterLab's
"Serving notebooks from local directory" print it.  A log shows no server path, so what is
written to it is rewritten as it is recorded:

- a local node's home, and any path inside it, as ``~`` (``~/work/data.csv``): the path on the
  VM, as its user types it;
- any other path inside the workspace's folder as ``<workspace>``;
- on a local node, the Python installation this server runs (a virtual environment's folder,
  which the node's JupyterLab prints: "extension loaded from .../site-packages/jupyterlab") as
  ``<python>``; a system one (``/usr``) is left as it is, and a cloud VM's paths are its own.

Each is matched as given and as the file system resolves it (``/tmp`` may be a link).  Output
comes in chunks that may cut a path in two: :meth:`ServerPaths.split` says which end of a chunk
to hold until the rest comes (an unfinished line that may hold one of them).
"""

from __future__ import annotations

import copy
import os
import re
import sys
from pathlib import Path

#: the longest unfinished line held back for a path that may continue in the next chunk, bytes
HOLD_MAX = 4096
#: Python prefixes that are the system's, not this server's own: left as they are
SYSTEM_PREFIXES = (b"", b"/usr", b"/usr/local")
#: the provider whose nodes are folders of this machine
LOCAL = "local"


def _forms(path: Path) -> list[bytes]:
    """``path`` as given and as resolved, longest first, without a trailing slash."""
    forms = {os.fsencode(str(path)).rstrip(b"/"), os.fsencode(os.path.realpath(path)).rstrip(b"/")}
    return sorted((f for f in forms if f), key=len, reverse=True)


class ServerPaths:
    """The rewriting of one workspace's VM logs (see the module's text).

    Parameters
    ----------
    workspace : path
        The workspace's folder: any path in it is shown as ``<workspace>``.
    nodes : path
        The folder the local provider's nodes live in (``NODE_ID/home`` in it is a node's home,
        shown as ``~``).
    python : path, optional
        The prefix of the Python installation the local provider's nodes run (default: this
        process's ``sys.prefix``), shown as ``<python>`` in a local node's log unless it is a
        system one (``/``, ``/usr``, ``/usr/local``).
    """

    def __init__(self, workspace: Path, nodes: Path, python: Path | None = None):
        homes = [re.escape(f) + rb"/[^/\s]+/home" for f in _forms(Path(nodes))]
        self._home = re.compile(rb"(?:" + rb"|".join(homes) + rb")(?!\w)")
        self._workspace = re.compile(rb"|".join(re.escape(f) for f in _forms(Path(workspace))))
        self._starts = _forms(Path(workspace)) + _forms(Path(nodes))
        prefixes = [f for f in _forms(Path(sys.prefix if python is None else python))
                    if f not in SYSTEM_PREFIXES]
        self._python = re.compile(rb"(?:" + rb"|".join(re.escape(f) for f in prefixes)
                                  + rb")(?![\w.-])") if prefixes else None
        self._plain = self if self._python is None else copy.copy(self)
        if self._plain is not self:  # a cloud VM's: the same without the Python prefix
            self._plain._python, self._plain._plain = None, self._plain
            self._starts = self._starts + prefixes

    def of(self, provider: str) -> "ServerPaths":
        """The rewriting of the log of a VM of ``provider``: a ``local`` node's also hides this
        server's Python installation (see the module's text)."""
        return self if provider == LOCAL else self._plain

    def __call__(self, data: bytes) -> bytes:
        """``data`` with every server path rewritten."""
        if b"/" not in data:
            return data
        data = self._workspace.sub(b"<workspace>", self._home.sub(b"~", data))
        return data if self._python is None else self._python.sub(b"<python>", data)

    def split(self, data: bytes) -> tuple[bytes, bytes]:
        """``(what may be written now, what to hold)``: an unfinished last line is held (up to
        :data:`HOLD_MAX` bytes) when it holds, or ends with the start of, a server path."""
        cut = data.rfind(b"\n") + 1
        tail = data[cut:]
        if tail and len(tail) < HOLD_MAX and self._may_continue(tail):
            return data[:cut], tail
        return data, b""

    def _may_continue(self, tail: bytes) -> bool:
        for at in (i for i, byte in enumerate(tail) if byte == 0x2F):  # each "/"
            rest = tail[at:]
            if any(start.startswith(rest) or rest.startswith(start) for start in self._starts):
                return True
        return False
