"""Tabular dataset versions (CSV or Parquet): their schema and per-column statistics.

The statistics are the model registry's drift statistics (:func:`jupyter_mlws.endpoints.drift.
column_stats`: per numeric column count, missing, mean, std, min, max and ten quantile bins; per
text column the most frequent values), over the rows of every file together (the first
``drift.MAX_ROWS``), so that a model registered with a tabular version as its training data
(``training_data="dataset:train:3"``) is compared with exactly these, with no second pass over
the data.
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath
from typing import Sequence

from ..errors import InvalidInput

#: file suffixes a tabular dataset's files may have, and each one's format
FORMATS = {".csv": "csv", ".parquet": "parquet"}


def format_of(paths: Sequence[str]) -> str | None:
    """``csv``, ``parquet`` or ``mixed`` when every path is a table file, else None."""
    kinds = {FORMATS.get(PurePosixPath(p).suffix.lower()) for p in paths}
    if not paths or None in kinds:
        return None
    return kinds.pop() if len(kinds) == 1 else "mixed"


def not_tabular(paths: Sequence[str]) -> InvalidInput:
    """Why files are not a tabular dataset, and what to do."""
    others = [p for p in paths if PurePosixPath(p).suffix.lower() not in FORMATS]
    shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
    return InvalidInput(f"not tabular: {shown} {'is' if len(others) == 1 else 'are'} not .csv or "
                        ".parquet; register without --tabular, or keep only table files")


def table_stats(files: Sequence[tuple[str, str | os.PathLike]]) -> dict:
    """The schema and statistics of table files ``(relative path, local path)`` read together.

    Returns ``{"format", "rows", "columns": [{"name", "type"}], "features": [...]}``
    (``features`` as :func:`~jupyter_mlws.endpoints.drift.column_stats` gives them; a column
    holding no value is listed with ``kind`` ``"empty"``).  Raises InvalidInput when a file is
    not a table, cannot be read, or its columns differ from the first file's."""
    from ..endpoints import drift

    fmt = format_of([rel for rel, _ in files])
    if fmt is None:
        raise not_tabular([rel for rel, _ in files])
    names: list[str] | None = None
    cols: list[list] = []
    types: dict[str, str] = {}
    for rel, local in files:
        these, values = _read(rel, local, types)
        if names is None:
            names, cols = these, values
        elif these != names:
            raise InvalidInput(f"not tabular: {rel} has the columns {these[:8]} where "
                               f"{files[0][0]} has {names[:8]}: register tables of one schema "
                               "together, or without --tabular")
        else:
            for col, more in zip(cols, values):
                col.extend(more[:max(0, drift.MAX_ROWS - len(col))])
    assert names is not None
    filled = [(n, c) for n, c in zip(names, cols) if any(v is not None for v in c)]
    stats = drift.column_stats([n for n, _ in filled], [c for _, c in filled]) if filled else {
        "rows": 0, "features": []}
    by_name = {f["name"]: f for f in stats["features"]}
    rows = len(cols[0]) if cols else 0
    features = [by_name.get(n, {"name": n, "kind": "empty", "count": 0, "missing": rows})
                for n in names]
    columns = [{"name": n, "type": types.get(n) or _kind_type(by_name.get(n))} for n in names]
    return {"format": fmt, "rows": rows, "columns": columns, "features": features}


def _kind_type(feature: dict | None) -> str:
    if feature is None:
        return "empty"
    return "number" if feature["kind"] == "numeric" else "text"


def _read(rel: str, local, types: dict[str, str]) -> tuple[list[str], list[list]]:
    """Column names and values of one table file; Parquet's column types into ``types``."""
    from ..endpoints.drift import load_columns

    try:
        if rel.lower().endswith(".parquet"):
            frame = _parquet(local, rel)
            types.update({str(c): str(t) for c, t in frame.dtypes.items()})
            names, cols = load_columns(frame)
        else:
            names, cols = load_columns(os.fspath(local))
    except InvalidInput as exc:
        raise InvalidInput(f"not tabular: {rel}: {exc}") from None
    except (UnicodeDecodeError, ValueError, OSError) as exc:
        raise InvalidInput(f"not tabular: {rel} cannot be read as a table ({exc})") from None
    return names, [[None if _missing(v) else v for v in col] for col in cols]


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _parquet(local, rel: str):
    try:
        import pandas as pd
    except ImportError:
        raise InvalidInput(f"reading {rel} needs pandas and pyarrow: pip install pandas pyarrow") from None
    return pd.read_parquet(local)


def read_frame(paths: Sequence[tuple[str, str | os.PathLike]]):
    """The files ``(relative path, local path)`` of a tabular version as one pandas DataFrame,
    rows in file order.  Raises InvalidInput without pandas."""
    try:
        import pandas as pd
    except ImportError:
        raise InvalidInput("to_pandas needs pandas: pip install pandas (and pyarrow for Parquet)") from None
    frames = [pd.read_parquet(local) if rel.lower().endswith(".parquet") else pd.read_csv(local)
              for rel, local in paths]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
