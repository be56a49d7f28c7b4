"""Environments: list, show and diff (every role); build and prune (contributors and owners)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ... import errors as E
from .base import MlwsHandler


class EnvironmentsHandler(MlwsHandler):
    """GET: the environments built per target (``?compute=NAME``: one target's)."""

    auth_resource = "mlws:environments"

    @web.authenticated
    @authorized
    async def get(self):
        compute = self.get_query_argument("compute", None)
        ws = await self.ws()
        self.reply({"environments": await self.call(ws.environments.list, compute)})


class EnvironmentHandler(MlwsHandler):
    """GET: one environment by hash (or a unique prefix): its spec and its targets' records."""

    auth_resource = "mlws:environments"

    @web.authenticated
    @authorized
    async def get(self, env_hash):
        ws = await self.ws()
        self.reply(await self.call(ws.environments.show, env_hash))


class EnvironmentDiffHandler(MlwsHandler):
    """GET ``?compute=NAME&kernel=NAME``: how the target's environments differ from the kernel's
    (default: the server's own environment)."""

    auth_resource = "mlws:environments"

    @web.authenticated
    @authorized
    async def get(self):
        compute = self.get_query_argument("compute", "local")
        kernel = self.get_query_argument("kernel", None)
        ws = await self.ws()

        def diff():
            spec = ws.environments.of_kernel(kernel) if kernel else ws.environments.current()
            return ws.environments.diff(spec, compute)
        self.reply(await self.call(diff))


class EnvironmentCheckHandler(MlwsHandler):
    """GET ``?notebook=folder/train.ipynb&compute=NAME[&kernel=NAME]``: what to tell before the
    notebook is submitted to the target (what ``mlws run submit`` warns of): how the target's
    environments differ from the notebook's kernel's.  It reads the server's folder, as the submit
    form does: contributors and owners."""

    auth_resource = "mlws:environments"
    read_action = "write"

    @web.authenticated
    @authorized
    async def get(self):
        notebook = self.app.notebook_path(self.get_query_argument("notebook", None))
        compute = self.get_query_argument("compute", "local")
        kernel = self.get_query_argument("kernel", None) or None
        ws = await self.ws()

        def check():
            ws.compute.get(compute)  # NotFound for no such target, as the submission would say
            return ws.environments.check_submission(notebook, kernel, compute)
        self.reply(await self.call(check))


class EnvironmentBuildHandler(MlwsHandler):
    """POST ``{compute?, run | kernel | spec, installer?, index_url?, find_links?, no_index?,
    force?}``: build that environment on the target, or find it built -> its record (state
    ready, or failed with the reason); a build the release check knows will fail is a 400
    unless ``force``."""

    auth_resource = "mlws:environments"

    @web.authenticated
    @authorized
    async def post(self):
        body = self.body()
        if sum(1 for k in ("run", "kernel", "spec") if body.get(k)) != 1:
            raise E.InvalidInput("say which environment to build: one of run (a run's id), "
                                 "kernel (an installed kernel's name) or spec (a spec object)")
        ws = await self.ws()

        def build():
            from ...environments.wheels import BuildOptions

            options = BuildOptions(installer=body.get("installer", "auto"),
                                   index_url=body.get("index_url"),
                                   find_links=tuple(body.get("find_links") or ()),
                                   no_index=bool(body.get("no_index")))
            envs = ws.environments
            spec = (envs.of_run(body["run"]) if body.get("run") else
                    envs.of_kernel(body["kernel"]) if body.get("kernel") else envs.parse(body["spec"]))
            return envs.build(spec, body.get("compute") or "local", options=options,
                              actor=self.actor, force=bool(body.get("force")))
        self.reply(await self.call(build))


class EnvironmentPruneHandler(MlwsHandler):
    """POST ``{compute?, unused_for?, cache?}``: remove the environments unused that long
    (default 30d), and with ``cache: true`` empty the targets' download caches -> ``{removed,
    errors, cache}``."""

    auth_resource = "mlws:environments"

    @web.authenticated
    @authorized
    async def post(self):
        body = self.body()
        ws = await self.ws()
        self.reply(await self.call(ws.environments.prune, body.get("compute"),
                                   unused_for=body.get("unused_for", "30d"),
                                   cache=body.get("cache", False)))


#: (route template under mlws/api, handler); the fixed paths before the hash
ROUTES = [
    ("/environments", EnvironmentsHandler),
    ("/environments/diff", EnvironmentDiffHandler),
    ("/environments/check", EnvironmentCheckHandler),
    ("/environments/build", EnvironmentBuildHandler),
    ("/environments/prune", EnvironmentPruneHandler),
    ("/environments/{env_hash}", EnvironmentHandler),
]
