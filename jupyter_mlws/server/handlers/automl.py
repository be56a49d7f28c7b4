"""Automated ML: start a search, read one (its leaderboard, budget and model), resume one.  A
search is a run: the routes are ``mlws:runs``'s (readers read, contributors and owners start
and resume).  The rules are :mod:`jupyter_mlws.automl`'s; a bad request is a 400 naming the
mistake, and nothing is recorded."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import MlwsHandler

#: the request body's fields passed to AutoMLService.start as they are
_OPTIONS = ("metric", "time_budget", "max_trials", "seed", "estimators", "experiment", "compute",
            "register", "model_name")


class AutoMLHandler(MlwsHandler):
    """POST: start a search, detached; answers 201 with the search as GET answers it."""

    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def post(self):
        body = self.body()
        ws = await self.ws()
        options = {k: body[k] for k in _OPTIONS if body.get(k) is not None}
        run_id = await self.start(ws.automl_service.start, body.get("data"), body.get("target"),
                                  body.get("task"), **options)
        self.reply(await self.call(ws.automl_service.show, run_id), 201)


class AutoMLRunHandler(MlwsHandler):
    """GET a search: its request, leaderboard (best first, the best marked), budget used,
    the trial the deadline stopped and the model registered."""

    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def get(self, run_id):
        ws = await self.ws()
        self.reply(await self.call(ws.automl_service.show, run_id))


class AutoMLResumeHandler(MlwsHandler):
    """POST: resume an interrupted search, detached, keeping its finished trials."""

    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def post(self, run_id):
        ws = await self.ws()
        run_id = await self.call(ws.automl_service.resume, run_id)
        self.reply(await self.call(ws.automl_service.show, run_id))


#: (route template under mlws/api, handler)
ROUTES = [
    ("/automl", AutoMLHandler),
    ("/automl/{run_id}", AutoMLRunHandler),
    ("/automl/{run_id}/resume", AutoMLResumeHandler),
]
