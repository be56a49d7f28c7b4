"""Compute targets as workspace records: named places runs execute, what every face calls.

``local`` (this machine) is built in: always listed, never created or deleted.  Other targets
are created by name with a type and its settings (:mod:`.settings`): ``ssh`` (a host, a login,
the workspace secret holding the private key, the host's pinned key) or ``dask`` (a scheduler's
address).  Creating an ssh target fetches the host's key and pins it once it is confirmed (a
``confirm`` callback, ``accept_host_key``, an expected fingerprint) or given (``host_key``);
nothing is recorded otherwise.  ``test`` checks a target step by step (:mod:`.checks`);
``connect`` opens a verified SSH connection to one (:mod:`.ssh.connection`) for whatever runs
there.

Roles (:mod:`jupyter_mlws.access`): readers list and show targets; contributors and owners
create, delete and test them (a test reads the key's secret, an audited read of its value).
A target with queued or running runs cannot be deleted.

**Code on ``local`` runs as the workspace's own OS account.**  A run on ``local`` executes in a
process of the account that starts it: on a server, the server's account, with its files (the
secrets' key, the workspace's folder) and what its processes hold.  No role check can fence
code running there, so with roles checked (a server with roles enforced) executing someone
else's code on ``local`` is an owner's action, unless the workspace's ``mlws.toml`` opens it to
contributors (``[compute.local] run_as_server = "contributor"``): :meth:`ComputeService.
require_execution`, which every way of starting user code calls (notebook runs, sweeps, re-runs,
commands, pipelines, schedules).  An AutoML search executes no user code (FLAML's own
estimators on a registered CSV or Parquet dataset): contributors start it anywhere.
"""

from __future__ import annotations

import json
from typing import Callable

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import (AlreadyExists, Conflict, InvalidInput, NotFound, PermissionDenied,
                      Unavailable)
from ..run_records import LIVE, now_ms
from ..store import schema as S
from . import settings as T
from .network import DEFAULT_TIMEOUT
from .ssh.hostkeys import HostKey, KnownHosts, known_name, parse_host_key

#: ``confirm(where, key) -> bool``: asks whoever creates a target to accept a host's key
Confirm = Callable[[str, HostKey], bool]
#: the backend each type's runs execute with (a backend not in the registry cannot run work yet)
BACKEND_OF = {T.LOCAL: "local", T.SSH: "ssh", T.DASK: "dask", T.VM: "vm"}
#: a target's default secrets, ``{ENVVAR: NAME}``, kept with its settings (names only)
SECRETS = "secrets"
C, R = S.compute_targets, S.run_compute


def _me() -> str:
    from ..access import os_user

    return os_user()


