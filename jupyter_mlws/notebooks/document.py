"""A notebook file as the product reads it: refused when it is a URL, missing or malformed,
and its executed cells numbered as its user counts them."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ..fsutil import shown_path, without_roots
from ..errors import InvalidInput, NotFound

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/")


def check_local(ref: str | os.PathLike) -> None:
    """InvalidInput for a notebook given as a URL (``s3://b/k.ipynb``, ``http://...``,
    ``file:///...``): only notebook files are submitted, never fetched."""
    if isinstance(ref, str) and _URL.match(ref):
        raise InvalidInput(f"{ref!r} is a URL: only notebook files inside the server's (or "
                           "project's) folder can be submitted; copy it there and give its path")


def load_notebook(path: Path, shown: str | None = None):
    """Read and validate a notebook; a clear error when it is missing or malformed.

    Messages name it as ``shown`` (default: relative to the current folder, else its
    name alone), never by a server's absolute path.
    """
    import nbformat

    shown = shown or shown_path(path)
    if not path.is_file():
        raise NotFound(f"no notebook at {shown!r}")
    try:
        nb = nbformat.read(str(path), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises JSON, validation and reader errors
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"{shown} is not a valid notebook ({without_roots(first, path.parent)}): "
                           "open it in Jupyter and save it again") from None
    return nb


def cell_number(inserted_at: int | None, index: int) -> int | None:
    """A cell of an executed notebook as the user counts it in the notebook they submitted: 1 is
    the first cell; None for the parameters cell Papermill inserted (at ``inserted_at``, if any)."""
    if inserted_at is not None and index >= inserted_at:
        return None if index == inserted_at else index
    return index + 1


def injected_index(nb) -> int | None:
    """Where Papermill injected the parameters into an executed notebook (None: nowhere)."""
    return next((i for i, c in enumerate(nb.cells)
                 if "injected-parameters" in c.get("metadata", {}).get("tags", [])), None)


def inserted_index(injected_at: int | None, submitted: Path) -> int | None:
    """Where Papermill inserted a cell: ``injected_at``, unless the ``submitted`` notebook (an
    executed one, submitted again) already held that cell, which Papermill then replaced."""
    try:
        with open(submitted, encoding="utf-8") as f:
            cells = json.load(f).get("cells", [])
        had = any("injected-parameters" in c.get("metadata", {}).get("tags", []) for c in cells)
    except (OSError, ValueError, AttributeError, TypeError):
        had = False
    return None if had else injected_at


def cell_records(executed: Path, submitted: Path) -> list[dict] | None:
    """Per-cell timings and status from an executed notebook's papermill metadata (``submitted``:
    the notebook it was executed from, to number the cells); None when there is no such file.

    Each: ``index``, ``number`` (:func:`cell_number`), ``type``, ``execution_count``,
    ``status``, ``start`` (ISO text), ``duration`` (seconds), ``source`` (its first 200
    characters).
    """
    if not executed.is_file():
        return None
    import nbformat

    nb = nbformat.read(str(executed), as_version=4)
    inserted_at = inserted_index(injected_index(nb), submitted)
    cells = []
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("papermill", {})
        cells.append({"index": index, "number": cell_number(inserted_at, index),
                      "type": cell.cell_type,
                      "execution_count": cell.get("execution_count"),
                      "status": meta.get("status"), "start": meta.get("start_time"),
                      "duration": meta.get("duration"), "source": cell.source[:200]})
    return cells
