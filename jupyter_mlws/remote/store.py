"""The run store over HTTP: the calls a run handle and :class:`~jupyter_mlws.tracking.Tracking`
make on the run and artifact services, sent to a workspace server's REST API instead.

:class:`RemoteRuns` stands in for :class:`~jupyter_mlws.runs.RunService` and
:class:`RemoteArtifacts` for :class:`~jupyter_mlws.artifacts.ArtifactService`, method for
method, so that the same :class:`~jupyter_mlws.run.Run` and ``Tracking`` work on either: the
metric buffer's sink is :meth:`RemoteRuns.write_points`, which POSTs a batch.  Values are put
into their stored text here (params and tags with :func:`~jupyter_mlws.limits.param_text`) and
checked by the server with the same functions, so a run reads back the same either way.
"""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path
from typing import Mapping, Sequence

from ..artifacts import ARTIFACT, KINDS, LOG, SNAPSHOT, folder_files, select_files
from ..errors import InvalidInput
from ..fsutil import atomic_write, safe_join, validate_name
from ..limits import check_upload_size, param_text, tag_text
from ..run_records import RunPage, RunRecord, Series
from .client import Client

#: metric points one request carries (the buffer sends at most this many at a time)
BATCH_POINTS = 20_000
_RECORD_FIELDS = {f.name for f in fields(RunRecord)}


def record_of(data: Mapping) -> RunRecord:
    """A run record from the REST API's JSON (NaN and infinities come as strings)."""
    record = RunRecord(pk=0, **{k: v for k, v in data.items() if k in _RECORD_FIELDS and k != "pk"})
    record.metrics = {k: float(v) for k, v in record.metrics.items()}
    return record


