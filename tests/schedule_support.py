"""What the schedules' tests share: tiny notebooks and pipelines, a schedule made as if long ago,
a controllable clock, and the runs a schedule recorded, read from the store."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import nbformat
from sqlalchemy import select

UTC = timezone.utc
T0 = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)  # a Monday


def notebook(path: Path, body: str = "print(x)", params: str = "x = 1") -> Path:
    """A notebook: a parameters cell, then ``body`` (python3 kernel)."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def script_pipeline(folder: Path, code: str = "print('ok')\n", name: str = "pipe") -> Path:
    """A one-step pipeline whose step is a script (no kernel): its pipeline.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "step.py").write_text(code)
    (folder / "pipeline.yaml").write_text(f"name: {name}\nsteps:\n  - {{name: s, script: step.py}}\n")
    return folder / "pipeline.yaml"


def backdate(ws, name: str, since: datetime) -> None:
    """Make schedule ``name`` count its ticks from ``since`` (as if made then)."""
    from jupyter_mlws.store import schema as S
    from jupyter_mlws.ticks import to_ms

    ws.db.transact(lambda conn: conn.execute(S.schedules.update().where(
        S.schedules.c.name == name).values(since_at=to_ms(since), created_at=to_ms(since))))


class Clock:
    """A clock a test moves: ``clock()`` is its time, ``clock.at = ...`` sets it."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def links(ws, name: str | None = None) -> list[dict]:
    """Every run link of schedule ``name`` (all schedules: None), oldest first, with the run's
    status and the schedule's name."""
    from jupyter_mlws.store import schema as S

    L, T, R = S.schedule_runs, S.schedules, S.runs
    query = (select(L, T.c.name, R.c.status, R.c.error)
             .select_from(L.join(T, T.c.id == L.c.schedule_id).outerjoin(R, R.c.id == L.c.run_id))
             .order_by(L.c.nominal_at, L.c.attempt, L.c.pk))
    if name is not None:
        query = query.where(T.c.name == name)
    with ws.db.read() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
