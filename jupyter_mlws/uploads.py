"""Runs submitted with their project folder sent over HTTP: what a workspace server does for
``mlws run submit`` and ``mlws run start --compute`` typed on another machine (the CLI against
``-w https://...``).

The project folder arrives as a tar (what :mod:`jupyter_mlws.snapshot` keeps of it, the
notebook included).  It is unpacked into a work folder of the workspace (only regular files,
inside that folder, at most the snapshot limit) and submitted from there exactly as a folder on
the server would be: the run's snapshot is taken from it, and every check of a submission
applies.  The folder is removed once nothing executes in it: at once for a run another target
executes from its snapshot (and for a sweep, whose children each get their own copy); at the
end of the run for a notebook the server's ``local`` target executes in it (a work folder is
the executor's scratch).  A submission that fails leaves nothing behind.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .errors import InvalidInput
from .executions import extract_bundle
from .fsutil import validate_name


def unpack(data: bytes, dest: Path, max_bytes: int) -> list[str]:
    """Unpack the tar ``data`` into ``dest``; the names of its files.  InvalidInput for what is
    not a tar, or files adding up to more than ``max_bytes``."""
    try:
        return extract_bundle(io.BytesIO(data), dest, max_bytes)
    except (tarfile.TarError, EOFError):
        raise InvalidInput("the project sent is not a tar archive of the project folder: send it "
                           "as 'mlws run submit' does") from None


def submit_notebook(data: bytes, notebook: str, parameters: Mapping[str, Any] | None, *,
                    work_dir: Callable[[str], Path], submit: Callable[..., Any],
                    is_local: Callable[[str], bool], max_bytes: int,
                    grid: Mapping | None = None, **options) -> Any:
    """Submit ``notebook`` (its path inside the project folder sent as the tar ``data``) as
    ``submit(path, parameters, project_dir=, grid=, **options)`` does
    (:meth:`Workspace.submit_notebook <jupyter_mlws.workspace.Workspace.submit_notebook>`);
    return its answer.  ``work_dir(name)`` makes the folder it is unpacked into,
    ``is_local(target)`` tells whether a run executes in it.  InvalidInput for a notebook
    that is not in the folder sent, and as :func:`unpack`; then nothing is recorded."""
    rel = validate_name(notebook)
    folder = work_dir(f"upload-{uuid.uuid4().hex[:12]}")
    try:
        if rel not in unpack(data, folder, max_bytes):
            raise InvalidInput(f"the notebook {notebook!r} is not among the files of the project "
                               "folder sent (is it ignored by .gitignore or .mlwsignore?)")
        run = submit(folder / rel, parameters, project_dir=folder, grid=grid, **options)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if grid or not is_local(options.get("compute") or "local"):
        shutil.rmtree(folder, ignore_errors=True)  # executed from its snapshot
    return run


def submit_command(data: bytes | None, argv: Sequence[str], *, work_dir: Callable[[str], Path],
                   submit: Callable[..., str], max_bytes: int, **options) -> str:
    """Record command ``argv`` as a run handed to a compute target, its project folder sent as
    the tar ``data`` (None: no snapshot), as ``submit(argv, cwd=, snapshot=, **options)`` does
    (:meth:`Workspace.submit_command <jupyter_mlws.workspace.Workspace.submit_command>`); the
    run's id.  The target executes it from its snapshot: the folder is removed at once."""
    folder = work_dir(f"upload-{uuid.uuid4().hex[:12]}")
    try:
        if data is not None:
            unpack(data, folder, max_bytes)
        return submit(list(argv), cwd=folder, snapshot=data is not None, **options)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
