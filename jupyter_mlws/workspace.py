"""The workspace: the one composition root of every service.

``Workspace.create(path)`` makes a workspace directory; ``Workspace.open()``
opens one (see :mod:`jupyter_mlws.config` for how it is found).  Every face,
the SDK, the CLI, the server and the widgets, calls these methods.

The Workspace builds each service once, in ``__init__`` (the heavy ones on first
use), gives it its collaborators explicitly, and closes them; its methods hand
work to those services by run id.  It holds no persistence of its own: SQL lives
in the services and ``store/``, bytes in the :class:`~jupyter_mlws.store.blobs.BlobStore`.
"""

from __future__ import annotations

import dataclasses
import os
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

from . import config as C
from .access import AccessService
from .artifacts import ArtifactService
from .errors import AlreadyExists, Conflict, InvalidInput, NotFound, Unavailable
from .models import ModelRegistry
from .run import Run
from .runs import LIVE, RunService
from .artifact_store import open_blob_store
from .store.blobs import BlobStore
from .tracking import ENV_RUN_ID, Experiment, RunList, Tracking

#: seconds between two checks, while waiting for a run, of the target it executes on
TARGET_CHECK_S = 5.0

__all__ = ["ENV_RUN_ID", "Experiment", "RunList", "Workspace"]


