"""Where a workspace is and what its config file says.

A workspace is a directory holding ``mlws.toml``.  Its metadata defaults to
``mlws.db`` (SQLite) and its artifacts to ``artifacts/`` beside it; a team sets
``metadata`` to a PostgreSQL URL.  Scripts find the workspace from an explicit
path, else ``MLWS_WORKSPACE``, else by walking up from the current directory.
"""

from __future__ import annotations

import json
import os
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .errors import AlreadyExists, InvalidInput, NotFound, Unavailable

CONFIG_FILE = "mlws.toml"
DB_FILE = "mlws.db"
#: the default key file of the workspace's secrets, inside its folder
SECRETS_KEY = Path(".mlws") / "secrets.key"
ENV_WORKSPACE = "MLWS_WORKSPACE"
#: the run a process started by the workspace logs to
ENV_RUN_ID = "MLWS_RUN_ID"
#: the token a process gives a workspace server reached by URL (``MLWS_WORKSPACE=https://...``)
ENV_TOKEN = "MLWS_TOKEN"
#: the attempt a process executing a run elsewhere works for (see jupyter_mlws.executions)
ENV_ATTEMPT = "MLWS_ATTEMPT"
#: the credentials object stores' SDKs read from the environment (fsspec's s3fs, adlfs, gcsfs)
OBJECT_STORE_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                    "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN",
                    "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_CLIENT_SECRET",
                    "GOOGLE_APPLICATION_CREDENTIALS")
#: the on-disk layout version of the directory (the schema has its own)
FORMAT = 1


