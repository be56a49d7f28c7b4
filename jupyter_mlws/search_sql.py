"""The run search language compiled to SQL: a parsed filter and order_by (:mod:`.search`)
become one ``SELECT runs.pk ... ORDER BY ...`` for SQLAlchemy (SQLite and PostgreSQL alike)."""

from __future__ import annotations

import operator
from typing import Sequence

from sqlalchemy import BigInteger, ColumnElement, Select, and_, case, cast, func, literal, not_, or_, select

from .search import And, Comparison, Field, Node, Not, Or, OrderKey, parse_filter, parse_order_by
from .store.schema import (POINT_BITS, experiments, latest_metrics, metrics, params, run_compute, runs,
                           tags)

_NULLABLE = {"end_time", "duration", "git_commit", "parent_id"}
_TABLES = {"metric": latest_metrics, "param": params, "tag": tags}
_CMP = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}
_AGGREGATES = {"min": func.min, "max": func.max}


class _Compiler:
    """Turns AST nodes into SQLAlchemy expressions, collecting the joins they need."""

    def __init__(self):
        self.source = runs
        self.joined: dict[tuple, object] = {}

    def join(self, name: tuple, table, on_clause_of, outer: bool = True):
        if name not in self.joined:
            alias = table.alias(f"j{len(self.joined)}")
            on = on_clause_of(alias)
            self.source = self.source.outerjoin(alias, on) if outer else self.source.join(alias, on)
            self.joined[name] = alias
        return self.joined[name]

    def keyed(self, fld: Field):
        """The aliased metrics/params/tags row of this key, LEFT JOINed on its primary key."""
        return self.join(
            (fld.kind, fld.key), _TABLES[fld.kind],
            lambda t: and_(t.c.run_pk == runs.c.pk, t.c.key == fld.key),
        )

    def attribute(self, key: str) -> ColumnElement:
        if key == "experiment":
            exp = self.join(("experiment",), experiments,
                            lambda t: t.c.pk == runs.c.experiment_pk, outer=False)
            return exp.c.name
        if key == "parent_id":
            return self.join(("parent",), runs, lambda t: t.c.pk == runs.c.parent_pk).c.id
        if key == "duration":
            return runs.c.end_time - runs.c.start_time
        if key == "compute":  # the target it was handed to; none recorded: this machine
            target = self.join(("compute",), run_compute, lambda t: t.c.run_id == runs.c.id).c.target
            return func.coalesce(target, literal("local"))
        return runs.c["user_name" if key == "user" else key]

    def column(self, fld: Field) -> ColumnElement:
        """The field's own value: NULL exactly when the run lacks it (or a metric is NaN)."""
        if fld.kind == "attribute":
            return self.attribute(fld.key)
        return self.keyed(fld).c.value

    def aggregate(self, key: OrderKey) -> ColumnElement:
        """The smallest or largest value a run's metric ever had (its points are one id range)."""
        span = literal(1 << POINT_BITS, BigInteger)
        first = cast(runs.c.pk, BigInteger) * span
        return (select(_AGGREGATES[key.aggregate](metrics.c.value))
                .where(metrics.c.id >= first, metrics.c.id < first + span,
                       metrics.c.key == key.field.key)
                .scalar_subquery())

    def target(self, fld: Field, v) -> tuple[str, ColumnElement, object]:
        """What a literal compares against: (group, column, bound value)."""
        if fld.kind == "metric":
            return "num", self.column(fld), float(v) if isinstance(v, bool) else v
        if isinstance(v, bool):
            return "bool", func.lower(self.column(fld)), "true" if v else "false"
        if fld.kind == "param" and not isinstance(v, str):
            return "num", self.keyed(fld).c.num, v
        return "text", self.column(fld), v

    def condition(self, node: Node) -> ColumnElement:
        if isinstance(node, And):
            return and_(*map(self.condition, node.items))
        if isinstance(node, Or):
            return or_(*map(self.condition, node.items))
        if isinstance(node, Not):
            return not_(self.condition(node.item))
        return self.comparison(node)

    def comparison(self, c: Comparison) -> ColumnElement:
        """A comparison that is never NULL, so that NOT is plain negation."""
        if c.op in ("IS NULL", "IS NOT NULL"):
            # a top-level run is one without a parent: no join to find the parent's id
            top = c.field.kind == "attribute" and c.field.key == "parent_id"
            col = runs.c.parent_pk if top else self.column(c.field)
            return col.is_(None) if c.op == "IS NULL" else col.is_not(None)
        groups: dict[str, tuple[ColumnElement, list]] = {}
        for v in c.value if isinstance(c.value, tuple) else (c.value,):
            group, col, bound = self.target(c.field, v.value)
            groups.setdefault(group, (col, []))[1].append(bound)
        parts = [and_(col.is_not(None), _apply(col, c.op, bound)) for col, bound in groups.values()]
        return or_(*parts) if c.op == "IN" else and_(*parts)

    def order(self, key: OrderKey) -> list:
        def direction(col):
            return col.desc() if key.descending else col.asc()

        col = self.aggregate(key) if key.aggregate else self.column(key.field)
        never_null = key.field.kind == "attribute" and key.field.key not in _NULLABLE
        terms = [] if never_null else [_last_if_null(col)]  # lets an index order the runs
        if key.field.kind == "param" and not key.aggregate:
            num = self.keyed(key.field).c.num
            terms += [_last_if_null(num), direction(num)]
        return terms + [direction(col)]