class ComputeService:
    """The compute targets of one workspace.

    Parameters
    ----------
    db : Database
        The metadata store (tables ``compute_targets``, ``run_compute``; ``runs`` is read).
    access : AccessService
        Decides who may do what (``actor`` below, default this OS user; ``check_actor=False``
        when the caller has decided already, as a personal Jupyter server does).
    secrets : SecretService
        Holds the targets' private keys (by the secret's name).
    known_hosts : KnownHosts
        The workspace's known_hosts file.
    backends : TargetRegistry
        The execution backends (``local``; ``ssh``, ``dask`` where installed).
    launch : RemoteLaunch, optional
        What a target executing runs on other machines is built with (the workspace server's
        URL, run tokens, the runs' secrets).
    timeout : float
        Seconds each network step may take.
    vms : callable, optional
        ``vms()``: the workspace's :class:`~jupyter_mlws.vms.service.VMService`, whose VMs are
        targets of type ``vm`` too (listed, shown, tested, executed on over SSH; created and
        deleted as VMs).
    run_as_server : str
        The least role (``owner`` or ``contributor``) whose code may execute on ``local`` when
        roles are checked (``[compute.local] run_as_server`` in mlws.toml; see
        :meth:`require_execution`).
    """

    def __init__(self, db, *, access, secrets, known_hosts: KnownHosts, backends,
                 launch=None, timeout: float = DEFAULT_TIMEOUT, vms=None,
                 run_as_server: str = "owner"):
        self.db, self.access, self.secrets = db, access, secrets
        #: the least role whose code may execute on ``local`` for it (:meth:`require_execution`)
        self.run_as_server = run_as_server
        self.known_hosts, self.backends, self.timeout = known_hosts, backends, timeout
        self.launch = launch
        self._vms = vms

    def _require(self, actor: str | None, action: str, check: bool) -> str:
        actor = _me() if actor is None else actor
        if check:
            self.access.require(actor, action, "compute")
        return actor

    def require_execution(self, name: str | None, actor: str | None, check_actor: bool) -> None:
        """PermissionDenied unless ``actor`` may have code executed on target ``name`` (None:
        ``local``).  The one rule for code the workspace executes in its own OS account:

        - on a target other than ``local`` (ssh, dask, a vm), or with ``check_actor`` false (the
          caller decided: a personal server, where every signed-in user is the owner), anyone
          who may submit;
        - on ``local``, the OS user this process runs as (its own code in its own account), and
          users whose role is at least :attr:`run_as_server` (``owner`` unless mlws.toml's
          ``[compute.local] run_as_server = "contributor"``).

        Call it before anything is recorded.  NotFound for no such target.
        """
        if not check_actor or self.get(name or T.LOCAL)["type"] != T.LOCAL:
            return
        from ..access import os_user, role_at_least

        actor = _me() if actor is None else actor
        if actor == os_user():
            return
        role = self.access.role_of(actor)
        if role_at_least(role, self.run_as_server):
            return
        has = f"has the role {role}" if role else "has no role in this workspace"
        raise PermissionDenied(
            f"user {actor!r} {has}: running code on the local target executes it as the "
            f"server's own OS account (its files, the workspace's keys and credentials), which "
            f"needs the role {self.run_as_server}; run it on an ssh or dask target instead "
            "(--compute NAME; 'mlws compute list' shows them), or ask an owner to open local "
            "runs to contributors (run_as_server = \"contributor\" in the [compute.local] table "
            "of the workspace's mlws.toml, then restart the server)")

    # -- reading ----------------------------------------------------------------------------

    def list(self) -> list[dict]:
        """Every target, ``local`` first, then by name (see :meth:`get` for the fields)."""
        with self.db.read() as conn:
            rows = conn.execute(select(C).order_by(C.c.name)).mappings().all()
        vms = self._vms().targets() if self._vms is not None else []
        return [_LOCAL, *sorted([*(_describe(r) for r in rows), *vms], key=lambda t: t["name"])]

    def has_record(self, name: str) -> bool:
        """Whether a target other than a VM is named ``name`` (``local`` included)."""
        if name == T.LOCAL:
            return True
        with self.db.read() as conn:
            return conn.execute(select(C.c.pk).where(C.c.name == name)).first() is not None

    def get(self, name: str) -> dict:
        """One target: ``name, type, builtin, created_at, created_by`` and its settings (ssh:
        ``host, user, port, workdir, python, key_secret, env, keepalive, host_key,
        host_key_fingerprint``; dask:
        ``address``).  NotFound when there is none."""
        name = T.check_target_name(name)
        if name == T.LOCAL:
            return {**_LOCAL, SECRETS: {}}
        with self.db.read() as conn:
            row = conn.execute(select(C).where(C.c.name == name)).mappings().first()
        if row is not None:
            return _describe(row)
        vm = self._vms().target(name) if self._vms is not None else None
        if vm is None:
            raise NotFound(f"no compute target {name!r}: 'mlws compute list' shows them")
        return vm

    # -- changing ------------------------------------------------------------------------------

    def create(self, name: str, type: str, *, actor: str | None = None, check_actor: bool = True,
               host_key: str | None = None, accept_host_key: bool = False,
               host_key_fingerprint: str | None = None, confirm: Confirm | None = None,
               secrets=None, **settings) -> dict:
        """Record target ``name`` of ``type`` (``ssh``, ``dask``) with its ``settings``; return
        it (:meth:`get`).  Contributors and owners.

        ``secrets`` (``["NAME", "NAME=ENVVAR"]``, as a run's ``--secret``) are the target's
        default secrets: every run on it is given them (:meth:`run_secrets`).  Only their names
        are recorded; each must exist and not be deleted.

        For ssh, the host's key is pinned: ``host_key`` (``"ssh-ed25519 AAAA..."``) as given,
        without connecting; else the key the host presents now, fetched and then accepted by
        ``accept_host_key``, by matching ``host_key_fingerprint`` (``"SHA256:..."``), or by
        ``confirm(where, key)``.

        Raises
        ------
        InvalidInput
            A bad name, type or setting; an ssh host key nobody accepted
            (:class:`UnconfirmedHostKey`: the message shows its fingerprint and how to accept
            it, its ``details`` the fingerprint alone).
        AlreadyExists
            The name is taken (``local`` included).
        NotFound, Conflict
            ``key_secret`` or one of ``secrets`` names no secret, or a deleted one.
        Conflict
            The host's key does not have the expected fingerprint.
        StepFailed
            The host's key could not be fetched (the step: DNS, TCP connect, SSH handshake).
        PermissionDenied
            A reader (or nobody).
        """
        name = T.check_target_name(name)
        kind = T.check_type(type)
        values = T.settings_for(kind, settings)
        actor = self._require(actor, "write", check_actor)
        if kind != T.SSH and (host_key is not None or accept_host_key or host_key_fingerprint):
            raise InvalidInput("a host key is pinned for ssh targets only")
        self._check_free(name)
        refs = self._secret_refs(secrets)
        if refs:
            values[SECRETS] = refs
        pinned = None
        if kind == T.SSH:
            self._check_key_secret(values["key_secret"])
            pinned = self._host_key(values, host_key, accept_host_key, host_key_fingerprint, confirm)
            self._check_key(values["key_secret"], actor)  # once the key is accepted: a read
        row = {"name": name, "type": kind, "settings": json.dumps(values), "created_at": now_ms(),
               "created_by": actor, "host_key": pinned.text if pinned else None}

        def write(conn) -> None:
            if conn.execute(select(C.c.pk).where(C.c.name == name)).first() is not None:
                raise _taken(name)
            conn.execute(insert(C).values(**row))

        try:
            self.db.transact(write)
        except IntegrityError:
            raise _taken(name) from None
        if pinned is not None:
            self.known_hosts.pin(values["host"], values["port"], pinned)
        return self.get(name)

    def _check_free(self, name: str) -> None:
        if name == T.LOCAL:
            raise _taken(name)
        if self._vms is not None and self._vms().exists(name):
            raise AlreadyExists(f"a notebook vm is named {name!r}, and it is a compute target "
                                "already: choose another name")
        with self.db.read() as conn:
            if conn.execute(select(C.c.pk).where(C.c.name == name)).first() is not None:
                raise _taken(name)

    def _check_key_secret(self, secret: str | None) -> None:
        """The key's secret exists and is not deleted (its value is not read here)."""
        if secret is not None and self.secrets.show(secret)["state"] == "deleted":
            raise Conflict(f"secret {secret!r} is deleted: recover it ('mlws secret recover "
                           f"{secret}') or give another --key-secret")

    def _check_key(self, secret: str | None, actor: str) -> None:
        """The key's secret holds an SSH private key without a passphrase (its value is read, an
        audited read by ``actor``, and never shown): InvalidInput otherwise."""
        if secret is None:
            return
        from .failures import StepFailed
        from .ssh.connection import load_private_key

        try:
            load_private_key(self.secrets.read(actor, secret, check_actor=False), secret, "")
        except StepFailed as exc:
            raise InvalidInput(f"{exc.why}; nothing was created") from None

    def _secret_refs(self, specs) -> dict[str, str]:
        """``--secret NAME[=ENVVAR]`` values as ``{ENVVAR: NAME}``, each naming a live secret
        (only the names are read: NotFound or Conflict otherwise)."""
        from ..secrets.names import parse_bindings

        refs = parse_bindings(specs)
        for secret in sorted(set(refs.values())):
            if self.secrets.show(secret)["state"] == "deleted":
                raise Conflict(f"secret {secret!r} is deleted: recover it ('mlws secret recover "
                               f"{secret}') before a target gives it to its runs")
        return refs

    def update(self, name: str, *, secrets=None, actor: str | None = None,
               check_actor: bool = True, **settings) -> dict:
        """Change target ``name``: its default ``secrets`` (``["NAME", "NAME=ENVVAR"]``, replacing
        the list; empty: none; None: unchanged) and the ``settings`` :data:`UPDATABLE` names
        (ssh: ``python``, ``env``; dask: ``env``; None: unchanged), each checked as
        :meth:`create` checks it; return the target (:meth:`get`).  Contributors and owners.
        Runs submitted from now on use them; runs already submitted keep what they had.

        Raises NotFound (no such target or secret), Conflict (``local``, which is built in; a
        deleted secret), InvalidInput (a bad value, a setting the target's type does not take or
        that cannot change, nothing to change), PermissionDenied.  A refused change changes
        nothing.
        """
        name = T.check_target_name(name)
        self._require(actor, "write", check_actor)
        given = {k: v for k, v in settings.items() if v is not None}
        if name == T.LOCAL:
            raise Conflict("the local target is built in and takes no default secrets or "
                           "settings: give runs on it --secret NAME[=ENVVAR]")
        if not self.has_record(name) and self._vms is not None and self._vms().exists(name):
            raise Conflict(f"compute target {name!r} is a notebook vm: 'mlws compute update' does "
                           "not change it. Runs on it execute with the VM's own Python as it is "
                           "(env system): on a local vm local_vm_python in the [workspace] table "
                           "of mlws.toml (taken when the vm is created), on a cloud vm the "
                           "environment its JupyterLab was built from; give a run its secrets "
                           "with --secret NAME[=ENVVAR]")
        if secrets is None and not given:
            raise InvalidInput("nothing to change: give the target's secrets, or one of "
                               f"{', '.join(UPDATABLE)}")
        refs = None if secrets is None else self._secret_refs(secrets)

        def write(conn) -> None:
            row = conn.execute(select(C).where(C.c.name == name)).mappings().first()
            if row is None:
                raise NotFound(f"no compute target {name!r}: 'mlws compute list' shows them")
            values = {**json.loads(row["settings"]), **_changed(row["type"], given)}
            if refs is not None:
                values.pop(SECRETS, None)
                if refs:
                    values[SECRETS] = refs
            conn.execute(update(C).where(C.c.pk == row["pk"]).values(settings=json.dumps(values)))

        self.db.transact(write)
        return self.get(name)

    def run_secrets(self, name: str | None, specs=None) -> dict[str, str]:
        """The secrets a run on target ``name`` (None: ``local``) is given, as ``{ENVVAR: NAME}``:
        the target's default secrets, and ``specs`` (the run's own ``["NAME", "NAME=ENVVAR"]``),
        which replace a default given as the same variable.  Names only, nothing is read or
        recorded: the caller checks and binds them for its submitter
        (:meth:`SecretService.check_bindings <jupyter_mlws.secrets.service.SecretService.check_bindings>`).

        Raises NotFound (no such target), InvalidInput (a bad binding), and NotFound or Conflict
        naming the target when one of its defaults that the run takes is missing or deleted.
        """
        from ..secrets.names import parse_bindings

        own = parse_bindings(specs)
        defaults = self.get(name or T.LOCAL).get(SECRETS) or {}
        taken = {env: secret for env, secret in defaults.items() if env not in own}
        for secret in sorted(set(taken.values())):
            fix = (f"or change the target's secrets ('mlws compute update {name} --secret "
                   "NAME[=ENVVAR]', or --no-secrets)")
            try:
                state = self.secrets.show(secret)["state"]
            except NotFound:
                raise NotFound(f"compute target {name!r} gives its runs secret {secret!r}, which "
                               f"does not exist: set it ('mlws secret set {secret}') {fix}") from None
            if state == "deleted":
                raise Conflict(f"compute target {name!r} gives its runs secret {secret!r}, which is "
                               f"deleted: recover it ('mlws secret recover {secret}') {fix}")
        return {**taken, **own}

    def _host_key(self, values: dict, given: str | None, accept: bool, expected: str | None,
                  confirm: Confirm | None) -> HostKey:
        """The key to pin for an ssh target: given, or fetched and accepted."""
        if given is not None:
            return parse_host_key(given)
        from .ssh.connection import fetch_host_key

        key = fetch_host_key(values["host"], values["port"], self.timeout)
        where = known_name(values["host"], values["port"])
        if expected is not None:
            if key.fingerprint != expected:
                raise Conflict(f"the host {where} presents an {key.type} key with fingerprint "
                               f"{key.fingerprint}, not the {expected} you confirmed: nothing "
                               "was created; check the host before you create the target again")
            return key
        if accept:
            return key
        if confirm is None:
            raise UnconfirmedHostKey(where, key)
        if not confirm(where, key):
            raise InvalidInput(f"the host key of {where} was not accepted: nothing was created")
        return key

    def delete(self, name: str, *, actor: str | None = None, check_actor: bool = True) -> None:
        """Remove target ``name`` (its host's pin too, unless another target pins that host).
        Contributors and owners.  NotFound; Conflict for ``local`` or while runs are queued or
        running on it."""
        name = T.check_target_name(name)
        self._require(actor, "write", check_actor)
        if name == T.LOCAL:
            raise Conflict("the local target is built in: it cannot be deleted")
        if not self.has_record(name) and self._vms is not None and self._vms().exists(name):
            raise Conflict(f"compute target {name!r} is a notebook vm: delete it with 'mlws vm "
                           f"delete {name}'")

        def write(conn) -> dict:
            row = conn.execute(select(C).where(C.c.name == name)).mappings().first()
            if row is None:
                raise NotFound(f"no compute target {name!r}: 'mlws compute list' shows them")
            live = conn.execute(select(S.runs.c.id).join(R, R.c.run_id == S.runs.c.id)
                                .where(R.c.target == name, S.runs.c.status.in_(LIVE))
                                .order_by(S.runs.c.id).limit(6)).scalars().all()
            if live:
                shown = ", ".join(live[:5]) + (", ..." if len(live) > 5 else "")
                raise Conflict(f"compute target {name!r} has queued or running runs ({shown}): "
                               "wait for them to end, or cancel them ('mlws run cancel RUN'), "
                               "then delete it")
            conn.execute(delete(C).where(C.c.pk == row["pk"]))
            return _describe(row)

        gone = self.db.transact(write)
        if gone["type"] == T.SSH and not self._pinned_elsewhere(gone["host"], gone["port"]):
            self.known_hosts.forget(gone["host"], gone["port"])

    def _pinned_elsewhere(self, host: str, port: int) -> bool:
        return any(t["type"] == T.SSH and (t["host"], t["port"]) == (host, port) for t in self.list())

    # -- runs --------------------------------------------------------------------------------

    def assign(self, run_id: str, name: str, handle: dict | None = None) -> None:
        """Record that run ``run_id`` executes on target ``name`` (with the target's ``handle``,
        JSON-able, to find it again); replaces what was recorded.  NotFound for no such target."""
        name = self.get(name)["name"]
        data = None if handle is None else json.dumps(handle)

        def write(conn) -> None:
            conn.execute(delete(R).where(R.c.run_id == run_id))
            conn.execute(insert(R).values(run_id=run_id, target=name, handle=data,
                                          assigned_at=now_ms()))

        self.db.transact(write)

    def hand_over(self, target, job, runs):
        """Hand ``job`` to ``target`` (a backend from :meth:`target`), recording the handle it
        returns on the run (a target other than ``local``); return the handle.  A target that
        refuses it (an ``MlwsError``: its scheduler or host is out of reach) ends the run
        ``failed`` through ``runs`` (the RunService), saying why, and the error is raised
        saying ``run RUN_ID failed: <why>`` (the run is recorded: its id is what to look at)."""
        from ..errors import MlwsError
        from ..run_records import FAILED

        try:
            handle = target.submit(job)
        except MlwsError as exc:
            reason = f"could not be started on {target.name}: {exc}"
            runs.end(job.run_id, FAILED, reason)
            exc.args = (f"run {job.run_id} failed: {reason}",)  # the run is recorded: name it
            raise
        if target.name != T.LOCAL:
            self.assign(job.run_id, target.name, dict(handle.data))  # {}: handed over, ask it
        return handle

    def target_of(self, run_id: str) -> tuple[str, dict | None]:
        """Where run ``run_id`` executes: ``(target name, handle)``; ``("local", None)`` when
        nothing was recorded."""
        with self.db.read() as conn:
            row = conn.execute(select(R.c.target, R.c.handle).where(R.c.run_id == run_id)).first()
        if row is None:
            return T.LOCAL, None
        return row.target, (json.loads(row.handle) if row.handle else None)

    def targets_of(self, run_ids) -> dict[str, str]:
        """``{run id: the target it executes on}`` for ``run_ids`` (``local`` when nothing was
        recorded), in one query: what a run listing shows (a filter says ``compute = 'NAME'``)."""
        ids = list(run_ids)
        with self.db.read() as conn:
            found = dict(conn.execute(select(R.c.run_id, R.c.target).where(R.c.run_id.in_(ids))).all()) \
                if ids else {}
        return {run_id: found.get(run_id, T.LOCAL) for run_id in ids}

    def close(self) -> None:
        """Close the backends' connections (a Dask target's client)."""
        self.backends.close()

    def check(self, run_id: str) -> str | None:
        """Ask the target run ``run_id`` executes on (not ``local``) how its job is: one of
        :data:`~jupyter_mlws.compute.base.STATES`, None for a run of this machine or not handed
        over yet.  A target that lost the run's job ends the run as it answers: ``failed``, a
        Dask task its scheduler no longer has; ``killed``, an ssh run whose runner died; an
        error reaching it is ``unknown``."""
        from ..errors import MlwsError
        from .base import UNKNOWN, Handle

        name, data = self.target_of(run_id)
        if name == T.LOCAL or data is None:
            return None
        try:
            return self.target(name).poll(Handle(name, run_id, data))
        except MlwsError:
            return UNKNOWN

    def target(self, name: str = T.LOCAL):
        """The execution backend of target ``name`` (a
        :class:`~jupyter_mlws.compute.base.ComputeTarget`; for a target other than ``local``, a
        :class:`~jupyter_mlws.compute.base.RemoteTarget` built for its record).  NotFound for
        no such target; Unavailable for a type whose runs cannot execute with this installation
        (or whose backend cannot be loaded: the message says what to install)."""
        record = self.get(name)
        backend = BACKEND_OF.get(record["type"])
        if backend is None or not self.backends.has(backend):
            raise Unavailable(f"runs cannot execute on {record['type']} targets with this version "
                              "of jupyter_mlws: use the local target")
        if record["type"] == T.LOCAL:
            return self.backends.get(backend)
        if record["type"] == T.VM and record["state"] != "running":
            raise Conflict(f"vm {name!r} is {record['state']}: start it ('mlws vm start {name}') "
                           "before running on it")
        if self.launch is None:
            raise Unavailable("this workspace executes runs on this machine only")
        return self.backends.for_target(backend, record, self.launch)

    def live_elsewhere(self) -> bool:
        """Whether a queued or running run is assigned to a target other than ``local``."""
        with self.db.read() as conn:
            return conn.execute(select(R.c.run_id).join(S.runs, R.c.run_id == S.runs.c.id)
                                .where(R.c.target != T.LOCAL, S.runs.c.status.in_(LIVE))
                                .limit(1)).first() is not None

    def runs_on(self, name: str) -> tuple[int, int | None]:
        """``(runs queued or running on target name, when the last run there ended: ms or
        None)``: what keeps a notebook VM awake (:mod:`jupyter_mlws.vms.idle`)."""
        runs = S.runs
        on = select(runs.c.status, runs.c.end_time).join(R, R.c.run_id == runs.c.id) \
            .where(R.c.target == name).subquery()
        with self.db.read() as conn:
            live = conn.execute(select(func.count()).select_from(on)
                                .where(on.c.status.in_(LIVE))).scalar()
            ended = conn.execute(select(func.max(on.c.end_time))
                                 .where(on.c.status.not_in(LIVE))).scalar()
        return int(live or 0), ended

    def is_local(self, name: str) -> bool:
        """Whether target ``name`` is this machine (``local``)."""
        return self.get(name)["type"] == T.LOCAL

    # -- using ---------------------------------------------------------------------------------

    def test(self, name: str, *, actor: str | None = None, check_actor: bool = True) -> dict:
        """Check target ``name`` step by step: ``{target, type, ok, checks: [{check, title,
        status, detail}]}`` (see :mod:`.checks`); a failed check is in the report, not raised.
        Contributors and owners (an ssh test reads the key's secret, audited)."""
        from . import checks

        target = self.get(name)
        actor = self._require(actor, "write", check_actor)
        kind = target["type"]
        if kind == T.LOCAL:
            found = checks.local_checks(self.backends.get("local").root)
        elif kind == T.DASK:
            host, port = T.dask_host_port(target["address"])
            found = checks.dask_checks(target["address"], host, port, self.timeout)
        else:
            found = checks.ssh_checks(lambda on_step: self.connect(name, actor=actor, check_actor=False,
                                                                   on_step=on_step),
                                      target["python"], target["workdir"], self._cleanup(name),
                                      name=target["name"], env=target.get("env") or "system")
        return checks.report(target["name"], kind, found)

    def _cleanup(self, name: str):
        """``cleanup(conn)`` for ssh target ``name``'s test: what its dead runners left on the
        host, stopped and removed (see :mod:`.ssh.runners`); None without a workspace folder."""
        root = getattr(self.launch, "root", None)
        if root is None:
            return None
        from .ssh.runners import clean_leftovers

        return lambda conn: clean_leftovers(root, name, conn)

    def connect(self, name: str, *, actor: str | None = None, check_actor: bool = True,
                on_step=None, run_id: str | None = None):
        """An open, verified SSH connection to ssh target ``name``
        (:class:`~jupyter_mlws.compute.ssh.connection.SSHConnection`; close it).

        The private key is read from the target's secret (an audited read by ``actor``) and
        kept in memory; the host's key must be the one pinned.  Contributors and owners.
        ``run_id``: the connection executes (or cleans up after) that run: the key's read is
        audited for the run, as its submitter's (the run's user), as its own secrets' are.
        ``on_step(step, detail)`` hears each connection step that passed.  Raises StepFailed
        naming the step, InvalidInput for a target that is not ssh, and the secret's errors.
        """
        target = self.get(name)
        if target["type"] not in (T.SSH, T.VM):
            raise InvalidInput(f"compute target {target['name']!r} is a {target['type']} target, "
                               "not ssh")
        actor = self._require(actor, "write", check_actor)
        if run_id is not None and getattr(self.launch, "runs", None) is not None:
            actor = self.launch.runs.get(run_id).user or actor
        from .ssh.connection import SSHConnection

        secret, key, key_error = target["key_secret"], None, None
        try:
            key = (self.secrets.read(actor, secret, run_id=run_id, check_actor=False)
                   if secret else None)
        except (NotFound, Conflict) as exc:  # missing or deleted: the authentication step's
            key_error = exc
        host, port = target["host"], target["port"]
        self.known_hosts.ensure(host, port, parse_host_key(target["host_key"]))
        return SSHConnection.open(host, port, target["user"], known_hosts=self.known_hosts,
                                  private_key=key, key_secret=secret, timeout=self.timeout,
                                  on_step=on_step, keepalive=target["keepalive"],
                                  key_error=key_error)


