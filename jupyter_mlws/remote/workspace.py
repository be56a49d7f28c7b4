"""A workspace served by a Jupyter server (the extension, or ``mlws server``), used over HTTP.

The composition root of the remote side: it builds the HTTP client, the run store over it and
the same :class:`~jupyter_mlws.tracking.Tracking` a local workspace builds, so that a run
started here behaves as one started on the store (buffered metrics, heartbeats, children, the
status rules at exit); and one client-side object per service a team's user reaches through
the server (``compute``, ``secrets``, ``environments``, ``models``, ``access``, and what a run's page reads:
``values``, ``cells``, ``lineage``), with the local services' method names and return shapes,
so that the CLI and the SDK call ``ws.<service>.<method>`` whichever way the workspace is
reached.  What is not offered over HTTP raises :class:`~jupyter_mlws.errors.LocalOnly` naming
it (the CLI turns it into one line naming the command).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable, Mapping, Sequence

from ..errors import InvalidInput, LocalOnly, PermissionDenied, Unavailable
from ..limits import check_key
from ..run import Run
from ..run_records import LIVE
from ..tracking import Experiment, RunList, Tracking
from .access import RemoteAccess
from .client import Client
from .compute import RemoteCompute
from .environments import RemoteEnvironments
from .registry import RemoteRegistry
from .run_views import RemoteCells, RemoteLineage, RemoteValues
from .secrets import RemoteSecrets
from .store import RemoteArtifacts, RemoteRuns, record_of


@dataclass
class RemoteSettings:
    """What :class:`Tracking` reads of a workspace's config, as the server tells it."""

    heartbeat_interval: float
    snapshot_max_mb: int


