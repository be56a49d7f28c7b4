"""What changed since a cursor: the change feed behind the server's live events.

:class:`ChangeFeed` (``Workspace.changes``) answers the cheap "what changed since cursor X"
questions: the runs created since then plus the few runs a caller still watches (by id), and
the requests each endpoint served since then.  A cursor is an opaque string: a caller passes
back the one it got, never builds or reads one.  :class:`RunWatch` and :class:`EndpointWatch`
turn the feed into events between two polls: a run whose status changed, a live run that
logged points (one event per poll, however many points), a running run whose live logs grew
(their sizes: a stat each, nothing read), a run that ended whose target stored a log after its
end (an ssh runner's own log, stored as the runner exits: watched :data:`SETTLE_S` seconds),
an endpoint whose health, deployments or traffic
changed or that served requests, a model registered, given a version or an alias, edited or
deleted (:class:`ModelWatch`).  Plain data, no server here: the server's status loop
publishes the events (``server/status.py``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Iterable

from sqlalchemy import func, or_, select

from .errors import InvalidInput
from .runs import LIVE, RUNNING
from .store import schema as S

if TYPE_CHECKING:  # pragma: no cover
    from .artifacts import ArtifactService
    from .endpoints import EndpointService
    from .runs import RunService
    from .store.db import Database

#: the state of an endpoint's last event once it is deleted
DELETED = "deleted"
#: seconds a run that ended is still watched for logs stored after its end
SETTLE_S = 30.0
_RUNS, _TRAFFIC = "runs", "endpoint-requests"


def _cursor(kind: str, position: int) -> str:
    return f"{kind}:{position}"


def _position(kind: str, cursor: str) -> int:
    """The position a cursor of ``kind`` stands for; InvalidInput for any other text."""
    prefix, _, number = str(cursor).partition(":")
    if prefix != kind or not number.isdigit():
        raise InvalidInput(f"{cursor!r} is not a cursor of the {kind} feed: pass back the "
                           "cursor the previous call returned")
    return int(number)


class ChangeFeed:
    """The "what changed since a cursor" queries of a workspace's runs and endpoints.

    Parameters
    ----------
    db : Database
        The metadata store.
    runs : RunService
        Reaps runs whose process died, so that they show up as killed.
    artifacts : ArtifactService
        The live logs of running runs.
    endpoints : EndpointService
        The endpoints' health.
    """

    def __init__(self, db: "Database", runs: "RunService", artifacts: "ArtifactService",
                 endpoints: "EndpointService"):
        self.db = db
        self.runs = runs
        self.artifacts = artifacts
        self.endpoints = endpoints

    def run_changes(self, cursor: str | None = None, watching: Iterable[str] = (),
                    ) -> tuple[list[dict], str]:
        """The runs created after ``cursor`` and the runs ``watching`` (ids), oldest first; with
        no cursor the live (queued or running) runs, a baseline.  Returns them, each as
        ``{run_id, name, experiment, status, end_time, parent_id, points}`` (``points``: how
        many points it has logged), and the cursor to pass next."""
        self.runs.reap_stale()  # so that dead runs show up as killed
        r = S.runs
        with self.db.read() as conn:
            if cursor is None:
                top = conn.execute(select(func.max(r.c.pk))).scalar() or 0
                rows = conn.execute(_run_query(r.c.status.in_(LIVE))).mappings().all()
            else:
                top = _position(_RUNS, cursor)
                rows = conn.execute(_run_query(or_(r.c.pk > top, r.c.id.in_(list(watching)))
                                               )).mappings().all()
        top = max([top, *(row["pk"] for row in rows)])
        return [_run_state(row) for row in rows], _cursor(_RUNS, top)

    def live_log_sizes(self, run_id: str) -> dict[str, int]:
        """The sizes of a running run's live logs (what a live tail watches)."""
        return self.artifacts.live_log_sizes(run_id)

    def stored_log_sizes(self, run_id: str) -> dict[str, int]:
        """The sizes of a run's stored logs, by name (one query, nothing read)."""
        return {f["path"]: f["size"] for f in self.runs.files(run_id, "log")}

    def endpoint_traffic(self, cursor: str | None = None,
                         ) -> tuple[dict[str, tuple[int, int]], str]:
        """``{endpoint: (requests, errors)}`` served after ``cursor`` (none without one: a
        baseline), and the cursor to pass next."""
        m, e = S.endpoint_metrics, S.endpoints
        with self.db.read() as conn:
            top = conn.execute(select(func.max(m.c.pk))).scalar() or 0
            since = top if cursor is None else _position(_TRAFFIC, cursor)
            traffic = {}
            if top > since:
                traffic = {name: (requests, errors) for name, requests, errors in conn.execute(
                    select(e.c.name, func.sum(m.c.count), func.sum(m.c.errors))
                    .select_from(m.join(e, e.c.pk == m.c.endpoint_pk))
                    .where(m.c.pk > since).group_by(e.c.name))}
        return traffic, _cursor(_TRAFFIC, top)

    def endpoint_health(self) -> list[dict]:
        """Every endpoint with its state, deployments and traffic shares."""
        return self.endpoints.list()

    def watch_runs(self) -> "RunWatch":
        """A new watcher of run status changes, metrics and live logs between two polls."""
        return RunWatch(self)

    def model_states(self) -> dict[str, tuple]:
        """``{model: (versions, latest version, description, ((alias, version), ...))}`` for
        every registered model: one cheap query each, what a model's event reports."""
        m, v, a = S.models, S.model_versions, S.model_aliases
        with self.db.read() as conn:
            rows = conn.execute(
                select(m.c.name, m.c.description, func.count(v.c.pk), func.max(v.c.version))
                .select_from(m.outerjoin(v, v.c.model_pk == m.c.pk)).group_by(m.c.pk)).all()
            aliases = conn.execute(
                select(m.c.name, a.c.alias, v.c.version)
                .select_from(a.join(m, m.c.pk == a.c.model_pk).join(v, v.c.pk == a.c.version_pk))
                .order_by(m.c.name, a.c.alias)).all()
        by_model: dict[str, list] = {}
        for name, alias, version in aliases:
            by_model.setdefault(name, []).append((alias, version))
        return {name: (count, latest, description, tuple(by_model.get(name, ())))
                for name, description, count, latest in rows}

    def watch_models(self) -> "ModelWatch":
        """A new watcher of model registrations, versions and aliases between two polls."""
        return ModelWatch(self)

    def watch_endpoints(self) -> "EndpointWatch":
        """A new watcher of endpoint health and traffic between two polls."""
        return EndpointWatch(self)


