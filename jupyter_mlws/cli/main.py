"""The ``mlws`` command line: a thin face over :class:`~jupyter_mlws.workspace.Workspace`.

Each command parses its options, calls the workspace and prints the answer;
``--json`` prints it for scripts.  Workspace errors become one line on stderr
and an exit code per kind (see ``EXIT_CODES``).
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import os
import sys
import threading
from functools import wraps
from typing import NoReturn

import click

from .. import errors as E

#: the first kind that matches decides (EndpointError before Unavailable, its base)
EXIT_CODES = {E.InvalidInput: 2, E.NotFound: 3, E.AlreadyExists: 4, E.Conflict: 5,
              E.PermissionDenied: 6, E.EndpointError: 8, E.InsufficientStorage: 9, E.Unavailable: 7,
              E.MlwsError: 1}


def _fail(exc: E.MlwsError) -> None:
    if isinstance(exc, E.LocalOnly):  # the command, as typed, rather than the call it made
        exc = E.LocalOnly(f"`{_command_path()}`", exc.url)
    click.echo(f"error: {exc}", err=True)
    code = next(c for kind, c in EXIT_CODES.items() if isinstance(exc, kind))
    sys.exit(code)


def handles_errors(fn):
    """Turn workspace errors into a one-line message and an exit code."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except E.MlwsError as exc:
            _fail(exc)
    return wrapper


def _command_path() -> str:
    """The command running, as a user types it: ``mlws workspace move-artifacts``."""
    ctx = click.get_current_context(silent=True)
    return " ".join(["mlws", *(ctx.command_path.split()[1:] if ctx else [])])


