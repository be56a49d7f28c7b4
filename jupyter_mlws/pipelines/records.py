"""The pipeline tables: a pipeline run's definition and options, and one row per step.

A step's outcome is recorded twice, on purpose: its child run ends ``completed`` by its own
executor (one transaction, with its outputs stored before), and the orchestrator then records
the step's row.  Reuse looks for *completed child runs* with the key (:meth:`PipelineRecords.
executed_with`), never at the row's state alone, so a step whose orchestrator was killed
between the two is still found: completed steps are never repeated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, desc, func, select

from .. import run_records as R
from ..store import schema as S

#: a step's states; the first ones are final
DONE = ("completed", "reused", "skipped")
ENDED = (*DONE, "failed", "blocked", "canceled")
STATES = ("pending", "running", *ENDED)


def state_word(state: str, run_status: str | None = None) -> str:
    """A step's state as users read it (the run page's word too): a step waiting for its
    upstream steps (``pending``), or submitted but not started, is ``queued``."""
    if state == "pending" or (state == "running" and run_status == R.QUEUED):
        return "queued"
    return state


def tally(words) -> str:
    """How many steps ended how: ``1 failed, 3 blocked`` (in :data:`STATES`' order, ``queued``
    where ``pending`` would be)."""
    counts: dict[str, int] = {}
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    order = [state_word(s) for s in STATES]
    return ", ".join(f"{counts[w]} {w}" for w in sorted(counts, key=lambda w: (
        order.index(w) if w in order else len(order), w)))


@dataclass
class StepRow:
    """One step of a pipeline run as recorded (ids, never keys)."""

    name: str
    state: str
    run_id: str | None = None
    source_id: str | None = None
    key: str | None = None
    parts: dict | None = None
    reason: str = ""
    changed: list = field(default_factory=list)
    outputs: dict | None = None
    started_at: int | None = None
    ended_at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class PipelineRecords:
    """Reads and writes ``pipeline_runs`` and ``pipeline_steps`` of one store.

    ``runs`` (the :class:`~jupyter_mlws.runs.RunService`) turns run ids into keys and back.
    """

    def __init__(self, db, runs):
        self.db, self.runs = db, runs

    # -- writing ------------------------------------------------------------------------------

    def create(self, run_id: str, name: str, definition: dict, options: dict,
               steps: list[str]) -> None:
        """Record pipeline run ``run_id`` (its parent run exists) with its steps pending."""
        run_pk = self.runs.pk_of(run_id)

        def insert(conn) -> None:
            conn.execute(S.pipeline_runs.insert().values(
                run_pk=run_pk, name=name, definition=json.dumps(definition),
                options=json.dumps(options)))
            conn.execute(S.pipeline_steps.insert(), [
                dict(pipeline_run_pk=run_pk, pipeline=name, name=s, state="pending", reason="",
                     changed="[]") for s in steps])

        self.db.transact(insert)

    def update(self, pipeline_run: str, step: str, **values) -> None:
        """Set fields of one step's row (``run_id``/``source_id`` as run ids; JSON fields as
        values)."""
        row: dict[str, Any] = {}
        for k, v in values.items():
            if k in ("run_id", "source_id"):
                row[k.replace("_id", "_pk")] = None if v is None else self.runs.pk_of(v)
            elif k in ("parts", "changed", "outputs"):
                row[k] = None if v is None else json.dumps(v)
            else:
                row[k] = v
        run_pk = self.runs.pk_of(pipeline_run)
        t = S.pipeline_steps
        self.db.transact(lambda conn: conn.execute(
            t.update().where(and_(t.c.pipeline_run_pk == run_pk, t.c.name == step)).values(**row)))

    # -- reading --------------------------------------------------------------------------------

    def get(self, run_id: str) -> dict | None:
        """``{name, definition, options}`` of pipeline run ``run_id``; None for another run."""
        run_pk = self.runs.pk_of(run_id)
        t = S.pipeline_runs
        with self.db.read() as conn:
            row = conn.execute(select(t).where(t.c.run_pk == run_pk)).mappings().first()
        if row is None:
            return None
        return {"name": row["name"], "definition": json.loads(row["definition"]),
                "options": json.loads(row["options"])}

    def steps(self, run_id: str) -> list[StepRow]:
        """The steps of pipeline run ``run_id``, in the order they were recorded."""
        run_pk = self.runs.pk_of(run_id)
        t = S.pipeline_steps
        with self.db.read() as conn:
            rows = conn.execute(select(t).where(t.c.pipeline_run_pk == run_pk)
                                .order_by(t.c.pk)).mappings().all()
            ids = self._ids(conn, {r[c] for r in rows for c in ("run_pk", "source_pk")})
        return [_row(r, ids) for r in rows]

    def executed_with(self, key: str, status: tuple[str, ...] = (R.COMPLETED,),
                      exclude: str | None = None) -> list[str]:
        """Child runs that executed a step with ``key`` (not reused ones) and have a status in
        ``status``, newest first; ``exclude``: not those of this pipeline run."""
        t, r = S.pipeline_steps, S.runs
        query = (select(r.c.id).select_from(t.join(r, r.c.pk == t.c.run_pk))
                 .where(and_(t.c.key == key, t.c.source_pk.is_(None), r.c.status.in_(status)))
                 .order_by(desc(r.c.end_time), desc(r.c.pk)).limit(20))
        if exclude is not None:
            query = query.where(t.c.pipeline_run_pk != self.runs.pk_of(exclude))
        with self.db.read() as conn:
            return list(conn.execute(query).scalars())

    def latest_done(self, pipeline: str, step: str, exclude: str | None) -> list[StepRow]:
        """Earlier rows of ``step`` of pipeline ``pipeline`` that completed (executed, reused or
        skipped), newest first (pipeline run ``exclude`` left out, if given)."""
        t = S.pipeline_steps
        where = and_(t.c.pipeline == pipeline, t.c.name == step, t.c.state.in_(DONE))
        if exclude is not None:
            where = and_(where, t.c.pipeline_run_pk != self.runs.pk_of(exclude))
        with self.db.read() as conn:
            rows = conn.execute(select(t).where(where).order_by(desc(t.c.ended_at), desc(t.c.pk))
                                .limit(20)).mappings().all()
            ids = self._ids(conn, {r[c] for r in rows for c in ("run_pk", "source_pk")})
        return [_row(r, ids) for r in rows]

    def pipelines(self) -> list[dict]:
        """Every pipeline with runs: ``name``, ``runs`` (count) and ``last_run`` (id), by name."""
        p, r = S.pipeline_runs, S.runs
        with self.db.read() as conn:
            rows = conn.execute(select(p.c.name, func.count(), func.max(p.c.run_pk))
                                .group_by(p.c.name).order_by(p.c.name)).all()
            ids = self._ids(conn, {last for _n, _c, last in rows})
        return [{"name": n, "runs": c, "last_run": ids.get(last)} for n, c, last in rows]

    def runs_of(self, name: str, limit: int = 100) -> list[str]:
        """Run ids of pipeline ``name``'s runs, newest first."""
        p, r = S.pipeline_runs, S.runs
        with self.db.read() as conn:
            return list(conn.execute(
                select(r.c.id).select_from(p.join(r, r.c.pk == p.c.run_pk))
                .where(p.c.name == name).order_by(desc(p.c.run_pk)).limit(limit)).scalars())

    @staticmethod
    def _ids(conn, pks: set) -> dict[int, str]:
        pks = {pk for pk in pks if pk is not None}
        if not pks:
            return {}
        return dict(conn.execute(select(S.runs.c.pk, S.runs.c.id).where(S.runs.c.pk.in_(pks))).all())


def _row(r, ids: dict[int, str]) -> StepRow:
    return StepRow(
        name=r["name"], state=r["state"], run_id=ids.get(r["run_pk"]),
        source_id=ids.get(r["source_pk"]), key=r["key"],
        parts=json.loads(r["parts"]) if r["parts"] else None, reason=r["reason"] or "",
        changed=json.loads(r["changed"] or "[]"),
        outputs=json.loads(r["outputs"]) if r["outputs"] else None,
        started_at=r["started_at"], ended_at=r["ended_at"])
