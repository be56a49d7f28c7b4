"""The Jupyter server extension: the workspace's REST API, roles and live run events.

Live events: one loop (``status.py``) polls the workspace's change feed every ``poll_interval``
seconds and, before it publishes what changed, has the authorizer close every events stream
whose user may no longer read the workspace (a revoked role), so such a stream ends within one
poll.

Enabled on install (``jupyter-config/server-config/jupyter_mlws.json``), or
standalone for a team with ``mlws server`` / ``jupyter mlws`` (this app alone,
no other extension).  Configure with::

    c.MlwsApp.workspace = "/srv/team-ws"   # default: $MLWS_WORKSPACE, else the server's root
    c.MlwsApp.enforce_roles = True          # a team server: the role table decides per user
    c.MlwsApp.scheduler = False             # no scheduler here (e.g. 'mlws scheduler' runs it)

The scheduler host (:mod:`jupyter_mlws.scheduler`: VM start/stop schedules, idle shutdown,
scheduled runs) starts with the server once its workspace can be opened, on threads of its own,
and stops with it.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.serverapp import ServerApp
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from traitlets import Bool, Float, Unicode, default

from .. import errors as E
from ..access import OWNER, role_allows
from ..remote.server import served_here

NO_WORKSPACE = ("no workspace is open on this server: create one in the server's folder with "
                "'mlws workspace create .', or point c.MlwsApp.workspace (or MLWS_WORKSPACE) at one; "
                "the API picks it up without a restart")


def on_a_vm(env=os.environ) -> str | None:
    """What a notebook VM's JupyterLab says instead of :data:`NO_WORKSPACE`: it records into its
    workspace over HTTP (``MLWS_WORKSPACE`` is a URL; its keeper sets ``MLWS_VM`` and
    ``MLWS_VM_WORKSPACE``, see :mod:`jupyter_mlws.vms.keeper`), so the workspace's pages are on
    the workspace's own server.  None elsewhere."""
    if not str(env.get("MLWS_WORKSPACE") or "").startswith(("http://", "https://")):
        return None
    vm, name = env.get("MLWS_VM"), env.get("MLWS_VM_WORKSPACE")
    where = f"notebook VM {vm!r}" if vm else "a machine that reaches its workspace over HTTP"
    of = f" of workspace {name!r}" if name else ""
    page = env.get("MLWS_VM_WORKSPACE_URL")
    there = f" ({page})" if page else ""
    return (f"this JupyterLab is {where}{of}: its notebooks record into that workspace (%load_ext "
            "jupyter_mlws, mlws.Workspace.open()), and the workspace's pages (runs, compute, "
            f"secrets, ...) are on the workspace's own JupyterLab{there}, where you opened this "
            "VM from")


class WorkspaceServerApp(ServerApp):
    """The Jupyter server of ``mlws server``: no contents, files, kernels or terminals APIs.

    A team server shares the workspace, not the machine: nobody reads the server's files or
    runs code on it through Jupyter.  Sign-in, status, events and the workspace API remain.
    """

    default_services = ("api", "auth", "security", "shutdown", "events")

    @default("contents_manager_class")
    def _contents_manager_class_default(self):
        return _NoFilesContentsManager


class _NoFilesContentsManager(AsyncLargeFileManager):
    """No ``/files/`` route (the one route a contents manager adds beside the contents API)."""

    def get_extra_handlers(self):
        return []

    def info_string(self):
        """What the server logs at start in place of "Serving notebooks from local directory":
        it serves none."""
        return "Serving the workspace's page and API only (no files, notebooks, kernels or terminals)"