def _apply(col: ColumnElement, op: str, bound) -> ColumnElement:
    if op == "IN":
        return col.in_(bound)
    if op == "NOT IN":
        return col.not_in(bound)
    if op in _CMP:
        return _CMP[op](col, bound[0])
    pattern = bound[0]
    if op.endswith("ILIKE"):
        col, pattern = func.lower(col), func.lower(pattern)
    like = col.like(pattern, escape="\\")
    return not_(like) if op.startswith("NOT") else like


def _last_if_null(col: ColumnElement) -> ColumnElement:
    return case((col.is_(None), 1), else_=0)


def compile_search(
    filter_string: str | Sequence[str] | None,
    order_by: list[str] | None = None,
    experiment_pks: list[int] | None = None,
) -> Select:
    """Compile a run search to ``SELECT runs.pk ... ORDER BY ...`` (no LIMIT/OFFSET).

    Parameters
    ----------
    filter_string : str, list of str or None
        The filter (see :mod:`.search`); None or blank matches every run.  Several filters
        must all hold; each is parsed on its own, so an error's caret points into the one
        it is in (e.g. a user's filter, and ``parent_id IS NULL`` added by a table).
    order_by : list of str, optional
        Entries ``<field> [ASC|DESC]`` or ``min(metrics.<key>) [ASC|DESC]`` (also ``max``);
        default ``start_time DESC``.  ``runs.pk``
        is always appended as the tiebreaker (in the direction of the last entry).
    experiment_pks : list of int, optional
        Restrict to runs of these experiments; None means every experiment.

    Returns
    -------
    sqlalchemy.Select
        Selects the matching run pks in order; the caller adds LIMIT and OFFSET.

    Raises
    ------
    InvalidInput
        If the filter or an order_by entry is malformed.
    """
    filters = [filter_string] if filter_string is None or isinstance(filter_string, str) else filter_string
    trees = [tree for tree in map(parse_filter, filters) if tree is not None]
    keys = parse_order_by(order_by) or [OrderKey(Field("attribute", "start_time"), True)]
    compiler = _Compiler()
    where = [compiler.condition(tree) for tree in trees]
    if experiment_pks is not None:
        where.append(runs.c.experiment_pk.in_(list(experiment_pks)))
    terms = [term for key in keys for term in compiler.order(key)]
    terms.append(runs.c.pk.desc() if keys[-1].descending else runs.c.pk.asc())
    return select(runs.c.pk).select_from(compiler.source).where(*where).order_by(*terms)
