"""Schedules of a workspace (``ws.schedules``): notebooks and pipelines run on a cron.

**Create** checks everything first (the name, the cron and its zone, the file, the parameters,
the compute target, the secrets the owner may give, the webhooks) and stores nothing when one is
wrong.  It then *snapshots* the file: the notebook (a pipeline: its YAML and every step's file)
is kept in the workspace's blob store, and every run executes that snapshot, so a later edit of
the file does not change what runs; :meth:`ScheduleService.update` with the file given again
takes a new snapshot.  A deleted file stops it: its runs fail ``notebook not found`` (see
:mod:`.runner`).

**Roles** (concept ``schedules``): readers list and read schedules and their runs; contributors
create schedules they own; a schedule's owner or a workspace owner change, pause, resume,
trigger and delete it.  Runs execute as the schedule's owner, as checked when it was created or
last updated.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable, Mapping

from .. import run_records as R
from ..access import OWNER
from ..cron import UTC, zone
from ..errors import InvalidInput, NotFound, PermissionDenied
from ..ticks import from_ms, to_ms
from . import spec
from .records import ScheduleRecords
from .runner import ScheduleRunner

#: the fields :meth:`ScheduleService.update` changes
FIELDS = ("notebook", "pipeline", "cron", "tz", "params", "compute", "secrets", "catch_up",
          "retries", "notify", "no_reuse", "force", "paused")
#: how many of its newest runs a schedule shows
LAST_RUNS = 5
#: the owner kind of a schedule's tick claims
KIND = "schedule"
#: seconds a fire (or a retry's due time) still counts as due after it: the ticker claims a tick
#: within its interval (30 s) and the run then starts on the scheduler's pool; once it executes on
#: its target it counts there as a run in flight
DUE_GRACE_S = 300.0


def _me() -> str:
    from ..access import os_user

    return os_user()


class ScheduleService:
    """Create, change, read and trigger the schedules of one workspace.

    Parameters
    ----------
    records : ScheduleRecords
    runner : ScheduleRunner
        Records and starts runs (a trigger's here; the ticks' in the scheduler).
    access, secrets, blobs, tick_claims
        The roles, the secret service (the secrets a run is given are checked for the owner),
        the blob store (snapshots) and the tick claims (forgotten with a schedule).
    notebooks, pipelines, compute : callable
        Built on first use: the file and the compute target are checked through them.
    allow_private : callable
        ``allow_private() -> bool``: webhooks may post to private addresses (mlws.toml).
    clock : callable, optional
        The current time, aware (the next fire times are counted from it).
    """

    def __init__(self, *, records: ScheduleRecords, runner: ScheduleRunner, access, secrets,
                 blobs, tick_claims, notebooks: Callable[[], Any], pipelines: Callable[[], Any],
                 compute: Callable[[], Any], allow_private: Callable[[], bool] = lambda: False,
                 clock: Callable[[], datetime] | None = None):
        self.records, self.runner = records, runner
        self.access, self.secrets, self.blobs, self.tick_claims = access, secrets, blobs, tick_claims
        self._notebooks, self._pipelines, self._compute = notebooks, pipelines, compute
        self.allow_private = allow_private
        self.clock = clock or (lambda: datetime.now(UTC))
        self._words: dict[tuple[str, bool], str] = {}

    # -- who may ----------------------------------------------------------------------------

    def _role(self, user: str | None, action: str, check: bool) -> tuple[str, str]:
        user = _me() if user is None else user
        return user, self.access.require(user, action, "schedules") if check else OWNER

    def _manage(self, row: dict, user: str | None, check: bool) -> str:
        user, role = self._role(user, "write", check)
        if role != OWNER and row["owner"] != user:
            raise PermissionDenied(f"schedule {row['name']!r} belongs to {row['owner']!r}: only "
                                   "its owner or a workspace owner may change, trigger or delete it")
        return user

    # -- creating and changing --------------------------------------------------------------------

    def create(self, name: str, *, notebook: str | Path | None = None,
               pipeline: str | Path | None = None, cron: str, tz: str | None = None,
               params: Mapping[str, Any] | None = None, compute: str | None = None,
               secrets: Iterable[str] = (), catch_up: str = "latest", retries: int = 0,
               notify: Iterable = (), no_reuse: bool = False, force: Iterable[str] = (),
               user: str | None = None, check_actor: bool = True,
               shown: str | None = None) -> dict:
        """Create schedule ``name``: run ``notebook`` (or ``pipeline``, a pipeline.yaml) on
        ``cron``; return it (:meth:`get`) with ``warnings``: what looked wrong but did not stop
        it (a parameter the notebook, or a pipeline's notebook step, does not declare in its
        ``parameters`` cell: passed anyway, as ``mlws run submit`` does).

        Parameters
        ----------
        name : str
            Letters, digits, '.', '_' and '-' (up to 128).
        notebook, pipeline : path
            The file, exactly one of them, snapshotted now.  Its folder is where runs execute
            (its other files as they are at each run).
        cron : str
            Five fields (``"0 6 * * 1-5"``) or an alias (``@daily``), read in ``tz``.
        tz : str, optional
            An IANA zone (default: this machine's).
        params : mapping, optional
            Parameters of every run (a pipeline's: ``name`` or ``STEP.name``).
        compute : str, optional
            The compute target runs execute on (default ``local``).
        secrets : names, optional
            ``NAME`` or ``NAME=ENVVAR``, given to each notebook run as environment variables.
        catch_up : str
            After downtime: ``latest`` (one run standing for the missed ticks), ``skip`` or
            ``all:N`` (the newest N missed ticks, one run each).
        retries : int
            A failed run is run again up to this many times (0 to 10), after 60 s, then twice
            as long each time.
        notify : list
            Webhooks ``{"url": ..., "on": ["failure"] | ["success"] | ["failure", "success"]}``
            (a URL alone: on failure).
        no_reuse, force : optional
            A pipeline schedule's runs run every step (``no_reuse``), or these steps and what
            follows them (``force``), even when unchanged (``mlws pipeline run --no-reuse /
            --force``); by default unchanged steps are reused (a step's ``deps`` make new data
            count as a change).
        user : str, optional
            Who creates and owns it (default: this OS user); ``check_actor=False``: the caller
            checked that user may.
        shown : str, optional
            How the file is named to users (default: as given; an absolute path by its name).

        Raises
        ------
        InvalidInput
            A bad name, cron (naming the field: ``61 * * * *``, a 7-field expression), zone,
            file, parameter, catch-up, retries or webhook.  Nothing is stored.
        NotFound
            No such file, compute target or secret.
        AlreadyExists
            A schedule has the name.
        PermissionDenied
            A reader; a secret the user may not give.
        """
        user, _role = self._role(user, "write", check_actor)
        name = spec.check_name(name)
        kind, path, shown = self._source(notebook, pipeline, shown)
        values = self._settings(cron=cron, tz=spec.local_zone() if tz is None else tz,
                                params=params, compute=compute, secrets=secrets,
                                catch_up=catch_up, retries=retries, notify=notify, kind=kind,
                                no_reuse=no_reuse, force=list(force or []))
        self.records.check_free(name)  # before the file is read
        snapshot, warnings = self._snapshot(kind, path, shown, values, user, check_actor)
        values.update(snapshot)
        now = R.now_ms()
        return {**self._describe(self.records.insert({
            **values, "id": R.new_run_id(), "name": name, "owner": user, "paused": False,
            "created_at": now, "updated_at": now, "since_at": now}), full=True),
            "warnings": warnings}

    def update(self, name: str, *, user: str | None = None, check_actor: bool = True,
               shown: str | None = None, **fields) -> dict:
        """Change schedule ``name``'s fields (those of :meth:`create`, and ``paused``); return
        it, with ``warnings`` as :meth:`create`.  Giving ``notebook`` or ``pipeline`` takes a new
        snapshot (the same file too: the way to run its edits).  A new cron or zone counts its
        ticks from now.  Raises as :meth:`create` (nothing is changed), NotFound,
        PermissionDenied (not its owner or a workspace owner)."""
        unknown = set(fields) - set(FIELDS)
        if unknown:
            raise InvalidInput(f"a schedule has no field {sorted(unknown)[0]!r}: change "
                               f"{', '.join(FIELDS)}")
        row = self.records.get(spec.check_name(name))
        user = self._manage(row, user, check_actor)
        current = {k: row[k] for k in ("cron", "tz", "params", "compute", "secrets", "catch_up",
                                       "retries", "notify")}
        options = row.get("run_options") or {}
        current.update(no_reuse=bool(options.get("no_reuse")), force=options.get("force") or [])
        if fields.get("no_reuse") and "force" not in fields:
            current["force"] = []  # one replaces the other
        if fields.get("force") and "no_reuse" not in fields:
            current["no_reuse"] = False
        current["notify"] = row["notify"]
        given = {k: v for k, v in fields.items() if k not in ("notebook", "pipeline", "paused")}
        kind = ("pipeline" if fields.get("pipeline") is not None else
                "notebook" if fields.get("notebook") is not None else row["kind"])
        if kind == "notebook" and not {"no_reuse", "force"} & set(fields):
            current.update(no_reuse=False, force=[])  # a pipeline's options go with it
        values = self._settings(**{**current, **given}, checked_notify=("notify" not in given),
                                kind=kind)
        if "paused" in fields:
            values["paused"] = _flag(fields["paused"])
        now = R.now_ms()
        if (values["cron"], values["tz"]) != (row["cron"], row["tz"]) \
                or (row["paused"] and values.get("paused") is False):
            values["since_at"] = now  # no catch-up for ticks before the change, or the pause
        warnings: list[str] = []
        if fields.get("notebook") is not None or fields.get("pipeline") is not None:
            kind, path, shown = self._source(fields.get("notebook"), fields.get("pipeline"), shown)
            snapshot, warnings = self._snapshot(kind, path, shown, values, row["owner"],
                                                check_actor)
            values.update(snapshot)
        else:
            if set(given) & {"params", "compute", "secrets"}:  # a pause needs no target
                warnings = self._check_runs(row["kind"], values, row["owner"], check_actor, row)
            if values["run_options"].get("force"):
                from ..pipelines.definition import load

                self._check_force(values, load(self.blobs.read_bytes(row["snapshot"][row["entry"]]),
                                               default_name=Path(row["entry"]).stem,
                                               shown=row["source"]))
        return {**self._describe(self.records.update(row["id"], {**values, "updated_at": now}),
                                 full=True), "warnings": warnings}

    def pause(self, name: str, *, user: str | None = None, check_actor: bool = True) -> dict:
        """Pause schedule ``name``: no tick runs until :meth:`resume` (a retry waits too)."""
        return self.update(name, paused=True, user=user, check_actor=check_actor)

    def resume(self, name: str, *, user: str | None = None, check_actor: bool = True) -> dict:
        """Resume schedule ``name``: its ticks from now on run (none missed while paused)."""
        return self.update(name, paused=False, user=user, check_actor=check_actor)

    def delete(self, name: str, *, user: str | None = None, check_actor: bool = True) -> None:
        """Delete schedule ``name`` (its runs stay, as runs).  NotFound, PermissionDenied."""
        row = self.records.get(spec.check_name(name))
        self._manage(row, user, check_actor)
        self.records.delete(row["id"])
        self.tick_claims.forget(KIND, row["id"])

    def _source(self, notebook, pipeline, shown: str | None) -> tuple[str, Path, str]:
        """``(kind, absolute path, shown name)`` of the file given: exactly one of them."""
        if (notebook is None) == (pipeline is None):
            raise InvalidInput("give the schedule a notebook (--notebook nb.ipynb) or a pipeline "
                               "(--pipeline pipeline.yaml), one of them")
        kind, given = ("notebook", notebook) if notebook is not None else ("pipeline", pipeline)
        from ..notebooks.document import check_local

        if not isinstance(given, (str, Path)) or not str(given):
            raise InvalidInput(f"the {kind} is a path, e.g. "
                               f"{'nb.ipynb' if kind == 'notebook' else 'pipeline.yaml'}")
        check_local(str(given))
        path = Path(given).expanduser().absolute()
        shown = shown or (path.name if Path(given).is_absolute() else str(given))
        suffixes = (".ipynb",) if kind == "notebook" else (".yaml", ".yml")
        if path.suffix not in suffixes:
            raise InvalidInput(f"{shown!r} is not a {kind}: give a "
                               f"{' or '.join(suffixes)} file")
        if not path.is_file():
            raise NotFound(f"no {kind} {shown!r}: give the path of an existing file")
        return kind, path, shown

    def _settings(self, *, cron, tz, params, compute, secrets, catch_up, retries, notify,
                  checked_notify: bool = False, kind: str = "notebook", no_reuse=False,
                  force=()) -> dict:
        """The checked settings (every check that reads no file; a pipeline's ``STEP.NAME``
        parameters are checked against its steps with the file)."""
        schedule = spec.cron_schedule(cron, tz)
        return {"cron": schedule.entries[0].cron.expr, "tz": tz,
                "params": spec.check_params(params, steps=(kind == "pipeline")), "compute": spec.check_compute(compute),
                "secrets": spec.check_secrets(secrets), "catch_up": spec.check_catch_up(catch_up),
                "retries": spec.check_retries(retries),
                "run_options": spec.check_run_options(no_reuse, force, kind),
                "notify": notify if checked_notify else spec.check_notify(notify,
                                                                          self.allow_private())}

    def _snapshot(self, kind: str, path: Path, shown: str, values: dict, owner: str,
                  check_actor: bool) -> tuple[dict, list[str]]:
        """The file checked as a run would take it, and kept: ``({source, source_path, entry,
        snapshot, snapshot_at, experiment, kind}, what to warn of)``: parameters the notebook
        (a pipeline's notebook step) does not declare, passed anyway as ``run submit`` does."""
        project = path.parent
        if kind == "notebook":
            from ..notebooks.document import load_notebook
            from ..notebooks.kernels import resolve
            from ..notebooks.parameters import parameter_warnings

            nb = load_notebook(path, shown)
            resolve(nb.metadata, None, shown)
            warnings = parameter_warnings(nb, values["params"], shown)
            files, experiment = [path.name], path.stem
        else:
            from ..pipelines.definition import load

            pipeline = load(path.read_bytes(), default_name=path.stem, shown=shown)
            warnings = self._pipelines().check(pipeline, project_dir=project,
                                               parameters=values["params"],
                                               compute=values["compute"])
            files, experiment = [path.name, *(s.path for s in pipeline.steps)], pipeline.name
            self._check_force(values, pipeline)
        self._check_runs(kind, values, owner, check_actor)
        snapshot = {rel: self.blobs.put_file(project / rel)[0] for rel in dict.fromkeys(files)}
        return {"kind": kind, "source": shown, "source_path": str(path), "entry": path.name,
                "snapshot": snapshot, "snapshot_at": R.now_ms(), "experiment": experiment}, warnings

    @staticmethod
    def _check_force(values: dict, pipeline) -> None:
        """The steps a pipeline schedule forces are the pipeline's (InvalidInput naming its
        steps)."""
        for step in values["run_options"].get("force") or []:
            pipeline.step(step)

    def _check_runs(self, kind: str, values: dict, owner: str, check_actor: bool,
                    row: dict | None = None) -> list[str]:
        """What each run is given: the compute target exists, the owner may give the secrets
        (a pipeline takes none), a pipeline's parameters are its own.  With ``row`` (new
        parameters, the snapshot kept), what to warn of: parameters its snapshot does not
        declare."""
        if kind == "pipeline" and values["secrets"]:
            raise InvalidInput("a pipeline schedule's runs take no secrets: give them to a "
                               "notebook schedule, or as a compute target's default secrets")
        target = values["compute"] or "local"
        self._compute().target(target)  # NotFound / Unavailable
        self._compute().require_execution(target, owner, check_actor)
        given = self._compute().run_secrets(target, values["secrets"] or None)
        self.secrets.check_bindings(owner, given, check_actor=check_actor)
        if row is not None and kind == "pipeline" and values["params"] != row["params"]:
            from ..pipelines.definition import load

            pipeline = load(self.blobs.read_bytes(row["snapshot"][row["entry"]]),
                            default_name=Path(row["entry"]).stem, shown=row["source"])
            return self._pipelines().check(pipeline, project_dir=Path(row["source_path"]).parent,
                                           parameters=values["params"], compute=values["compute"])
        if row is not None and values["params"] != row["params"]:
            import nbformat

            from ..notebooks.parameters import parameter_warnings

            nb = nbformat.reads(self.blobs.read_bytes(row["snapshot"][row["entry"]]).decode(),
                                as_version=4)
            return parameter_warnings(nb, values["params"], row["source"])
        return []

    # -- reading ------------------------------------------------------------------------------

    def get(self, name: str, *, user: str | None = None, check_actor: bool = True,
            hour12: bool = False) -> dict:
        """Schedule ``name`` as every face shows it: ``name, kind, source, cron, tz,
        description`` (the cron in words), ``next`` (the next 5 fire times, ISO 8601 with the
        zone's offset; [] while paused), ``params, compute, secrets, catch_up, retries,
        notify`` (URLs with their path and query hidden), ``paused, owner, created, updated,
        snapshot_at`` (ms), ``source_state`` (``unchanged``, ``changed``: edited since its
        snapshot, which is what runs; ``missing``: its runs fail) and ``last_runs`` (the newest
        5, as :meth:`runs`).  ``hour12``: the description on a 12-hour clock (``At 06:00
        AM``).  NotFound."""
        self._role(user, "read", check_actor)
        return self._describe(self.records.get(spec.check_name(name)), full=True, hour12=hour12)

    def list(self, *, user: str | None = None, check_actor: bool = True,
             hour12: bool = False) -> list[dict]:
        """Every schedule by name, as :meth:`get` without ``source_state``."""
        self._role(user, "read", check_actor)
        last = self.records.last_runs(LAST_RUNS)
        return [self._describe(row, last=last.get(row["id"], []), hour12=hour12)
                for row in self.records.list()]

    def runs(self, name: str, limit: int = 20, *, user: str | None = None,
             check_actor: bool = True) -> list[dict]:
        """Schedule ``name``'s runs, newest first (``limit`` 1 to 1000): ``id`` (the run's;
        None for a retry not started), ``status`` (the run's; ``waiting`` for that retry,
        ``due`` then says when), ``nominal`` (the tick it is for, ISO 8601 in the schedule's
        zone; a trigger's time), ``ticks`` (the ticks it stands for, after downtime more than
        one: the newest 100) and ``tick_count``, ``trigger`` (tick or manual), ``attempt`` (0,
        then 1.. for retries) and ``retry_of`` (the run retried), ``started``/``ended`` (ms),
        ``error``, ``held`` (a waiting retry of a paused schedule: it starts once the schedule
        resumes, whatever ``due`` says).  NotFound."""
        self._role(user, "read", check_actor)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise InvalidInput(f"limit is an integer from 1 to 1000, got {limit!r}")
        row = self.records.get(spec.check_name(name))
        return [run_view(link, row["tz"], row["paused"])
                for link in self.records.runs(row["id"], limit)]

    def preview(self, cron: str, tz: str | None = None, n: int = spec.NEXT_SHOWN, *,
                hour12: bool = False) -> dict:
        """``{"description": the cron in words, "next": [the next n fire times, ISO 8601]}``
        (n 1 to 100; ``hour12``: the words on a 12-hour clock); raises the InvalidInput
        :meth:`create` would for a bad cron or zone."""
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 100:
            raise InvalidInput(f"n is an integer from 1 to 100, got {n!r}")
        schedule = spec.cron_schedule(cron, spec.local_zone() if tz is None else tz)
        return {"description": self._description(schedule, hour12),
                "next": spec.next_fires(schedule, self.clock(), n)}

    def next_run_on(self, target: str, now: datetime | None = None) -> datetime | None:
        """When a run of a schedule is next due on compute target ``target`` (e.g. a notebook
        VM's name), aware UTC, or None when no schedule runs there.

        It is the earliest of the next fires of every schedule not paused whose ``compute`` is
        ``target`` (a pipeline schedule's steps execute there too) and of their retries waiting
        to start.  A fire or retry due at most :data:`DUE_GRACE_S` before ``now`` (default: the
        clock) still counts: its run may not have reached its target yet.  What keeps a notebook
        VM awake (:mod:`jupyter_mlws.vms.idle`)."""
        target = spec.check_compute(target)
        if target is None:  # this machine: no schedule's runs keep a VM awake
            return None
        floor = (self.clock() if now is None else now) - timedelta(seconds=DUE_GRACE_S)
        rows, retry = self.records.on_target(target, to_ms(floor))
        found = [] if retry is None else [from_ms(retry)]
        for row in rows:
            schedule = self.runner.schedule_of(row["cron"], row["tz"])
            if schedule is not None:
                found += [f.at for f in schedule.next(floor)]
        return min(found, default=None)

    def _description(self, schedule, hour12: bool = False) -> str:
        key = (schedule.entries[0].cron.expr, hour12)
        if key not in self._words:
            self._words[key] = spec.describe(schedule, hour12)
        return self._words[key]

    def _describe(self, row: dict, *, last: list[dict] | None = None, full: bool = False,
                  secret_urls: bool = False, hour12: bool = False) -> dict:
        schedule = self.runner.schedule_of(row["cron"], row["tz"])
        out = {"name": row["name"], "kind": row["kind"], "source": row["source"],
               "cron": row["cron"], "tz": row["tz"],
               "description": self._description(schedule, hour12) if schedule else row["cron"],
               "next": [] if row["paused"] or schedule is None
               else spec.next_fires(schedule, self.clock()),
               "params": row["params"], "compute": row["compute"], "secrets": row["secrets"],
               "catch_up": row["catch_up"], "retries": row["retries"],
               "source_missing": not Path(row["source_path"]).is_file(),  # a stat: cheap
               "no_reuse": bool((row.get("run_options") or {}).get("no_reuse")),
               "force": list((row.get("run_options") or {}).get("force") or []),
               "notify": [{"url": n["url"] if secret_urls else spec.redact_url(n["url"]),
                           "on": n["on"]} for n in row["notify"]],
               "paused": bool(row["paused"]), "owner": row["owner"],
               "created": row["created_at"], "updated": row["updated_at"],
               "snapshot_at": row["snapshot_at"]}
        if full:
            out["source_state"], out["source_changed"] = self._source_state(row)
            last = self.records.runs(row["id"], LAST_RUNS)
        out["last_runs"] = [run_view(link, row["tz"], row["paused"]) for link in last or []]
        return out

    def _source_state(self, row: dict) -> tuple[str, list[str]]:
        """``(state, files)``: ``missing`` (the file is gone), ``changed`` (with the snapshot's
        files edited or gone since, named as the schedule's file is: ``pipe/prep.py``) or
        ``unchanged``."""
        project = Path(row["source_path"]).parent
        if not Path(row["source_path"]).is_file():
            return "missing", [row["source"]]
        folder = PurePosixPath(row["source"]).parent
        changed = []
        for rel, sha256 in row["snapshot"].items():
            try:
                # notebooks, scripts and YAML: small files, read whole
                same = hashlib.sha256((project / rel).read_bytes()).hexdigest() == sha256
            except OSError:
                same = False
            if not same:
                changed.append(str(folder / rel))
        return ("changed" if changed else "unchanged"), changed

    def notified(self, row: dict) -> dict:
        """A schedule as the notifications take it: :meth:`get`'s fields, webhook URLs whole."""
        return self._describe(row, last=[], secret_urls=True)

    # -- running now -------------------------------------------------------------------------------

    def trigger(self, name: str, *, user: str | None = None, check_actor: bool = True) -> dict:
        """Run schedule ``name`` now, outside its cron (also while paused); return the run (as
        :meth:`runs`): queued, or failed saying why it could not start (its notebook deleted).
        NotFound, PermissionDenied."""
        row = self.records.get(spec.check_name(name))
        self._manage(row, user, check_actor)
        recorded = self.runner.record_manual(row["id"])
        self.runner.start(recorded)
        link = next(link for link in self.records.runs(row["id"], 50)
                    if link["run_id"] == recorded["run_id"])
        return run_view(link, row["tz"], row["paused"])


def run_view(link: dict, tz: str, paused: bool = False) -> dict:
    """A schedule's run as the faces show it (see :meth:`ScheduleService.runs`); ``paused``:
    its schedule is, so a waiting retry is ``held`` (it starts once the schedule resumes)."""
    where = zone(tz)
    waiting = link["run_id"] is None
    return {"id": link["run_id"], "status": "waiting" if waiting else link["status"],
            "nominal": spec.iso(from_ms(link["nominal_at"]), where),
            "ticks": [spec.iso(from_ms(t), where) for t in link["ticks"]],
            "tick_count": link["tick_count"], "trigger": link["origin"],
            "attempt": link["attempt"], "retry_of": link["retry_of"],
            "started": None if waiting else link["start_time"],
            "ended": None if waiting else link["end_time"],
            "error": None if waiting else link["error"],
            "due": spec.iso(from_ms(link["due_at"]), where) if waiting else None,
            "held": waiting and bool(paused)}


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"paused is true or false, got {value!r}")
    return value
