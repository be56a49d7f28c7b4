"""Endpoints: registered models behind a scoring script, served over HTTP and monitored.

An endpoint is a managed server process (:mod:`jupyter_mlws.endpoints.serving`) that outlives
whoever started it.  It holds one or more *deployments* (e.g. ``blue`` and
``green``), each a scoring script plus the model versions it loads, and splits its
traffic between them by weight.  Every scoring call needs one of the endpoint's two
keys; the keys rotate one at a time without a restart.

The store keeps each endpoint's state (``creating``, ``healthy``, ``failed``,
``stopped``), its deployments, restarts, and request statistics in 10-second buckets.

The scoring-script contract is Azure ML's: ``init()`` loads the model from the folder
in ``$MLWS_MODEL_DIR`` (all models: ``$MLWS_MODEL_DIRS``, JSON ``{"name:version":
folder}``), ``run(data)`` returns something JSON can hold.  Module-level
``input_schema`` / ``output_schema`` dicts (a JSON-Schema subset) validate requests and
are published at ``GET /openapi.json``.

Not yet: drift monitoring against a registered training dataset (datasets do not
exist yet; the sampled payloads in ``endpoint_samples`` are what it will compare).
"""

from __future__ import annotations

import ast
import http.client
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..compute import local
from ..fsutil import shown_path
from ..errors import Conflict, EndpointError, InvalidInput, NotFound, PermissionDenied, Unavailable
from . import settings as settings_
from .example import input_example
from .records import EndpointRecords
from .reports import EndpointReports
from .settings import DEFAULT_SETTINGS, check_settings

if TYPE_CHECKING:  # pragma: no cover
    from ..models import ModelRegistry, ModelVersion
    from ..store.blobs import LocalBlobStore
    from ..store.db import Database

CREATING, HEALTHY, FAILED, STOPPED = "creating", "healthy", "failed", "stopped"

#: a server process that has not recorded its pid this long after it was spawned never started
START_GRACE_MS = 30_000


def _now() -> int:
    return int(time.time() * 1000)


#: what a supervisor's command line holds (jupyter_mlws.serving: its earlier name, so that a
#: supervisor started before an upgrade is still recognised, and can be stopped)
_SUPERVISOR_MODULES = (b"jupyter_mlws.endpoints.serving", b"jupyter_mlws.serving")


def _alive(pid: int | None) -> bool:
    """Whether ``pid`` is a live (not zombie) endpoint supervisor on this machine."""
    return local.alive(pid, cmdline=_SUPERVISOR_MODULES)


def _here(row: Mapping) -> bool:
    """Whether the endpoint's server was started on this machine."""
    return row["machine"] == local.this_host()


def check_entry_script(path: str | os.PathLike) -> Path:
    """A readable Python file that defines ``run`` at module level (checked without running it)."""
    script = Path(path).expanduser()
    if not script.is_file():
        raise NotFound(f"no entry script at {shown_path(path)!r}: give the path of your score.py")
    if script.suffix != ".py":
        raise InvalidInput(f"the entry script {script.name!r} must be a .py file")
    try:
        tree = ast.parse(script.read_bytes(), filename=script.name)
    except SyntaxError as exc:
        raise InvalidInput(f"{script.name} line {exc.lineno}: {exc.msg}: fix the script") from None
    names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    names |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
              if isinstance(t, ast.Name)}
    if "run" not in names:
        raise InvalidInput(f"{script.name} defines no run(data) function: the scoring contract is "
                           "init() to load the model and run(data) to score")
    return script