@dataclass
class WorkspaceConfig:
    """The parsed ``mlws.toml`` of a workspace directory."""

    root: Path
    name: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    metadata: str | None = None
    artifacts: str | None = None
    heartbeat_interval: float = 5.0
    heartbeat_timeout: float = 60.0
    snapshot_max_mb: int = 300
    #: the secrets' key file (relative to the workspace folder); default .mlws/secrets.key
    secrets_key: str | None = None
    #: days a deleted secret can be recovered before it is purged
    secret_retention_days: float = 7.0
    #: the largest file a run stores (an artifact, a log, a snapshot file), in MB, whichever
    #: way it comes (the SDK on the store, or over HTTP)
    upload_max_mb: int = 5120
    #: the URL of a workspace server serving this workspace that runs on other machines can
    #: reach (a team's server); default: a background server on 127.0.0.1 when one is needed
    server_url: str | None = None
    #: the local VM provider's login user (required when the workspace runs as root: an
    #: unprivileged account; see jupyter_mlws.vms.local_node); default this OS user
    local_vm_user: str | None = None
    #: the interpreter runs on local VMs execute with (default: the one running the workspace)
    local_vm_python: str | None = None
    #: whether notebook VMs run JupyterLab (false: plain machines reached over SSH, e.g. used
    #: only as compute targets; see jupyter_mlws.vms.lab)
    vm_jupyterlab: bool = True
    #: whether schedules' webhooks may reach loopback and private addresses (``[schedules]``
    #: ``webhooks_allow_private = true``: the workspace owner's choice, for receivers on the
    #: same machine or network); link-local and cloud metadata addresses stay refused (see
    #: jupyter_mlws.schedules.webhooks)
    webhooks_allow_private: bool = False
    #: the least role whose runs may execute on the ``local`` target of a server with roles
    #: (``[compute.local]`` ``run_as_server``: ``"owner"``, the default, or ``"contributor"``):
    #: code there executes as the server's own OS account (see
    #: :meth:`jupyter_mlws.compute.targets.ComputeService.require_execution`)
    local_run_as_server: str = "owner"

    @property
    def metadata_url(self) -> str:
        """The SQLAlchemy URL of the metadata store.

        ``metadata = "env:NAME"`` reads it from the environment variable NAME, so a
        password never sits in the workspace folder.
        """
        if self.metadata and self.metadata.startswith("env:"):
            name = self.metadata[4:]
            value = os.environ.get(name)
            if not value:
                raise Unavailable(f"the workspace's metadata URL comes from ${name}, which is not "
                                  "set: export it before opening the workspace")
            return value
        return self.metadata or f"sqlite:///{self.root / DB_FILE}"

    @property
    def store_env(self) -> tuple[str, ...]:
        """The environment variables the workspace's stores are opened with: the metadata URL's
        (``metadata = "env:NAME"``) and, with artifacts on an object store, its SDKs'
        credentials.  A process started for a run keeps these of its starter's credentials
        (:func:`jupyter_mlws.compute.local.run_process_env`): it opens the workspace itself."""
        names = [self.metadata[4:]] if self.metadata and self.metadata.startswith("env:") else []
        if self.artifacts_url:
            names += OBJECT_STORE_ENV
        return tuple(names)

    @property
    def secrets_key_path(self) -> Path:
        """The key file the workspace's secrets are encrypted under (kept apart from the
        database; see :mod:`jupyter_mlws.secrets.keyfile`)."""
        return self.root / (Path(self.secrets_key).expanduser() if self.secrets_key else SECRETS_KEY)

    @property
    def artifacts_url(self) -> str | None:
        """The URL of the object store artifacts live on (``s3://...``), None for a folder."""
        return self.artifacts if self.artifacts and is_store_url(self.artifacts) else None

    @property
    def artifact_root(self) -> Path:
        """Where content-addressed blobs are kept (a relative folder is under the workspace);
        with artifacts on object storage, this machine's local scratch folder (uploads being
        received)."""
        if self.artifacts and not self.artifacts_url:
            return self.root / self.artifacts
        return self.root / "artifacts"

    def to_toml(self) -> str:
        """The file text: one ``[workspace]`` table of plain values."""
        lines = ["# jupyter_mlws workspace", "[workspace]", f"format = {FORMAT}"]
        for key in ("name", "id", "metadata", "artifacts", "secrets_key", "server_url",
                    "local_vm_user", "local_vm_python"):
            value = getattr(self, key)
            if value is not None:
                lines.append(f"{key} = {json.dumps(str(value))}")
        for key in ("heartbeat_interval", "heartbeat_timeout", "snapshot_max_mb",
                    "secret_retention_days", "upload_max_mb"):
            lines.append(f"{key} = {getattr(self, key)!r}")
        if self.webhooks_allow_private:
            lines += ["", "[schedules]", "webhooks_allow_private = true"]
        if self.local_run_as_server != "owner":
            lines += ["", "[compute.local]", f"run_as_server = {json.dumps(self.local_run_as_server)}"]
        return "\n".join(lines) + "\n"


def load(root: Path) -> WorkspaceConfig:
    """Read the config of the workspace at ``root``."""
    path = root / CONFIG_FILE
    if not path.is_file():
        raise NotFound(
            f"no workspace at {str(root)!r} (no {CONFIG_FILE}): "
            "create one with 'mlws workspace create PATH'"
        )
    try:
        document = tomllib.loads(path.read_text())
        data = document["workspace"]
        fmt = int(data.get("format", 1))
    except (tomllib.TOMLDecodeError, KeyError, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"the workspace config {CONFIG_FILE} in {str(root)!r} is damaged ({exc}): "
            "fix the file or restore it from a backup"
        ) from None
    if fmt > FORMAT:
        raise InvalidInput(
            f"the workspace at {str(root)!r} has format {fmt}, newer than this jupyter_mlws "
            f"understands ({FORMAT}): upgrade with pip install -U jupyter_mlws"
        )
    known = {k: data[k] for k in WorkspaceConfig.__dataclass_fields__
             if k in data and k not in ("root", *_OTHER_TABLES)}
    known.update(_schedules_table(document, root))
    known.update(_compute_local_table(document, root))
    return WorkspaceConfig(root=root, **known)


#: settings read from a table of their own, never from ``[workspace]``
_OTHER_TABLES = ("webhooks_allow_private", "local_run_as_server")
#: the roles ``[compute.local]`` ``run_as_server`` may name
RUN_AS_SERVER_ROLES = ("owner", "contributor")


