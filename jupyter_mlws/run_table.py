"""What a table of runs shows besides the runs' records: how many children each run has, the
smallest and largest value each of its metrics ever had, and the keys a column chooser offers.

Read in the search's own transaction (:meth:`RunService.search`), for one page of runs at a
time: each query is bounded by the page (an index or an id range per run), never by the
workspace's size, except :func:`column_keys`, which reads the keys of whole experiments.
"""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from .errors import InvalidInput
from .limits import check_key
from .run_records import RunPage, json_number
from .store import schema as S

#: the most metrics a page may ask the ranges of (``ranges=``)
RANGES_MAX = 50
#: the most keys of each kind :func:`column_keys` lists
KEYS_MAX = 500


def check_ranges(keys: Sequence[str]) -> list[str]:
    """The metric keys of a ``ranges`` request, checked; raises InvalidInput (too many, bad key)."""
    keys = list(dict.fromkeys(keys))
    if len(keys) > RANGES_MAX:
        raise InvalidInput(f"ranges: at most {RANGES_MAX} metrics per page, got {len(keys)}")
    for key in keys:
        check_key(key, "metric")
    return keys


def child_counts(conn: Connection, pks: Sequence[int]) -> dict[int, int]:
    """``{run pk: number of its child runs}`` for the runs with children among ``pks``."""
    if not pks:
        return {}
    r = S.runs
    rows = conn.execute(select(r.c.parent_pk, func.count()).where(r.c.parent_pk.in_(list(pks)))
                        .group_by(r.c.parent_pk))
    return {parent: count for parent, count in rows}


def metric_ranges(conn: Connection, pks: Sequence[int], keys: Sequence[str]
                  ) -> dict[int, dict[str, dict[str, float | str | None]]]:
    """``{run pk: {metric: {"min": v, "max": v}}}`` over every point each run logged.

    A run's points are one id range (``pk << POINT_BITS``), so each run costs one range scan.
    Runs without the metric have no entry for it; NaN points are left out (stored as NULL), so
    a metric that only ever was NaN has ``None`` for both; infinities come as "inf"/"-inf".
    """
    m = S.metrics
    out: dict[int, dict] = {}
    if not keys:
        return out
    for pk in pks:
        first = pk << S.POINT_BITS
        rows = conn.execute(select(m.c.key, func.min(m.c.value), func.max(m.c.value))
                            .where(m.c.id >= first, m.c.id < first + (1 << S.POINT_BITS),
                                   m.c.key.in_(list(keys)))
                            .group_by(m.c.key))
        found = {key: {"min": _number(lo), "max": _number(hi)} for key, lo, hi in rows}
        if found:
            out[pk] = found
    return out


def column_keys(conn: Connection, experiment_pks: Sequence[int] | None) -> dict[str, list[str]]:
    """The param, metric and tag keys of these experiments' runs (every run: None), sorted.

    At most ``KEYS_MAX`` of each kind (the first ones in order).
    """
    r = S.runs
    out = {}
    for name, table in (("params", S.params), ("metrics", S.latest_metrics), ("tags", S.tags)):
        query = select(table.c.key).distinct().order_by(table.c.key).limit(KEYS_MAX)
        if experiment_pks is not None:
            query = query.where(table.c.run_pk.in_(
                select(r.c.pk).where(r.c.experiment_pk.in_(list(experiment_pks)))))
        out[name] = list(conn.execute(query).scalars())
    return out


def add_extras(conn: Connection, page: RunPage, experiment_pks: Sequence[int] | None, *,
               children: bool, ranges: Sequence[str], keys: bool) -> None:
    """Fill ``page.children``, ``page.ranges`` (for these metrics) and ``page.keys`` as asked."""
    ids = {record.pk: record.id for record in page.runs}
    if children:
        page.children = {ids[pk]: n for pk, n in child_counts(conn, list(ids)).items()}
    if ranges:
        page.ranges = {ids[pk]: found for pk, found in metric_ranges(conn, list(ids), ranges).items()}
    if keys:
        page.keys = column_keys(conn, experiment_pks)


def _number(value) -> float | str | None:
    return None if value is None else json_number(float(value))
