"""What a run logged besides metrics: lists, tables and images (a page of them, one image's
bytes)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ... import errors as E
from ...values import DEFAULT_RESULTS, MAX_RESULTS
from .artifacts import FileHandler
from .base import MlwsHandler


class ValuesHandler(MlwsHandler):
    """The newest ``max_results`` steps of each key (or of ``key``), and every key with its count."""

    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def get(self, run_id):
        key = self.get_query_argument("key", None) or None
        max_results = self.int_arg("max_results", DEFAULT_RESULTS, 1, MAX_RESULTS)
        ws = await self.ws()
        self.reply(await self.call(ws.values.page, run_id, key, max_results))


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