def local_only(fn):
    """For a command that works on a local workspace only and never opens one through
    :func:`_ws` (``workspace create``, ``server``, ``quickstart``): given a workspace server's URL
    (``-w URL``, ``MLWS_WORKSPACE``), it says so in one line (exit 2) and does nothing.  Those
    that open the workspace hear it from the workspace over HTTP itself
    (:class:`~jupyter_mlws.errors.LocalOnly`)."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        from ..config import is_url, shown_url

        ctx = click.get_current_context()
        where = (ctx.find_root().obj or {}).get("workspace")
        if where is None:
            where = os.environ.get("MLWS_WORKSPACE")
        if is_url(where):
            _fail(E.LocalOnly(f"`{_command_path()}`", shown_url(str(where))))
        return fn(*args, **kwargs)
    return wrapper


def _ws(ctx: click.Context):
    from ..workspace import Workspace

    ws = Workspace.open(ctx.obj["workspace"])
    ctx.call_on_close(ws.close)
    return ws


def _time(ms: int | None) -> str:
    """A time in ms as this machine's local time with its zone (``2025-05-05 11:20:00 CEST``;
    an offset where the zone has no name), ``-`` for none."""
    if not ms:
        return "-"
    local = dt.datetime.fromtimestamp(ms / 1000).astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S ") + _zone(local)


def _zone(local: dt.datetime) -> str:
    """The zone of a local time by name (``CEST``), by offset where it has none (``+0300``)."""
    zone = local.strftime("%Z")
    return local.strftime("%z") if not zone or zone[0] in "+-" else zone


def _moment(value: int | str | None, now: dt.datetime | None = None) -> str:
    """A time (ms, or ISO 8601 with an offset) as this machine's local time with its zone, the
    year only when it is not this one: ``Jun 02 08:00:00 CEST``, ``Dec 31 2024 23:00:00 CET``;
    ``-`` for none (a table's times, whatever zone they were given in)."""
    if value is None or value == "":
        return "-"
    when = (dt.datetime.fromisoformat(value) if isinstance(value, str)
            else dt.datetime.fromtimestamp(value / 1000, dt.timezone.utc))
    local = when.astimezone()
    year = "" if local.year == (now or dt.datetime.now().astimezone()).year else " %Y"
    return local.strftime(f"%b %d{year} %H:%M:%S ") + _zone(local)


def _cut(text: str | None, width: int | None = None) -> str:
    """An error on one line: its first line and, for a traceback, its last (what was raised);
    with ``width``, at most that many characters, cut at a word with "…"; ``-`` for none."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return "-"
    line = lines[0] if len(lines) < 2 else f"{lines[0]} {lines[-1]}"
    if width is None or len(line) <= width:
        return line
    cut = line[:width - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[width // 2:] else cut) + "…"


def _duration(ms: int | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f}s"


def _json(data, compact: bool = False) -> None:
    from ..runs import jsonable

    click.echo(json.dumps(jsonable(data), indent=None if compact else 2, default=str, allow_nan=False))


def _table(headers: list[str], rows: list[list]) -> None:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def _fields(pairs) -> None:
    """``label: value`` lines, values aligned one space past the longest label."""
    pairs = list(pairs)
    width = max(len(label) for label, _ in pairs) + 2
    for label, value in pairs:
        click.echo(f"{label + ':':<{width}}{value}".rstrip())


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value + 0.0:.6g}"  # (+ 0.0: a negative zero reads 0, not -0)
    return "-" if value is None else str(value)


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise E.InvalidInput(f"{what} {item!r} is not KEY=VALUE")
        out[key] = value
    return out


class _TextArgs(click.Group):
    """The root command: every argument must be text UTF-8 can hold (bytes that are not
    arrive as lone surrogates), checked once, before any command runs.  Called as the
    process's entry point (``mlws``, ``python -m jupyter_mlws.cli``), it leaves through
    :func:`_leave`; tests invoke its ``main`` method, which does not."""

    def __call__(self, *args, **kwargs):
        try:
            return self.main(*args, **kwargs)
        except SystemExit as exc:
            _leave(exc)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        from ..limits import check_text

        args = [os.fspath(a) if isinstance(a, os.PathLike) else a for a in args]  # as Python callers pass
        for i, arg in enumerate(args):
            try:
                check_text(arg, f"argument {i + 1}")
            except E.InvalidInput as exc:
                raise click.UsageError(str(exc), ctx) from None
        return super().parse_args(ctx, args)


def _leave(exc: SystemExit) -> NoReturn:
    """End the process as ``exc`` asks, without the interpreter's teardown of every module
    (0.1 to 0.5 s once Jupyter's, Papermill's and SQLAlchemy's are loaded), when nothing is
    left to do: the command has returned and closed its workspace, the exit handlers run here
    (they are what closes or removes anything still open), both streams are flushed, and the
    status is the one Python would give (``sys.exit("text")`` prints it and exits 1; a stream
    that cannot be flushed, 120).  The ordinary exit instead while another non-daemon thread
    runs (it waits for it), or under a profiler, tracer or debugger (``python -m cProfile -o``
    writes its file after the program returns)."""
    main_thread = threading.main_thread()
    if any(t is not main_thread and not t.daemon for t in threading.enumerate()):
        raise exc
    if sys.getprofile() is not None or sys.gettrace() is not None:
        raise exc
    code = exc.code
    if code is None or isinstance(code, bool):
        status = int(bool(code))
    elif isinstance(code, int):
        status = code & 0xFF
    else:
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            status = status or 120
    os._exit(status)


@click.group(cls=_TextArgs)
@click.option("--workspace", "-w", envvar="MLWS_WORKSPACE", default=None,
              help="Workspace folder (default: $MLWS_WORKSPACE, else the current folder or a parent).")
@click.version_option(package_name="jupyter_mlws")
@click.pass_context
def main(ctx: click.Context, workspace: str | None) -> None:
    """jupyter_mlws: your machine-learning workspace, from the notebook you already use."""
    from ..startup import skip_iri_format_checks

    skip_iri_format_checks()
    ctx.ensure_object(dict)
    ctx.obj["workspace"] = workspace
