"""What changed since the last look: the live events' source.

One run watcher per server polls the runs table cheaply: rows past the highest pk
seen so far (new runs) plus the few runs last seen queued or running.  A live
run whose point count grew gives one metrics event per poll, however many points
it logged; a running run whose live logs grew gives one logs event (the sizes of
its log files: a stat each, nothing read).  One endpoint watcher reports each
endpoint whose health, deployments or traffic changed, or that served requests,
once per poll.  No tornado here: the extension calls the ``poll`` methods from a
thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select

from ..runs import LIVE, RUNNING
from ..store import schema as S

if TYPE_CHECKING:  # pragma: no cover
    from ..workspace import Workspace

#: the state of an endpoint's last event once it is deleted
DELETED = "deleted"


class RunStatusWatcher:
    """Reports status changes of a workspace's runs between two polls."""

    def __init__(self, ws: "Workspace"):
        self.ws = ws
        self.max_pk: int | None = None
        self.live: dict[int, str] = {}
        #: points logged so far by each live run
        self.points: dict[int, int] = {}
        #: each live run's id, and its live logs' sizes
        self.ids: dict[int, str] = {}
        self.log_sizes: dict[int, dict[str, int]] = {}

    def poll(self) -> list[dict]:
        """Status changes since the previous poll; the first poll only takes a baseline.

        After :meth:`poll`, :attr:`metric_events` holds the live runs that logged points, and
        :attr:`log_events` the running runs whose logs grew (with each log's size).
        """
        self.metric_events: list[dict] = []
        self.log_events: list[dict] = []
        self.ws.runs.reap_stale()  # so that dead runs show up as killed
        r = S.runs
        with self.ws.db.read() as conn:
            if self.max_pk is None:
                self.max_pk = conn.execute(select(func.max(r.c.pk))).scalar() or 0
                live = conn.execute(select(r.c.pk, r.c.status, r.c.point_seq, r.c.id)
                                    .where(r.c.status.in_(LIVE))).all()
                self.live = {pk: status for pk, status, _, _ in live}
                self.points = {pk: seq or 0 for pk, _, seq, _ in live}
                self.ids = {pk: run_id for pk, _, _, run_id in live}
                self._watch_logs()
                self.log_events = []
                return []
            rows = conn.execute(self._query(or_(r.c.pk > self.max_pk,
                                                r.c.pk.in_(list(self.live))))).mappings().all()
        events = [event for row in rows if (event := self._see(row)) is not None]
        self._watch_logs()
        return events

    def _watch_logs(self) -> None:
        """A log event for each running run whose live logs grew since the previous poll."""
        for pk in list(self.log_sizes):
            if pk not in self.live:
                del self.log_sizes[pk]
        for pk, status in self.live.items():
            if status != RUNNING:
                continue
            sizes = self.ws.artifacts.live_log_sizes(self.ids[pk])
            if sizes != self.log_sizes.get(pk, {}) and any(sizes.values()):
                self.log_events.append({"run_id": self.ids[pk], "logs": sizes})
            self.log_sizes[pk] = sizes

    @staticmethod
    def _query(where):
        r, e = S.runs, S.experiments
        parent = r.alias("parent")
        return (select(r.c.pk, r.c.id, r.c.name, r.c.status, r.c.end_time, r.c.point_seq,
                       e.c.name.label("experiment"), parent.c.id.label("parent_id"))
                .select_from(r.join(e, e.c.pk == r.c.experiment_pk)
                             .outerjoin(parent, parent.c.pk == r.c.parent_pk))
                .where(where).order_by(r.c.pk))

    def _see(self, row) -> dict | None:
        pk, status = row["pk"], row["status"]
        previous = self.live.pop(pk, None)
        seen_points, points = self.points.pop(pk, 0), row["point_seq"] or 0
        if points > seen_points:
            self.metric_events.append({"run_id": row["id"], "points": points})
        if status in LIVE:
            self.live[pk] = status
            self.points[pk] = points
            self.ids[pk] = row["id"]
        else:
            self.ids.pop(pk, None)
        self.max_pk = max(self.max_pk or 0, pk)
        if status == previous:
            return None
        return {"run_id": row["id"], "name": row["name"], "experiment": row["experiment"],
                "status": status, "previous_status": previous, "parent_id": row["parent_id"],
                "end_time": row["end_time"]}


class EndpointHealthWatcher:
    """Reports endpoints whose health or deployments changed, or that served requests."""

    def __init__(self, ws: "Workspace"):
        self.ws = ws
        self.seen: dict[str, tuple] | None = None
        self.max_metric_pk = 0

    def poll(self) -> list[dict]:
        """Events since the previous poll; the first poll only takes a baseline."""
        m = S.endpoint_metrics
        shown = {e["name"]: e for e in self.ws.endpoints.list()}
        with self.ws.db.read() as conn:
            top = conn.execute(select(func.max(m.c.pk))).scalar() or 0
            traffic = {}
            if self.seen is not None and top > self.max_metric_pk:
                e = S.endpoints
                traffic = {name: (requests, errors) for name, requests, errors in conn.execute(
                    select(e.c.name, func.sum(m.c.count), func.sum(m.c.errors))
                    .select_from(m.join(e, e.c.pk == m.c.endpoint_pk))
                    .where(m.c.pk > self.max_metric_pk).group_by(e.c.name))}
        self.max_metric_pk = top
        now = {name: _health(info) for name, info in shown.items()}
        before, self.seen = self.seen, now
        if before is None:
            return []
        events = []
        for name, health in now.items():
            requests, errors = traffic.get(name, (0, 0))
            if health != before.get(name) or requests:
                info = shown[name]
                events.append({
                    "endpoint": name, "state": info["state"],
                    "previous_state": before[name][0] if name in before else None,
                    "error": info["error"], "restarts": info["restarts"],
                    "deployments": [{"name": d["name"], "state": d["state"], "traffic": d["traffic"]}
                                    for d in info["deployments"]],
                    "requests": int(requests or 0), "errors": int(errors or 0)})
        events += [{"endpoint": name, "state": DELETED, "previous_state": health[0], "error": None,
                    "restarts": 0, "deployments": [], "requests": 0, "errors": 0}
                   for name, health in before.items() if name not in now]
        return events


def _health(info: dict) -> tuple:
    """What an endpoint's health event reports, less its traffic: equal tuples, no event."""
    return (info["state"], info["error"], info["restarts"], info["port"],
            tuple((d["name"], d["state"], d["traffic"]) for d in info["deployments"]))