class RemoteWorkspace:
    """A workspace at a server's URL.  Obtain one with :meth:`Workspace.connect
    <jupyter_mlws.workspace.Workspace.connect>`; close it (or use ``with``) when done.

    Attributes
    ----------
    url : str
        The server's base URL, as messages show it.
    run_id : str or None
        The run a run's token is scoped to (None with a user's token).
    """

    def __init__(self, client: Client, settings: dict):
        self.client = client
        self.url = client.url
        self.run_id = settings.get("run_id")
        self.runs = RemoteRuns(client)
        self.artifacts = RemoteArtifacts(client, settings.get("upload_max_bytes"))
        self.models = RemoteRegistry(client)
        self.tracking = Tracking(self.runs, self.artifacts, self.models,
                                 RemoteSettings(float(settings["heartbeat_interval"]),
                                                int(settings["snapshot_max_mb"])), owner=self)
        self.compute = RemoteCompute(client)
        self.access = RemoteAccess(client)
        self.secrets = RemoteSecrets(client)
        self.environments = RemoteEnvironments(client)
        self.values = RemoteValues(client)
        self.cells = RemoteCells(client)
        self.lineage = RemoteLineage(client)

    def __getattr__(self, attr: str):
        """What a local workspace has and this one does not offer over HTTP: LocalOnly."""
        if attr.startswith("_"):
            raise AttributeError(attr)
        raise LocalOnly(f"ws.{attr}", self.url)

    @classmethod
    def connect(cls, url: str, token: str | None = None, *, timeout: float = 30.0,
                attempt: str | None = None) -> "RemoteWorkspace":
        """Reach the server at ``url`` with ``token`` and read its settings (one request):
        Unavailable when it cannot be reached, PermissionDenied when it refuses the token.
        ``attempt``: the attempt of a run executed elsewhere this process works for (a kernel
        of a remote run: ``MLWS_ATTEMPT``)."""
        client = Client(url, token, timeout=timeout, attempt=attempt)
        try:
            settings = client.call("GET", ("tracking",))
        except BaseException:
            client.close()
            raise
        return cls(client, settings)

    def close(self) -> None:
        """End the runs this process started here and still logs to, then disconnect."""
        try:
            self.tracking.end_all()
        finally:
            self.artifacts.close()
            self.client.close()

    def __enter__(self) -> "RemoteWorkspace":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RemoteWorkspace {self.url}>"

    @property
    def name(self) -> str:
        return self.url

    def describe(self) -> dict:
        """What the workspace is and holds, as its server tells it: ``name, url, id, metadata``
        (the store's kind), ``experiments, runs``, the heartbeat settings, ``you`` (``user
        (role)``) and ``roles_enforced``.  Never a path of the server."""
        info = self.client.call("GET", ("workspace",))
        you = info.pop("you", None) or {}
        return {"name": info.pop("name", None), "url": self.url, **info,
                "you": f"{you.get('user') or '-'} ({you.get('role') or 'no role'})"}

    # -- the SDK's calls -------------------------------------------------------------------

    def experiment(self, name: str) -> Experiment:
        """The experiment ``name`` (created by its first run)."""
        return Experiment(self.tracking, check_key(name, "experiment"))

    def list_experiments(self) -> list[dict]:
        """Experiments with their run counts (a user's token)."""
        return self.runs.list_experiments()

    def get_run(self, run_id: str) -> Run:
        """The run with this id (or a unique prefix of 4+ characters)."""
        return self.tracking.get(run_id)

    def search_runs(self, filter_string: str | None = None, *, experiments: Sequence[str] | None = None,
                    order_by: Sequence[str] | None = None, max_results: int = 100,
                    page_token: str | None = None) -> RunList:
        """Runs matching a filter, one page (see :meth:`Workspace.search_runs
        <jupyter_mlws.workspace.Workspace.search_runs>`; a user's token)."""
        return self.tracking.search(filter_string, experiments=experiments, order_by=order_by,
                                    max_results=max_results, page_token=page_token)

    def compare_runs(self, run_ids: Sequence[str]) -> dict:
        """Params and last metrics of several runs side by side."""
        return self.tracking.compare(run_ids)

    def attach_run(self, run_id: str) -> Run:
        """A logging handle on a queued or running run started elsewhere (a queued one is
        marked running): what ``mlws.current_run()`` gives a process the workspace started."""
        return self.tracking.attach(run_id)

    @cached_property
    def datasets(self):
        """The workspace's datasets (:class:`~.datasets.RemoteDatasets`: ``get``, ``list``,
        ``versions``, ``show``, ``files``, aliases, ``delete``); versions are mounted into
        :func:`dataset_cache` on this machine."""
        from .datasets import RemoteDatasets

        return RemoteDatasets(self.client, mounts=dataset_cache(), current_run=self._current_run)

    @cached_property
    def notebooks(self):
        """Submissions' input checks: over HTTP the server checks a submission's input when it
        receives it (its 400 names the mistake), so :meth:`check_input` here checks nothing."""
        return _ServerChecksInput()

    def dataset(self, ref: str):
        """The dataset version ``NAME`` (latest), ``NAME:VERSION`` or ``NAME@ALIAS`` names, with
        ``.files()``, ``.open(path)``, ``.download(dest)``, ``.mount()``, ``.to_pandas()`` as on
        a local workspace (its files streamed from the server, each checked against its
        sha256).  Within a run (one started here, or with a run's token) the read is recorded on
        it.  NotFound saying what exists."""
        return self.datasets.get(ref)

    def _current_run(self) -> str | None:
        """The run this process logs to here: its innermost active run started on this
        workspace, else the run of this workspace's token."""
        from ..run import active_runs

        mine = [run for run in active_runs() if run.workspace is self]
        return mine[-1].id if mine else self.run_id

    def start_session_run(self, notebook: str, *, kernel: str = "unknown",
                          cwd: str | os.PathLike | None = None) -> Run:
        """Start the session run of this kernel over HTTP (what ``%load_ext jupyter_mlws``
        records cells on, e.g. in the JupyterLab of a notebook VM): created with
        ``POST experiments/NAME/runs``, its cells and metrics sent in the run's batches; see
        :meth:`Workspace.start_session_run <jupyter_mlws.workspace.Workspace.start_session_run>`."""
        return self.tracking.start_session(notebook, kernel=kernel, cwd=cwd)

    def run_logs(self, run_id: str, name: str | None = None, tail: int | None = None) -> dict[str, bytes]:
        """The logs of a run (stored, or live while it runs); with ``tail``, each log's last bytes."""
        return self.tracking.logs(run_id, name, tail=tail)

    def follow_logs(self, run_id: str, name: str | None = None, *, interval: float = 1.0):
        """Yield ``(log name, bytes)`` as a run's logs grow, until it has ended and all of it
        is read (see :meth:`Workspace.follow_logs <jupyter_mlws.workspace.Workspace.follow_logs>`)."""
        return self.tracking.follow_logs(run_id, name, interval=interval)

    def register_model(self, name: str, path=None, **options):
        """Register a run's artifact as the next version of ``name`` (``run=``, ``artifact=``;
        see :meth:`RemoteRegistry.register <.registry.RemoteRegistry.register>`)."""
        return self.models.register(name, path, **options)

    # -- runs the server executes --------------------------------------------------------

    def submit_notebook(self, notebook, parameters: Mapping | None = None, *,
                        grid: Mapping | None = None, max_parallel: int = 2, wait: bool = False,
                        on_progress: Callable[[int, int], None] | None = None,
                        on_submitted: Callable[[Run], None] | None = None,
                        in_process: bool = False, **options) -> Run:
        """Send ``notebook`` (a file here) with its project folder to be executed as a run by
        the server (on its ``local`` target, or ``compute=``); the run, with its ``warnings``.

        As :meth:`Workspace.submit_notebook <jupyter_mlws.workspace.Workspace.submit_notebook>`
        (``wait``, ``on_progress``: child runs of a sweep, ``on_submitted``), except that the
        run always executes where the server puts it (``in_process`` does not apply) and the
        server's user submits it (``actor`` does not apply)."""
        from . import submissions

        for ignored in ("actor", "check_actor", "_kernel"):
            options.pop(ignored, None)
        data = submissions.submit_notebook(self.client, self.tracking.collect_snapshot, notebook,
                                           parameters, grid=grid, max_parallel=max_parallel,
                                           **options)
        return self._then(data, on_submitted, wait, on_progress)

    def rerun(self, run_id: str, parameters: Mapping | None = None, *, wait: bool = False,
              on_progress=None, on_submitted=None, secrets=None, compute: str | None = None,
              **ignored) -> Run:
        """Re-execute a notebook run from its snapshot on the server (see
        :meth:`Workspace.rerun <jupyter_mlws.workspace.Workspace.rerun>`)."""
        body = {"parameters": dict(parameters or {}),
                **({"secrets": list(secrets)} if secrets else {}),
                **({"compute": compute} if compute else {})}
        data = self.client.call("POST", ("runs", run_id, "rerun"), body)
        return self._then(data, on_submitted, wait, on_progress)

    def promote(self, run_id: str, *, wait: bool = False, on_progress=None, on_submitted=None,
                **ignored) -> Run:
        """Turn a session run's cells into a notebook run on the server."""
        data = self.client.call("POST", ("runs", run_id, "promote"), {})
        return self._then(data, on_submitted, wait, on_progress)

    def cancel_run(self, run_id: str, grace: float = 15.0) -> Run:
        """Stop a queued or running run wherever the server executes it, and mark it canceled
        (Conflict when it has ended)."""
        return self._run(self.client.call("POST", ("runs", run_id, "cancel"), {}))

    def wait(self, run_id: str, timeout: float | None = None, poll: float = 1.0,
             on_progress: Callable[[int, int], None] | None = None) -> Run:
        """Block until a run has ended; return it (``on_progress(done, total)``: a sweep's ended
        child runs).  Unavailable after ``timeout`` seconds."""
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            record = self.runs.get(run_id)
            if on_progress is not None and record.source_type == "sweep":  # once ended too
                children = self.runs.children(record.id)
                on_progress(sum(c.status not in LIVE for c in children), len(children))
            if record.status not in LIVE:
                return self.tracking.handle(record)
            if deadline is not None and time.monotonic() > deadline:
                raise Unavailable(f"run {record.id} is still {record.status} after {timeout:g} s")
            time.sleep(poll)

    def run_command(self, command: Sequence[str], *, experiment: str = "default",
                    name: str | None = None, tags: Mapping | None = None, cwd=None,
                    echo: bool = True, snapshot: bool = True,
                    on_warning: Callable[[str], None] | None = None,
                    secrets: Sequence[str] | None = None, compute: str | None = None) -> Run:
        """Execute ``command`` as a run of the workspace and wait for it; the ended run (see
        :meth:`Workspace.run_command <jupyter_mlws.workspace.Workspace.run_command>`).

        Without ``compute`` it executes here, in ``cwd``, logging to the run over HTTP (its
        output is uploaded as the run's logs when it ends).  With ``compute`` (a target of the
        server other than ``local``) the folder is sent with it and it executes there, its
        output streamed back; Ctrl-C cancels it there.  ``secrets`` reach a run on a target
        only: their values never cross HTTP."""
        from .. import launcher
        from . import submissions

        if compute is None:
            if secrets:
                raise InvalidInput("over HTTP, secrets are given to runs executing on a compute "
                                   "target of the server (--compute NAME): their values never "
                                   "reach this machine")
            return launcher.run_command(
                command, experiment=experiment, tracking=self.tracking, runs=self.runs,
                artifacts=self.artifacts, root=self.client.base_url, name=name, tags=tags,
                cwd=cwd, echo=echo, snapshot=snapshot, on_warning=on_warning,
                env={"MLWS_TOKEN": self.client.token} if self.client.token else None)
        if self.compute.is_local(compute):
            raise InvalidInput(f"over HTTP, --compute {compute} would be the server's own machine, "
                               "where commands are not started from elsewhere: leave --compute "
                               "out to run it here, or name an ssh or dask target")
        run_id = submissions.submit_command(self.client, self.tracking.collect_snapshot, command,
                                            compute=compute, experiment=experiment, name=name,
                                            tags=tags, cwd=cwd, snapshot=snapshot,
                                            secrets=secrets, on_warning=on_warning)
        return launcher.follow_command(run_id, tracking=self.tracking, check=lambda _id: None,
                                       cancel=self.cancel_run, echo=echo)

    def _run(self, data: dict) -> Run:
        """The run of a REST answer, with its ``warnings``."""
        run = self.tracking.handle(record_of(data))
        run.warnings = list(data.get("warnings") or [])
        return run

    def _then(self, data: dict, on_submitted, wait: bool, on_progress) -> Run:
        """Tell of a submitted run, wait for it if asked; the run, with its warnings."""
        run = self._run(data)
        if on_submitted is not None:
            on_submitted(run)
        if not wait:
            return run
        ended = self.wait(run.id, on_progress=on_progress)
        ended.warnings = run.warnings
        return ended

    def get_secret(self, name: str, *, version: int | None = None) -> str:
        """Not over HTTP: no route returns a secret's value (PermissionDenied saying what to do)."""
        raise PermissionDenied(
            f"secret {name!r} cannot be read over HTTP: a run on another machine gets the secrets "
            "it was given (--secret NAME[=ENVVAR]) as environment variables; read them with "
            "os.environ")


def dataset_cache() -> Path:
    """Where a workspace reached over HTTP mounts dataset versions on this machine:
    ``$XDG_CACHE_HOME/jupyter_mlws/datasets`` (default ``~/.cache/...``), one read-only folder
    per root hash (the same content, whichever server it came from)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "jupyter_mlws" / "datasets"


class _ServerChecksInput:
    """``ws.notebooks`` of a workspace over HTTP: what the CLI asks before a submission."""

    def check_input(self, notebook, parameters=None, **options) -> None:
        """Nothing here: the server checks the notebook, parameters and options it receives."""
        return None
