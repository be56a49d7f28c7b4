"""A run's files: the list, and one file's bytes (images inline, everything else an attachment)."""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath

from jupyter_server.auth.decorator import authorized
from tornado import web

from ... import errors as E
from .base import MlwsHandler

#: artifacts the browser may show inline: images that cannot run script
INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
#: artifacts downloaded with their own type; everything else is application/octet-stream
PLAIN_TYPES = ("text/plain", "text/csv", "application/json") + INLINE_TYPES
_CHUNK = 1 << 20


def _kind(kind: str | None, allow_log: bool = False) -> str | None:
    allowed = ("artifact", "snapshot", "log") if allow_log else ("artifact", "snapshot")
    if kind is not None and kind not in allowed:
        raise E.InvalidInput(f"unknown file kind {kind!r}: use one of {', '.join(allowed)}")
    return kind


class RunFilesHandler(MlwsHandler):
    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def get(self, run_id):
        kind = _kind(self.get_query_argument("kind", None), allow_log=True)
        ws = await self.ws()
        self.reply({"files": await self.call(ws.runs.files, run_id, kind)})


class ArtifactHandler(MlwsHandler):
    """One artifact's bytes: only images inline; everything else an attachment, sandboxed."""

    auth_resource = "mlws:runs"

    @property
    def content_security_policy(self) -> str:
        # even if a browser renders it, the document gets a unique origin and no script
        return super().content_security_policy + "; sandbox"

    @web.authenticated
    @authorized
    async def get(self, run_id, path):
        kind = _kind(self.get_query_argument("kind", None), allow_log=True) or "artifact"
        ws = await self.ws()
        f = await self.call(ws.artifacts.open, run_id, path, kind)
        try:
            name = PurePosixPath(path).name
            guessed = mimetypes.guess_type(name)[0] or ""
            ctype = guessed if guessed in PLAIN_TYPES else "application/octet-stream"
            disposition = "inline" if guessed in INLINE_TYPES else "attachment"
            self.set_header("Content-Type", ctype)
            self.set_header("Content-Disposition", f"{disposition}; filename*=UTF-8''{_quote(name)}")
            self.set_header("X-Content-Type-Options", "nosniff")
            while chunk := await self.call(f.read, _CHUNK):
                self.write(chunk)
                await self.flush()
        finally:
            await self.call(f.close)
        self.finish(set_content_type=ctype)


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


#: (route template under mlws/api, handler); ``{path}`` spans slashes
ROUTES = [
    ("/runs/{run_id}/files", RunFilesHandler),
    ("/runs/{run_id}/artifacts/{path}", ArtifactHandler),
]
