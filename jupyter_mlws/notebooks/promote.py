"""Promoting a session: the successful cells of a run tracked in a notebook (``%load_ext
jupyter_mlws``), in execution order, become a notebook submitted as a run of its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InvalidInput, MlwsError
from .kernels import resolve as resolve_kernel
from .document import load_notebook

if TYPE_CHECKING:  # pragma: no cover
    from .service import NotebookService, Submission


def promote(service: "NotebookService", run_id: str, **options) -> "Submission":
    """Turn a session run's successful cells, in execution order, into a notebook run.

    The notebook is written beside the session's (else under ``promoted/``), valid, with
    its kernel (``kernelspec`` and ``language_info``).  When the session executed the
    ``parameters`` cell of its notebook (found by the cell's id, else by its source), the
    last execution keeps the tag, so the promoted notebook takes the same parameters.
    ``options`` are :meth:`NotebookService.submit`'s.  Raises InvalidInput for a run that is
    not a session run or has no successful cell, and for a kernel that cannot be resolved.
    """
    import nbformat

    from ..fsutil import atomic_write

    runs = service.runs
    record = runs.get(run_id)
    if record.source_type != "session":
        raise InvalidInput(f"run {record.id} is a {record.source_type} run: only session runs "
                           "(cells tracked by %load_ext jupyter_mlws) can be promoted")
    cells = [json.loads(v["data"]) for v in runs.values(record.id, "cells")]
    cells = [{**c, "source": _without_tracking_magic(c["source"])} for c in cells
             if c["status"] == "completed"]
    cells = [c for c in cells if c["source"].strip()]
    if not cells:
        raise InvalidInput(f"session run {record.id} has no successful cells to promote")
    source = _session_notebook(record)
    metadata = {"language_info": {"name": "python"}}  # the tracker runs in IPython
    metadata.update({k: source.metadata[k] for k in ("kernelspec", "language_info")
                     if source is not None and k in source.metadata})
    tagged = record.tags.get("kernel") if "kernelspec" not in metadata else None
    kernel = resolve_kernel(metadata, options.get("kernel") or (
        tagged if tagged != "unknown" else None), f"the notebook of session run {record.id}")
    params_at = _parameters_cell(cells, source)
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(c["source"], metadata={"tags": ["parameters"]}
                                         if i == params_at else {}) for i, c in enumerate(cells)],
        metadata={"language_info": dict(metadata["language_info"])})
    kernel.stamp(nb.metadata)
    nbformat.validate(nb)
    folder = Path(record.tags.get("cwd", ""))
    folder = folder if folder.is_absolute() and folder.is_dir() else service.root / "promoted"
    stem = Path(record.source_name).stem if record.source_name != "unknown" else "session"
    path = folder / f"{stem}-promoted-{record.id[:8]}.ipynb"
    atomic_write(path, nbformat.writes(nb).encode())
    sub = service.submit(path, experiment=options.pop("experiment", record.experiment),
                         tags={"promoted_from": record.id, **(options.pop("tags", None) or {})},
                         project_dir=options.pop("project_dir", folder), **options)
    runs.set_tags(record.id, {"promoted_to": sub.run_id})
    if source is None:
        sub.warnings.append(f"the notebook of session run {record.id} ({record.source_name}) "
                            "cannot be read: the promoted notebook has no 'parameters' cell")
    elif params_at is None and _tagged_parameters(source):
        sub.warnings.append(f"session run {record.id} did not run the 'parameters' cell of its "
                            "notebook successfully: the promoted notebook has none")
    return sub


def _without_tracking_magic(source: str) -> str:
    """A cell's source without the lines that (re)load this extension."""
    return "\n".join(line for line in source.splitlines()
                     if not line.strip().startswith(("%load_ext jupyter_mlws", "%reload_ext jupyter_mlws")))


def _session_notebook(record):
    """The notebook a session run ran in, if it can still be read (else None)."""
    name = record.source_name
    if not name or name == "unknown":
        return None
    path = Path(name)
    if not path.is_absolute():  # a path from the server's root: the kernel ran in its folder
        if not record.tags.get("cwd"):
            return None
        path = Path(record.tags["cwd"]) / path.name
    try:
        return load_notebook(path)
    except MlwsError:
        return None


def _parameters_cell(cells: list[dict], source) -> int | None:
    """Which of the promoted ``cells`` is the session notebook's ``parameters`` cell: the last
    execution of it, known by its cell id (else, for records without one, by its source)."""
    tagged = _tagged_parameters(source)
    ids = {c.get("id") for c in tagged} - {None}
    texts = {c.source.strip() for c in tagged}
    hits = [i for i, c in enumerate(cells)
            if (c["cell_id"] in ids if c.get("cell_id") else c["source"].strip() in texts)]
    return hits[-1] if hits else None


def _tagged_parameters(nb) -> list:
    """The cells of ``nb`` (None: no notebook) tagged ``parameters``."""
    return [c for c in (nb.cells if nb is not None else [])
            if "parameters" in c.get("metadata", {}).get("tags", [])]