class RemoteRuns:
    """What :class:`~jupyter_mlws.runs.RunService` does for a run handle, over HTTP."""

    #: the most buffered points one write sends (its all-or-nothing unit)
    batch_points = BATCH_POINTS

    def __init__(self, client: Client):
        self.client = client

    # -- reading -------------------------------------------------------------------

    def get(self, run_id: str) -> RunRecord:
        return record_of(self.client.call("GET", ("runs", run_id)))

    def id_of(self, run_id: str) -> str:
        return self.get(run_id).id

    def children(self, run_id: str) -> list[RunRecord]:
        return [record_of(r) for r in self.client.call("GET", ("runs", run_id, "children"))["runs"]]

    def search(self, filter_string: str | None = None, *, experiments: Sequence[str] | None = None,
               order_by: Sequence[str] | None = None, max_results: int = 100,
               page_token: str | None = None) -> RunPage:
        page = self.client.call("GET", ("runs",), query={
            "filter": filter_string, "experiment": list(experiments or []),
            "order_by": list(order_by or []), "max_results": max_results, "page_token": page_token})
        runs = page["runs"]
        compute = {r["id"]: r["compute"] for r in runs} \
            if all("compute" in r for r in runs) else None  # (a server that does not say)
        return RunPage([record_of(r) for r in runs], page.get("next_page_token"), compute=compute)

    def list_experiments(self) -> list[dict]:
        return self.client.call("GET", ("experiments",))["experiments"]

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, int, float]]:
        data = self.client.call("GET", ("runs", run_id, "metrics", key))
        return list(zip(data["steps"], data["timestamps"], map(float, data["values"])))

    def values(self, run_id: str, key: str | None = None) -> list[dict]:
        """The newest 1,000 steps of each key, oldest first, as the store lists them (an image's
        ``data`` has its format and size; its ``blob`` is not told over HTTP)."""
        import json

        page = self.client.call("GET", ("runs", run_id, "values"), query={"key": key,
                                                                          "max_results": 1000})
        rows = [{"key": v["key"], "kind": v["kind"], "step": v["step"], "ts": v["timestamp"],
                 "data": json.dumps(v["value"] if v["image"] is None else
                                    {"size": v["image"]["size"], "format": v["image"]["format"]}),
                 "blob": None} for v in page["values"]]
        return sorted(rows, key=lambda r: (r["key"], r["step"]))

    def files(self, run_id: str, kind: str | None = None) -> list[dict]:
        return self.client.call("GET", ("runs", run_id, "files"), query={"kind": kind})["files"]

    # -- writing -------------------------------------------------------------------

    def create(self, experiment: str, *, name: str | None = None, description: str = "",
               parent_id: str | None = None, tags: Mapping | None = None, source_type: str = "script",
               source_name: str = "", git: object | None = None) -> RunRecord:
        from ..compute.local import this_host

        body = {"name": name or "", "description": description,
                "tags": {k: tag_text(k, v) for k, v in (tags or {}).items()},
                "source_type": source_type, "source_name": source_name, "host": this_host(),
                "git": {k: v for k in ("commit", "branch", "dirty")
                        if (v := getattr(git, k, None)) is not None}}
        if parent_id:
            body["parent_id"] = parent_id
        return record_of(self.client.call("POST", ("experiments", experiment, "runs"), body))

    def mark_started(self, run_id: str) -> RunRecord:
        return record_of(self.client.call("POST", ("runs", run_id, "start")))

    def end(self, run_id: str, status: str, error: str | None = None) -> RunRecord:
        body = {"status": status} if error is None else {"status": status, "error": error}
        return record_of(self.client.call("POST", ("runs", run_id, "end"), body))

    def heartbeat(self, run_id: str) -> None:
        self.client.call("POST", ("runs", run_id, "heartbeat"))

    def set_process(self, run_id: str, process) -> None:
        """Nothing to record: a process of this machine is not the server's to stop (``mlws
        run cancel`` from elsewhere marks the run canceled)."""

    def write_points(self, run_id: str, points: Sequence[tuple]) -> None:
        """POST buffered points ``(key, value, step, ts)`` as one batch (all or nothing)."""
        if points:
            self._batch(run_id, {"metrics": points})

    def write_series(self, run_id: str, series: Sequence[Series]) -> None:
        """POST checked series in batches of :data:`BATCH_POINTS` points."""
        for s in series:
            for start in range(0, len(s.values), self.batch_points):
                part = s.slice(start, start + self.batch_points)
                self.write_points(run_id, [(s.key, v, st, t) for v, st, t
                                           in zip(part.values, part.steps, part.stamps)])

    def add_cells(self, run_id: str, cells: Sequence[tuple[int, int, dict]]) -> None:
        self._batch(run_id, {"cells": [list(c) for c in cells]})

    def log_params(self, run_id: str, values: Mapping) -> None:
        self._batch(run_id, {"params": {k: param_text(k, v)[0] for k, v in values.items()}})

    def set_tags(self, run_id: str, values: Mapping) -> None:
        self.update_tags(run_id, values)

    def update_tags(self, run_id: str, to_set: Mapping | None = None, delete: Sequence[str] = ()) -> None:
        body = {"set": {k: tag_text(k, v) for k, v in (to_set or {}).items()}, "delete": list(delete)}
        self.client.call("PATCH", ("runs", run_id, "tags"), body)

    def set_description(self, run_id: str, description: str) -> None:
        self.client.call("PATCH", ("runs", run_id), {"description": str(description)})

    def add_value(self, run_id: str, key: str, kind: str, step: int, ts: int,
                  data: str | None = None, blob: str | None = None) -> None:
        """POST a list or table (``data``: its stored JSON text, sent as it is)."""
        import json

        head = json.dumps({"key": key, "kind": kind, "step": step, "timestamp": ts})
        self.client.send("POST", ("runs", run_id, "values"),
                         f'{head[:-1]},"value":{data}}}'.encode())

    def _batch(self, run_id: str, body: dict) -> None:
        self.client.call("POST", ("runs", run_id, "batch"), body)