class MlwsApp(ExtensionApp):
    """Serve a workspace: its page at ``{base_url}mlws/``, its API under ``{base_url}mlws/api/``."""

    name = "jupyter_mlws"
    description = "A self-hosted machine-learning workspace: its web page and REST API"
    extension_url = "/mlws/"
    # launched on its own (mlws server), it serves the workspace page and API and nothing else
    load_other_extensions = False
    serverapp_class = WorkspaceServerApp

    workspace = Unicode(
        "", config=True,
        help="The workspace folder (default: $MLWS_WORKSPACE, else the server's root folder).")
    enforce_roles = Bool(
        False, config=True,
        help="Apply workspace roles per signed-in user (a team server, JupyterHub). Off, every "
             "authenticated Jupyter user acts as the workspace's owner (a personal server).")
    poll_interval = Float(
        1.0, config=True, help="Seconds between looks for changes of runs and endpoints (live events).")
    scheduler = Bool(
        True, config=True,
        help="Run the workspace's scheduler (VM start/stop schedules, idle shutdown, scheduled "
             "runs) in this server. Any number of schedulers may watch one workspace: each tick "
             "is acted on once.")

    # -- setup -----------------------------------------------------------------------

    def initialize_settings(self):
        self._ws = None
        self._ws_lock = threading.Lock()
        self._watch_task = None
        self._scheduler = None
        self._scheduler_task = None
        from .authorizer import install
        from .status import register_schemas

        register_schemas(self.serverapp.event_logger)  # the live events
        # a server checking roles runs its users' code: none of its credentials go with it
        from ..compute import local

        local.STRICT_RUN_ENV = bool(self.enforce_roles)

        # workspace roles decide mlws:* resources (and the events stream), after the server's authorizer
        self._authorizer = install(self)
        # a run's token signs in as that run, on the workspace's API only (beside the server's sign-in)
        from .identity import install as install_run_tokens

        install_run_tokens(self)

    def initialize_handlers(self):
        from .routes import handlers
        from .page import page_handlers

        self.handlers.extend(handlers() + page_handlers())

    async def _start_jupyter_server_extension(self, serverapp):
        # one poll loop per server, started once the event loop runs
        self._watch_task = asyncio.create_task(self._watch())
        if self.scheduler:
            self._scheduler_task = asyncio.create_task(self._start_scheduler())

    async def _start_scheduler(self) -> None:
        """Start the scheduler host once the workspace opens (looked for every 10 s)."""
        from ..scheduler import Scheduler

        while True:
            try:
                ws = await asyncio.to_thread(self.open_workspace)
                self._scheduler = await asyncio.to_thread(Scheduler, ws)
                self._scheduler.start()
                return
            except E.MlwsError:
                await asyncio.sleep(10.0)  # no workspace yet
            except Exception:
                self.log.exception("jupyter_mlws: the scheduler could not start")
                return

    async def stop_extension(self):
        await _cancel(self._scheduler_task)
        self._scheduler_task = None
        if self._scheduler is not None:
            await asyncio.to_thread(self._scheduler.stop)
            self._scheduler = None
        await _cancel(self._watch_task)
        self._watch_task = None
        if self._ws is not None:
            served_here(self._ws.config.id, "")
            self._ws.close()
            self._ws = None

    # -- the workspace -----------------------------------------------------------------

    def workspace_path(self) -> Path:
        path = self.workspace or os.environ.get("MLWS_WORKSPACE") or self.serverapp.root_dir
        return Path(path).expanduser().absolute()

    def open_workspace(self):
        """The workspace, opened on first use; none is ever created here (blocking: call in a thread)."""
        if self._ws is not None:
            return self._ws
        from ..config import CONFIG_FILE
        from ..workspace import Workspace

        with self._ws_lock:
            if self._ws is None:
                path = self.workspace_path()
                if not (path / CONFIG_FILE).is_file():
                    raise E.NotFound((None if self.workspace else on_a_vm()) or NO_WORKSPACE)
                try:
                    ws = Workspace.open(path)
                except E.InvalidInput as exc:  # a damaged workspace is no client's mistake
                    raise E.Unavailable(str(exc)) from None
                # runs on other machines report to this server (jupyter_mlws.remote.server),
                # those handed over by the processes it starts too (never a server of their own)
                ws.served_at = self.serverapp.connection_url
                served_here(ws.config.id, ws.served_at)
                self._ws = ws
        return self._ws

    # -- roles -----------------------------------------------------------------------

    def role_of(self, user: str, always: bool = False) -> str | None:
        """The workspace role of a Jupyter user (everyone is owner when roles are not enforced,
        unless ``always``: a user's API token has its user's role)."""
        if not (self.enforce_roles or always):
            return OWNER
        return self.open_workspace().access.role_of(user)

    def require_role(self, user: str, action: str, concept: str, doing: str | None = None,
                     always: bool = False) -> None:
        """PermissionDenied unless ``user`` may do ``action`` on ``concept`` (blocking); its
        message names ``doing``, the request refused; ``always``: by the role table even when
        roles are not enforced (a user's API token)."""
        if not (self.enforce_roles or always):
            role_allows(OWNER, action)  # still refuses an unknown action
            return
        self.open_workspace().access.require(user, action, concept, doing)

    # -- run tokens (blocking: call in a thread) ------------------------------------------

    def verify_run_token(self, token: str) -> str:
        """The run a run's token belongs to; PermissionDenied when it is not (or no longer) valid."""
        return self.open_workspace().run_tokens.verify(token)

    def verify_user_token(self, token: str) -> str:
        """The user a user's API token signs in as; PermissionDenied when it is not (or no
        longer) valid (see :mod:`jupyter_mlws.access.tokens`)."""
        return self.open_workspace().access.tokens.verify(token)

    def verify_vm_token(self, token: str) -> tuple[str, str]:
        """``(owner, vm name)`` of a VM's token; PermissionDenied when it is not (or no longer)
        valid (see :mod:`jupyter_mlws.vms.tokens`)."""
        return self.open_workspace().vm_tokens.verify(token)

    def run_token_allows(self, scope_run_id: str, run_id: str | None, fenced: bool,
                         attempt: str | None) -> bool:
        """Whether a token of run ``scope_run_id`` may touch run ``run_id`` (None: the route
        names none); with ``fenced``, Conflict when ``attempt`` is not the attempt executing
        the token's run (see :meth:`jupyter_mlws.executions.Executions.check_attempt`)."""
        ws = self.open_workspace()
        if run_id is not None and not ws.run_tokens.covers(scope_run_id, run_id):
            return False
        if fenced:
            ws.executions.check_attempt(scope_run_id, attempt)
        return True

    # -- notebooks -----------------------------------------------------------------------

    def notebook_path(self, name) -> Path:
        """An existing notebook inside the server's root folder, given relative to it (no
        '..', no URL).  Messages name it as given, never by its path on the server."""
        from ..notebooks import check_local

        if not isinstance(name, str) or not name:
            raise E.InvalidInput('give the notebook as a path inside the server\'s folder: '
                                 '{"notebook": "folder/train.ipynb"}')
        check_local(name)
        if not name.endswith(".ipynb"):
            raise E.InvalidInput(f"{name!r} is not a notebook: only .ipynb files can be submitted "
                                 "or read for parameters")
        return self.server_file(name, "notebook", "folder/train.ipynb")

    def pipeline_path(self, name) -> Path:
        """An existing pipeline definition (``.yaml``/``.yml``) inside the server's root folder,
        given relative to it, as :meth:`notebook_path`."""
        if not isinstance(name, str) or not name.endswith((".yaml", ".yml")):
            raise E.InvalidInput(f"{name!r} is not a pipeline definition: give the path of a "
                                 "pipeline.yaml inside the server's folder")
        return self.server_file(name, "pipeline", "folder/pipeline.yaml")

    def server_file(self, name: str, kind: str, example: str, folder: bool = False) -> Path:
        """An existing file (``folder``: folder) inside the server's root folder, given relative
        to it; ``kind`` and ``example`` word the messages, which name it as given."""
        from ..fsutil import safe_join

        try:
            path = safe_join(self.serverapp.root_dir, name)
        except E.InvalidInput:
            raise E.InvalidInput(f"the {kind} {name!r} is not a path inside the server's folder: "
                                 f"give a relative path such as '{example}'") from None
        if not (path.is_dir() if folder else path.is_file()):
            raise E.NotFound(f"no {kind} {name!r} in the server's folder: give its path "
                             "relative to that folder")
        return path

    def source_notebook(self, record) -> str | None:
        """The notebook a run came from, as a path inside the server's folder (None when the
        run has none, or it is gone or outside the folder: the snapshot still has a copy)."""
        if record.source_type == "session":
            where = record.source_name
        elif record.source_type == "notebook":
            where = record.tags.get("notebook")
        else:
            return None
        if not where or not where.endswith(".ipynb"):
            return None
        path, root = Path(where), Path(self.serverapp.root_dir).resolve()
        if not path.is_absolute():  # older Jupyter servers name the session relative to the root
            path = root / path
        try:
            path = path.resolve()
        except OSError:
            return None
        if not path.is_file() or not path.is_relative_to(root):
            return None
        return path.relative_to(root).as_posix()

    #: the tags a run keeps of where it started on the server's disk (see :meth:`client_run`)
    PATH_TAGS = ("cwd", "notebook")

    def client_run(self, run: dict) -> dict:
        """A run's JSON as a client sees it, with no server path in it (ARCHITECTURE.md,
        security defaults): the path tags (:attr:`PATH_TAGS`) and a session's ``source_name``,
        absolute paths on the server's disk that re-runs and promote read, given relative to
        the server's folder, or as their last part when outside it.  ``run`` is changed and
        returned."""
        if run.get("tags"):
            run["tags"] = self.client_tags(run["tags"])
        if run.get("source_name"):
            run["source_name"] = self.client_path(run["source_name"])
        return run

    def client_tags(self, tags: dict) -> dict:
        """``tags`` with :attr:`PATH_TAGS` as :meth:`client_path` gives them (a new dict)."""
        return {k: self.client_path(v) if k in self.PATH_TAGS else v for k, v in tags.items()}

    def client_path(self, value: str) -> str:
        """An absolute path on the server's disk as a client may see it: relative to the
        server's folder (``.`` for the folder itself), else its last part; anything else as is."""
        if not value or not os.path.isabs(value):
            return value
        path, root = Path(os.path.normpath(value)), Path(self.serverapp.root_dir).resolve()
        if path.is_relative_to(root):
            return path.relative_to(root).as_posix() or "."
        return path.name

    # -- live events (runs, endpoints) ---------------------------------------------------------

    async def _watch(self) -> None:
        from .status import PersonalEvents, publish_changes

        await publish_changes(self.open_workspace, self.serverapp.event_logger.emit,
                              self._authorizer.end_refused_streams, self.poll_interval, self.log,
                              PersonalEvents(self._authorizer.streams_of))


async def _cancel(task) -> None:
    """Cancel an asyncio task (None: nothing) and wait until it ended."""
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


main = launch_new_instance = MlwsApp.launch_instance
