"""The recorded cells of a session run, as a user reads them.

The cell tracker (:mod:`jupyter_mlws.celltracker`) records each cell a tracked kernel executes
(:meth:`~jupyter_mlws.runs.RunService.add_cells`): its execution count, source, cell id, start,
duration, status, error, and how many points of each metric it logged.  What each metric's
last value was is read back from the metric points themselves: the last point of the metric
logged while the cell executed (its start to its end).
"""

from __future__ import annotations

import bisect
import json
import math

from sqlalchemy import and_, select

from .runs import RunService
from .store import schema as S
from .store.db import Database


class CellService:
    """Read the cells a session run recorded.

    Parameters
    ----------
    db : Database
        The metadata store.
    runs : RunService
        Resolves runs and reads their cell records.
    """

    def __init__(self, db: Database, runs: RunService):
        self.db = db
        self.runs = runs

    def list(self, run_id: str) -> list[dict]:
        """Every cell a session run executed, in execution order; ``[]`` for other runs.

        Each: ``number`` (the execution count, ``[n]`` in the notebook), ``cell_id`` (the
        notebook's id of the cell, None when the front end sent none), ``status``
        ("completed" or "failed"), ``started`` (ms since the epoch; None for the cell that
        loaded the extension), ``duration_s``, ``source``, ``error`` (``"Name: message"``, or
        None) and ``metrics``: ``{key: the last value the cell logged}`` (NaN as NaN; None
        when that value cannot be told, e.g. logged with a timestamp of its own).  NotFound
        for an unknown run.
        """
        record = self.runs.get(run_id)
        if record.source_type != "session":
            return []
        rows = [r for r in self.runs.values(record.id, "cells") if r["kind"] == "cell"]
        recs = [json.loads(r["data"]) for r in rows]
        keys = sorted({k for c in recs for k in (c.get("metrics") or {})})
        points = self._points(record.pk, keys) if keys else {}
        return [_cell(row["step"], rec, points) for row, rec in zip(rows, recs)]

    def _points(self, run_pk: int, keys: list[str]) -> dict[str, tuple[list[int], list[float]]]:
        """Each metric's points as ``(timestamps, values)`` sorted by time, logging order kept."""
        m = S.metrics
        first = run_pk << S.POINT_BITS
        with self.db.read() as conn:
            rows = conn.execute(select(m.c.key, m.c.ts, m.c.value).where(and_(
                m.c.id >= first, m.c.id < first + (1 << S.POINT_BITS), m.c.key.in_(keys)))
                .order_by(m.c.id)).all()
        by_key: dict[str, list[tuple[int, float]]] = {}
        for key, ts, value in rows:
            by_key.setdefault(key, []).append((ts, math.nan if value is None else value))
        out = {}
        for key, pts in by_key.items():
            pts.sort(key=lambda p: p[0])  # stable: equal times keep their logging order
            out[key] = ([p[0] for p in pts], [p[1] for p in pts])
        return out


def _cell(ordinal: int, rec: dict, points: dict) -> dict:
    start, duration = rec.get("start"), rec.get("duration")
    error = None
    if rec.get("ename"):
        error = f"{rec['ename']}: {rec['evalue']}" if rec.get("evalue") else rec["ename"]
    return {"number": rec.get("execution_count") or ordinal, "cell_id": rec.get("cell_id"),
            "status": rec.get("status"), "started": start, "duration_s": duration,
            "source": rec.get("source", ""), "error": error,
            "metrics": {k: _last_in(points.get(k), start, duration) for k in rec.get("metrics") or {}}}


def _last_in(points, start: int | None, duration: float | None) -> float | None:
    """The last value logged from ``start`` (ms) to ``start + duration`` (s), else None."""
    if points is None or start is None or duration is None:
        return None
    stamps, values = points
    end = start + math.ceil(duration * 1000) + 1  # the record's start is rounded down
    i = bisect.bisect_right(stamps, end) - 1
    return values[i] if i >= 0 and stamps[i] >= start else None
