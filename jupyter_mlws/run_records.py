"""What a run is, as plain values: statuses, ids and times, the record, a page of a search,
a metric's checked points, and the page tokens of searches.

Light on purpose (no SQLAlchemy): an executor on another machine reads these too.
"""

from __future__ import annotations

import base64
import json
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Sequence

from .errors import InvalidInput

QUEUED = "queued"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
CANCELED = "canceled"
KILLED = "killed"
TIMED_OUT = "timed_out"
STATUSES = (QUEUED, RUNNING, COMPLETED, FAILED, CANCELED, KILLED, TIMED_OUT)
#: the statuses of a run that has not ended
LIVE = (QUEUED, RUNNING)
ENDED = (COMPLETED, FAILED, CANCELED, KILLED, TIMED_OUT)


def new_run_id() -> str:
    """A fresh run id: 16 hex digits."""
    return uuid.uuid4().hex[:16]


def now_ms() -> int:
    """The current time in integer milliseconds."""
    return int(time.time() * 1000)


@dataclass
class RunRecord:
    """Everything the store knows about a run, as plain values."""

    id: str
    pk: int
    experiment: str
    number: int
    name: str
    status: str
    start_time: int
    end_time: int | None = None
    description: str = ""
    error: str | None = None
    parent_id: str | None = None
    source_type: str = "script"
    source_name: str = ""
    git_commit: str | None = None
    git_branch: str | None = None
    git_dirty: bool | None = None
    user: str = ""
    host: str = ""
    heartbeat_at: int | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    #: points logged per metric (1: a single value, shown as a number rather than a chart)
    metric_counts: dict[str, int] = field(default_factory=dict)

    @property
    def duration_ms(self) -> int | None:
        """Milliseconds from start to end, None while running."""
        return None if self.end_time is None else self.end_time - self.start_time

    @property
    def source_kind(self) -> str:
        """What its source is, in words: ``source_type``, but ``script`` for a script a
        notebook run executed (a pipeline's script step: ``prep.py``, run with no kernel)."""
        if self.source_type == "notebook" and self.source_name.endswith(".py"):
            return "script"
        return self.source_type

    def to_dict(self) -> dict:
        """A JSON-friendly dict (NaN and infinities as strings)."""
        out = {k: v for k, v in self.__dict__.items() if k != "pk"}
        out["metrics"] = {k: json_number(v) for k, v in self.metrics.items()}
        return out

    def details(self) -> dict:
        """:meth:`to_dict` with what a run's page shows besides: ``duration_s`` (seconds, None
        while it runs), ``git`` (``{"commit", "branch", "dirty"}``, None when the source was
        not in a git repository), ``environment_hash`` (the first 16 hex digits of its
        environment spec's hash, what ``mlws env show`` takes, recorded for notebook runs; a
        run recorded before environment specs: of its installed packages' hash; else None) and
        ``source_kind`` (:attr:`source_kind`)."""
        duration = self.duration_ms
        git = None
        if self.git_commit or self.git_branch:
            git = {"commit": self.git_commit, "branch": self.git_branch, "dirty": self.git_dirty}
        return {**self.to_dict(), "duration_s": None if duration is None else duration / 1000,
                "git": git, "environment_hash": self.tags.get("env_hash"),
                "source_kind": self.source_kind}


def json_number(value: float) -> float | str:
    """A float JSON can carry: NaN and infinities become strings."""
    return value if math.isfinite(value) else repr(value)


def jsonable(data):
    """``data`` with NaN and infinities as strings ("nan", "inf"): JSON has no such numbers."""
    if isinstance(data, float):
        return json_number(data)
    if isinstance(data, dict):
        return {k: jsonable(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [jsonable(v) for v in data]
    return data


@dataclass
class RunPage:
    """One page of a search: runs and the token of the next page (None at the end).

    What a runs table asked for besides (:meth:`RunService.search`): ``children``, run id ->
    number of child runs (runs without children left out); ``ranges``, run id -> metric ->
    ``{"min", "max"}`` over all its points; ``keys``, the experiments' param, metric and tag
    keys (``{"params": [...], "metrics": [...], "tags": [...]}``).  None when not asked.
    ``compute``: run id -> the target it executes on, when the page came with it (a
    workspace server's page does: no request per run asks it again); None otherwise.
    """

    runs: list[RunRecord]
    next_page_token: str | None
    children: dict[str, int] | None = None
    ranges: dict[str, dict[str, dict]] | None = None
    keys: dict[str, list[str]] | None = None
    compute: dict[str, str] | None = None


@dataclass
class Series:
    """Checked points of one metric as columns: floats, int steps, int ms timestamps."""

    key: str
    values: Sequence[float]
    steps: Sequence[int]
    stamps: Sequence[int]

    def slice(self, start: int, stop: int) -> "Series":
        return Series(self.key, self.values[start:stop], self.steps[start:stop],
                      self.stamps[start:stop])

    def stored_values(self) -> Sequence[float | None]:
        """The values as stored: NaN becomes NULL (SQLite cannot hold NaN)."""
        if any(map(math.isnan, self.values)):
            return [None if v != v else v for v in self.values]
        return self.values

    def last_index(self) -> int:
        """The index of the latest point: the highest step, the last logged among equals."""
        steps = self.steps
        if isinstance(steps, range) and steps.step > 0:
            return len(steps) - 1
        top = max(steps)
        return len(steps) - 1 - list(reversed(steps)).index(top)


def record_of(row) -> RunRecord:
    return RunRecord(
        id=row["id"], pk=row["pk"], experiment=row["experiment"], number=row["number"],
        name=row["name"], status=row["status"], start_time=row["start_time"],
        end_time=row["end_time"], description=row["description"], error=row["error"],
        parent_id=row["parent_id"], source_type=row["source_type"],
        source_name=row["source_name"], git_commit=row["git_commit"],
        git_branch=row["git_branch"],
        git_dirty=None if row["git_dirty"] is None else bool(row["git_dirty"]),
        user=row["user_name"], host=row["host"], heartbeat_at=row["heartbeat_at"],
    )


def make_token(offset: int, query_key: str) -> str:
    body = json.dumps({"o": offset, "q": hash_text(query_key)}).encode()
    return base64.urlsafe_b64encode(body).decode().rstrip("=")


def read_token(token: str | None, query_key: str) -> int:
    if not token:
        return 0
    try:
        body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, key = int(body["o"]), body["q"]
    except (ValueError, KeyError, TypeError):
        raise InvalidInput("the page token is not valid: pass the token a search returned") from None
    if key != hash_text(query_key) or offset < 0:
        raise InvalidInput(
            "the page token belongs to a different search: repeat the same filter, "
            "experiments and order with it")
    return offset


def step_of(row: tuple) -> int:
    """The step of a ``(step, ...)`` metric row (a sort key)."""
    return row[0]


def hash_text(value: str) -> str:
    """A short stable digest of a text."""
    import hashlib

    return hashlib.sha256(value.encode()).hexdigest()[:16]
