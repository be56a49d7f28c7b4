"""Runs submitted to a workspace server from this machine: a notebook (``mlws run submit``) or a
command on a compute target (``mlws run start --compute``), sent with their project folder.

What is sent is what a run's snapshot keeps of the folder (:mod:`jupyter_mlws.snapshot`: its
ignore files and size limit, the server's), as a tar, beside the submission as JSON; the
server unpacks it and submits it from there (:mod:`jupyter_mlws.uploads`), so every check of a
submission is the server's.  A notebook is checked here first (it exists, it is a notebook,
it is inside the project folder) so that nothing is sent for a typo.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..errors import InvalidInput
from ..fsutil import shown_path
from .client import Client

#: the options of Workspace.submit_notebook a submission sends as they are
NOTEBOOK_OPTIONS = ("experiment", "kernel", "timeout", "retries", "name", "tags", "secrets",
                    "compute", "output")


def project_tar(files, extra: Sequence[tuple[str, Path]] = ()) -> bytes:
    """A tar of snapshot ``files`` (:class:`~jupyter_mlws.snapshot.SnapshotFile`) and ``extra``
    ``(name, path)`` pairs: regular files only, their modes and times left out."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, path in [*((f.path, Path(f.abspath)) for f in files), *extra]:
            with open(path, "rb") as src:
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = os.fstat(src.fileno()).st_size, 0o644, 0
                tar.addfile(info, src)
    return out.getvalue()


def _post(client: Client, route: str, submission: dict, project: bytes | None) -> dict:
    """POST a submission and its project as multipart/form-data; the run's JSON."""
    from urllib3 import encode_multipart_formdata

    try:
        text = json.dumps(submission, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"the submission cannot be sent as JSON: {exc} (give parameters as "
                           "numbers, strings, lists or mappings)") from None
    fields: dict[str, Any] = {"submission": ("submission.json", text.encode(), "application/json")}
    if project is not None:
        fields["project"] = ("project.tar", project, "application/x-tar")
    body, kind = encode_multipart_formdata(fields)
    return client.send("POST", ("submissions", route), body, content_type=kind, size=len(body))


def submit_notebook(client: Client, collect: Callable[[Path], list], notebook: str | os.PathLike,
                    parameters: Mapping | None = None, *, grid: Mapping | None = None,
                    max_parallel: int | None = None, project_dir: str | os.PathLike | None = None,
                    **options) -> dict:
    """Send ``notebook`` with its project folder (``project_dir``, default its folder; its
    files as ``collect(folder)`` keeps them) to be submitted with ``parameters`` (a ``grid``:
    a sweep) and ``options`` (:data:`NOTEBOOK_OPTIONS`); the run's JSON (its ``warnings``
    too).  InvalidInput or NotFound, before anything is sent, for a notebook that is not a
    notebook file inside the project folder."""
    from ..notebooks.document import check_local, load_notebook

    check_local(notebook)
    path = Path(notebook).expanduser().absolute()
    project = Path(project_dir).expanduser().absolute() if project_dir else path.parent
    if not path.is_relative_to(project):
        raise InvalidInput(f"the notebook {path.name!r} is not inside the project folder "
                           f"{shown_path(project)!r}: pass the folder that holds it")
    if path.suffix != ".py":
        load_notebook(path)
    rel = path.relative_to(project).as_posix()
    files = collect(project)
    extra = [] if any(f.path == rel for f in files) else [(rel, path)]
    submission = {"notebook": rel, "parameters": dict(parameters or {}),
                  **{k: v for k in NOTEBOOK_OPTIONS if (v := options.get(k)) is not None},
                  **({"grid": {k: list(v) for k, v in grid.items()}} if grid else {}),
                  **({"max_parallel": max_parallel} if grid and max_parallel else {})}
    return _post(client, "notebook", submission, project_tar(files, extra))


def submit_command(client: Client, collect: Callable[[Path], list], argv: Sequence[str], *,
                   compute: str, experiment: str = "default", name: str | None = None,
                   tags: Mapping | None = None, cwd: str | os.PathLike | None = None,
                   snapshot: bool = True, secrets: Sequence[str] | None = None,
                   on_warning: Callable[[str], None] | None = None) -> str:
    """Send command ``argv`` with the folder ``cwd`` (default: the current one; none with
    ``snapshot`` false) to execute on compute target ``compute``; the run's id at once."""
    from ..launcher import empty_snapshot_warning

    if not argv:
        raise InvalidInput(f"no command given: mlws run start --compute {compute} -- python train.py")
    folder = Path(cwd or os.getcwd()).absolute()
    files = collect(folder) if snapshot else []
    if snapshot and not files and on_warning is not None:
        on_warning(empty_snapshot_warning(folder))
    submission = {"argv": list(argv), "compute": compute, "experiment": experiment,
                  **({"name": name} if name else {}), **({"tags": dict(tags)} if tags else {}),
                  **({"secrets": list(secrets)} if secrets else {})}
    return _post(client, "command", submission, project_tar(files) if snapshot else None)["id"]