class Workspace:
    """A workspace: experiments, runs and their artifacts in one place.

    Use :meth:`create` or :meth:`open`; close it (or use ``with``) when done.
    """

    def __init__(self, cfg: C.WorkspaceConfig):
        from .store import migrations
        from .store.db import Database

        self.config = cfg
        self.db = Database(cfg.metadata_url, cfg.root)
        try:
            migrations.upgrade(self.db, create=False)
        except BaseException:
            self.db.dispose()
            raise
        # every service is built here, once, with its collaborators given explicitly
        self.runs = RunService(self.db, heartbeat_timeout=cfg.heartbeat_timeout)
        self.blobs: BlobStore = open_blob_store(cfg)  # a folder, or object storage (s3://...)
        self.blobs.remove_stale_temps()  # uploads killed mid-way (only dead writers' files)
        self.artifacts = ArtifactService(self.runs, self.blobs, cfg.root / "live",
                                         max_file_bytes=int(cfg.upload_max_mb) * 1024 * 1024)
        self.access = AccessService(self.db)
        self.secrets = _secret_service(cfg, self.db, self.access)
        # a version an endpoint serves cannot be deleted
        self.models = ModelRegistry(self.db, self.runs, self.blobs,
                                    in_use=lambda ref: self.endpoints.serving(ref),
                                    datasets=lambda: self.datasets)
        self.tracking = Tracking(self.runs, self.artifacts, self.models, cfg, owner=self)
        self.runs.on_killed.append(self._keep_what_a_killed_run_left)
        self._notebooks = None  # built on first use: see the notebooks property
        self._compute = None  # built on first use: see the compute property
        self._endpoints = None  # built on first use: see the endpoints property
        #: the base URL this process serves the workspace at (set by the Jupyter server
        #: extension), which runs elsewhere report to (see jupyter_mlws.remote.server)
        self.served_at: str | None = None

    # -- creating and opening ---------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | os.PathLike = ".",
        *,
        name: str | None = None,
        metadata: str | None = None,
        artifacts: str | None = None,
        heartbeat_interval: float = 5.0,
        heartbeat_timeout: float = 60.0,
    ) -> "Workspace":
        """Create a workspace in ``path`` (created if missing) and open it.

        ``metadata`` is a SQLAlchemy URL (default: ``mlws.db`` SQLite in the
        folder); ``artifacts`` a folder for blobs (default ``artifacts/``) or an object store's
        URL (``s3://BUCKET/PREFIX[?endpoint_url=...]``, ``gs://...``, ``abfs://...``: see
        :mod:`jupyter_mlws.artifact_store`), which is reached before the workspace is created
        (Unavailable when it cannot be; InvalidInput for a URL that is refused).
        """
        from .store import migrations
        from .store.db import Database

        root = Path(path).expanduser().absolute()
        if artifacts is not None and C.is_store_url(artifacts):
            from .artifact_store import location

            artifacts = location(artifacts).url  # checked before anything is created
        elif artifacts is not None:
            artifacts = str(Path(artifacts).expanduser().absolute())
        if heartbeat_timeout <= heartbeat_interval:
            raise InvalidInput("heartbeat_timeout must be longer than heartbeat_interval")
        cfg = C.WorkspaceConfig(root=root, name=name or root.name or "workspace",
                                metadata=metadata, artifacts=artifacts,
                                heartbeat_interval=heartbeat_interval,
                                heartbeat_timeout=heartbeat_timeout)
        if (root / C.CONFIG_FILE).exists():
            raise AlreadyExists(f"a workspace already exists at {str(root)!r}: open it instead")
        if metadata is None and (root / C.DB_FILE).exists():
            raise Conflict(f"{str(root / C.DB_FILE)!r} exists without a workspace config: "
                           "move it away or restore the workspace's mlws.toml")
        if cfg.artifacts_url:
            from .artifact_store import check_reachable

            check_reachable(cfg.artifacts_url)
        root.mkdir(parents=True, exist_ok=True)
        db = Database(cfg.metadata_url, root)
        try:
            migrations.upgrade(db, create=True)
        finally:
            db.dispose()
        C.write_new(cfg)
        return cls(cfg)

    @classmethod
    def open(cls, path: str | os.PathLike | None = None) -> "Workspace":
        """Open the workspace at ``path``, ``$MLWS_WORKSPACE`` or above the current directory.

        A missing or damaged workspace is an error, and nothing is created.  A workspace
        server's URL (``http(s)://...``, given or in ``MLWS_WORKSPACE``) is reached over HTTP
        with the token in ``MLWS_TOKEN``: see :meth:`connect`.
        """
        where = path if path is not None else os.environ.get(C.ENV_WORKSPACE)
        if C.is_url(where):
            return cls.connect(str(where), os.environ.get(C.ENV_TOKEN) or None,
                               attempt=os.environ.get(C.ENV_ATTEMPT) or None)
        root = C.find_root(path)
        cfg = C.load(root)
        if cfg.metadata is None and not (root / C.DB_FILE).is_file():
            raise InvalidInput(
                f"the workspace at {str(root)!r} has lost its database {C.DB_FILE}: "
                "restore it from a backup")
        return cls(cfg)

    @staticmethod
    def connect(url: str, token: str | None = None, *, timeout: float = 30.0,
                attempt: str | None = None):
        """The workspace served at ``url`` (any Jupyter server with the extension, or ``mlws
        server``), reached over HTTP with ``token``: a user's Jupyter token (its workspace role
        applies), or a run's token (see :mod:`jupyter_mlws.run_tokens`).

        Returns a :class:`~jupyter_mlws.remote.workspace.RemoteWorkspace`: ``experiment(...)
        .start_run()`` and the run handle's calls work as on a local workspace (metrics are
        buffered and sent in batches), and so do ``get_run``, ``search_runs`` and
        ``list_experiments`` for a user.  ``timeout``: seconds a request may take.  Raises
        Unavailable (naming the URL, never the token) when the server cannot be reached,
        PermissionDenied when it refuses the token.  ``attempt``: the attempt of a run executed
        elsewhere this process works for (``MLWS_ATTEMPT``; see :mod:`jupyter_mlws.executions`).
        """
        from .remote.workspace import RemoteWorkspace

        return RemoteWorkspace.connect(url, token, timeout=timeout, attempt=attempt)

    def close(self) -> None:
        """End this process's runs and release the database."""
        if "schedules" in self.__dict__:  # scheduled runs this process is starting
            self.schedules.runner.join(timeout=60)
        self.tracking.end_all()
        if self._compute is not None:
            self._compute.close()
        self.db.dispose()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Workspace {self.config.name!r} at {str(self.root)!r}>"

    @property
    def root(self) -> Path:
        return self.config.root

    @property
    def name(self) -> str:
        return self.config.name

    def describe(self) -> dict:
        """What the workspace is and holds."""
        exps = self.runs.list_experiments()
        return {
            "name": self.name, "id": self.config.id, "path": str(self.root),
            "metadata": _redact(self.config.metadata_url),
            "artifacts": _shown_artifacts(self.config),
            "experiments": len(exps), "runs": sum(e["runs"] for e in exps),
            "heartbeat_interval": self.config.heartbeat_interval,
            "heartbeat_timeout": self.config.heartbeat_timeout,
        }

    # -- experiments and runs ---------------------------------------------------

    def experiment(self, name: str) -> Experiment:
        """The experiment ``name`` (created by its first run)."""
        from .limits import check_key

        return Experiment(self.tracking, check_key(name, "experiment"))

    def list_experiments(self) -> list[dict]:
        """Experiments with their run counts."""
        return self.runs.list_experiments()

    def _keep_what_a_killed_run_left(self, run_id: str) -> None:
        """Store the live files of a run marked killed on it: a notebook run's executed notebook
        (its artifact, as far as it ran) and its logs.  Should that fail, the live files stay,
        and still read as the run's logs."""
        from .errors import MlwsError

        try:
            self.notebooks.keep_live_notebook(run_id)
            self.artifacts.store_live_logs(run_id)
        except (MlwsError, OSError, ValueError):
            pass

    def get_run(self, run_id: str) -> Run:
        """The run with this id (or a unique prefix of 4+ characters)."""
        return self.tracking.get(run_id)

    def search_runs(
        self,
        filter_string: str | None = None,
        *,
        experiments: Sequence[str] | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> "RunList":
        """Runs matching a filter such as ``"metrics.acc > 0.9 and params.model = 'rf'"``.

        Returns one page (a list of :class:`Run`) whose ``next_page_token``
        fetches the next page, None at the end.
        """
        return self.tracking.search(filter_string, experiments=experiments, order_by=order_by,
                                    max_results=max_results, page_token=page_token)

    def compare_runs(self, run_ids: Sequence[str]) -> dict:
        """Params and last metrics of several runs side by side."""
        return self.tracking.compare(run_ids)

    def run_logs(self, run_id: str, name: str | None = None, tail: int | None = None) -> dict[str, bytes]:
        """The logs of a run (stored, or live while it runs); with ``tail``, each log's last bytes."""
        return self.tracking.logs(run_id, name, tail=tail)

    def follow_logs(self, run_id: str, name: str | None = None, *, interval: float = 0.5,
                    ) -> Iterator[tuple[str, bytes]]:
        """Yield ``(log name, bytes)`` as a run's logs grow, from their start, until the run has
        ended and all of it is read (``tail -f`` for a run; a run that ended yields its logs)."""
        return self.tracking.follow_logs(run_id, name, interval=interval)

    def runs_exists(self, run_id: str) -> bool:
        """Whether a run with exactly this id is recorded."""
        try:
            return self.runs.get(run_id).id == run_id
        except NotFound:
            return False

    def attach_run(self, run_id: str) -> Run:
        """A logging handle on a running run started elsewhere (e.g. by ``mlws run start``)."""
        return self.tracking.attach(run_id)

    def start_session_run(self, notebook: str, *, kernel: str = "unknown",
                          cwd: str | os.PathLike | None = None) -> Run:
        """Start the session run of this kernel (what ``%load_ext jupyter_mlws`` records cells
        on); see :meth:`Tracking.start_session`."""
        return self.tracking.start_session(notebook, kernel=kernel, cwd=cwd)

    def run_command(self, command: Sequence[str], *, experiment: str = "default",
                    name: str | None = None, tags: Mapping | None = None,
                    cwd: str | os.PathLike | None = None, echo: bool = True, snapshot: bool = True,
                    on_warning: Callable[[str], None] | None = None,
                    secrets: Sequence[str] | None = None, compute: str | None = None) -> Run:
        """Execute ``command`` (an argv) as a run of ``experiment`` and wait for it; return the
        ended run (what ``mlws run start`` does).

        The command runs in ``cwd`` (default: the current folder), which is snapshotted unless
        ``snapshot`` is false; it logs to the run through ``MLWS_WORKSPACE`` and ``MLWS_RUN_ID``.
        Its stdout and stderr become the run's logs (and are copied here with ``echo``).
        ``on_warning`` hears, before the command starts, what the user should know (an empty
        snapshot).  The run's ``exit_code`` is the command's status as a shell reports it.
        ``secrets`` (``["NAME", "NAME=ENVVAR"]``) are given to the command as environment
        variables, and masked in its logs and in what is echoed
        (:mod:`jupyter_mlws.secrets.masking`).

        ``compute`` names the compute target it executes on (default ``local``: a child of this
        process).  On another target (an ssh host, a Dask worker) the command executes there,
        in a folder holding the run's snapshot, reporting over HTTP as a notebook run does: its
        output is streamed back (and echoed here), its ``outputs/`` and environment recorded, the
        target's default secrets given (``secrets`` replace them by variable); Ctrl-C here
        cancels it there.  NotFound for no such target (nothing is recorded).
        """
        from .access import os_user
        from . import launcher

        if compute is not None and not self.compute.is_local(compute):
            run_id = self.submit_command(command, experiment=experiment, compute=compute,
                                         name=name, tags=tags, cwd=cwd, snapshot=snapshot,
                                         on_warning=on_warning, secrets=secrets)
            return launcher.follow_command(run_id, tracking=self.tracking, check=self.compute.check,
                                           cancel=self.cancel_run, echo=echo,
                                           check_every=TARGET_CHECK_S)
        return launcher.run_command(command, experiment=experiment, tracking=self.tracking,
                                    runs=self.runs, artifacts=self.artifacts, root=self.root,
                                    name=name, tags=tags, cwd=cwd, echo=echo, snapshot=snapshot,
                                    on_warning=on_warning, secrets=self.secrets,
                                    secret_specs=secrets, actor=os_user())

    def submit_command(self, command: Sequence[str], *, compute: str, experiment: str = "default",
                       name: str | None = None, tags: Mapping | None = None,
                       cwd: str | os.PathLike | None = None, snapshot: bool = True,
                       on_warning: Callable[[str], None] | None = None,
                       secrets: Sequence[str] | None = None, actor: str | None = None,
                       check_actor: bool = True, user: str | None = None) -> str:
        """Record ``command`` as a run handed to compute target ``compute`` (not ``local``) and
        return its id at once (:meth:`run_command` waits for it; see
        :func:`jupyter_mlws.launcher.submit_command`).  ``actor`` (default this OS user) gives
        the ``secrets``, checked unless ``check_actor`` is false; ``user`` (default this OS
        user) is who the run records as its user."""
        from .access import os_user
        from . import launcher

        return launcher.submit_command(
            command, experiment=experiment, target=compute, compute=self.compute,
            tracking=self.tracking, runs=self.runs, artifacts=self.artifacts,
            secrets=self.secrets, name=name, tags=tags, cwd=cwd, snapshot=snapshot,
            on_warning=on_warning, secret_specs=secrets,
            actor=os_user() if actor is None else actor, check_actor=check_actor, user=user)

    # -- secrets ------------------------------------------------------------------

    def get_secret(self, name: str, *, version: int | None = None) -> str:
        """The value of secret ``name`` (its latest version, or ``version``), as text.

        In a run the workspace started (a notebook run, ``mlws run start``; ``MLWS_RUN_ID`` names
        it) only a secret the run was given (``--secret NAME``, ``secrets=[...]``) is read, as
        the run's submitter, so that the run's outputs mask it.  Elsewhere the OS user reads it
        (a contributor or owner), and the audit names the run this process logs to, if any.

        Raises NotFound, Conflict (the secret is deleted), PermissionDenied (a reader; a secret
        the run was not given), Unavailable (the key file is missing or damaged).
        """
        from .access import os_user
        from .run import active_runs

        run_id = os.environ.get(ENV_RUN_ID)
        if run_id and self.runs_exists(run_id):
            return self.secrets.read_in_run(run_id, name, version=version)
        active = active_runs()
        return self.secrets.read(os_user(), name, version=version,
                                 run_id=active[-1].id if active else None)

    # -- what a run's page shows besides its record (built on first use) -----------------

    @cached_property
    def values(self):
        """The lists, tables and images runs logged (see :mod:`jupyter_mlws.values`)."""
        from .values import ValueService

        return ValueService(self.db, self.runs, self.blobs)

    @cached_property
    def run_tokens(self):
        """The tokens runs elsewhere write to the workspace with over HTTP (see
        :mod:`jupyter_mlws.run_tokens`): ``issue(run_id)`` for an executor, ``verify`` for the
        server."""
        from .run_tokens import RunTokens

        return RunTokens(self.db, self.runs)

    @cached_property
    def run_writes(self):
        """What the server's REST write API calls to create and write to runs (see
        :mod:`jupyter_mlws.run_writes`)."""
        from .run_writes import RunWrites

        return RunWrites(self.runs, self.artifacts, self.run_tokens, self.config)

    @cached_property
    def cells(self):
        """The cells session runs recorded (see :mod:`jupyter_mlws.cells`)."""
        from .cells import CellService

        return CellService(self.db, self.runs)

    @cached_property
    def lineage(self):
        """Links between runs and to model versions (see :mod:`jupyter_mlws.lineage`)."""
        from .lineage import LineageService

        return LineageService(self.db, self.runs, datasets=lambda run_id: self.datasets.of_run(run_id))

    # -- datasets (built on first use) ---------------------------------------------------

    @cached_property
    def datasets(self):
        """Versioned datasets with lineage (see :mod:`jupyter_mlws.datasets.service`): register,
        versions, aliases, deletion, and the runs and models that used each version."""
        from .datasets.hashcache import HashCache
        from .datasets.service import DatasetService

        return DatasetService(self.db, self.runs, objects=self._dataset_objects,
                              cache=HashCache(self.root / ".mlws" / "cache" / "file-hashes.db"),
                              mounts=self.root / ".mlws" / "datasets",
                              current_run=self._current_run)

    def dataset(self, ref: str):
        """The dataset version ``NAME`` (latest), ``NAME:VERSION`` or ``NAME@ALIAS`` names, with
        ``.files()``, ``.download(dest)``, ``.mount()``, ``.to_pandas()`` (see
        :class:`~jupyter_mlws.datasets.version.DatasetVersion`).  NotFound saying what exists."""
        return self.datasets.get(ref)

    def _dataset_objects(self, datastore: str):
        """The content-addressed objects of datastore ``datastore`` (NotFound for an unknown
        one; see :meth:`DatastoreService.get <jupyter_mlws.datastores.service.DatastoreService.get>`)."""
        return self.datastores.get(datastore).objects

    def _current_run(self) -> str | None:
        """The run this process logs to: its innermost active run, else the run that started
        it (``MLWS_RUN_ID``), if it belongs to this workspace."""
        from .run import active_runs

        active = active_runs()
        if active:
            return active[-1].id
        run_id = os.environ.get(ENV_RUN_ID)
        return run_id if run_id and self.runs_exists(run_id) else None

    # -- cron ticks and idle shutdown (built on first use) ----------------------------

    @cached_property
    def tick_claims(self):
        """Cron ticks claimed exactly once across processes (see :mod:`jupyter_mlws.ticks`)."""
        from .ticks import TickClaims

        return TickClaims(self.db)

    def ticker(self, *, interval: float = 30.0, clock=None):
        """A new watcher loop over this workspace's tick claims (see :mod:`jupyter_mlws.ticker`):
        register each owner kind's schedules with ``watch``, then ``start()`` it (a server
        extension) or ``run(stop_event)`` it (a standalone process)."""
        from .ticker import Ticker

        return Ticker(self.tick_claims, interval=interval, clock=clock)

    @cached_property
    def schedules(self):
        """Schedules: notebooks and pipelines run on a cron, exactly once per tick (see
        :mod:`jupyter_mlws.schedules.service`).  Built on first use."""
        from .schedules.records import ScheduleRecords
        from .schedules.runner import ScheduleRunner
        from .schedules.service import ScheduleService

        records = ScheduleRecords(self.db)
        runner = ScheduleRunner(db=self.db, records=records, runs=self.runs, blobs=self.blobs,
                                notebooks=lambda: self.notebooks, pipelines=lambda: self.pipelines,
                                compute=lambda: self.compute,
                                snapshot_max_bytes=self.config.snapshot_max_mb * 1024 * 1024)
        return ScheduleService(
            records=records, runner=runner, access=self.access, secrets=self.secrets,
            blobs=self.blobs, tick_claims=self.tick_claims, notebooks=lambda: self.notebooks,
            pipelines=lambda: self.pipelines, compute=lambda: self.compute,
            allow_private=self.webhooks_allow_private)

    def webhooks_allow_private(self) -> bool:
        """``[schedules] webhooks_allow_private`` as the workspace's mlws.toml says now: read at
        every check and every send, so an owner who turns it off stops private webhooks without
        restarting the schedulers.  False when the file cannot be read."""
        from .errors import MlwsError

        try:
            return bool(C.load(self.root).webhooks_allow_private)
        except MlwsError:
            return False

    @cached_property
    def schedule_notices(self):
        """The notices of ended schedule runs: recorded once per run, read by the server's live
        events (see :mod:`jupyter_mlws.schedules.notify`)."""
        from .schedules.notify import ScheduleNotices

        return ScheduleNotices(self.db, self.runs)

    def next_scheduled_run_on(self, target: str, now=None):
        """When a scheduled run is next due on compute target ``target`` (aware, or None): the
        idle rule's "no scheduled run due within T" for a notebook VM, which the VM watchers are
        given (:class:`~jupyter_mlws.vms.watch.VMWatch`); see
        :meth:`ScheduleService.next_run_on <jupyter_mlws.schedules.service.ScheduleService.next_run_on>`."""
        return self.schedules.next_run_on(target, now)

    @cached_property
    def idle_postpones(self):
        """Postponed idle stops, per owner (see :mod:`jupyter_mlws.vms.postpones`)."""
        from .vms.postpones import IdlePostpones

        return IdlePostpones(self.db)

    # -- datastores -------------------------------------------------------------------

    @cached_property
    def datastores(self):
        """Datastores: named places data lives, ``default`` built in (see
        :mod:`jupyter_mlws.datastores.service`).  Built on first use."""
        from .artifact_store import default_datastore
        from .compute.ssh.hostkeys import KNOWN_HOSTS, KnownHosts
        from .datastores import DatastoreService

        return DatastoreService(self.db, access=self.access, secrets=self.secrets,
                                known_hosts=KnownHosts(self.root / KNOWN_HOSTS),
                                default=lambda: default_datastore(self.config),
                                in_use=self._datastore_users)

    def _datastore_users(self, name: str) -> list[str]:
        """The dataset versions living in datastore ``name`` (none while datasets are absent)."""
        if getattr(type(self), "datasets", None) is None:
            return []
        return list(self.datasets.using_datastore(name))

    def move_artifacts(self, url: str, *, on_blob=None) -> dict:
        """Move the workspace's artifacts to ``url`` (an object store, or a folder), then switch
        its config there (see :func:`jupyter_mlws.artifact_store.move_artifacts`)."""
        from .artifact_store import move_artifacts

        return move_artifacts(self, url, on_blob=on_blob)

    # -- models -------------------------------------------------------------------

    def register_model(self, name: str, path: str | os.PathLike | None = None, **options):
        """Register the next version of model ``name`` (see :meth:`ModelRegistry.register`)."""
        return self.models.register(name, path, **options)

    # -- endpoints ----------------------------------------------------------------

    @property
    def endpoints(self):
        """The endpoint service: models served over HTTP (see :mod:`jupyter_mlws.endpoints.service`)."""
        if self._endpoints is None:
            from .endpoints.service import EndpointService

            self._endpoints = EndpointService(self.db, models=self.models, blobs=self.blobs,
                                              root=self.root, keep_env=self.config.store_env)
        return self._endpoints

    def deploy(self, model, name: str, entry_script: str | os.PathLike, **options) -> dict:
        """Serve ``model`` (``"iris:2"``, a ModelVersion, or a list) as endpoint ``name``.

        Creates the endpoint, starts it and waits until it is healthy; returns
        :meth:`EndpointService.show`.  ``options`` are those of
        :meth:`EndpointService.create` (``workers``, ``port``, ``request_timeout``, ...;
        ``timeout``: the seconds to wait, after which it raises Unavailable, the endpoint still
        starting).
        """
        return self.endpoints.create(name, model, entry_script, **options)

    # -- environments ---------------------------------------------------------------

    @cached_property
    def environments(self):
        """Environment specs, and the environments built from them on compute targets (see
        :mod:`jupyter_mlws.environments.service`).  Built on first use."""
        from .environments.service import EnvironmentService
        from .environments.wheels import WheelCache, find_uv

        return EnvironmentService(self.db, places=self._environment_place,
                                  wheels=WheelCache(self.root / ".mlws" / "wheels", find_uv()),
                                  runs=self.runs, artifacts=self.artifacts, root=self.root)

    def _environment_place(self, target: str):
        """Where compute target ``target`` keeps its environments: ``local``, the workspace's
        ``.mlws/environments``; an ssh target, ``WORKDIR/environments`` on its host."""
        from .environments.builder import local_place

        if target == "local":
            return local_place(self.root / ".mlws" / "environments")
        from .errors import NotFound

        try:
            record = self.compute.get(target)
        except NotFound:
            record = None
        if record is not None and record["type"] in ("ssh", "vm"):
            return self._ssh_place(record)
        if record is not None and record["type"] == "dask" and record.get("env") == "build":
            raise InvalidInput(f"runs on dask target {target!r} build their environment on the "
                               "workers' machines themselves (env build), the first time a run "
                               "needs it: nothing is built from here")
        if record is not None and record["type"] == "dask":
            raise InvalidInput(f"runs on dask target {target!r} execute with its workers' own "
                               "Python: environments are not built there (install what the "
                               "notebook needs where the workers run)")
        raise InvalidInput(f"no compute target {target!r} to build environments on: use local or "
                           "an ssh target ('mlws compute list' shows them)")

    def _ssh_place(self, record: dict):
        """Where ssh target ``record`` keeps its environments: ``WORKDIR/environments`` on its
        host, reached through a connection of its own (the environment service closes it when
        the operation that needed it ends: no idle connection stays open)."""
        import posixpath

        from .compute.ssh.shell import SSHShell
        from .environments.builder import Place

        name = record["name"]
        shell = SSHShell(name, lambda: self.compute.connect(name, check_actor=False))
        try:
            root = posixpath.join(shell.absolute(record["workdir"]), "environments")
        except BaseException:
            shell.close()
            raise
        return Place(shell=shell, root=root, python=record["python"],
                     system=record.get("env", "system") != "build")

    # -- compute and notebooks ----------------------------------------------------

    @property
    def compute(self):
        """Where the workspace executes runs: its compute targets by name (``local`` built in;
        ssh hosts, Dask schedulers), built on first use (see :mod:`jupyter_mlws.compute.targets`)."""
        if self._compute is None:
            from .compute.registry import TargetRegistry
            from .compute.ssh.hostkeys import KNOWN_HOSTS, KnownHosts
            from .compute.targets import ComputeService

            from .compute.base import RemoteLaunch
            from .remote.server import ensure_server

            backends = TargetRegistry({"local": {"root": self.root,
                                                 "live_root": self.artifacts.live_root,
                                                 "keep_env": self.config.store_env}})
            launch = RemoteLaunch(
                server_url=lambda: ensure_server(self),
                issue_token=lambda run_id: self.run_tokens.issue(run_id),
                secret_env=lambda run_id: self.secrets.env_for_run(run_id),
                connect=lambda name: self.compute.connect(name, check_actor=False),
                runs=self.runs, root=self.root, live_root=self.artifacts.live_root,
                environments=self.environments)
            self._compute = ComputeService(self.db, access=self.access, secrets=self.secrets,
                                           known_hosts=KnownHosts(self.root / KNOWN_HOSTS),
                                           backends=backends, launch=launch,
                                           vms=lambda: self.vms,
                                           run_as_server=self.config.local_run_as_server)
        return self._compute

    @cached_property
    def vms(self):
        """Notebook VMs: machines made at a provider (libcloud's, or the local one) and reached
        over SSH; also compute targets of type vm (see :mod:`jupyter_mlws.vms.service`).  Built
        on first use."""
        from .compute.ssh.hostkeys import KNOWN_HOSTS, KnownHosts
        from .vms.log_paths import ServerPaths
        from .vms.providers import ProviderRegistry
        from .vms.service import VMService

        folder = self.root / ".mlws" / "vms"
        providers = ProviderRegistry({"local": {"root": folder / "local",
                                                "user": self.config.local_vm_user,
                                                "python": self.config.local_vm_python}})
        return VMService(self.db, access=self.access, secrets=self.secrets, blobs=self.blobs,
                         known_hosts=KnownHosts(self.root / KNOWN_HOSTS), providers=providers,
                         logs=folder / "logs", workspace_id=self.config.id,
                         target_exists=self.compute.has_record,
                         lab=self._vm_lab(),
                         server_paths=ServerPaths(self.root, folder / "local"),
                         require_local=lambda actor, check: self.compute.require_execution(
                             "local", actor, check))

    def _vm_lab(self):
        """JupyterLab on the VMs (:mod:`jupyter_mlws.vms.lab`), None when ``vm_jupyterlab`` is
        false in mlws.toml."""
        from .vms.lab import Lab, environment_python

        wanted = self.config.vm_jupyterlab
        if not isinstance(wanted, bool):
            raise InvalidInput(f"vm_jupyterlab in the workspace's mlws.toml is true or false, got "
                               f"{wanted!r}")
        return Lab(self.root, self.secrets, environment_python(self.environments),
                   self.vm_tokens) if wanted else None

    @cached_property
    def vm_tokens(self):
        """The tokens notebook VMs' kernels record into the workspace with (see
        :mod:`jupyter_mlws.vms.tokens`)."""
        from .vms.tokens import VMTokens

        return VMTokens(self.db)

    @cached_property
    def vm_idle(self):
        """What the idle check last decided per running VM, and postponing a VM's idle stop
        (see :mod:`jupyter_mlws.vms.idle_states`)."""
        from .vms.idle_states import VMIdleStates

        return VMIdleStates(self.root / ".mlws" / "vms" / "idle", vms=self.vms,
                            postpones=self.idle_postpones)

    @cached_property
    def executions(self):
        """Runs executed on other machines, as the workspace server sees them: their job and
        bundle, attempts, cancels, live logs (see :mod:`jupyter_mlws.executions`)."""
        from .executions import Executions

        return Executions(self.db, runs=self.runs, artifacts=self.artifacts,
                          notebooks=lambda: self.notebooks, secrets=self.secrets)

    @property
    def notebooks(self):
        """The notebook service (built on first use: it loads nbformat and jupyter_client)."""
        if self._notebooks is None:
            from .notebooks.service import NotebookService

            self._notebooks = NotebookService(
                db=self.db, runs=self.runs, artifacts=self.artifacts, blobs=self.blobs,
                root=self.root, snapshot_max_bytes=self.config.snapshot_max_mb * 1024 * 1024,
                heartbeat_interval=self.config.heartbeat_interval, compute=self.compute,
                attach_run=self.attach_run, child_reporter=self._sweep_child_reporter,
                secrets=self.secrets, cancel_run=self.cancel_run, datasets=lambda: self.datasets)
        return self._notebooks

    @cached_property
    def pipelines(self):
        """Pipelines: DAGs of notebook and script steps, each reused while its content is
        unchanged (see :mod:`jupyter_mlws.pipelines.service`).  Built on first use."""
        from .pipelines.service import PipelineService

        return PipelineService(db=self.db, runs=self.runs, artifacts=self.artifacts,
                               blobs=self.blobs, notebooks=lambda: self.notebooks,
                               compute=lambda: self.compute,
                               environments=lambda: self.environments,
                               cancel_run=self.cancel_run,
                               heartbeat_interval=self.config.heartbeat_interval,
                               snapshot_max_bytes=self.config.snapshot_max_mb * 1024 * 1024,
                               datasets=lambda: self.datasets)

    @cached_property
    def automl_service(self):
        """Automated ML: FLAML searches as a parent run with a child run per trial, the best
        model registered (see :mod:`jupyter_mlws.automl.service`).  Built on first use."""
        from .automl.service import AutoMLService

        return AutoMLService(runs=self.runs, artifacts=self.artifacts, blobs=self.blobs,
                             models=self.models, datasets=lambda: self.datasets,
                             compute=lambda: self.compute,
                             record_environment=lambda run_id, captured:
                             self.notebooks.record_environment(run_id, "", captured),
                             root=self.root, heartbeat_interval=self.config.heartbeat_interval,
                             host_python=self._host_python)

    def _host_python(self, target: dict, run_id: str) -> str:
        """The interpreter a run executes with on ssh target ``target``'s host (built there
        first with ``env = build``)."""
        from .compute.ssh.runner import python_for

        return python_for(self, target, run_id)

    def automl(self, data: str, target: str, task: str, *, wait: bool = False, **options) -> Run:
        """Start an automated-ML search over tabular dataset version ``data`` (``NAME[:VERSION]``)
        predicting column ``target`` (``task``: classification or regression); return its parent
        run (ended, with ``wait=True``).  ``options``: ``metric``, ``time_budget`` (seconds, or
        ``"10m"``), ``max_trials``, ``seed``, ``estimators``, ``experiment``, ``compute``,
        ``register``, ``model_name`` (see :meth:`AutoMLService.start
        <jupyter_mlws.automl.service.AutoMLService.start>`, which says what is raised).
        ``ws.automl_service.show(run.id)`` is its leaderboard."""
        run_id = self.automl_service.start(data, target, task, wait=wait, **options)
        return self.get_run(run_id)

    @contextmanager
    def _sweep_child_reporter(self, run_id: str):
        """The reporter of one child of a sweep, over connections of its own (called in the
        forked child, which must not use its parent's database connections).

        It opens this workspace afresh rather than building a few services by hand: the
        reporter needs the same graph the Workspace composes (the run service with its
        killed-run hook, which a ``runs.get`` may fire, and that hook's notebook and artifact
        services; the blob store; Tracking's ``attach``), and a second place wiring it would
        drift from this one.  The reporter itself sees only the services it is given.
        """
        with Workspace.open(self.root) as fresh:
            yield fresh.notebooks.reporter(run_id)

    def submit_notebook(self, notebook: str | os.PathLike, parameters: Mapping | None = None, *,
                        grid: Mapping | None = None, max_parallel: int = 2, wait: bool = False,
                        on_progress: Callable[[int, int], None] | None = None,
                        on_submitted: Callable[[Run], None] | None = None,
                        in_process: bool = False, env_check: bool = False, **options) -> Run:
        """Execute a notebook as a run with Papermill, in the background; return the run at once.

        Parameters
        ----------
        notebook : path
            The ``.ipynb`` file.
        parameters : mapping
            Injected after the cell tagged ``parameters``.  The run's params record every
            parameter the cell declares (its default as written, or the value given) and the
            given ones; the tag ``overridden_params`` lists the given names (a JSON list).
        grid : mapping of name to values, optional
            Make a parent run with one child per combination, ``max_parallel`` at a time.
        wait : bool
            Block until the run ends; return it ended.
        on_progress : callable, optional
            With ``wait``: ``on_progress(done, total)`` as cells run (of a sweep: as child
            runs end).
        on_submitted : callable, optional
            Called with the recorded run (and its ``warnings``) before it executes.
        in_process : bool
            With ``wait``: execute in this process instead of a detached one (what ``mlws run
            submit --wait`` does: the kernel starts first and boots while the run is
            recorded).  A sweep then forks, so this process must run no other thread.
        **options
            ``experiment`` (default: the notebook's name), ``kernel``, ``timeout`` (seconds a
            cell may run), ``retries``, ``project_dir`` (the folder snapshotted and run in;
            default: the notebook's), ``name``, ``tags``, ``output`` (a path template inside
            the workspace for a copy of the output notebook, e.g. ``"reports/{run_name}.ipynb"``;
            plain ``{run_name}``, ``{experiment}`` or ``{param}`` fields only, else InvalidInput),
            ``secrets`` (``["NAME", "NAME=ENVVAR"]``: the workspace's secrets given to the
            kernel as environment variables, the default variable being NAME with ``-`` as
            ``_``; masked in the run's logs and outputs; the run records their names only),
            ``compute`` (the compute target the run executes on, default ``local``; a sweep's
            children each execute there; ``in_process`` applies to ``local`` only),
            ``actor`` (who submits, default this OS user: secrets need a contributor or owner),
            ``check_actor`` (False: the caller decided the actor may) and ``user`` (who the run
            records as its user, default this OS user: a server gives its request's user).
        env_check : bool
            First compare the target's environments with the notebook kernel's, as ``mlws run
            submit`` does (:meth:`EnvironmentService.check_submission
            <jupyter_mlws.environments.service.EnvironmentService.check_submission>`): a drift
            becomes one of the run's warnings; a target that cannot be reached raises its
            Unavailable and nothing is recorded (else the run would be recorded, then fail).

        The returned run's ``warnings`` list what looked wrong but did not stop it.
        """
        drift = self._drift(notebook, options) if env_check else None
        run = self._submit_notebook(notebook, parameters, grid=grid, max_parallel=max_parallel,
                                    wait=wait, on_progress=on_progress, on_submitted=on_submitted,
                                    in_process=in_process, **options)
        if drift:
            run.warnings = [*run.warnings, drift]
        return run

    def _drift(self, notebook, options: Mapping) -> str | None:
        """How the submission's target differs from the notebook kernel's, in one sentence
        (None: nothing to say); Unavailable when the target cannot be reached."""
        target = options.get("compute") or "local"
        found = self.environments.check_submission(notebook, options.get("kernel"), target)
        return f"{target}: {found['summary']}" if found.get("summary") else None

    def _submit_notebook(self, notebook, parameters, *, grid, max_parallel, wait, on_progress,
                         on_submitted, in_process, **options) -> Run:
        told = self._told(on_submitted)
        if wait and in_process and self.compute.is_local(options.get("compute") or "local"):
            sub = self.notebooks.execute_here(notebook, parameters, grid=grid,
                                              max_parallel=max_parallel, on_progress=on_progress,
                                              on_submitted=told, **options)
            return self._submitted(sub)
        if grid:
            sub = self.notebooks.submit_grid(notebook, grid, parameters, max_parallel=max_parallel,
                                             **options)
        else:
            sub = self.notebooks.submit(notebook, parameters, **options)
        return self._then(sub, told, wait, on_progress)

    def promote(self, run_id: str, *, wait: bool = False,
                on_progress: Callable[[int, int], None] | None = None,
                on_submitted: Callable[[Run], None] | None = None, **options) -> Run:
        """Turn a session run's cells into a notebook and submit it as a run linked to the session.

        ``wait``, ``on_progress`` and ``on_submitted`` as for :meth:`submit_notebook`.  The
        returned run's ``warnings`` list what looked wrong but did not stop it.
        """
        sub = self.notebooks.promote(run_id, **options)
        return self._then(sub, self._told(on_submitted), wait, on_progress)

    def rerun(self, run_id: str, parameters: Mapping | None = None, *, wait: bool = False,
              on_progress: Callable[[int, int], None] | None = None,
              on_submitted: Callable[[Run], None] | None = None, secrets=None,
              actor: str | None = None, check_actor: bool = True,
              compute: str | None = None, user: str | None = None) -> Run:
        """Re-execute a notebook run from its snapshot, parameters (with overrides), kernel and
        secrets (with ``secrets`` added).

        ``wait``, ``on_progress``, ``on_submitted``, ``secrets``, ``actor``, ``check_actor``,
        ``compute`` (default ``local``) and ``user`` as for :meth:`submit_notebook`.
        """
        sub = self.notebooks.rerun(run_id, parameters, secrets=secrets, actor=actor,
                                   check_actor=check_actor, compute=compute, user=user)
        return self._then(sub, self._told(on_submitted), wait, on_progress)

    def _submitted(self, sub) -> Run:
        """The run of a notebook submission, with its warnings."""
        run = self.get_run(sub.run_id)
        run.warnings = sub.warnings
        return run

    def _told(self, on_submitted: Callable[[Run], None] | None):
        """``on_submitted`` as the notebook service calls it (with its Submission)."""
        return None if on_submitted is None else lambda sub: on_submitted(self._submitted(sub))

    def _then(self, sub, told, wait: bool, on_progress) -> Run:
        """Tell of a submission, wait for it if asked; the run, with its warnings."""
        if told is not None:
            told(sub)
        if wait:
            self.wait(sub.run_id, on_progress=on_progress)
        return self._submitted(sub)

    def wait(self, run_id: str, timeout: float | None = None, poll: float = 0.2,
             on_progress: Callable[[int, int], None] | None = None) -> Run:
        """Block until a run has ended; return it.

        ``on_progress(done, total)`` hears, at each poll, how far it is (cells of a notebook
        run, ended children of a sweep).  A run on another machine's target (a sweep's children
        too) is checked there every few seconds (a target that lost it ends it failed, see
        :meth:`ComputeService.check <jupyter_mlws.compute.targets.ComputeService.check>`).
        Raises Unavailable after ``timeout`` seconds.
        """
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        checked = time.monotonic()
        while True:
            record = self.runs.get(run_id)
            if record.status in LIVE and time.monotonic() - checked > TARGET_CHECK_S:
                checked = time.monotonic()
                for run in [record, *self.runs.children(record.id)]:  # a sweep's children too
                    if run.status in LIVE:
                        self.compute.check(run.id)
                record = self.runs.get(run_id)
            if on_progress is not None:  # also once it ended: the last child or cell counts
                on_progress(*self.notebooks.done(record.id))
            if record.status not in LIVE:
                return self.tracking.handle(record)
            if deadline is not None and time.monotonic() > deadline:
                raise Unavailable(f"run {record.id} is still {record.status} after {timeout:g} s")
            time.sleep(poll)

    def cancel_run(self, run_id: str, grace: float = 15.0) -> Run:
        """Stop a queued or running run and mark it canceled.

        A run the workspace started (a notebook, a sweep, ``mlws run start``)
        has its process group stopped, kernel included: SIGTERM, then SIGKILL
        after ``grace`` seconds.  A notebook or command run on another machine's target is
        asked to stop (its executor hears it on its heartbeat, stops its kernel or command and
        ends the run, keeping what it made); after ``grace`` seconds its target stops what is
        left.  A run a user's own process is logging to is
        only marked canceled: its process is not ours to stop.
        """
        from .compute.local import LocalTarget

        record = self.runs.get(run_id)
        if record.status not in LIVE:
            raise Conflict(f"run {record.id} has already ended ({record.status})")
        target, data = self.compute.target_of(record.id)
        if record.source_type in ("notebook", "command") and not self.compute.is_local(target):
            # its executor elsewhere is asked to stop, ends the run and keeps what it made
            from .compute.base import Handle

            self.executions.cancel(record.id, self.compute.target(target),
                                   Handle(target, record.id, data or {}), grace,
                                   keep=self._keep_what_a_killed_run_left)
            return self.get_run(run_id)
        self.runs.end(record.id, "canceled", "canceled by the user")
        if record.source_type in ("notebook", "sweep", "command", "pipeline", "automl"):
            handle = LocalTarget.handle(record.id, self.runs.process_of(record.id))
            self.compute.target("local").cancel(handle, grace)
        if record.source_type == "pipeline":  # its orchestrator stops its steps; if it is gone:
            for child in self.runs.children(record.id):
                if child.status in LIVE:
                    try:
                        self.cancel_run(child.id, grace)
                    except Conflict:
                        pass  # it ended meanwhile
        return self.get_run(run_id)

    # -- maintenance --------------------------------------------------------------

    def backup(self, dest: str | os.PathLike) -> Path:
        """Copy the workspace to ``dest`` consistently, even while runs are writing.

        The database is copied with SQLite's online backup API; blobs are
        immutable once written, so copying them is safe.
        """
        if not self.db.is_sqlite:
            raise Unavailable("backup copies SQLite workspaces; back up PostgreSQL with pg_dump")
        dest = Path(dest).expanduser().absolute()
        if dest.exists() and any(dest.iterdir()):
            raise Conflict(f"backup destination {str(dest)!r} is not empty: choose a new folder")
        dest.mkdir(parents=True, exist_ok=True)
        self.db.backup_to(dest / C.DB_FILE)
        self.blobs.copy_to(dest / "artifacts" / "blobs")
        # its secrets' key too (0600): without it the copy's secrets could not be read
        self.secrets.vault.keyfile.copy_to(dest / C.SECRETS_KEY)
        # the copy is a workspace of its own: its database, artifacts and key in its folder
        C.write_new(dataclasses.replace(self.config, root=dest, metadata=None, artifacts=None,
                                        secrets_key=None))
        return dest

    # -- the change feed ------------------------------------------------------------

    @cached_property
    def changes(self):
        """What changed since a cursor: runs and endpoints (the source of the server's live
        events; see :mod:`jupyter_mlws.watch`).  Built on first use."""
        from .watch import ChangeFeed

        return ChangeFeed(self.db, self.runs, self.artifacts, self.endpoints)


def _secret_service(cfg: C.WorkspaceConfig, db, access):
    """The secret service of a workspace, over its key file (nothing is read until used)."""
    from .fsutil import shown_path
    from .secrets.keyfile import KeyFile
    from .secrets.service import SecretService
    from .secrets.vault import Vault

    path = cfg.secrets_key_path
    keyfile = KeyFile(path, shown=f"({shown_path(path, cfg.root)} of the workspace)")
    return SecretService(db, access=access, vault=Vault(keyfile),
                         retention_days=cfg.secret_retention_days,
                         vm_secrets=lambda: _vm_secrets(db))


def _vm_secrets(db) -> dict[str, str]:
    """``{secret name: VM name}`` of the secrets made for the workspace's notebook VMs."""
    from .vms.records import VMRecords
    from .vms.secret_names import vm_secrets

    return vm_secrets(VMRecords(db).list(deleted=True))


def _shown_artifacts(cfg: C.WorkspaceConfig) -> str:
    """Where artifacts live, as shown: a folder, or an object store's URL without its query."""
    if cfg.artifacts_url:
        from .datastores.urls import shown_url

        return shown_url(cfg.artifacts_url)
    return str(cfg.artifact_root)


def _redact(url: str) -> str:
    """A database URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}" if ":" in creds else url
    return url