class RemoteArtifacts:
    """What :class:`~jupyter_mlws.artifacts.ArtifactService` does for a run handle, over HTTP:
    files are streamed up (and down), each checked against the server's ``upload_max_bytes``
    before it is sent."""

    def __init__(self, client: Client, max_file_bytes: int | None):
        self.client = client
        self.max_file_bytes = max_file_bytes
        self._live_root: Path | None = None  # the logs of runs this process executes

    def upload_file(self, run_id: str, name: str, path: str | os.PathLike, kind: str = ARTIFACT) -> str:
        name = validate_name(name)
        if not os.path.isfile(path):
            raise InvalidInput(f"cannot upload {str(path)!r}: it is not a file")
        with open(path, "rb") as f:
            return self._put(run_id, name, kind, f, os.fstat(f.fileno()).st_size, str(path))

    def upload_folder(self, run_id: str, name: str, path: str | os.PathLike,
                      since_ms: int | None = None) -> list[str]:
        files = folder_files(name, path, since_ms)
        for _rel, file in files:
            self._check_size(str(file), file.stat().st_size)
        return [self.upload_file(run_id, rel, file) for rel, file in files]

    def attach_log(self, run_id: str, name: str, source: str | os.PathLike | bytes) -> None:
        if isinstance(source, bytes):
            self._put(run_id, validate_name(name), LOG, source, len(source), name)
        else:
            self.upload_file(run_id, name, source, LOG)

    def store_snapshot(self, run_id: str, files) -> int:
        """Upload snapshot files (:func:`jupyter_mlws.snapshot.collect`); return the bytes.
        InvalidInput names a file that cannot be read (anymore)."""
        from ..snapshot import READ_ERRORS, unreadable

        sent = 0
        for f in files:
            try:
                validate_name(f.path)
            except InvalidInput:
                continue  # a name that could not be downloaded safely: left out, as on the store
            try:
                self.upload_file(run_id, f.path, f.abspath, SNAPSHOT)
                sent += os.path.getsize(f.abspath)
            except READ_ERRORS as exc:
                raise unreadable(f.path, exc.strerror or type(exc).__name__) from None
        return sent

    def close(self) -> None:
        """Remove what :meth:`live_file` left here (the logs of a run that did not end)."""
        import shutil

        if self._live_root is not None:
            shutil.rmtree(self._live_root, ignore_errors=True)
            self._live_root = None

    def live_file(self, run_id: str, name: str) -> Path:
        """A log file of a run this process executes (``mlws run start`` here, over HTTP),
        written here while it runs and uploaded when it ends (:meth:`store_live_logs`)."""
        import tempfile

        if self._live_root is None:
            self._live_root = Path(tempfile.mkdtemp(prefix="mlws-live-"))
        path = safe_join(self._live_root / run_id, validate_name(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def store_live_logs(self, run_id: str) -> None:
        """Upload the logs :meth:`live_file` gave for ``run_id`` (an empty one is not kept),
        then remove them here; nothing for a run that has none."""
        import shutil

        folder = None if self._live_root is None else self._live_root / run_id
        if folder is None or not folder.is_dir():
            return
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.stat().st_size):
            self.attach_log(run_id, path.relative_to(folder).as_posix(), path)
        shutil.rmtree(folder, ignore_errors=True)

    def read_log(self, run_id: str, name: str | None = None,
                 tail: int | None = None) -> dict[str, bytes]:
        """The logs of a run by name (stored, or live while it runs; ``tail``: each one's last
        bytes)."""
        return {n: data for n, (_s, _o, data) in self.read_log_parts(run_id, name, tail=tail).items()}

    def read_log_parts(self, run_id: str, name: str | None = None, since: int = 0,
                       tail: int | None = None, offsets: Mapping[str, int] | None = None,
                       ) -> dict[str, tuple[int, int, bytes]]:
        """Each log as ``(size, offset, bytes from offset on)`` (see
        :meth:`ArtifactService.read_log_parts <jupyter_mlws.artifacts.ArtifactService.read_log_parts>`);
        with ``offsets``, each log from its own offset (one request per log that grew)."""
        if offsets is None:
            return self._logs(run_id, name, since, tail)
        sizes = self._logs(run_id, name, 0, 1)  # every log's size, one byte of each
        out = {}
        for log, (size, _offset, _data) in sizes.items():
            start = offsets.get(log, since)
            out[log] = (self._logs(run_id, log, start, None)[log] if size > start
                        else (size, size, b""))
        return out

    def _logs(self, run_id: str, name: str | None, since: int, tail: int | None) -> dict:
        data = self.client.call("GET", ("runs", run_id, "logs"), query={
            "name": name, "since_bytes": since or None, "tail_bytes": tail})
        return {n: (part["size"], part["offset"], part["text"].encode()) for n, part
                in data["logs"].items()}

    def add_image(self, run_id: str, key: str, step: int, ts: int, data: bytes) -> str:
        reply = self.client.send("POST", ("runs", run_id, "images", key), data,
                                 query={"step": step, "timestamp": ts},
                                 content_type="application/octet-stream")
        return reply["format"]

    def download(self, run_id: str, path: str | None, dest: str | os.PathLike,
                 kind: str = ARTIFACT) -> list[Path]:
        files = select_files(self.client.call("GET", ("runs", run_id, "files"),
                                              query={"kind": kind})["files"], path, kind)
        written = []
        for f in files:
            target = safe_join(dest, f["path"])
            atomic_write(target, self.client.stream(("runs", run_id, "artifacts", *f["path"].split("/")),
                                                    query={"kind": kind}))
            written.append(target)
        return written

    def _put(self, run_id: str, name: str, kind: str, data, size: int, shown: str) -> str:
        if kind not in KINDS:
            raise InvalidInput(f"unknown file kind {kind!r}: use one of {', '.join(KINDS)}")
        self._check_size(shown, size)
        reply = self.client.send("PUT", ("runs", run_id, "files", *name.split("/")), data,
                                 query={"kind": kind}, content_type="application/octet-stream",
                                 size=size)
        return reply["path"]

    def _check_size(self, shown: str, size: int) -> None:
        if self.max_file_bytes is not None:
            check_upload_size(shown, size, self.max_file_bytes)

