"""The tracking write API: what the SDK sends when it reaches the workspace by URL.

Start a run in an experiment, write a batch (params, tags, metric points, cells: all of it or
nothing), log an image, upload a file (streamed), start, end and beat a run, list its children;
and the settings a client writes by.  Logged lists and tables go to ``POST /runs/{id}/values``
(:mod:`.values`), descriptions and tags to the run's ``PATCH`` routes (:mod:`.runs`).

Every route is open to a run's token on the runs its token covers (``run_token_methods``; see
:mod:`..authorizer`), and to users by their workspace role (contributors write).  The checks and
writes are :mod:`jupyter_mlws.run_writes`'; handlers parse and answer.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ... import errors as E
from ...limits import STEP_MAX, STEP_MIN, TS_MAX, TS_MIN
from ...run_writes import BATCH_MAX_BYTES, remove_quietly
from .base import MlwsHandler

class TrackingWriteHandler(MlwsHandler):
    """The base of the routes here: runs' resource, open to a run's token (for POST)."""

    auth_resource = "mlws:runs"
    run_token_methods: tuple[str, ...] = ("POST",)


class TrackingHandler(TrackingWriteHandler):
    """GET what a client writes by: heartbeat interval, limits, and a token's run."""

    run_token_methods = ("GET",)

    @web.authenticated
    @authorized
    async def get(self):
        ws = await self.ws()
        self.reply(ws.run_writes.settings(self.scope))


class ExperimentRunsHandler(TrackingWriteHandler):
    """POST: start a running run of the experiment (created by its first run); with a run's
    token, a child of a run the token covers."""

    @web.authenticated
    @authorized
    async def post(self, experiment):
        body = self.body()
        ws = await self.ws()
        record = await self.start(
            ws.run_writes.create, experiment, name=body.get("name") or None, tags=body.get("tags"),
            description=body.get("description", ""), parent_id=body.get("parent_id"),
            source_type=body.get("source_type", "script"), source_name=body.get("source_name", ""),
            git=body.get("git"), host=body.get("host", ""), scope=self.scope)
        self.reply(record.to_dict(), 201)


class BatchHandler(TrackingWriteHandler):
    """POST ``{"params", "tags", "metrics": [[key, value, step, ts], ...], "cells"}`` to a running
    run: all of it or nothing."""

    @web.authenticated
    @authorized
    async def post(self, run_id):
        ws = await self.ws()
        points = await self.call(self._write, ws, run_id)
        self.reply({"points": points})

    def _write(self, ws, run_id: str) -> int:
        # a batch may hold far more values than other bodies: its points are checked one by one
        # by the service (the schema leaves their items to it), so they are not walked here
        body = self.body(max_bytes=BATCH_MAX_BYTES, unbounded=("metrics",))
        return ws.run_writes.batch(run_id, params=body.get("params"), tags=body.get("tags"),
                                   metrics=body.get("metrics"), cells=body.get("cells"))


class RunStartHandler(TrackingWriteHandler):
    """POST: a queued run is picked up by a process elsewhere (it becomes running)."""

    @web.authenticated
    @authorized
    async def post(self, run_id):
        self.body()
        ws = await self.ws()
        self.reply((await self.call(ws.run_writes.start, run_id)).to_dict())


class RunEndHandler(TrackingWriteHandler):
    """POST ``{"status", "error"}``: end a running run (its token stops working; the live logs
    an executor elsewhere sent become its stored logs)."""

    @web.authenticated
    @authorized
    async def post(self, run_id):
        body = self.body()
        ws = await self.ws()
        record = await self.call(ws.run_writes.end, run_id, body["status"], body.get("error"))
        await self.call(ws.executions.ended, record.id)
        self.reply(record.to_dict())


class HeartbeatHandler(TrackingWriteHandler):
    """POST: the process of a running run is alive; answers ``{"status", "cancel"}`` (whether
    it is asked to stop: ``mlws run cancel``)."""

    @web.authenticated
    @authorized
    async def post(self, run_id):
        self.body()
        ws = await self.ws()
        self.reply(await self.call(ws.executions.heartbeat, run_id))


