"""Runs submitted from another machine with their project folder: ``mlws run submit`` and
``mlws run start --compute`` typed against a workspace server (see :mod:`jupyter_mlws.uploads`).

A request is multipart/form-data: a ``submission`` part (JSON, checked against the route's
schema in the OpenAPI document) and a ``project`` part (a tar of the project folder)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.httputil import parse_body_arguments

from ... import errors as E
from ... import uploads
from ...notebooks.parameters import given_parameters
from .base import MlwsHandler
from .runs import _run_dict

#: what a notebook submission passes on to Workspace.submit_notebook as it is
NOTEBOOK_OPTIONS = ("experiment", "kernel", "timeout", "retries", "name", "tags", "secrets",
                    "compute", "output", "grid", "max_parallel")
COMMAND_OPTIONS = ("experiment", "name", "tags", "secrets", "compute")


class _SubmissionHandler(MlwsHandler):
    auth_resource = "mlws:runs"

    def parts(self) -> tuple[dict, bytes | None]:
        """The submission (checked JSON) and the project's tar (None: none sent)."""
        kind = self.request.headers.get("Content-Type", "")
        if not kind.startswith("multipart/form-data"):
            raise E.InvalidInput("send multipart/form-data: a 'submission' part (JSON) and a "
                                 "'project' part (a tar of the project folder)")
        fields: dict = {}
        files: dict = {}
        parse_body_arguments(kind, self.request.body, fields, files)
        raw = (fields.get("submission") or [b""])[0] or \
            (files["submission"][0]["body"] if files.get("submission") else b"")
        if not raw:
            raise E.InvalidInput("the 'submission' part (JSON) is missing")
        project = files.get("project") or fields.get("project")
        data = (project[0]["body"] if isinstance(project[0], dict) else project[0]) if project else None
        return self.body(raw=raw), data

    def given(self, body: dict, names: tuple[str, ...]) -> dict:
        return {k: body[k] for k in names if body.get(k) is not None} | {
            "actor": self.actor, "check_actor": self.checks_actor}


class NotebookSubmissionHandler(_SubmissionHandler):
    """POST: submit a notebook sent with its project folder -> the run (201)."""

    @web.authenticated
    @authorized
    async def post(self):
        body, project = self.parts()
        if project is None:
            raise E.InvalidInput("the 'project' part (a tar of the project folder, the notebook "
                                 "in it) is missing")
        params = given_parameters(body.get("parameters"), body.get("parameter_texts"))
        options = self.given(body, NOTEBOOK_OPTIONS)
        ws = await self.ws()

        def submit(**who):
            return uploads.submit_notebook(
                project, body["notebook"], params, work_dir=ws.notebooks.work_dir,
                submit=ws.submit_notebook, is_local=ws.compute.is_local,
                max_bytes=ws.config.snapshot_max_mb << 20, **options, **who)

        self.reply(_run_dict(self.app, await self.start(submit)), 201)


class CommandSubmissionHandler(_SubmissionHandler):
    """POST: record a command run handed to a compute target, its project folder sent with it
    -> the run (201), queued or running."""

    @web.authenticated
    @authorized
    async def post(self):
        body, project = self.parts()
        options = self.given(body, COMMAND_OPTIONS)
        ws = await self.ws()

        def submit(**who):
            run_id = uploads.submit_command(
                project, body["argv"], work_dir=ws.notebooks.work_dir, submit=ws.submit_command,
                max_bytes=ws.config.snapshot_max_mb << 20, **options, **who)
            return ws.get_run(run_id)

        self.reply(_run_dict(self.app, await self.start(submit)), 201)


#: (route template under mlws/api, handler)
ROUTES = [
    ("/submissions/notebook", NotebookSubmissionHandler),
    ("/submissions/command", CommandSubmissionHandler),
]