def _run_query(where):
    r, e = S.runs, S.experiments
    parent = r.alias("parent")
    return (select(r.c.pk, r.c.id, r.c.name, r.c.status, r.c.end_time, r.c.point_seq,
                   e.c.name.label("experiment"), parent.c.id.label("parent_id"))
            .select_from(r.join(e, e.c.pk == r.c.experiment_pk)
                         .outerjoin(parent, parent.c.pk == r.c.parent_pk))
            .where(where).order_by(r.c.pk))


def _run_state(row) -> dict:
    return {"run_id": row["id"], "name": row["name"], "experiment": row["experiment"],
            "status": row["status"], "end_time": row["end_time"], "parent_id": row["parent_id"],
            "points": row["point_seq"] or 0}


class RunWatch:
    """Status changes of a workspace's runs between two polls of its change feed."""

    def __init__(self, feed: ChangeFeed):
        self.feed = feed
        self.cursor: str | None = None
        #: each live run's status, points logged so far and live logs' sizes, by run id
        self.live: dict[str, str] = {}
        self.points: dict[str, int] = {}
        self.log_sizes: dict[str, dict[str, int]] = {}
        #: runs that ended lately: until when they are watched, and their stored logs' sizes
        self.settling: dict[str, tuple[float, dict[str, int]]] = {}
        self.metric_events: list[dict] = []
        self.log_events: list[dict] = []

    def poll(self) -> list[dict]:
        """Status changes since the previous poll; the first poll only takes a baseline.

        After :meth:`poll`, :attr:`metric_events` holds the live runs that logged points, and
        :attr:`log_events` the running runs whose logs grew (with each log's size), and the
        runs that ended lately whose stored logs changed since (each stored log's size).
        """
        self.metric_events, self.log_events = [], []
        if self.cursor is None:
            runs, self.cursor = self.feed.run_changes()
            self.live = {run["run_id"]: run["status"] for run in runs}
            self.points = {run["run_id"]: run["points"] for run in runs}
            self._watch_logs()
            self.log_events = []
            return []
        runs, self.cursor = self.feed.run_changes(self.cursor, list(self.live))
        events = [event for run in runs if (event := self._see(run)) is not None]
        self._watch_logs()
        return events

    def _watch_logs(self) -> None:
        """A log event for each running run whose live logs grew since the previous poll."""
        for run_id in list(self.log_sizes):
            if run_id not in self.live:
                del self.log_sizes[run_id]
        for run_id, status in self.live.items():
            if status != RUNNING:
                continue
            sizes = self.feed.live_log_sizes(run_id)
            if sizes != self.log_sizes.get(run_id, {}) and any(sizes.values()):
                self.log_events.append({"run_id": run_id, "logs": sizes})
            self.log_sizes[run_id] = sizes
        now = time.monotonic()
        for run_id, (until, known) in list(self.settling.items()):
            sizes = self.feed.stored_log_sizes(run_id)
            if sizes != known:
                self.log_events.append({"run_id": run_id, "logs": sizes})
            if now >= until:
                del self.settling[run_id]
            else:
                self.settling[run_id] = (until, sizes)

    def _see(self, run: dict) -> dict | None:
        run_id, status = run["run_id"], run["status"]
        previous = self.live.pop(run_id, None)
        seen_points, points = self.points.pop(run_id, 0), run["points"]
        if points > seen_points:
            self.metric_events.append({"run_id": run_id, "points": points})
        if status in LIVE:
            self.live[run_id] = status
            self.points[run_id] = points
        elif previous in LIVE:  # it ended: its target may store a log of its own after the end
            self.settling[run_id] = (time.monotonic() + SETTLE_S, self.feed.stored_log_sizes(run_id))
        if status == previous:
            return None
        return {"run_id": run_id, "name": run["name"], "experiment": run["experiment"],
                "status": status, "previous_status": previous, "parent_id": run["parent_id"],
                "end_time": run["end_time"]}


