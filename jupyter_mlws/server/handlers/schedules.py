"""Schedules under ``{base_url}mlws/api/schedules``: list, create, show, change (pause, resume),
delete, trigger, their runs; and ``schedules-preview``, a cron in words with its next fire times
(the form's live preview).

Readers list and read; contributors create schedules they own; a schedule's owner or a
workspace owner change, trigger and delete it.  Files are given relative to the server's
folder and named as given in every answer and message (never by their path on the server);
webhook URLs come back with their path and query hidden.  A bad cron, zone, file or name is a
400 and nothing is stored.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import MlwsHandler


class ScheduleBase(MlwsHandler):
    auth_resource = "mlws:schedules"

    def who(self) -> dict:
        return {"user": self.actor, "check_actor": self.checks_actor}

    def files(self, body: dict) -> dict:
        """The body's notebook or pipeline as a file of the server's folder, and how it is
        named (``shown``); the other fields as they are."""
        out = dict(body)
        for kind, find in (("notebook", self.app.notebook_path), ("pipeline", self.app.pipeline_path)):
            if out.get(kind) is not None:
                out["shown"] = out[kind]
                out[kind] = find(out[kind])
        return out


class SchedulesHandler(ScheduleBase):
    """GET: every schedule (``?hour12=true``: the cron in words on a 12-hour clock); POST:
    create one (201, with ``warnings``)."""

    @web.authenticated
    @authorized
    async def get(self):
        ws = await self.ws()
        self.reply({"schedules": await self.call(ws.schedules.list, **self.who(),
                                                 hour12=self.bool_arg("hour12"))})

    @web.authenticated
    @authorized
    async def post(self):
        body = self.files(self.body())
        name = body.pop("name")
        ws = await self.ws()
        self.reply(await self.call(ws.schedules.create, name, **body, **self.who()), status=201)


class ScheduleHandler(ScheduleBase):
    """GET a schedule; PATCH it (any create field, and ``paused``); DELETE it (204)."""

    @web.authenticated
    @authorized
    async def get(self, schedule):
        ws = await self.ws()
        self.reply(await self.call(ws.schedules.get, schedule, **self.who(),
                                   hour12=self.bool_arg("hour12")))

    @web.authenticated
    @authorized
    async def patch(self, schedule):
        body = self.files(self.body())
        ws = await self.ws()
        self.reply(await self.call(ws.schedules.update, schedule, **body, **self.who()))

    @web.authenticated
    @authorized
    async def delete(self, schedule):
        ws = await self.ws()
        await self.call(ws.schedules.delete, schedule, **self.who())
        self.set_status(204)
        self.finish()


class ScheduleTriggerHandler(ScheduleBase):
    """POST: run the schedule now (201 with the run: queued, or failed saying why)."""

    @web.authenticated
    @authorized
    async def post(self, schedule):
        self.body()  # none is taken: anything but an empty object is refused
        ws = await self.ws()
        self.reply(await self.call(ws.schedules.trigger, schedule, **self.who()), status=201)


class ScheduleRunsHandler(ScheduleBase):
    """GET the schedule's runs, newest first (``?limit=``, default 20)."""

    @web.authenticated
    @authorized
    async def get(self, schedule):
        limit = self.int_arg("limit", 20, 1, 1000)
        ws = await self.ws()
        self.reply({"runs": await self.call(ws.schedules.runs, schedule, limit, **self.who())})


class SchedulePreviewHandler(ScheduleBase):
    """GET ``?cron=..&tz=..[&hour12=true]``: ``{"description", "next"}``, or 400 saying what is
    wrong."""

    @web.authenticated
    @authorized
    async def get(self):
        cron = self.get_query_argument("cron", "")
        tz = self.get_query_argument("tz", None) or None
        n = self.int_arg("n", 5, 1, 100)
        ws = await self.ws()
        self.reply(await self.call(ws.schedules.preview, cron, tz, n,
                                   hour12=self.bool_arg("hour12")))


#: (route template under mlws/api, handler)
ROUTES = [
    ("/schedules", SchedulesHandler),
    ("/schedules-preview", SchedulePreviewHandler),
    ("/schedules/{schedule}", ScheduleHandler),
    ("/schedules/{schedule}/runs", ScheduleRunsHandler),
    ("/schedules/{schedule}/trigger", ScheduleTriggerHandler),
]
