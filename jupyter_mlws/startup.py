"""Start-up trims for the processes jupyter_mlws owns: the ``mlws`` CLI and the notebook executor.

Never called in a process that runs the user's code (a kernel, a script using the SDK).
"""

from __future__ import annotations

import os
import sys


def skip_iri_format_checks() -> None:
    """Let jsonschema go without its "iri" string-format checks in this process.

    Reading a notebook imports nbformat's validator, hence jsonschema, which (with the
    ``format-nongpl`` extra that Jupyter Server installs) imports ``rfc3987_syntax``: it
    builds a Lark grammar at import, about 1.5 s of CPU here, for checks of the "iri" and
    "iri-reference" formats that no notebook schema uses.  Marking the module absent
    makes jsonschema skip those two checks and nothing else.
    """
    if "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]


#: what Papermill's I/O module tries to import at its own import, for notebooks at remote paths:
#: HDFS through ``pyarrow.fs`` (which loads pyarrow and numpy), GCS, GitHub, S3 (boto3) and Azure
PAPERMILL_REMOTE_IO = ("pyarrow.fs", "gcsfs", "github", "papermill.s3", "papermill.adl", "papermill.abs")


def skip_papermill_remote_io() -> None:
    """Let Papermill load without its remote-path backends in this process.

    A notebook run executes a local file and keeps its output through the workspace, never
    at a remote path (submit refuses URLs), yet ``import papermill`` tries every backend it
    knows: with pyarrow installed that loads pyarrow and numpy, about half of Papermill's
    import, before a run's first cell can execute.  Marking those modules absent makes
    Papermill's I/O fall back to its "install X" stubs for them and changes nothing else.
    For a process that executes notebook runs (``mlws run submit --wait``, the executor).
    """
    for name in PAPERMILL_REMOTE_IO:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]


#: what jsonschema imports at its own import for string formats that no notebook schema uses
#: ("duration": isoduration, which loads arrow; "uri": rfc3986_validator; "color"; "uri-template")
UNUSED_FORMAT_CHECKS = ("isoduration", "rfc3986_validator", "webcolors", "uri_template")


def skip_unused_format_checks() -> None:
    """Let jsonschema go without its "duration", "uri", "color" and "uri-template" format
    checks in this process, as :func:`skip_iri_format_checks` does for "iri": nbformat validates
    notebooks without format checks, and importing them is a third of nbformat's import.  For a
    process that executes notebook runs; nothing here uses jsonschema's format checks."""
    for name in UNUSED_FORMAT_CHECKS:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]


def allow_root_args() -> list[str]:
    """``["--allow-root"]`` when this process runs as root, else ``[]``: for the Jupyter servers
    the CLI starts (``mlws server``, quickstart's ``jupyter lab``).

    Jupyter refuses to start as root without it; whoever ran ``mlws`` as root (a container,
    a VM's first login) asked for a server, so the CLI passes the flag rather than fail.
    """
    return ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []


def server_token(environ=os.environ) -> None:
    """Make the server's token, given in ``JUPYTER_TOKEN`` or a file named by
    ``JUPYTER_TOKEN_FILE``, what its teammates type: without the whitespace around it (the line
    break ``echo`` and editors end a file with, which Jupyter would keep in the token and then
    refuse every client).  The file's token is put in ``JUPYTER_TOKEN`` of this process (which
    Jupyter reads first; processes started for runs never inherit it).

    Raises InvalidInput (never showing the token) for a file that cannot be read, holds no
    token, or a token with a space or a control character inside it.
    """
    from .errors import InvalidInput
    from .remote.client import checked_token

    given, path = environ.get("JUPYTER_TOKEN") or None, environ.get("JUPYTER_TOKEN_FILE")
    if given is None and path:
        try:
            with open(path, encoding="utf-8") as f:
                given = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"JUPYTER_TOKEN_FILE names a file that cannot be read "
                               f"({type(exc).__name__}): give a readable text file holding the "
                               "server's token") from None
        if not given.strip():
            raise InvalidInput("the file JUPYTER_TOKEN_FILE names is empty: write the server's "
                               "token in it")
    if given is None:
        return
    try:
        token = checked_token(given)
    except InvalidInput:
        raise InvalidInput("the server's token (JUPYTER_TOKEN or the file JUPYTER_TOKEN_FILE "
                           "names) holds a space, a line break or a control character inside "
                           "it: write the token alone") from None
    if not token:
        raise InvalidInput("JUPYTER_TOKEN holds only whitespace: give the server's token, or "
                           "leave JUPYTER_TOKEN out")
    environ["JUPYTER_TOKEN"] = token