def _schedules_table(document: dict, root: Path) -> dict:
    """The ``[schedules]`` settings of ``mlws.toml`` (only ``webhooks_allow_private``, a
    boolean); InvalidInput naming a bad value."""
    table = document.get("schedules", {})
    allow = table.get("webhooks_allow_private", False) if isinstance(table, dict) else None
    if not isinstance(allow, bool):
        raise InvalidInput(
            f"the workspace config {CONFIG_FILE} in {str(root)!r} sets [schedules] "
            f"webhooks_allow_private to {allow!r}: write true or false")
    return {"webhooks_allow_private": allow}


def _compute_local_table(document: dict, root: Path) -> dict:
    """The ``[compute.local]`` settings of ``mlws.toml`` (only ``run_as_server``: ``"owner"`` or
    ``"contributor"``); InvalidInput naming a bad value."""
    compute = document.get("compute", {})
    table = compute.get("local", {}) if isinstance(compute, dict) else None
    role = table.get("run_as_server", "owner") if isinstance(table, dict) else None
    if role not in RUN_AS_SERVER_ROLES:
        raise InvalidInput(
            f"the workspace config {CONFIG_FILE} in {str(root)!r} sets [compute.local] "
            f"run_as_server to {role!r}: write \"owner\" (the default) or \"contributor\"")
    return {"local_run_as_server": role}
def rewrite(config: WorkspaceConfig) -> None:
    """Replace the config file of an existing workspace atomically (readers see the old file
    or the new one, never a part)."""
    from .fsutil import atomic_write

    atomic_write(config.root / CONFIG_FILE, config.to_toml().encode())


def is_store_url(value: object) -> bool:
    """Whether ``artifacts`` (or a datastore's place) is a URL (``s3://...``), not a folder."""
    return isinstance(value, str) and "://" in value


def write_new(config: WorkspaceConfig) -> None:
    """Write the config of a new workspace; refuse to overwrite one."""
    config.root.mkdir(parents=True, exist_ok=True)
    path = config.root / CONFIG_FILE
    try:
        with open(path, "x") as f:
            f.write(config.to_toml())
    except FileExistsError:
        raise AlreadyExists(
            f"a workspace already exists at {str(config.root)!r}: open it instead"
        ) from None


def find_root(path: str | os.PathLike | None = None) -> Path:
    """The workspace directory for ``path``, ``$MLWS_WORKSPACE`` or the current directory.

    An explicit path or the variable must name a workspace; otherwise the
    current directory and its parents are searched.
    """
    explicit = path if path is not None else os.environ.get(ENV_WORKSPACE)
    if is_url(explicit):
        raise InvalidInput(
            f"{shown_url(str(explicit))} is a workspace server's URL, and this needs a workspace "
            "folder: give its path, or reach the server from Python with Workspace.connect(URL)")
    if explicit:
        root = Path(explicit).expanduser().absolute()
        if not (root / CONFIG_FILE).is_file():
            load(root)  # raises the clear "no workspace" error
        return root
    here = Path.cwd()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    raise NotFound(
        "no workspace found in the current directory or its parents: pass --workspace PATH, "
        f"set {ENV_WORKSPACE}, or create one with 'mlws workspace create PATH'"
    )


def run_env(root: str | os.PathLike, run_id: str) -> dict[str, str]:
    """The environment variables of a process working for run ``run_id`` of the workspace at
    ``root`` (a command, a kernel), so that code in it logs to that run."""
    return {ENV_WORKSPACE: str(root), ENV_RUN_ID: run_id}


def is_url(where: object) -> bool:
    """Whether ``where`` (a path, or ``MLWS_WORKSPACE``) names a workspace server by URL."""
    return isinstance(where, str) and where.lower().startswith(("http://", "https://"))


def shown_url(url: str) -> str:
    """A URL as messages show it: scheme, host, port and path; never credentials or a query
    (a token given in it stays out of every message and log)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the workspace server's URL"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{port}{parts.path}"