class EndpointWatch:
    """Endpoints whose health or deployments changed, or that served requests, between polls."""

    def __init__(self, feed: ChangeFeed):
        self.feed = feed
        self.seen: dict[str, tuple] | None = None
        self.cursor: str | None = None

    def poll(self) -> list[dict]:
        """Events since the previous poll; the first poll only takes a baseline."""
        shown = {e["name"]: e for e in self.feed.endpoint_health()}
        traffic, self.cursor = self.feed.endpoint_traffic(self.cursor)
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


class ModelWatch:
    """Models registered, given a version or an alias, edited or deleted between two polls."""

    def __init__(self, feed: ChangeFeed):
        self.feed = feed
        self.seen: dict[str, tuple] | None = None

    def poll(self) -> list[dict]:
        """One event per model that changed since the previous poll (the first poll only takes
        a baseline): ``{model, change: "registered" | "changed" | "deleted", versions,
        latest_version, aliases: {alias: version}}``."""
        now = self.feed.model_states()
        before, self.seen = self.seen, now
        if before is None:
            return []
        events = [{"model": name, "change": "changed" if name in before else "registered",
                   "versions": state[0], "latest_version": state[1], "aliases": dict(state[3])}
                  for name, state in now.items() if state != before.get(name)]
        events += [{"model": name, "change": DELETED, "versions": 0, "latest_version": None,
                    "aliases": {}} for name in before if name not in now]
        return events


def _health(info: dict) -> tuple:
    """What an endpoint's health event reports, less its traffic: equal tuples, no event."""
    return (info["state"], info["error"], info["restarts"], info["port"],
            tuple((d["name"], d["state"], d["traffic"]) for d in info["deployments"]))