class ChildrenHandler(TrackingWriteHandler):
    """GET the child runs of a run, oldest first."""

    run_token_methods = ("GET",)

    @web.authenticated
    @authorized
    async def get(self, run_id):
        ws = await self.ws()
        self.reply({"runs": [r.to_dict() for r in await self.call(ws.run_writes.children, run_id)]})


class ImageHandler(TrackingWriteHandler):
    """POST an image's bytes (PNG, JPEG, GIF, WebP or SVG) logged as KEY at ``?step=``."""

    @web.authenticated
    @authorized
    async def post(self, run_id, key):
        step = self.int_arg("step", None, STEP_MIN, STEP_MAX)
        if step is None:
            raise E.InvalidInput("give the image's step: ?step=N")
        stamp = self.int_arg("timestamp", None, TS_MIN, TS_MAX)
        ws = await self.ws()
        self.reply(await self.call(ws.run_writes.add_image, run_id, key, step, self.request.body,
                                   stamp), 201)


@web.stream_request_body
class UploadHandler(TrackingWriteHandler):
    """PUT a file's bytes as the run's file PATH (``?kind=artifact``, ``log`` or ``snapshot``),
    streamed to disk as they arrive, at most the workspace's ``upload_max_mb``.

    Who may upload is decided before a byte of the body is read (tornado reads a streamed body
    after ``prepare``, where the ``@authorized`` check of the verb would come too late)."""

    run_token_methods = ("PUT",)

    async def prepare(self):
        self._spool = None
        self._size = 0
        await super().prepare()
        if self._finished or self.request.method != "PUT":
            return
        await authorized(_decided)(self)
        ws = await self.ws()
        declared = self.request.headers.get("Content-Length")
        self._limit = await self.call(ws.run_writes.check_upload, self.path_kwargs["run_id"],
                                      self.path_kwargs["path"], self._kind,
                                      int(declared) if declared and declared.isdigit() else None)
        if self._limit is not None:
            self.request.connection.set_max_body_size(self._limit + 1)
        self._spool = await self.call(ws.run_writes.spool)

    @property
    def _kind(self) -> str:
        return self.get_query_argument("kind", "artifact")

    def data_received(self, chunk: bytes) -> None:
        if self._spool is None or self._finished:
            return
        self._size += len(chunk)
        if self._limit is not None and self._size > self._limit:
            self._discard()
            raise E.InvalidInput(f"{self.path_kwargs['path']!r} is over the workspace's limit of "
                                 f"{self._limit:,} bytes per file (upload_max_mb in its mlws.toml)")
        self._spool.write(chunk)

    @web.authenticated
    @authorized
    async def put(self, run_id, path):
        ws = await self.ws()
        self._spool.close()
        try:
            stored = await self.call(ws.run_writes.upload, run_id, path, self._kind,
                                     self._spool_path())
        finally:
            self._discard()
        self.reply(stored, 201)

    def on_finish(self) -> None:
        self._discard()

    def on_connection_close(self) -> None:
        self._discard()
        super().on_connection_close()

    def _spool_path(self):
        from pathlib import Path

        return Path(self._spool.name)

    def _discard(self) -> None:
        spool, self._spool = getattr(self, "_spool", None), None
        if spool is not None:
            spool.close()
            remove_quietly(spool.name)


async def _decided(handler) -> None:
    """What ``@authorized`` wraps in a ``prepare``: nothing beyond its decision."""


#: (route template under mlws/api, handler)
ROUTES = [
    ("/tracking", TrackingHandler),
    ("/experiments/{experiment}/runs", ExperimentRunsHandler),
    ("/runs/{run_id}/batch", BatchHandler),
    ("/runs/{run_id}/start", RunStartHandler),
    ("/runs/{run_id}/end", RunEndHandler),
    ("/runs/{run_id}/heartbeat", HeartbeatHandler),
    ("/runs/{run_id}/children", ChildrenHandler),
    ("/runs/{run_id}/images/{key}", ImageHandler),
    ("/runs/{run_id}/files/{path}", UploadHandler),
]