_LOCAL = {"name": T.LOCAL, "type": T.LOCAL, "builtin": True, "created_at": None, "created_by": "",
          SECRETS: {}}


class UnconfirmedHostKey(InvalidInput):
    """An ssh host's key that nobody accepted: nothing was created.  ``details`` (the REST
    API's) holds ``host`` (``HOST`` or ``[HOST]:PORT``), ``key_type`` and ``fingerprint``
    (``SHA256:...``), for a client to show and have confirmed (then it sends
    ``host_key_fingerprint``)."""

    def __init__(self, where: str, key: HostKey):
        super().__init__(
            f"the host {where} presents an {key.type} key with fingerprint {key.fingerprint}; "
            "nothing was created: check it (ssh-keygen -lf on the host's key) and accept it "
            "with --yes (REST: accept_host_key, or host_key_fingerprint), or pin a key you "
            "checked with --host-key 'TYPE BASE64' (REST: host_key)")
        self.details = {"host": where, "key_type": key.type, "fingerprint": key.fingerprint}


#: the settings :meth:`ComputeService.update` may change (the others name the machine, its login
#: or its key: delete the target and create it again)
UPDATABLE = ("python", "env")


def _changed(kind: str, given: dict) -> dict:
    """The settings ``given`` for an update of a ``kind`` target, checked as at creation."""
    if not given:
        return {}
    fixed = sorted(set(given) - set(UPDATABLE))
    if fixed:
        raise InvalidInput(f"{', '.join(fixed)} cannot be changed: only {', '.join(UPDATABLE)} can "
                           "(delete the target and create it again to change the others)")
    foreign = sorted(set(given) - set(T.OPTIONS.get(kind, ())))
    if foreign:
        raise InvalidInput(f"{', '.join(foreign)} {'is' if len(foreign) == 1 else 'are'} not a "
                           f"setting of {kind} targets: they take {', '.join(T.OPTIONS.get(kind, ()))}")
    checks = {"python": T.check_python, "env": T.check_env}
    return {k: checks[k](v) for k, v in given.items()}


def _taken(name: str) -> AlreadyExists:
    if name == T.LOCAL:
        return AlreadyExists("the local target is built in: choose another name")
    return AlreadyExists(f"compute target {name!r} exists: delete it first ('mlws compute delete "
                         f"{name}') or choose another name")


def _describe(row) -> dict:
    out = {"name": row["name"], "type": row["type"], "builtin": False,
           "created_at": row["created_at"], "created_by": row["created_by"], SECRETS: {},
           **json.loads(row["settings"])}
    if row["type"] == T.SSH:
        out.setdefault("keepalive", T.DEFAULT_KEEPALIVE)  # a target recorded before the setting
    if row["host_key"]:
        key = HostKey(*row["host_key"].split(" ", 1))
        out.update(host_key=key.text, host_key_fingerprint=key.fingerprint)
    return out
