"""Runs executed on other machines: the routes their executor reports through (see
:mod:`jupyter_mlws.executions`, which checks and records; :mod:`jupyter_mlws.remote.reporter`
is the executor's side).

The job and its bundle (a tar of the snapshot), the start of an attempt, cells done, retries,
the environment, cell records, the output copy, live logs appended by offset and the live
executed notebook.  Every route is open to the run's token on its run (``run_token_methods``);
requests of an attempt another one has superseded are refused (409) by the authorizer, except
the job, the bundle and the start of an attempt (``attempt_fenced = False``).  Users need the
contributor role, as for the tracking write API.
"""

from __future__ import annotations

import tempfile

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...run_writes import remove_quietly
from .base import MlwsHandler

#: bytes of a bundle sent at a time
_CHUNK = 1 << 20


class ExecutionHandler(MlwsHandler):
    """The base of the routes here: runs' resource; a run's token may use them on its run."""

    auth_resource = "mlws:runs"


class JobHandler(ExecutionHandler):
    """GET the run's job: notebook, kernel, parameters, timeout, retries, secret_env (names)."""

    run_token_methods = ("GET",)
    attempt_fenced = False
    read_action = "write"  # what executes a run, not what a reader reads

    @web.authenticated
    @authorized
    async def get(self, run_id):
        ws = await self.ws()
        self.reply(await self.call(ws.executions.job, run_id))


class BundleHandler(ExecutionHandler):
    """GET the run's bundle: a tar of its snapshot, with its notebook."""

    run_token_methods = ("GET",)
    attempt_fenced = False
    read_action = "write"

    @web.authenticated
    @authorized
    async def get(self, run_id):
        ws = await self.ws()
        spool = tempfile.NamedTemporaryFile(prefix="mlws-bundle-", delete=False)
        try:
            await self.call(ws.executions.write_bundle, run_id, spool)
            spool.seek(0)
            self.set_header("Content-Type", "application/x-tar")
            while chunk := await self.call(spool.read, _CHUNK):
                self.write(chunk)
                await self.flush()
            self.finish()
        finally:
            spool.close()
            remove_quietly(spool.name)


class StartHandler(ExecutionHandler):
    """POST ``{"attempt", "host"}``: the attempt starts executing the run (it becomes running;
    an older attempt's results are cleared and its writes refused from now on)."""

    run_token_methods = ("POST",)
    attempt_fenced = False

    @web.authenticated
    @authorized
    async def post(self, run_id):
        body = self.body()
        ws = await self.ws()
        started = await self.call(ws.executions.start, run_id, body.get("attempt"),
                                  body.get("host", ""))
        self.reply({**started, "run": self.app.client_run(started["run"].to_dict())}, 201)


class _RecordHandler(ExecutionHandler):
    """A route that records one thing of the run: ``ws.executions.<action>(run_id, *fields of
    the body)``; answers ``{"run_id"}``."""

    action = ""
    fields: tuple[str, ...] = ()

    async def _record(self, run_id) -> None:
        body = self.body()
        ws = await self.ws()
        await self.call(getattr(ws.executions, self.action), run_id, *map(body.get, self.fields))
        self.reply({"run_id": run_id}, 201 if self.request.method == "POST" else 200)


class ProgressHandler(_RecordHandler):
    """POST ``{"attempt", "done", "total"}``: cells done in retry ``attempt``."""

    run_token_methods = ("POST",)
    action, fields = "progress", ("attempt", "done", "total")

    @web.authenticated
    @authorized
    async def post(self, run_id):
        await self._record(run_id)


class AttemptsHandler(_RecordHandler):
    """POST ``{"attempt", "status", "error"}``: how a retry ended."""

    run_token_methods = ("POST",)
    action, fields = "attempt_ended", ("attempt", "status", "error")

    @web.authenticated
    @authorized
    async def post(self, run_id):
        await self._record(run_id)


class EnvironmentHandler(_RecordHandler):
    """PUT ``{"kernel", "captured"}``: the environment the run's kernel executed in."""

    run_token_methods = ("PUT",)
    action, fields = "environment", ("kernel", "captured")

    @web.authenticated
    @authorized
    async def put(self, run_id):
        await self._record(run_id)


class CellRecordsHandler(_RecordHandler):
    """PUT ``{"cells": [...]}``: the per-cell records of the executed notebook."""

    run_token_methods = ("PUT",)
    action, fields = "cells", ("cells",)

    @web.authenticated
    @authorized
    async def put(self, run_id):
        await self._record(run_id)


class OutputCopyHandler(_RecordHandler):
    """POST: copy the stored executed notebook to the run's output path, if it asked for one."""

    run_token_methods = ("POST",)
    action = "copy_output"

    @web.authenticated
    @authorized
    async def post(self, run_id):
        await self._record(run_id)


class LiveLogHandler(ExecutionHandler):
    """POST bytes at ``?offset=N`` of live log NAME: idempotent; answers ``{"size"}``."""

    run_token_methods = ("POST",)

    @web.authenticated
    @authorized
    async def post(self, run_id, name):
        from ...executions import LIVE_LOG_MAX

        offset = self.int_arg("offset", None, 0, LIVE_LOG_MAX)
        if offset is None:
            from ...errors import InvalidInput

            raise InvalidInput("give the byte the piece starts at: ?offset=N (the size the log "
                               "had when it was read)")
        ws = await self.ws()
        size = await self.call(ws.executions.append_log, run_id, name, offset, self.request.body)
        self.reply({"name": name, "size": size})


class LiveNotebookHandler(ExecutionHandler):
    """PUT the executed notebook as it is so far (what a run whose executor vanished keeps)."""

    run_token_methods = ("PUT",)

    @web.authenticated
    @authorized
    async def put(self, run_id):
        ws = await self.ws()
        await self.call(ws.executions.put_live_notebook, run_id, self.request.body)
        self.set_status(204)
        self.finish()


#: (route template under mlws/api, handler)
ROUTES = [
    ("/runs/{run_id}/job", JobHandler),
    ("/runs/{run_id}/bundle", BundleHandler),
    ("/runs/{run_id}/execution", StartHandler),
    ("/runs/{run_id}/progress", ProgressHandler),
    ("/runs/{run_id}/attempts", AttemptsHandler),
    ("/runs/{run_id}/environment", EnvironmentHandler),
    ("/runs/{run_id}/cell-records", CellRecordsHandler),
    ("/runs/{run_id}/output-copy", OutputCopyHandler),
    ("/runs/{run_id}/logs/{name}", LiveLogHandler),
    ("/runs/{run_id}/live-notebook", LiveNotebookHandler),
]
