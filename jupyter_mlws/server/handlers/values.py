"""What a run logged besides metrics: lists, tables and images (a page of them, one image's
bytes)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ... import errors as E
from ...limits import VALUE_MAX_BYTES
from ...values import DEFAULT_RESULTS, MAX_RESULTS
from .artifacts import FileHandler
from .base import MlwsHandler


class ValuesHandler(MlwsHandler):
    """GET the newest ``max_results`` steps of each key (or of ``key``), and every key with its
    count; POST ``{"key", "kind": "list"|"table", "step", "timestamp", "value"}`` logs one to a
    running run, checked as ``run.log_list`` / ``run.log_table`` check it."""

    auth_resource = "mlws:runs"
    run_token_methods = ("GET", "POST")

    @web.authenticated
    @authorized
    async def get(self, run_id):
        key = self.get_query_argument("key", None) or None
        max_results = self.int_arg("max_results", DEFAULT_RESULTS, 1, MAX_RESULTS)
        ws = await self.ws()
        self.reply(await self.call(ws.values.page, run_id, key, max_results))

    @web.authenticated
    @authorized
    async def post(self, run_id):
        ws = await self.ws()
        self.reply(await self.call(self._log_value, ws, run_id), 201)

    def _log_value(self, ws, run_id: str) -> dict:
        # a value may be as large as the SDK takes (16 MB of JSON): its own byte limit, and the
        # service checks its shape as log_list / log_table do
        body = self.body(max_bytes=VALUE_MAX_BYTES + (64 << 10), unbounded=("value",))
        return ws.run_writes.add_value(run_id, body["key"], body["kind"], body["step"],
                                       body["value"], body.get("timestamp"))


class ValueImageHandler(FileHandler):
    """A logged image's bytes: PNG/JPEG/GIF/WebP inline, SVG a sandboxed attachment."""

    @web.authenticated
    @authorized
    async def get(self, run_id, key, step):
        try:
            step = int(step)
        except ValueError:
            raise E.InvalidInput(f"a step is a whole number, got {step!r}") from None
        ws = await self.ws()
        info, f = await self.call(ws.values.open_image, run_id, key, step)
        await self.send(f, info["name"], info["media_type"])


#: (route template under mlws/api, handler)
ROUTES = [
    ("/runs/{run_id}/values", ValuesHandler),
    ("/runs/{run_id}/values/{key}/{step}/image", ValueImageHandler),
]
