"""Datasets: list, register a folder or file of the server's folder as the next version, show a
version with its lineage, its files and each file's bytes, a dataset's versions, aliases, delete;
and, for a run executing elsewhere (its token), a version read by that run.  No answer holds a
server path: a version names its source by its last part, and mounts are never shown."""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath

from jupyter_server.auth.decorator import authorized
from tornado import web

from ... import errors as E
from .artifacts import FileHandler
from .base import MlwsHandler


class DatasetsHandler(MlwsHandler):
    """GET every dataset; POST registers ``path`` (a folder or file inside the server's folder)
    as the next version of ``name`` (201 for a new version, 200 when the content is unchanged)."""

    auth_resource = "mlws:datasets"

    @web.authenticated
    @authorized
    async def get(self):
        ws = await self.ws()
        self.reply({"datasets": await self.call(lambda: ws.datasets.list())})

    @web.authenticated
    @authorized
    async def post(self):
        body = self.body()
        source = await self.call(self._source, body["path"])
        ws = await self.ws()
        done = await self.call(lambda: ws.datasets.register(
            body["name"], source, datastore=body.get("datastore") or None,
            description=body.get("description") or "", tags=body.get("tags") or {},
            tabular=bool(body.get("tabular")), user=self.actor))
        self.reply(done.to_dict(), 201 if done.created else 200)

    def _source(self, path: str):
        """The folder or file ``path`` names inside the server's folder."""
        try:
            return self.app.server_file(path, "dataset folder", "data/train", folder=True)
        except E.NotFound:
            return self.app.server_file(path, "dataset folder or file", "data/train.csv")


class DatasetHandler(MlwsHandler):
    """GET a version (``NAME``: the latest, ``NAME:3``, ``NAME@alias``) with the runs and models
    that used it; DELETE a version (``NAME:3``), or every version of ``NAME`` with
    ``?all_versions=true`` (400 for ``NAME`` without it and for an alias; 409 naming the runs
    and models that used one)."""

    auth_resource = "mlws:datasets"

    @web.authenticated
    @authorized
    async def get(self, ref):
        ws = await self.ws()
        self.reply(await self.call(lambda: ws.datasets.show(ref)))

    @web.authenticated
    @authorized
    async def delete(self, ref):
        ws = await self.ws()
        every = self.bool_arg("all_versions")
        self.reply({"deleted": await self.call(lambda: ws.datasets.delete(ref, all_versions=every))})


#: the most files or versions one page holds (``?limit=``)
PAGE_MAX = 1000


class DatasetFilesHandler(MlwsHandler):
    """GET a version's manifest by path, ``{"files": [{"path", "sha256", "size"}], "total"}``:
    every file, or a page of them (``?offset=0&limit=100``)."""

    auth_resource = "mlws:datasets"

    @web.authenticated
    @authorized
    async def get(self, ref):
        offset, limit = self.int_arg("offset", 0), self.int_arg("limit", None, 1, PAGE_MAX)
        ws = await self.ws()
        files, total = await self.call(lambda: ws.datasets.files_page(ref, offset=offset, limit=limit))
        self.reply({"files": files, "total": total})


class DatasetFileHandler(FileHandler):
    """GET the bytes of one file of a version, streamed: an attachment (images that cannot run
    script inline), never sniffed, sandboxed."""

    auth_resource = "mlws:datasets"
    run_token_methods = ()

    @web.authenticated
    @authorized
    async def get(self, ref, path):
        ws = await self.ws()
        await self.send_file(await self.call(ws.datasets.open_file, ref, path), path)

    async def send_file(self, f, path: str) -> None:
        name = PurePosixPath(path).name
        await self.send(f, name, mimetypes.guess_type(name)[0] or "")


class RunDatasetHandler(MlwsHandler):
    """GET version REF for run RUN: the version (as ``GET datasets/REF``, without its users) and
    its ``manifest``; recorded as the run's read unless the run was given it as an input.  A
    run's token may call it for its runs; a user needs to be allowed to write the run."""

    auth_resource = "mlws:runs"
    run_token_methods = ("GET",)
    read_action = "write"  # the read is recorded on the run

    @web.authenticated
    @authorized
    async def get(self, run_id, ref):
        ws = await self.ws()
        version, files = await self.call(ws.datasets.read_for_run, run_id, ref)
        self.reply({**version.to_dict(), "manifest": files})


class RunDatasetFileHandler(DatasetFileHandler):
    """GET the bytes of one file of version REF, for run RUN (see :class:`RunDatasetHandler`)."""

    auth_resource = "mlws:runs"
    run_token_methods = ("GET",)
    read_action = "write"

    @web.authenticated
    @authorized
    async def get(self, run_id, ref, path):
        ws = await self.ws()
        await self.send_file(await self.call(ws.datasets.open_file, ref, path), path)


class DatasetVersionsHandler(MlwsHandler):
    """GET the versions of a dataset, newest first, ``{"versions": [...], "total"}``: every
    version, or a page of them (``?offset=0&limit=20``)."""

    auth_resource = "mlws:datasets"

    @web.authenticated
    @authorized
    async def get(self, name):
        offset, limit = self.int_arg("offset", 0), self.int_arg("limit", None, 1, PAGE_MAX)
        ws = await self.ws()
        versions, total = await self.call(
            lambda: ws.datasets.versions_page(name, offset=offset, limit=limit))
        self.reply({"versions": [v.to_dict() for v in versions], "total": total})


class DatasetAliasHandler(MlwsHandler):
    """PUT ``{"version": 3}`` points NAME@ALIAS at a version; DELETE removes the alias."""

    auth_resource = "mlws:datasets"

    @web.authenticated
    @authorized
    async def put(self, name, alias):
        version = self.body()["version"]
        ws = await self.ws()
        self.reply((await self.call(lambda: ws.datasets.set_alias(name, alias, version))).to_dict())

    @web.authenticated
    @authorized
    async def delete(self, name, alias):
        ws = await self.ws()
        await self.call(lambda: ws.datasets.delete_alias(name, alias))
        self.set_status(204)
        self.finish()


#: (route template under mlws/api, handler)
ROUTES = [
    ("/datasets", DatasetsHandler),
    ("/datasets/{ref}", DatasetHandler),
    ("/datasets/{ref}/files", DatasetFilesHandler),
    ("/datasets/{ref}/files/{path}", DatasetFileHandler),
    ("/datasets/{name}/versions", DatasetVersionsHandler),
    ("/datasets/{name}/aliases/{alias}", DatasetAliasHandler),
    ("/runs/{run_id}/datasets/{ref}", RunDatasetHandler),
    ("/runs/{run_id}/datasets/{ref}/files/{path}", RunDatasetFileHandler),
]
