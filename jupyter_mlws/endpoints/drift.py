"""Feature statistics of a model's training data, and how far an endpoint's inputs drift from them.

At registration, :func:`feature_stats` summarises the training data per feature (numeric:
count, distinct values, mean, std, min, max and the fractions of rows in ten quantile bins;
categorical: the fractions of the most frequent values).  :func:`compare` scores sampled inputs against that
summary: per feature the population stability index (PSI) over the same bins, and the shift
of the mean in training standard deviations.  Pure Python: nothing is unpickled and no
numeric library is needed in the workspace process.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..fsutil import shown_path
from ..errors import InvalidInput, NotFound

#: quantile bins per numeric feature
BINS = 10
#: categorical values kept (the rest count as "__other__")
TOP_VALUES = 20
#: the least sampled input rows a verdict is given on (fewer, and chance alone moves the PSI
#: of ten bins past 0.1: its expected value on a steady input is about 9 / rows)
MIN_SAMPLES = 100
#: PSI below WATCH is stable, from DRIFT on it has drifted (the usual rule of thumb)
WATCH, DRIFT = 0.1, 0.25
#: training rows read at most (a sample of a larger table summarises it well)
MAX_ROWS = 1_000_000
_EPS = 1e-4


def _columns_from_rows(rows: Sequence) -> tuple[list[str], list[list]]:
    if not rows:
        raise InvalidInput("the training data has no rows")
    if isinstance(rows[0], Mapping):
        names = [str(k) for k in rows[0]]
        return names, [[r.get(n) for r in rows] for n in names]
    if not isinstance(rows[0], (list, tuple)):
        raise InvalidInput("give the training data as rows of features (a table, a 2-D array, a "
                           "list of lists or dicts, or a .csv/.parquet file)")
    width = len(rows[0])
    if width == 0 or any(len(r) != width for r in rows):
        raise InvalidInput("every row of the training data must have the same, non-zero number of features")
    return [str(i) for i in range(width)], [list(col) for col in zip(*rows)]


def _read_csv(path: Path) -> tuple[list[str], list[list]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header:
            raise InvalidInput(f"{path.name} is empty: give a CSV file with a header row")
        cols: list[list] = [[] for _ in header]
        for i, row in enumerate(reader):
            if i >= MAX_ROWS:
                break
            if len(row) != len(header):
                raise InvalidInput(f"{path.name}, line {i + 2}: {len(row)} fields where the header "
                                   f"has {len(header)}")
            for col, value in zip(cols, row):
                col.append(_number(value))
    return header, cols


def _number(text: str):
    try:
        return float(text)
    except ValueError:
        return text if text != "" else None


def load_columns(data: Any) -> tuple[list[str], list[list]]:
    """Feature names and columns of a DataFrame, 2-D array, rows, or a .csv/.parquet path."""
    if isinstance(data, (str, os.PathLike)):
        path = Path(data).expanduser()
        if not path.is_file():
            raise NotFound(f"no training data file at {shown_path(path)!r}")
        if path.suffix.lower() == ".csv":
            return _read_csv(path)
        if path.suffix.lower() == ".parquet":
            try:
                import pandas as pd
            except ImportError:
                raise InvalidInput("reading .parquet needs pandas and pyarrow: pip install pandas "
                                   "pyarrow, or give a .csv file") from None
            data = pd.read_parquet(path)
        else:
            raise InvalidInput(f"{path.name}: give the training data as a .csv or .parquet file")
    if hasattr(data, "columns") and hasattr(data, "to_dict"):  # a pandas DataFrame
        frame = data.head(MAX_ROWS)
        names = [str(c) for c in frame.columns]
        if not names:
            raise InvalidInput("the training data has no columns")
        return names, [frame[c].tolist() for c in frame.columns]
    if hasattr(data, "tolist"):  # a numpy array
        data = data.tolist()
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        return _columns_from_rows(list(data)[:MAX_ROWS])
    raise InvalidInput(f"cannot read training data from a {type(data).__name__}: give a DataFrame, "
                       "a 2-D array, a list of rows, or a .csv/.parquet path")


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _quantile(sorted_values: list[float], q: float) -> float:
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _bin_fractions(values: Iterable[float], edges: list[float]) -> list[float]:
    import bisect

    counts = [0] * (len(edges) + 1)
    n = 0
    for v in values:
        counts[bisect.bisect_right(edges, v)] += 1
        n += 1
    return [c / n for c in counts] if n else counts


def _numeric(values: list) -> dict:
    xs = sorted(float(v) for v in values if _is_number(v))
    n = len(xs)
    mean = sum(xs) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / n)
    edges = sorted({_quantile(xs, i / BINS) for i in range(1, BINS)})
    return {"kind": "numeric", "count": n, "missing": len(values) - n, "distinct": len(set(xs)),
            "mean": mean, "std": std, "min": xs[0], "max": xs[-1], "edges": edges,
            "fractions": _bin_fractions(xs, edges)}


def _categorical(values: list) -> dict:
    counts: dict[str, int] = {}
    for v in values:
        if v is not None:
            counts[str(v)] = counts.get(str(v), 0) + 1
    n = sum(counts.values())
    if not n:
        raise InvalidInput("a feature of the training data holds no values")
    top = dict(sorted(counts.items(), key=lambda kv: -kv[1])[:TOP_VALUES])
    fractions = {k: c / n for k, c in top.items()}
    fractions["__other__"] = max(0.0, 1.0 - sum(fractions.values()))
    return {"kind": "categorical", "count": n, "missing": len(values) - n, "fractions": fractions}


def feature_stats(data: Any) -> dict:
    """Per-feature statistics of training data (see the module's docstring); JSON-friendly."""
    return column_stats(*load_columns(data))


def column_stats(names: Sequence[str], cols: Sequence[list]) -> dict:
    """:func:`feature_stats` of columns already read: ``names[i]`` holds the values ``cols[i]``
    (what a tabular dataset version records, and a model trained on it is compared with)."""
    features = []
    for name, col in zip(names, cols):
        numeric = sum(1 for v in col if _is_number(v))
        present = sum(1 for v in col if v is not None)
        if not present:
            raise InvalidInput(f"feature {name!r} of the training data holds no values")
        stats = _numeric(col) if numeric >= 0.95 * present else _categorical(col)
        features.append({"name": name, **stats})
    return {"rows": len(cols[0]) if cols else 0, "features": features}


def _psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    total = 0.0
    for e, a in zip(expected, actual):
        e, a = max(e, _EPS), max(a, _EPS)
        total += (a - e) * math.log(a / e)
    return total


def verdict(psi: float) -> str:
    """``ok`` below 0.1, ``watch`` below 0.25, ``drift`` from there."""
    return "ok" if psi < WATCH else "watch" if psi < DRIFT else "drift"


def input_rows(payload: Any) -> list:
    """The rows of one scoring request: ``{"data": rows}``, ``{"inputs": rows}`` or rows."""
    if isinstance(payload, Mapping):
        payload = payload.get("data", payload.get("inputs"))
    if not isinstance(payload, list):
        return []
    if payload and not isinstance(payload[0], (list, tuple, Mapping)):
        payload = [payload]  # one row
    return payload


def compare(stats: dict, rows: Sequence) -> dict:
    """Score ``rows`` (lists by position, or dicts by feature name) against training ``stats``."""
    features = stats["features"]
    out = []
    for i, f in enumerate(features):
        values = [r.get(f["name"]) if isinstance(r, Mapping) else (r[i] if i < len(r) else None)
                  for r in rows]
        values = [v for v in values if v is not None]
        if not values:
            out.append({"name": f["name"], "psi": None, "mean_shift_std": None, "verdict": "unknown"})
            continue
        if f["kind"] == "numeric":
            xs = [float(v) for v in values if _is_number(v)]
            if not xs:
                out.append({"name": f["name"], "psi": None, "mean_shift_std": None, "verdict": "unknown"})
                continue
            psi = _psi(f["fractions"], _bin_fractions(xs, f["edges"]))
            mean = sum(xs) / len(xs)
            shift = (mean - f["mean"]) / f["std"] if f["std"] > 0 else (0.0 if mean == f["mean"] else math.inf)
        else:
            seen: dict[str, int] = {}
            for v in values:
                key = str(v) if str(v) in f["fractions"] else "__other__"
                seen[key] = seen.get(key, 0) + 1
            names = list(f["fractions"])
            psi = _psi([f["fractions"][k] for k in names], [seen.get(k, 0) / len(values) for k in names])
            shift = None
        out.append({"name": f["name"], "psi": round(psi, 4),
                    "mean_shift_std": None if shift is None else round(shift, 3), "verdict": verdict(psi)})
    scored = [f["psi"] for f in out if f["psi"] is not None]
    worst = max(scored) if scored else None
    return {"psi_max": worst, "verdict": verdict(worst) if worst is not None else "unknown", "features": out}


def sampled_rows(samples: Iterable[Mapping]) -> tuple[list, int]:
    """The input rows of sampled requests, and how many samples could not be read (cut, not JSON)."""
    rows, skipped = [], 0
    for s in samples:
        try:
            rows.extend(input_rows(json.loads(s["request"])))
        except (ValueError, TypeError):
            skipped += 1
    return rows, skipped
