"""A workspace served by a Jupyter server (the extension, or ``mlws server``), used over HTTP.

The composition root of the remote side: it builds the HTTP client, the run store over it and
the same :class:`~jupyter_mlws.tracking.Tracking` a local workspace builds, so that a run
started here behaves as one started on the store (buffered metrics, heartbeats, children, the
status rules at exit).  What is not offered over HTTP says so when called.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Sequence

from ..errors import PermissionDenied
from ..limits import check_key
from ..run import Run
from ..tracking import Experiment, RunList, Tracking
from .client import Client
from .store import RemoteArtifacts, RemoteModels, RemoteRuns


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
        self.tracking = Tracking(self.runs, self.artifacts, RemoteModels(),
                                 RemoteSettings(float(settings["heartbeat_interval"]),
                                                int(settings["snapshot_max_mb"])), owner=self)

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
