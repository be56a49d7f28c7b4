"""Runs: search, submit a notebook as a run, read one (its cells, its lineage), edit its
description and tags, follow its metrics and logs, cancel, rerun and promote it.  Handlers name
runs by id; the services resolve them."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ... import errors as E
from ...notebooks.parameters import given_parameters
from .base import MlwsHandler


def _run_dict(app, run) -> dict:
    record = getattr(run, "record", run)
    out = app.client_run(record.to_dict())
    if getattr(run, "warnings", None):
        out["warnings"] = list(run.warnings)
    return out


class RunsHandler(MlwsHandler):
    """Search runs (GET) or submit a notebook as a run (POST; ``env_check`` true by default:
    the target's environments are compared with the kernel's first, as ``mlws run submit``
    does, and a target that cannot be reached is refused with 503, nothing recorded)."""

    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def get(self):
        ws = await self.ws()
        page = await self.call(
            ws.runs.search, [f for f in self.get_query_arguments("filter") if f.strip()] or None,
            experiments=self.get_query_arguments("experiment") or None,
            order_by=self.get_query_arguments("order_by") or None,
            max_results=self.int_arg("max_results", 100, 1, 50_000),
            page_token=self.get_query_argument("page_token", None) or None,
            children=self.bool_arg("children"), ranges=self.get_query_arguments("ranges"),
            keys=self.bool_arg("keys"))
        runs = [self.app.client_run(r.to_dict()) for r in page.runs]
        where = await self.call(ws.compute.targets_of, [run["id"] for run in runs])
        for run in runs:
            run["compute"] = where[run["id"]]
            if page.children is not None:
                run["children"] = page.children.get(run["id"], 0)
            if page.ranges is not None:
                run["ranges"] = page.ranges.get(run["id"], {})
        self.reply({"runs": runs, "next_page_token": page.next_page_token,
                    **({"keys": page.keys} if page.keys is not None else {})})

    @web.authenticated
    @authorized
    async def post(self):
        body = self.body()
        notebook = self.app.notebook_path(body.get("notebook"))
        params = given_parameters(body.get("parameters"), body.get("parameter_texts"))
        options = {k: body[k] for k in ("experiment", "kernel", "timeout", "retries", "name", "tags",
                                         "secrets", "compute")
                   if body.get(k) is not None}
        env_check = body.get("env_check", True)  # as mlws run submit (without --no-env-check)
        if not isinstance(env_check, bool):
            raise E.InvalidInput("env_check is true (compare the target's environments with the "
                                 "kernel's first, as mlws run submit does) or false")
        ws = await self.ws()
        options.update(actor=self.actor, check_actor=self.checks_actor, env_check=env_check)
        run = await self.start(ws.submit_notebook, notebook, params, **options)
        self.reply(_run_dict(self.app, run), 201)


class RunHandler(MlwsHandler):
    """GET a run with what its page shows (:meth:`~jupyter_mlws.runs.RunRecord.details`, each
    metric's point count, its source notebook); PATCH ``{"description": "..."}``."""

    auth_resource = "mlws:runs"
    run_token_methods = ("GET", "PATCH")

    @web.authenticated
    @authorized
    async def get(self, run_id):
        ws = await self.ws()
        self.reply(await self.call(self._details, ws, run_id))

    @web.authenticated
    @authorized
    async def patch(self, run_id):
        body = self.body()
        ws = await self.ws()
        if "description" in body:
            await self.call(ws.runs.set_description, run_id, body["description"])
        self.reply(await self.call(self._details, ws, run_id))

    def _details(self, ws, run_id: str) -> dict:
        record = ws.runs.get(run_id)
        return {**self.app.client_run(record.details()),
                "metric_counts": ws.values.metric_counts(record.id),
                "notebook": self.app.source_notebook(record),
                "compute": ws.compute.target_of(record.id)[0]}


class RunPartHandler(MlwsHandler):
    """GET /runs/{id}/params, /metrics: one part of the record."""

    auth_resource = "mlws:runs"
    run_token_methods = ("GET",)

    @web.authenticated
    @authorized
    async def get(self, run_id, part):
        ws = await self.ws()
        record = await self.call(ws.runs.get, run_id)
        self.reply({part: getattr(record, part)})


class RunTagsHandler(MlwsHandler):
    """GET the tags; PATCH ``{"set": {k: v}, "delete": [k]}`` (tags stay editable after the run)."""

    auth_resource = "mlws:runs"
    run_token_methods = ("GET", "PATCH")

    @web.authenticated
    @authorized
    async def get(self, run_id):
        ws = await self.ws()
        self.reply({"tags": self.app.client_tags((await self.call(ws.runs.get, run_id)).tags)})

    @web.authenticated
    @authorized
    async def patch(self, run_id):
        body = self.body()
        ws = await self.ws()
        await self.call(ws.runs.update_tags, run_id, body.get("set") or {},
                        body.get("delete") or [])  # all of it or nothing
        self.reply({"tags": self.app.client_tags((await self.call(ws.runs.get, run_id)).tags)})


class RunCellsHandler(MlwsHandler):
    """The cells a session run executed (``[]`` for other runs)."""

    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def get(self, run_id):
        ws = await self.ws()
        self.reply({"cells": await self.call(ws.cells.list, run_id)})


class RunLineageHandler(MlwsHandler):
    """Parent and children, re-runs, promotion and registered model versions of a run."""

    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def get(self, run_id):
        ws = await self.ws()
        self.reply(await self.call(ws.lineage.of, run_id))


class MetricHistoryHandler(MlwsHandler):
    """Every point of a metric, or at most ``max_points`` of them with the extremes kept."""

    auth_resource = "mlws:runs"
    run_token_methods = ("GET",)

    @web.authenticated
    @authorized
    async def get(self, run_id, key):
        max_points = self.int_arg("max_points", None, 1, 10_000_000)
        ws = await self.ws()
        self.reply(await self.call(ws.runs.metric_points, run_id, key, max_points))


class RunLogsHandler(MlwsHandler):
    """Logs as text from byte ``since_bytes`` on, or their last ``tail_bytes`` (a live tail
    asks for a log's new bytes with ``name`` and the size it has)."""

    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def get(self, run_id):
        since = self.int_arg("since_bytes", 0)
        tail = self.int_arg("tail_bytes", None, 1)
        name = self.get_query_argument("name", None) or None
        ws = await self.ws()
        record, logs = await self.call(_logs, ws, run_id, name, since, tail)
        # a cut in the middle of a UTF-8 character shows as one replacement character
        self.reply({"status": record.status, "logs": {
            n: {"size": size, "offset": offset, "text": data.decode("utf-8", errors="replace")}
            for n, (size, offset, data) in logs.items()}})


def _logs(ws, run_id: str, name: str | None, since: int, tail: int | None):
    record = ws.runs.get(run_id)
    return record, ws.artifacts.read_log_parts(record.id, name, since, tail)


class RunActionHandler(MlwsHandler):
    """POST /runs/{id}/cancel, /rerun (``{"parameters": {...}, "parameter_texts": {...}}``), /promote."""

    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def post(self, run_id, action):
        body = self.body()
        ws = await self.ws()
        if action == "cancel":
            run = await self.call(ws.cancel_run, run_id)
        elif action == "rerun":
            params = given_parameters(body.get("parameters"), body.get("parameter_texts"))
            run = await self.start(ws.rerun, run_id, params, secrets=body.get("secrets"),
                                   actor=self.actor, check_actor=self.checks_actor,
                                   compute=body.get("compute"))
        else:
            run = await self.start(ws.promote, run_id, actor=self.actor,
                                   check_actor=self.checks_actor)
        self.reply(_run_dict(self.app, run), 200 if action == "cancel" else 201)


#: (route template under mlws/api, handler); ``{part:a|b}`` matches one of the choices
ROUTES = [
    ("/runs", RunsHandler),
    ("/runs/{run_id}", RunHandler),
    ("/runs/{run_id}/{part:params|metrics}", RunPartHandler),
    ("/runs/{run_id}/tags", RunTagsHandler),
    ("/runs/{run_id}/cells", RunCellsHandler),
    ("/runs/{run_id}/lineage", RunLineageHandler),
    ("/runs/{run_id}/metrics/{key}", MetricHistoryHandler),
    ("/runs/{run_id}/logs", RunLogsHandler),
    ("/runs/{run_id}/{action:cancel|rerun|promote}", RunActionHandler),
]