class EndpointService:
    """Create, change, watch and call endpoints.

    Parameters
    ----------
    db : Database
        The metadata store holding the endpoint tables.
    models : ModelRegistry
        Resolves model refs (``iris:2``, ``iris@champion``) and their training statistics.
    blobs : LocalBlobStore
        Stores the scoring scripts (the supervisor materialises them from there).
    root : path
        The workspace folder: endpoints keep their deployments and log under ``root/endpoints``,
        and the supervisor opens the workspace from it.
    """

    def __init__(self, db: "Database", *, models: "ModelRegistry", blobs: "LocalBlobStore",
                 root: str | os.PathLike, keep_env: tuple[str, ...] = ()):
        #: the credentials its serving processes keep (the workspace's stores read them); the
        #: others stay out of their environment (:func:`~jupyter_mlws.compute.local.run_process_env`)
        self.keep_env = keep_env
        self.records = EndpointRecords(db)
        self.reports = EndpointReports(self.records, models)
        self.models = models
        self.blobs = blobs
        self.root = Path(root)

    # -- paths ------------------------------------------------------------------------------

    def endpoint_dir(self, name: str) -> Path:
        """Where the endpoint's materialised deployments and log live."""
        return self.root / "endpoints" / name

    def log_path(self, name: str) -> Path:
        return self.endpoint_dir(name) / "endpoint.log"

    def workers_path(self, name: str) -> Path:
        """Where a running endpoint's supervisor keeps what each worker served (JSON)."""
        return self.endpoint_dir(name) / "workers.json"

    # -- creating -----------------------------------------------------------------------------

    def create(self, name: str, models: Sequence | str | "ModelVersion", entry_script, *,
               deployment: str = "blue", workers: int = 1, host: str = "127.0.0.1",
               port: int | None = None, wait: bool = True, timeout: float = 120.0,
               **settings) -> dict:
        """Create an endpoint serving ``models`` with ``entry_script`` and start it.

        Parameters
        ----------
        name : str
            The endpoint's name.
        models : ref, ModelVersion or a list of them
            ``"iris:2"``, ``"iris@champion"``, ``"iris"`` (latest); the first is ``MLWS_MODEL_DIR``.
        entry_script : path
            The scoring script (``init()`` and ``run(data)``).
        deployment : str
            The first deployment's name (it takes 100 % of the traffic).
        workers : int
            Worker processes sharing the listening socket.
        host, port : str, int
            Where to listen (default 127.0.0.1 and a free port).
        wait : bool
            Block until the endpoint is healthy (returned) or failed (raises Unavailable).
        **settings
            See :data:`DEFAULT_SETTINGS` (``request_timeout``, ``max_body_bytes``, ...).
        """
        from ..models import check_name

        check_name(name, "endpoint name")
        check_name(deployment, "deployment name")
        if not isinstance(workers, int) or not 1 <= workers <= 64:
            raise InvalidInput(f"workers must be an integer from 1 to 64, got {workers!r}")
        if port is not None and not (isinstance(port, int) and 0 <= port <= 65535):
            raise InvalidInput(f"port must be from 1 to 65535, got {port!r}")
        if not host or any(c.isspace() for c in host):
            raise InvalidInput(f"host {host!r} is not an address to listen on")
        conf = check_settings(settings)
        versions = self._versions(models)
        sha, entry_name = self._store_script(entry_script)
        self.records.insert(name, host=host, port=port, workers=workers, settings=conf,
                            deployment=deployment, entry_script=sha, entry_name=entry_name,
                            versions=versions)
        self._spawn(name)
        return self._wait_started(name, timeout) if wait else self.show(name)

    def _versions(self, models) -> list["ModelVersion"]:
        from ..models import ModelVersion

        if isinstance(models, (str, ModelVersion)):
            models = [models]
        models = list(models or [])
        if not models:
            raise InvalidInput("give at least one model to serve: --model NAME:VERSION")
        out = [m if isinstance(m, ModelVersion) else self.models.resolve(str(m)) for m in models]
        refs = [v.ref for v in out]
        if len(set(refs)) != len(refs):
            raise InvalidInput(f"a model is given twice: {', '.join(refs)}")
        return out

    def _store_script(self, entry_script) -> tuple[str, str]:
        """The script's blob and the name a deployment shows it by: its path in the workspace
        folder (``wine/score_wine.py``, what a new deployment is offered again), else its file name."""
        script = check_entry_script(entry_script)
        sha, _size = self.blobs.put_file(script)
        try:
            shown = script.absolute().relative_to(self.root.absolute()).as_posix()
        except ValueError:
            shown = script.name  # outside the workspace: no server path in what is shown
        return sha, shown

    def deploy(self, name: str, deployment: str, models, entry_script, *, traffic: int = 0,
               wait: bool = True, timeout: float = 120.0) -> dict:
        """Add (or replace) a deployment of an endpoint; the running server rolls over to it.

        A new deployment takes ``traffic`` 0 (reach it with the ``x-mlws-deployment``
        header) or 100 (all traffic moves to it once it is healthy); other splits are
        set afterwards with :meth:`set_traffic`.
        """
        from ..models import check_name

        check_name(deployment, "deployment name")
        if traffic not in (0, 100):
            raise InvalidInput("a new deployment takes --traffic 0 or 100; split traffic once it "
                               "is healthy with 'mlws endpoint traffic NAME blue=90 green=10'")
        row = self._row(name)
        versions = self._versions(models)
        sha, entry_name = self._store_script(entry_script)
        self.records.put_deployment(row["pk"], deployment, sha, entry_name, versions)
        running = self._running(self._row(name))
        if wait and running:
            state = self._wait_deployment(name, deployment, timeout)
            if state["state"] == FAILED:
                raise Unavailable(f"deployment {deployment} of endpoint {name} failed to start: "
                                  f"{_with_log_hint(name, state['error'])}; the other deployments "
                                  "keep serving")
        if traffic == 100:
            self.set_traffic(name, {deployment: 100})
        return self.show(name)

    # -- traffic and keys -------------------------------------------------------------------

    def set_traffic(self, name: str, shares: Mapping[str, int]) -> dict:
        """Split traffic between deployments, in whole percents summing to 100.

        Deployments not named get 0 %.
        """
        row = self._row(name)
        deps = {d["name"]: d for d in self._deployment_rows(row["pk"])}
        clean: dict[str, int] = {}
        for dep, share in shares.items():
            if dep not in deps:
                raise NotFound(f"endpoint {name} has no deployment {dep!r}: it has "
                               f"{', '.join(sorted(deps))}")
            try:
                value = int(share)
            except (TypeError, ValueError):
                raise InvalidInput(f"traffic for {dep} must be a whole percent, got {share!r}") from None
            if value != share and str(value) != str(share) or not 0 <= value <= 100:
                raise InvalidInput(f"traffic for {dep} must be a whole percent from 0 to 100, "
                                   f"got {share!r}")
            clean[dep] = value
        total = sum(clean.values())
        if total != 100:
            raise InvalidInput(f"traffic must sum to 100, got {total}: e.g. blue=90 green=10")
        for dep, value in clean.items():
            if value > 0 and deps[dep]["state"] == FAILED:
                raise Conflict(f"deployment {dep} failed to start ({deps[dep]['error']}): "
                               "fix it with 'mlws endpoint deploy' before sending it traffic")
        self.records.set_traffic(row["pk"], deps, clean)
        return self.show(name)

    def keys(self, name: str) -> dict:
        """The endpoint's two keys (either one authorises a call)."""
        row = self._row(name)
        return {"primary": row["primary_key"], "secondary": row["secondary_key"]}

    def regenerate(self, name: str, key: str = "secondary") -> dict:
        """Replace one key; clients of the other keep working, running workers follow within ~1 s."""
        if key not in ("primary", "secondary"):
            raise InvalidInput(f"--key must be primary or secondary, got {key!r}")
        self.records.new_key(self._row(name)["pk"], key)
        return self.keys(name)

    # -- life cycle --------------------------------------------------------------------------

    def _spawn(self, name: str) -> None:
        """Start the supervisor detached: its own session, not our child (it records its pid)."""
        argv = [sys.executable, "-m", "jupyter_mlws.endpoints.serving", str(self.root), name]
        env = local.run_process_env(self.keep_env)  # a scoring script is user code
        env.pop("MLWS_RUN_ID", None)  # not part of a run
        local.spawn_detached(argv, self.log_path(name), env=env)

    def _wait_started(self, name: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        spawned = time.monotonic()
        while True:
            row = self._row(name)
            if row["state"] == HEALTHY:
                return self.show(name)
            if row["state"] in (FAILED, STOPPED):
                if row["pid"] is not None and _alive(row["pid"]) and time.monotonic() < deadline:
                    time.sleep(0.05)  # the failure is final; its supervisor is still shutting down
                    continue
                raise Unavailable(f"endpoint {name} failed to start: "
                                  f"{_with_log_hint(name, row['error'] or 'stopped')}")
            if row["pid"] is None and time.monotonic() - spawned > START_GRACE_MS / 1000:
                self._update_endpoint(row["pk"], state=FAILED, error=_not_started(name, "did not start"))
                continue
            if row["pid"] is not None and not _alive(row["pid"]):
                self._update_endpoint(row["pk"], state=FAILED, pid=None,
                                      error=_not_started(name, "exited while starting"))
                continue
            if time.monotonic() > deadline:
                raise Unavailable(f"endpoint {name} is still starting after {timeout:g} s: watch "
                                  f"'mlws endpoint show {name}' and 'mlws endpoint logs {name}'")
            time.sleep(0.05)

    def _wait_deployment(self, name: str, deployment: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        row = self._row(name)
        while True:
            dep = next((d for d in self._deployment_rows(row["pk"]) if d["name"] == deployment), None)
            if dep is None:
                raise NotFound(f"deployment {deployment} of endpoint {name} was deleted meanwhile")
            if dep["state"] != CREATING:
                return dep
            if not self._running(self._row(name)):
                raise Unavailable(f"endpoint {name} stopped while deploying {deployment}")
            if time.monotonic() > deadline:
                raise Unavailable(f"deployment {deployment} is still starting after {timeout:g} s: "
                                  f"watch 'mlws endpoint show {name}'")
            time.sleep(0.05)

    def _running(self, row: Mapping) -> bool:
        return row["state"] in (CREATING, HEALTHY) and _alive(row["pid"]) and _here(row)

    def stop(self, name: str, grace: float | None = None) -> dict:
        """Stop the server: in-flight calls finish (up to the request timeout), then it exits."""
        row = self._row(name)
        pid = row["pid"]
        if pid and _here(row) and _alive(pid):
            if grace is None:
                grace = self._settings(row)["request_timeout"] + 5
            # SIGTERM to the supervisor only (it drains its workers, which share its process
            # group); once the grace is over, SIGKILL for whatever of the group is left
            local.stop_group(pid, grace, leader_first=True, settle=5.0)
        elif pid and not _here(row):
            raise Unavailable(f"endpoint {name} runs on {row['machine']}: stop it there")
        self._update_endpoint(row["pk"], state=STOPPED, pid=None)
        return self.show(name)

    def start(self, name: str, *, wait: bool = True, timeout: float = 120.0) -> dict:
        """Start a stopped or failed endpoint (same port, same keys)."""
        row = self._row(name)
        if self._running(row):
            raise Conflict(f"endpoint {name} is running: use 'mlws endpoint restart {name}'")
        self._update_endpoint(row["pk"], state=CREATING, error=None, pid=None)
        self.records.reset_deployments(row["pk"])
        self._spawn(name)
        return self._wait_started(name, timeout) if wait else self.show(name)

    def update(self, name: str, *, wait: bool = True, timeout: float = 120.0, **settings) -> dict:
        """Change settings (see :data:`DEFAULT_SETTINGS`); a running endpoint restarts with them
        on the same port and keys."""
        row = self._row(name)
        if not settings:
            raise InvalidInput(f"give a setting to change: {', '.join(DEFAULT_SETTINGS)}")
        conf = check_settings({**self._settings(row), **settings})
        self._update_endpoint(row["pk"], settings=json.dumps(conf))
        if self._running(row):
            return self.restart(name, wait=wait, timeout=timeout)
        return self.show(name)

    def restart(self, name: str, *, wait: bool = True, timeout: float = 120.0) -> dict:
        """Stop the endpoint if it runs, then start it again."""
        self.stop(name)
        return self.start(name, wait=wait, timeout=timeout)

    def delete(self, name: str) -> None:
        """Stop the endpoint and remove it, its deployments and its statistics."""
        import shutil

        row = self._row(name)
        self.stop(name)
        self.records.delete(row["pk"])
        shutil.rmtree(self.endpoint_dir(name), ignore_errors=True)

    def delete_deployment(self, name: str, deployment: str) -> dict:
        """Remove a deployment that takes no traffic; the server rolls over without it."""
        row = self._row(name)
        deps = {d["name"]: d for d in self._deployment_rows(row["pk"])}
        if deployment not in deps:
            raise NotFound(f"endpoint {name} has no deployment {deployment!r}: it has "
                           f"{', '.join(sorted(deps))}")
        if len(deps) == 1:
            raise Conflict(f"{deployment} is the last deployment of {name}: delete the endpoint "
                           f"instead ('mlws endpoint delete {name}')")
        if deps[deployment]["traffic"] > 0:
            others = [d for d in deps if d != deployment]
            hint = f" {others[0]}=100"
            raise Conflict(f"deployment {deployment} takes {deps[deployment]['traffic']} % of the "
                           f"traffic: move it first with 'mlws endpoint traffic {name}{hint}'")
        self.records.delete_deployment(row["pk"], deps[deployment]["pk"])
        return self.show(name)

    # -- reading ----------------------------------------------------------------------------

    def list(self) -> list[dict]:
        """Every endpoint with its state, URL and deployments' traffic."""
        return [self.show(n) for n in self.records.names()]

    def show(self, name: str) -> dict:
        """An endpoint's state, URL, settings, restarts and deployments (never its keys)."""
        row = self._row(name)
        state, error = row["state"], row["error"]
        if state in (CREATING, HEALTHY) and row["pid"] and _here(row) and not _alive(row["pid"]):
            state = FAILED
            error = (f"the server process is gone (killed, or the machine restarted): "
                     f"'mlws endpoint start {name}' starts it again")
        elif state == CREATING and row["pid"] is None and _now() - row["updated_at"] > START_GRACE_MS:
            state = FAILED
            error = _not_started(name, "did not start")
        deps = []
        for d in self._deployment_rows(row["pk"]):
            deps.append({"name": d["name"], "traffic": d["traffic"], "state": d["state"],
                         "error": d["error"], "entry_script": d["entry_name"],
                         "entry_script_sha256": d["entry_script"],
                         "input_example": input_example(self.blobs, d["entry_script"]),
                         "models": [m["ref"] for m in json.loads(d["models"])],
                         "created_at": d["created_at"], "updated_at": d["updated_at"]})
        return {"name": name, "state": state, "error": error, "url": self._url(row),
                "scoring_uri": self._url(row) + "/score" if row["port"] else None,
                "host": row["host"], "port": row["port"], "workers": row["workers"],
                "restarts": row["restarts"], "pid": row["pid"], "created_at": row["created_at"],
                "updated_at": row["updated_at"], "settings": self._settings(row),
                "deployments": deps,
                "worker_status": self._worker_status(name) if state in (CREATING, HEALTHY) else []}

    def _worker_status(self, name: str) -> list[dict]:
        """The running workers, as their supervisor last wrote them (every 2 s): ``slot``,
        ``pid``, ``generation``, ``state`` (starting, serving, draining), ``requests`` (HTTP
        requests answered since the worker started), ``connections`` (open now) and
        ``started_at`` (ms); [] before the first write or elsewhere than the endpoint's machine."""
        try:
            rows = json.loads(self.workers_path(name).read_text())
        except (OSError, ValueError):
            return []
        return rows if isinstance(rows, list) else []

    def _url(self, row: Mapping) -> str | None:
        if not row["port"]:
            return None
        host = row["host"]
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{row['port']}"

    def logs(self, name: str, tail: int | None = 200) -> str:
        """The endpoint's log (supervisor and workers), the last ``tail`` lines."""
        self._row(name)
        return self.log_tail(name, tail)

    def log_tail(self, name: str, lines: int | None = 200) -> str:
        path = self.log_path(name)
        try:
            with open(path, "rb") as f:
                if lines is not None:
                    f.seek(0, os.SEEK_END)
                    f.seek(max(0, f.tell() - max(65536, lines * 400)))
                data = f.read()
        except FileNotFoundError:
            return ""
        text = data.decode("utf-8", "replace")
        if lines is None:
            return text
        return "\n".join(text.splitlines()[-lines:])

    def metrics(self, name: str, since: float = 3600.0, *, deployment: str | None = None,
                buckets: int | None = None) -> dict:
        """Request counts, status codes, errors and latency percentiles over the last ``since`` s,
        with a ``timeline`` of ``buckets`` buckets when given (see :meth:`EndpointReports.metrics`)."""
        return self.reports.metrics(name, since, deployment=deployment, buckets=buckets)

    def samples(self, name: str, limit: int = 100) -> list[dict]:
        """The latest sampled request/response payloads (see :meth:`EndpointReports.samples`)."""
        return self.reports.samples(name, limit)

    def drift(self, name: str, since: float = 3600.0) -> dict:
        """How far each deployment's sampled inputs drift from its model's training data
        (see :meth:`EndpointReports.drift`)."""
        return self.reports.drift(name, since)

    def serving(self, ref: str) -> list[str]:
        """Names of the endpoints whose deployments serve the model version ``NAME:VERSION``,
        or any version of the model ``NAME``; ``NAME@alias`` names none (resolve it first)."""
        from ..models import parse_ref

        model, version, alias = parse_ref(ref)
        return [] if alias is not None else self.records.serving(model, version)

    # -- calling ----------------------------------------------------------------------------

    def invoke(self, name: str, data: Any, *, deployment: str | None = None,
               timeout: float | None = None, raw: bool = False) -> Any:
        """Score ``data`` (a JSON-able value, or JSON text/bytes with ``raw=True``) on the endpoint.

        Uses the endpoint's primary key; ``deployment`` calls one deployment directly.
        Returns the decoded JSON answer.

        Raises
        ------
        InvalidInput, PermissionDenied, NotFound
            The endpoint refused the call (400/413/415, 401, 404).
        Unavailable
            The endpoint is not healthy, did not answer, or is overloaded (503).
        EndpointError
            It answered with an error of its own: ``run()`` raised (500), timed out (504), ...
        """
        row = self._row(name)
        if not row["port"] or row["state"] != HEALTHY:
            raise Unavailable(f"endpoint {name} is {row['state']}: start it with "
                              f"'mlws endpoint start {name}'")
        if raw:
            body = data.encode() if isinstance(data, str) else bytes(data)
        else:
            try:
                body = json.dumps(data, allow_nan=False).encode()
            except RecursionError:
                raise InvalidInput("the data is nested too deeply for JSON: send flatter data") from None
            except (TypeError, ValueError) as exc:
                raise InvalidInput(f"the data is not JSON: {exc}") from None
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {row['primary_key']}"}
        if deployment:
            headers["x-mlws-deployment"] = deployment
        host = row["host"] if row["host"] not in ("0.0.0.0", "::", "") else "127.0.0.1"
        if timeout is None:
            timeout = self._settings(row)["request_timeout"] + 10
        conn = http.client.HTTPConnection(host, row["port"], timeout=timeout)
        try:
            conn.request("POST", "/score", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise Unavailable(f"endpoint {name} did not answer ({exc}): 'mlws endpoint show {name}' "
                              "and 'mlws endpoint logs' tell why") from None
        finally:
            conn.close()
        if response.status == 200:
            return json.loads(payload)
        try:
            message = json.loads(payload)["error"]
        except (ValueError, KeyError, TypeError):
            message = payload[:200].decode("utf-8", "replace")
        kind = {400: InvalidInput, 413: InvalidInput, 415: InvalidInput, 401: PermissionDenied,
                404: NotFound, 503: Unavailable}.get(response.status, EndpointError)
        error = kind(f"endpoint {name} answered {response.status}: {message}")
        error.status = response.status
        raise error

    # -- internals ---------------------------------------------------------------------------

    def _row(self, name: str) -> dict:
        return self.records.row(name)

    def _settings(self, row: Mapping) -> dict:
        return settings_.stored(row["settings"])

    def _deployment_rows(self, endpoint_pk: int) -> list[dict]:
        return self.records.deployments(endpoint_pk)

    def _update_endpoint(self, endpoint_pk: int, **values) -> None:
        self.records.update(endpoint_pk, **values)


def _not_started(name: str, what: str) -> str:
    """The error readers see when the server process never came up (the log, which may
    name server paths, is for contributors: ``mlws endpoint logs``)."""
    return f"the server process {what}: 'mlws endpoint logs {name}' shows why"


def _with_log_hint(name: str, error: str) -> str:
    """``error`` with where to read more, once (the supervisor's own failures say it already)."""
    hint = f"mlws endpoint logs {name}"
    return error if hint in error else f"{error} ('{hint}' shows the log)"
