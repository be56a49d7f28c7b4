"""Where a run comes from and what came of it: its parent and children, re-runs, promotion,
and the model versions registered from it.

Each link is read from where it is recorded: a child's ``parent`` in the run row, a re-run's
source in its notebook record (``notebook_runs.rerun_of``), a promotion in the promoted run's
``promoted_from`` tag (set by the workspace; ``promoted_to`` on the session names only the
latest, so the session's promotions are found from their side), a model version's run in the
registry, the dataset versions it used or made in the dataset tables (:mod:`jupyter_mlws.datasets`).
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import and_, func, select

from .runs import RunService
from .store import schema as S
from .store.db import Database

#: runs listed per kind of link (``child_count`` tells how many children there are in all)
LINKS_MAX = 100


class LineageService:
    """Read the links between runs, and from runs to model versions.

    Parameters
    ----------
    db : Database
        The metadata store.
    runs : RunService
        Resolves run ids.
    datasets : callable, optional
        ``datasets(run_id)``: the dataset versions the run used or made
        (:meth:`DatasetService.of_run <jupyter_mlws.datasets.service.DatasetService.of_run>`).
    """

    def __init__(self, db: Database, runs: RunService,
                 datasets: Callable[[str], list[dict]] | None = None):
        self.db = db
        self.runs = runs
        self.datasets = datasets or (lambda run_id: [])

    def of(self, run_id: str) -> dict:
        """The lineage of a run.

        Returns ``{"parent", "children", "child_count", "rerun_of", "reruns",
        "promoted_from", "promoted_to", "models", "datasets"}``: a run is ``{"id", "name", "status"}``
        (``parent``, ``rerun_of`` and ``promoted_from`` one or None; the lists the first
        :data:`LINKS_MAX`, oldest first), ``models`` ``[{"name", "version"}]`` of every
        version registered from the run, ``datasets`` ``[{"ref", "name", "version", "root_hash",
        "how"}]`` the dataset versions it used (``how``: input, read) or made (output).  A tag
        naming a run that does not exist links nothing.  NotFound for an unknown run.
        """
        pk = self.runs.pk_of(run_id)
        datasets = self.datasets(run_id)
        r, nb, t = S.runs, S.notebook_runs, S.tags
        with self.db.read() as conn:
            parent = conn.execute(select(r.c.parent_pk).where(r.c.pk == pk)).scalar()
            rerun_of = conn.execute(select(nb.c.rerun_of).where(nb.c.run_pk == pk)).scalar()
            own_id = conn.execute(select(r.c.id).where(r.c.pk == pk)).scalar_one()
            source_id = conn.execute(select(t.c.value).where(
                and_(t.c.run_pk == pk, t.c.key == "promoted_from"))).scalar()
            promoted = select(t.c.run_pk).where(and_(t.c.key == "promoted_from", t.c.value == own_id))
            v, m = S.model_versions, S.models
            models = conn.execute(select(m.c.name, v.c.version).select_from(
                v.join(m, m.c.pk == v.c.model_pk)).where(v.c.run_pk == pk)
                .order_by(m.c.name, v.c.version)).all()
            return {
                "parent": _one(conn, r.c.pk == parent) if parent else None,
                "children": _many(conn, r.c.parent_pk == pk),
                "child_count": conn.execute(select(func.count()).where(r.c.parent_pk == pk)).scalar_one(),
                "rerun_of": _one(conn, r.c.pk == rerun_of) if rerun_of else None,
                "reruns": _many(conn, r.c.pk.in_(select(nb.c.run_pk).where(nb.c.rerun_of == pk))),
                "promoted_from": _one(conn, r.c.id == source_id) if source_id else None,
                "promoted_to": _many(conn, r.c.pk.in_(promoted)),
                "models": [{"name": name, "version": version} for name, version in models],
                "datasets": datasets,
            }


def _many(conn, where) -> list[dict]:
    r = S.runs
    rows = conn.execute(select(r.c.id, r.c.name, r.c.status).where(where)
                        .order_by(r.c.pk).limit(LINKS_MAX)).all()
    return [{"id": i, "name": n, "status": s} for i, n, s in rows]


def _one(conn, where) -> dict | None:
    found = _many(conn, where)
    return found[0] if found else None
