"""A run's files: the list, one file's bytes (images inline, everything else an attachment), and
the source snapshot (its files, and one file as text)."""

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
#: bytes of a snapshot file read to tell text from binary
_SNIFF = 8192


def _kind(kind: str | None, allow_log: bool = False) -> str | None:
    allowed = ("artifact", "snapshot", "log") if allow_log else ("artifact", "snapshot")
    if kind is not None and kind not in allowed:
        raise E.InvalidInput(f"unknown file kind {kind!r}: use one of {', '.join(allowed)}")
    return kind


class RunFilesHandler(MlwsHandler):
    """The run's files, and how many lists, tables and images it logged besides
    (``logged_values``: a run with no files may still have logged those)."""

    auth_resource = "mlws:runs"
    run_token_methods = ("GET",)

    @web.authenticated
    @authorized
    async def get(self, run_id):
        kind = _kind(self.get_query_argument("kind", None), allow_log=True)
        ws = await self.ws()
        files, count = await self.call(_files, ws, run_id, kind)
        self.reply({"files": files, "logged_values": count})


def _files(ws, run_id: str, kind: str | None) -> tuple[list[dict], int]:
    return ws.runs.files(run_id, kind), ws.values.count(run_id)


class FileHandler(MlwsHandler):
    """The base of every route that sends a stored file's bytes (an artifact, a logged image,
    a snapshot file): only images that cannot run script (PNG/JPEG/GIF/WebP) inline, anything
    else an attachment; never sniffed, and sandboxed should a browser render it anyway."""

    auth_resource = "mlws:runs"
    run_token_methods = ("GET",)

    @property
    def content_security_policy(self) -> str:
        # even if a browser renders it, the document gets a unique origin and no script
        return super().content_security_policy + "; sandbox"

    async def send(self, f, name: str, media_type: str, as_text: bool = False) -> None:
        """Stream the open file ``f`` as ``name`` of ``media_type`` (what the file is), then
        close it.  ``as_text``: send it as UTF-8 text, an attachment all the same."""
        try:
            if as_text:
                ctype, disposition = "text/plain; charset=utf-8", "attachment"
            else:
                ctype = media_type if media_type in PLAIN_TYPES else "application/octet-stream"
                disposition = "inline" if media_type in INLINE_TYPES else "attachment"
            self.set_header("Content-Type", ctype)
            self.set_header("Content-Disposition", f"{disposition}; filename*=UTF-8''{_quote(name)}")
            self.set_header("X-Content-Type-Options", "nosniff")
            while chunk := await self.call(f.read, _CHUNK):
                self.write(chunk)
                await self.flush()
        finally:
            await self.call(f.close)
        self.finish(set_content_type=ctype)


class ArtifactHandler(FileHandler):
    """One artifact's bytes: only images inline; everything else an attachment, sandboxed."""

    @web.authenticated
    @authorized
    async def get(self, run_id, path):
        kind = _kind(self.get_query_argument("kind", None), allow_log=True) or "artifact"
        ws = await self.ws()
        f = await self.call(ws.artifacts.open, run_id, path, kind)
        name = PurePosixPath(path).name
        await self.send(f, name, mimetypes.guess_type(name)[0] or "")


class SnapshotHandler(MlwsHandler):
    """The files of the run's source snapshot: ``{"files": [{"path", "size"}]}``."""

    auth_resource = "mlws:runs"

    @web.authenticated
    @authorized
    async def get(self, run_id):
        ws = await self.ws()
        files = await self.call(ws.runs.files, run_id, "snapshot")
        self.reply({"files": [{"path": f["path"], "size": f["size"]} for f in files]})


class SnapshotFileHandler(FileHandler):
    """One file of the snapshot: UTF-8 text as text, other bytes as an artifact is sent;
    always an attachment."""

    @web.authenticated
    @authorized
    async def get(self, run_id, path):
        ws = await self.ws()
        f = await self.call(ws.artifacts.open, run_id, path, "snapshot")
        try:
            head = await self.call(f.read, _SNIFF)
            await self.call(f.seek, 0)
        except BaseException:
            await self.call(f.close)
            raise
        await self.send(f, PurePosixPath(path).name, "", as_text=_is_text(head))


def _is_text(head: bytes) -> bool:
    """Whether a file's first bytes read as UTF-8 text (a character cut at the end allowed)."""
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a file longer than the head may cut a character
        return len(head) == _SNIFF and exc.reason == "unexpected end of data"
    return True


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


#: (route template under mlws/api, handler); ``{path}`` spans slashes
ROUTES = [
    ("/runs/{run_id}/files", RunFilesHandler),
    ("/runs/{run_id}/artifacts/{path}", ArtifactHandler),
    ("/runs/{run_id}/snapshot", SnapshotHandler),
    ("/runs/{run_id}/snapshot/{path}", SnapshotFileHandler),
]
