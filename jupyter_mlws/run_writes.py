"""Writes to runs from a process elsewhere: what the workspace server's REST write API calls.

A run on an SSH machine or a Dask worker, and any SDK user who reaches the workspace by URL
(:mod:`jupyter_mlws.remote`), write through these methods.  Each checks its input with the
functions the SDK uses on the store (:mod:`jupyter_mlws.limits`), so that what one path refuses
the other refuses with the same message, and writes as the SDK writes (a batch of params, tags
and metric points in one transaction).

A caller holding a run's token (``scope``: the token's run id) starts child runs below that run
only; which runs it may touch otherwise is the server's to decide with
:meth:`~jupyter_mlws.run_tokens.RunTokens.covers` before a method here is called.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Mapping

from .artifacts import KINDS, ArtifactService
from .config import WorkspaceConfig
from .errors import Conflict, InvalidInput, PermissionDenied
from .fsutil import validate_name
from .limits import (
    DESCRIPTION_MAX, VALUE_MAX_BYTES, check_logged_value, check_points, check_step, check_text,
    check_timestamp,
)
from .run_records import LIVE, RUNNING, RunRecord, now_ms
from .run_tokens import RunTokens
from .runs import BATCH_ROWS, RunService

#: what a run started over HTTP may say it is (the others are started by the workspace itself;
#: a command: ``mlws run start`` on another machine, against the workspace's server; a session:
#: a kernel's cells, ``%load_ext jupyter_mlws`` in a JupyterLab elsewhere, e.g. on a notebook VM)
SOURCE_TYPES = ("script", "interactive", "notebook", "command", "session")
#: the most metric points one batch carries (one transaction), and its largest body in bytes
BATCH_MAX_POINTS = BATCH_ROWS
BATCH_MAX_BYTES = 64 << 20
#: the most executed cells one batch carries
CELLS_MAX = 1000
#: seconds after which an upload's spool file left by a killed server is removed
_SPOOL_STALE_S = 86400


class RunWrites:
    """Create runs and write to them on behalf of a caller over HTTP.

    Parameters
    ----------
    runs : RunService
        Where runs are recorded.
    artifacts : ArtifactService
        Where their files and images go (its ``max_file_bytes`` caps an upload).
    tokens : RunTokens
        Decides which runs a run's token covers.
    config : WorkspaceConfig
        ``heartbeat_interval`` and ``snapshot_max_mb`` (told to clients), ``artifact_root``
        (an upload is spooled to its ``uploads/`` folder while it arrives, on the blobs' disk).
    """

    def __init__(self, runs: RunService, artifacts: ArtifactService, tokens: RunTokens,
                 config: WorkspaceConfig):
        self.runs = runs
        self.artifacts = artifacts
        self.tokens = tokens
        self.config = config
        self._spool_dir = config.artifact_root / "uploads"
        self._swept = False

    def settings(self, scope: str | None = None) -> dict:
        """What a client needs to write as the SDK does: ``heartbeat_interval`` (s),
        ``snapshot_max_mb``, ``upload_max_bytes`` (None: no limit), ``batch_max_points``,
        ``batch_max_bytes``, ``value_max_bytes``, and ``run_id``: the run a token is scoped to
        (None for a user)."""
        return {"heartbeat_interval": self.config.heartbeat_interval,
                "snapshot_max_mb": self.config.snapshot_max_mb,
                "upload_max_bytes": self.artifacts.max_file_bytes,
                "batch_max_points": BATCH_MAX_POINTS, "batch_max_bytes": BATCH_MAX_BYTES,
                "value_max_bytes": VALUE_MAX_BYTES, "run_id": scope}

    def create(self, experiment: str, *, name: str | None = None, tags: Mapping | None = None,
               description: str = "", parent_id: str | None = None, source_type: str = "script",
               source_name: str = "", git: Mapping | None = None, host: str = "",
               scope: str | None = None, user: str | None = None) -> RunRecord:
        """Start a running run of ``experiment`` for a process on ``host`` (no process of this
        machine is recorded on it: nothing here is signalled when it is canceled).

        ``git`` is ``{"commit", "branch", "dirty"}`` of the caller's source.  With ``scope`` (a
        run token's run) the run must be a child of a run the token covers.  ``user``: who
        starts it (the request's user; default this OS user); a child of a run records its
        parent's user (a run's token starts its own run's children).  Raises
        PermissionDenied (outside the scope), NotFound (an unknown parent), InvalidInput.
        """
        if source_type not in SOURCE_TYPES:
            raise InvalidInput(f"source_type {source_type!r} is not one a run started over HTTP "
                               f"has: use one of {', '.join(SOURCE_TYPES)}")
        if scope is not None and not (parent_id and self.tokens.covers(scope, parent_id)):
            raise PermissionDenied(f"a run's token starts child runs of its own run ({scope}) "
                                   "only: give parent_id")
        if parent_id:
            parent_id = self.runs.id_of(parent_id)
            if scope is not None:
                user = self.runs.get(parent_id).user
        commit = SimpleNamespace(**{k: (git or {}).get(k) for k in ("commit", "branch", "dirty")})
        for value, what in ((commit.commit, "git.commit"), (commit.branch, "git.branch")):
            if value is not None:
                check_text(value, what)
        return self.runs.create(experiment, name=name, description=description, parent_id=parent_id,
                                tags=tags, source_type=source_type, source_name=source_name,
                                git=commit, host=check_text(host, "the host name") or "unknown",
                                user=user)

    def batch(self, run_id: str, *, params: Mapping | None = None, tags: Mapping | None = None,
              metrics: object = None, cells: object = None) -> int:
        """Record params, tags, metric points ``[key, value, step, timestamp (ms)]`` and executed
        cells ``[ordinal, timestamp, record]`` of a running run, all of it or nothing; return
        the number of points.

        Every point is checked as ``run.log`` checks it; a param keeps its first value.  Raises
        InvalidInput (naming the first bad point as ``metrics[i]``), Conflict (the run is not
        running, a param would change), NotFound.
        """
        points = check_points(metrics if metrics is not None else [], "metrics")
        if len(points) > BATCH_MAX_POINTS:
            raise InvalidInput(f"{len(points)} points in one batch, over the limit of "
                               f"{BATCH_MAX_POINTS}: send them in several batches")
        self.runs.write_batch(run_id, params=params, tags=tags, points=points,
                              cells=_check_cells(cells if cells is not None else []))
        return len(points)

    def add_value(self, run_id: str, key: str, kind: str, step: object, value: object,
                  timestamp: object = None) -> dict:
        """Record a list or table logged at ``step`` of a running run, checked as ``log_list`` /
        ``log_table`` check it; returns ``{"key", "kind", "step"}``."""
        data = check_logged_value(key, kind, value)
        step = check_step(key, step)
        ts = now_ms() if timestamp is None else check_timestamp(key, timestamp)
        self._require_running(run_id)
        self.runs.add_value(run_id, key, kind, step, ts, data=data)
        return {"key": key, "kind": kind, "step": step}

    def add_image(self, run_id: str, key: str, step: object, data: bytes,
                  timestamp: object = None) -> dict:
        """Record an image logged at ``step`` of a running run (see
        :meth:`~jupyter_mlws.artifacts.ArtifactService.add_image`); returns ``{"key", "kind",
        "step", "format"}``."""
        step = check_step(key, step)
        ts = now_ms() if timestamp is None else check_timestamp(key, timestamp)
        self._require_running(run_id)
        fmt = self.artifacts.add_image(run_id, key, step, ts, data)
        return {"key": key, "kind": "image", "step": step, "format": fmt}

    def check_upload(self, run_id: str, name: str, kind: str, size: int | None) -> int | None:
        """Before an upload's bytes arrive: InvalidInput for a bad name or kind or a declared
        ``size`` over the limit, NotFound for an unknown run; returns the limit in bytes (None:
        none)."""
        validate_name(name)
        if kind not in KINDS:
            raise InvalidInput(f"unknown file kind {kind!r}: use one of {', '.join(KINDS)}")
        if size is not None:
            self.artifacts.check_size(name, size)
        self.runs.id_of(run_id)
        return self.artifacts.max_file_bytes

    def upload(self, run_id: str, name: str, kind: str, path: Path) -> dict:
        """Store the spooled file at ``path`` as the run's file ``name`` of ``kind`` (artifact,
        log or snapshot), as ``run.upload_file`` does; returns ``{"path", "kind", "size"}``."""
        size = path.stat().st_size
        stored = self.artifacts.upload_file(run_id, name, path, kind, shown=name)
        return {"path": stored, "kind": kind, "size": size}

    def start(self, run_id: str) -> RunRecord:
        """Move a queued run to running (a process elsewhere picked it up); a running run stays
        as it is; Conflict for one that has ended."""
        record = self.runs.get(run_id)
        if record.status not in LIVE:
            raise Conflict(f"run {record.id} has ended ({record.status}): it cannot start again")
        return self.runs.mark_started(record.id)

    def end(self, run_id: str, status: str, error: str | None = None) -> RunRecord:
        """End a running run with ``status`` (completed, failed, canceled, killed, timed_out)
        and ``error``; Conflict when it has already ended."""
        if error is not None:
            check_text(error, "the error")
            if len(error) > DESCRIPTION_MAX:
                raise InvalidInput(f"the error is {len(error)} characters long, over the "
                                   f"{DESCRIPTION_MAX} limit: keep its end, where the cause is")
        return self.runs.end(run_id, status, error)

    def heartbeat(self, run_id: str) -> None:
        """Record that the process of a running run is alive (a stale run is marked killed)."""
        self.runs.heartbeat(run_id)

    def children(self, run_id: str) -> list[RunRecord]:
        """The child runs of a run, oldest first."""
        return self.runs.children(run_id)

    def spool(self) -> IO[bytes]:
        """A new file, in the workspace, to receive an upload into while it arrives (the caller
        removes it once :meth:`upload` has stored it, or the upload failed)."""
        self._spool_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self._swept:  # what a killed server left
            self._swept = True
            for old in self._spool_dir.glob("upload-*"):
                try:
                    if old.stat().st_mtime < time.time() - _SPOOL_STALE_S:
                        old.unlink()
                except OSError:
                    pass
        return tempfile.NamedTemporaryFile(dir=self._spool_dir, prefix="upload-", delete=False)

    def _require_running(self, run_id: str) -> None:
        record = self.runs.get(run_id)
        if record.status != RUNNING:
            raise Conflict(f"run {record.id} is {record.status}: only a running run takes values")


def _check_cells(cells: object) -> list[tuple[int, int, dict]]:
    """Executed cells ``[ordinal, timestamp (ms), record]`` as a session run records them."""
    if not isinstance(cells, list) or len(cells) > CELLS_MAX:
        raise InvalidInput(f"cells must be an array of at most {CELLS_MAX} [ordinal, timestamp, "
                           "record] items")
    out = []
    for i, cell in enumerate(cells):
        if (type(cell) is not list or len(cell) != 3 or type(cell[0]) is not int
                or not isinstance(cell[2], dict)):
            raise InvalidInput(f"cells[{i}] must be [ordinal, timestamp (ms), {{record}}]")
        out.append((cell[0], check_timestamp("cells", cell[1]), cell[2]))
    return out


def remove_quietly(path: str | os.PathLike) -> None:
    """Remove a spool file, whether or not it is still there."""
    try:
        os.unlink(path)
    except OSError:
        pass
