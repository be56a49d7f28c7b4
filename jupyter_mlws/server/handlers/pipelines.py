"""Pipelines: run one, list them, show one and its runs, and a pipeline run's steps (the data a
run page and the sidebar's graph draw: steps, edges, each step's state, run and why it ran or
was reused).  Pipeline runs are runs: the routes are ``mlws:runs``'s (readers read, contributors
and owners run)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...notebooks.parameters import given_parameters
from .base import MlwsHandler


class PipelinesHandler(MlwsHandler):
    """GET: the pipelines that ran, with their latest run.  POST: run a pipeline (``path`` of a
    pipeline.yaml in the server's folder, or its ``definition`` as JSON with ``project_dir``),
    detached; answers 201 with the run's steps."""

    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def get(self):
        ws = await self.ws()
        self.reply({"pipelines": await self.call(ws.pipelines.list)})

    @web.authenticated
    @authorized
    async def post(self):
        body = self.body()
        if ("path" in body) == ("definition" in body):
            from ...errors import InvalidInput

            raise InvalidInput('give the pipeline as "path" (a pipeline.yaml in the server\'s '
                               'folder) or as "definition" (its steps as JSON), one of them')
        if "path" in body:
            definition = self.app.pipeline_path(body["path"])
        else:
            definition = body["definition"]
        project = body.get("project_dir")
        if project is not None:
            project = self.app.server_file(project, "project folder", "folder", folder=True)
        elif "definition" in body:  # its steps' paths are relative to the server's folder
            project = self.app.serverapp.root_dir
        params = given_parameters(body.get("parameters"), body.get("parameter_texts"))
        options = {k: body[k] for k in ("compute", "only", "force", "no_reuse", "max_parallel")
                   if body.get(k) is not None}
        if body.get("from") is not None:
            options["from_step"] = body["from"]
        ws = await self.ws()
        run_id = await self.start(ws.pipelines.run, definition, project_dir=project,
                                  parameters=params, actor=self.actor,
                                  check_actor=self.checks_actor, **options)
        self.reply(await self.call(ws.pipelines.describe, run_id), 201)


class PipelineHandler(MlwsHandler):
    """GET a pipeline as its latest run defined it, with its recent runs."""

    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def get(self, pipeline):
        ws = await self.ws()
        self.reply(await self.call(ws.pipelines.show, pipeline))


class PipelineHistoryHandler(MlwsHandler):
    """GET a pipeline's runs, newest first (``?limit=``, default 100)."""

    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def get(self, pipeline):
        limit = self.int_arg("limit", 100, 1, 1000)
        ws = await self.ws()
        self.reply({"runs": await self.call(ws.pipelines.runs_of, pipeline, limit)})


class RunPipelineHandler(MlwsHandler):
    """GET a pipeline run's steps and edges, each step's state, child run and why it ran or was
    reused (:meth:`~jupyter_mlws.pipelines.service.PipelineService.describe`)."""

    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def get(self, run_id):
        ws = await self.ws()
        self.reply(await self.call(ws.pipelines.describe, run_id))


#: (route template under mlws/api, handler)
ROUTES = [
    ("/pipelines", PipelinesHandler),
    ("/pipelines/{pipeline}", PipelineHandler),
    ("/pipelines/{pipeline}/runs", PipelineHistoryHandler),
    ("/runs/{run_id}/pipeline", RunPipelineHandler),
]
