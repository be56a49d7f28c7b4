"""The lifecycle of notebook VMs (``ws.vms``): what every face calls.

**Create** records the VM (``creating``) once everything given is checked (name, provider, size,
image, region, credentials, scripts, idle shutdown, schedule), then makes its node, reaches it
and bootstraps it (:mod:`.steps`: what each step does, and what a failure part-way leaves).
**Start** runs the startup steps again; **stop** keeps the node; **delete** destroys it (deleting
a deleted VM changes nothing).  Each runs here, or with ``wait=False`` in a thread, holding the
VM's busy lease (:mod:`.leases`); :meth:`VMService.reap` ends the steps whose process died.

Roles (:mod:`jupyter_mlws.access`, concept ``vms``): readers list and show VMs' state; contributors
create VMs they own; the VM's owner or a workspace owner start, stop, restart, delete it and see
its connection details (host, port, user, host key, secrets' names) and log; an owner may create
one for another user (``owner``).  A provider's credentials are read from a workspace secret
(:func:`.providers.parse_credentials`), audited as read by whoever acts.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable

from ..access import OWNER, check_user
from ..compute.settings import DEFAULT_KEEPALIVE
from ..errors import AlreadyExists, Conflict, InvalidInput, MlwsError, PermissionDenied
from ..run_records import now_ms
from . import leases, reach, spec
from . import nodes as N
from . import states as S
from .bootstrap import Bootstrap
from .providers import ProviderRegistry
from .records import STEP, VMRecords
from .steps import VMFailed, VMSteps

__all__ = ["CONNECTION", "NO_LAB", "VMFailed", "VMService"]

#: fields of a VM only its owner and workspace owners see
CONNECTION = ("host", "ssh_port", "ssh_user", "host_key", "host_key_fingerprint", "key_secret",
              "credentials_secret", "node_id", "python")
#: why :meth:`VMService.open` refuses a VM that runs no JupyterLab (after "vm NAME")
NO_LAB = ("runs no JupyterLab (vm_jupyterlab = false in the workspace's mlws.toml, or its "
          "provider reaches no node over SSH)")


def _me() -> str:
    from ..access import os_user

    return os_user()



class VMService:
    """The notebook VMs of one workspace.

    Parameters
    ----------
    db : Database
        The metadata store (tables ``vms``, ``vm_events``).
    access : AccessService
    secrets : SecretService
        Holds the VMs' login keys and the providers' credentials (by name).
    blobs : BlobStore
        Holds the VMs' scripts (by sha256).
    known_hosts : KnownHosts
        The workspace's known_hosts file (VMs' host keys are pinned there).
    providers : ProviderRegistry
    logs : path
        The folder of the VMs' logs.
    server_paths : ServerPaths, optional
        This server's paths, rewritten in what the logs record (:mod:`.log_paths`).
    workspace_id : str
        What the ``mlws:workspace`` tag holds.
    target_exists : callable, optional
        ``target_exists(name) -> bool``: a compute target has that name (VMs share the names).
    bootstrap : Bootstrap, optional
        The steps run over SSH (default: the setup and startup scripts).
    timeout : float
        Seconds each SSH step may take.
    lab : Lab, optional
        JupyterLab on the VMs (:mod:`.lab`): its start step is added to the bootstrap's start
        steps, it is stopped with the VM, and :meth:`open` opens it.
    """

    def __init__(self, db, *, access, secrets, blobs, known_hosts, providers: ProviderRegistry,
                 logs: Path, workspace_id: str, target_exists: Callable[[str], bool] | None = None,
                 bootstrap: Bootstrap | None = None, timeout: float = 10.0, lab=None,
                 server_paths=None,
                 require_local: Callable[[str | None, bool], None] | None = None):
        self.records = VMRecords(db)
        #: ``require_local(actor, check_actor)``: PermissionDenied unless ``actor`` may have code
        #: executed as this machine's own account (the compute service's rule for ``local``)
        self.require_local = require_local or (lambda actor, check: None)
        self.access, self.secrets, self.blobs = access, secrets, blobs
        self.known_hosts, self.providers = known_hosts, providers
        self.workspace_id, self.timeout = workspace_id, timeout
        self.target_exists = target_exists or (lambda name: False)
        bootstrap = bootstrap or Bootstrap()
        #: JupyterLab on the VMs (:class:`.lab.Lab`; None: VMs without JupyterLab)
        self.lab = lab
        if lab is not None:
            bootstrap.add(lab.step, when="start")
        #: what is done on the VMs' nodes (:mod:`.steps`)
        self.steps = VMSteps(self.records, secrets=secrets, blobs=blobs, known_hosts=known_hosts,
                             providers=providers, logs=Path(logs), workspace_id=workspace_id,
                             bootstrap=bootstrap, timeout=timeout, lab=lab,
                             server_paths=server_paths)
        self._threads: list[threading.Thread] = []
        #: renews the busy leases of the steps this process works on (:mod:`.leases`)
        self.leases = leases.Beater(self.records.renew)

    # -- who may ------------------------------------------------------------------------------

    def _actor(self, actor: str | None, action: str, check: bool) -> tuple[str, str | None]:
        """``(actor, role)``; PermissionDenied when the role does not allow ``action``."""
        actor = _me() if actor is None else actor
        role = self.access.require(actor, action, "vms") if check else OWNER
        return actor, role

    def _manage(self, vm: dict, actor: str | None, check: bool) -> str:
        """The actor, once allowed to act on ``vm``: its owner or a workspace owner."""
        actor, role = self._actor(actor, "write", check)
        if check and role != OWNER and vm["owner"] != actor:
            raise PermissionDenied(f"vm {vm['name']!r} belongs to {vm['owner']!r}: only its owner "
                                   "or a workspace owner may start, stop, delete it or read its "
                                   "log")
        return actor

    def _sees(self, vm: dict, actor: str | None, check: bool) -> bool:
        """Whether ``actor`` sees ``vm``'s connection details."""
        if not check:
            return True
        actor = _me() if actor is None else actor
        return vm["owner"] == actor or self.access.role_of(actor) == OWNER

    # -- reading ------------------------------------------------------------------------------

    def list(self, *, deleted: bool = False, actor: str | None = None,
             check_actor: bool = True) -> list[dict]:
        """Every VM by name (the deleted ones too with ``deleted``), as :meth:`show` without
        ``events``.  Readers and above."""
        self._actor(actor, "read", check_actor)
        return [self._describe(r, self._sees(r, actor, check_actor))
                for r in self.records.list(deleted=deleted)]

    def show(self, name: str, *, actor: str | None = None, check_actor: bool = True) -> dict:
        """One VM: ``name, id, provider, size, image, region, owner, state, reason, created_at,
        created_by, updated_at, idle_shutdown_s, schedule, schedule_tz, script_timeout_s,
        setup_script, startup_script`` (True when it has one), ``jupyterlab`` (whether it runs
        JupyterLab, :meth:`runs_lab`), ``events`` (its state changes,
        oldest first: ``at, from_state, to_state, reason, actor``), and for its owner or a
        workspace owner :data:`CONNECTION`.  NotFound."""
        self._actor(actor, "read", check_actor)
        vm = self.records.get(spec.check_vm_name(name))
        shown = {**self._describe(vm, self._sees(vm, actor, check_actor)),
                 "events": self.records.events(vm["id"])}
        return shown

    def logs(self, name: str, *, tail: int | None = None, lines: int | None = None,
             actor: str | None = None, check_actor: bool = True) -> bytes:
        """The VM's log (its last ``tail`` bytes, or its last ``lines`` lines): its lifecycle and
        its scripts' output.  Its owner and workspace owners."""
        vm = self.records.get(spec.check_vm_name(name))
        self._manage(vm, actor, check_actor)
        log = self.steps.log(vm)
        return log.read_lines(lines) if lines is not None else log.read(tail)

    def _describe(self, vm: dict, connection: bool) -> dict:
        out = {k: vm[k] for k in ("name", "id", "provider", "size", "image", "region", "owner",
                                  "state", "reason", "created_at", "created_by", "updated_at",
                                  "idle_shutdown_s", "schedule", "schedule_tz",
                                  "script_timeout_s")}
        out.update(setup_script=vm["setup_script"] is not None,
                   startup_script=vm["startup_script"] is not None,
                   jupyterlab=self.runs_lab(vm))
        if connection:
            out.update({k: vm[k] for k in CONNECTION if k in vm})
            out["host_key_fingerprint"] = reach.fingerprint(vm["host_key"])
        return out

    # -- creating -----------------------------------------------------------------------------

    def create(self, name: str, *, provider: str, size: str, image: str | None = None,
               region: str | None = None, owner: str | None = None,
               setup_script: str | bytes | None = None, startup_script: str | bytes | None = None,
               idle_shutdown: str | int | None = None, schedule: str | None = None,
               tz: str | None = None, credentials_secret: str | None = None,
               ssh_user: str | None = None, script_timeout: str | int | None = None,
               actor: str | None = None, check_actor: bool = True, wait: bool = True) -> dict:
        """Create VM ``name`` (see the module's text); return it (:meth:`show`): ``running``, or
        with ``wait=False`` at once, ``creating`` (the rest goes on in a thread).

        Raises
        ------
        InvalidInput
            A bad name, provider (the message lists the known ones), size, image or region (the
            provider's own words), script, duration, schedule or time zone; a provider without
            SSH given scripts; missing credentials.  Nothing is recorded.
        AlreadyExists
            A VM or compute target has the name.
        NotFound, Conflict
            The credentials secret does not exist, or is deleted.
        PermissionDenied
            A reader; a contributor creating a VM for someone else.
        VMFailed
            A step failed after the VM was recorded (its state, ``failed`` or ``orphaned``,
            and reason say which and what became of its node).
        """
        name = spec.check_vm_name(name)
        prov = self.providers.get(provider)
        actor, role = self._actor(actor, "write", check_actor)
        owner = actor if owner is None else check_user(owner)
        if check_actor and owner != actor and role != OWNER:
            raise PermissionDenied(f"only a workspace owner may create a vm for another user "
                                   f"({owner!r}): create it for yourself")
        if prov.name == "local" and os.geteuid() != 0:
            # not as root, the local provider's nodes log in as this very account (local_node.
            # login_user): code on them is code on local, whose rule applies
            self.require_local(actor, check_actor)
        values = spec.options(name, prov, size=size, image=image, region=region,
                               setup_script=setup_script, startup_script=startup_script,
                               idle_shutdown=idle_shutdown, schedule=schedule, tz=tz,
                               credentials_secret=credentials_secret, ssh_user=ssh_user,
                               script_timeout=script_timeout)
        self._check_free(name)
        driver = self.steps.driver(prov.name, credentials_secret, region, actor)
        node_size = N.size_of(driver, prov, size)
        node_image = N.image_of(driver, prov, image)
        values.update(setup_script=self._store(values.pop("setup_text")),
                      startup_script=self._store(values.pop("startup_text")))
        vm = self.records.insert({**values, "owner": owner}, actor, f"created by {actor}")
        self._run(wait, self.steps.provision, vm, driver, node_size, node_image, actor)
        return self.show(name, actor=actor, check_actor=False)

    def _check_free(self, name: str) -> None:
        if self.records.find(name) is not None:
            raise AlreadyExists(f"vm {name!r} exists: delete it first ('mlws vm delete {name}') "
                                "or choose another name")
        if self.target_exists(name):
            raise AlreadyExists(f"a compute target is named {name!r}, and a vm is one too: choose "
                                "another name")

    def _store(self, text: str | None) -> str | None:
        return None if text is None else self.blobs.put_bytes(text.encode())[0]

    def _background(self, fn, *args, **kwargs) -> None:
        """Run ``fn(*args, **kwargs)`` in a thread of its own (its failure is in the VM's
        record)."""
        def work() -> None:
            try:
                fn(*args, **kwargs)
            except MlwsError:
                pass

        thread = threading.Thread(target=work, name="mlws-vm", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _run(self, wait: bool, step, vm: dict, *args) -> None:
        """``step(vm, *args)`` holding ``vm``'s busy lease (:mod:`.leases`): here, or with
        ``wait=False`` in a thread of its own."""
        def held() -> None:
            with self.leases.holding(vm["id"]):
                step(vm, *args)

        held() if wait else self._background(held)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the steps run in the background (``wait=False``) to end."""
        for thread in list(self._threads):
            thread.join(timeout)

    # -- reaching it ------------------------------------------------------------------------------

    def connect(self, name_or_vm, *, actor: str | None = None, check_actor: bool = True):
        """An open, verified SSH connection to a running VM (close it): its login key read from
        its secret (audited), its host key the one pinned at creation.  Its owner and workspace
        owners.  StepFailed names the failing step (a changed host key: both fingerprints)."""
        vm = name_or_vm if isinstance(name_or_vm, dict) else self.records.get(name_or_vm)
        actor = self._manage(vm, actor, check_actor)
        return reach.connect(vm, self.known_hosts, self.secrets, actor, self.timeout)

    def open(self, name: str, *, actor: str | None = None, check_actor: bool = True) -> dict:
        """``{"url", "expires_at"}`` (ms, or None): the URL that opens running VM ``name``'s
        JupyterLab in a browser of this machine (see :meth:`.lab.Lab.open`).  Its owner and
        workspace owners.  Raises NotFound, PermissionDenied, Conflict (the VM is not running:
        the message says what to do), Unavailable naming the failing step (DNS, TCP, host key,
        authentication, tunnel, the remote port not up yet)."""
        vm = self.records.get(spec.check_vm_name(name))
        actor = self._manage(vm, actor, check_actor)
        if vm["state"] != S.RUNNING:
            hint = {S.STOPPED: f": start it first ('mlws vm start {name}')",
                    S.FAILED: f": see why with 'mlws vm show {name}', then start it again"}
            raise Conflict(f"vm {name!r} is {vm['state']}, not running: JupyterLab opens on a "
                           f"running VM only{hint.get(vm['state'], '')}")
        if not self.runs_lab(vm):
            raise Conflict(f"vm {name!r} {NO_LAB}")
        return self.lab.open(vm, actor)

    def runs_lab(self, vm: dict) -> bool:
        """Whether ``vm`` runs JupyterLab when it runs (what :meth:`open` opens): the workspace
        starts JupyterLab on its VMs (``vm_jupyterlab``) and its provider reaches nodes over
        SSH."""
        if self.lab is None:
            return False
        try:
            return self.providers.get(vm["provider"]).ssh
        except InvalidInput:
            return False  # a provider this process does not know (no longer registered)

    # -- start, stop, restart, delete ----------------------------------------------------------

    def start(self, name: str, *, actor: str | None = None, check_actor: bool = True,
              wait: bool = True) -> dict:
        """Start a stopped or failed VM: its node, then the bootstrap's start steps (the startup
        script); ``running``.  A running VM is left as it is.  With ``wait=False``, return at once
        (``starting``).  Raises Conflict (a VM that is busy, deleted, or has no node),
        PermissionDenied, VMFailed (the node is stopped again: ``failed``)."""
        vm = self.records.get(spec.check_vm_name(name))
        actor = self._manage(vm, actor, check_actor)
        if vm["state"] == S.RUNNING:
            return self.show(name, actor=actor, check_actor=False)
        if vm["node_id"] is None and vm["state"] == S.FAILED:
            raise Conflict(f"vm {name!r} has no node (its creation failed): delete it and create "
                           "it again")
        vm = self.records.move(vm["id"], S.STARTING, f"started by {actor}", actor, done="started")
        self._run(wait, self.steps.start, vm, actor)
        return self.show(name, actor=actor, check_actor=False)

    def stop(self, name: str, *, actor: str | None = None, check_actor: bool = True,
             wait: bool = True, reason: str | None = None) -> dict:
        """Stop a running (or failed) VM's node, keeping it; ``stopped``, with ``reason`` in its
        events (default "stopped by ACTOR").  A stopped VM is left as it is.  Raises Conflict,
        PermissionDenied, VMFailed (``failed``: the node may still run)."""
        vm = self.records.get(spec.check_vm_name(name))
        actor = self._manage(vm, actor, check_actor)
        if vm["state"] == S.STOPPED:
            return self.show(name, actor=actor, check_actor=False)
        reason = reason or f"stopped by {actor}"
        vm = self.records.move(vm["id"], S.STOPPING, reason, actor, done="stopped")
        self._run(wait, self.steps.stop, vm, actor, reason)
        return self.show(name, actor=actor, check_actor=False)

    def manage(self, name: str, *, actor: str | None = None, check_actor: bool = True) -> dict:
        """VM ``name``'s record once ``actor`` may act on it (its owner or a workspace owner);
        NotFound, PermissionDenied."""
        vm = self.records.get(spec.check_vm_name(name))
        self._manage(vm, actor, check_actor)
        return vm

    def restart(self, name: str, *, actor: str | None = None, check_actor: bool = True,
                wait: bool = True) -> dict:
        """Stop the VM (when running), then start it (the startup script runs again).  With
        ``wait=False`` both go on in a thread once the first has been asked for."""
        vm = self.records.get(spec.check_vm_name(name))
        actor = self._manage(vm, actor, check_actor)
        if not wait:
            if vm["state"] not in (S.RUNNING, S.STOPPED, S.FAILED):
                S.check(vm["name"], vm["state"], S.STOPPING, "restarted")
            self._background(self.restart, name, actor=actor, check_actor=False)
            return self.show(name, actor=actor, check_actor=False)
        self.stop(name, actor=actor, check_actor=False)
        return self.start(name, actor=actor, check_actor=False)

    def delete(self, name: str, *, actor: str | None = None, check_actor: bool = True,
               wait: bool = True) -> dict:
        """Destroy the VM's node (by id and by tag) and its key pair, forget its host key, delete
        its login key's secret; ``deleted`` (its record and history stay).  A deleted VM is left
        as it is.  Raises NotFound, PermissionDenied, VMFailed (``orphaned``, with the command
        that cleans it up)."""
        vm = self.records.get(spec.check_vm_name(name))
        if vm["state"] == S.DELETED:
            self._actor(actor, "write", check_actor)
            return self.show(name, actor=actor, check_actor=False)
        actor = self._manage(vm, actor, check_actor)
        vm = self.records.move(vm["id"], S.DELETING, f"deleted by {actor}", actor, done="deleted",
                               take_over=True)
        self._run(wait, self.steps.delete, vm, actor)
        return self.show(name, actor=actor, check_actor=False)

    # -- leftovers ------------------------------------------------------------------------------

    def gc(self, *, delete: bool = False, actor: str | None = None, check_actor: bool = True) -> dict:
        """Provider resources tagged for this workspace that no VM owns (see :mod:`.gc`), and
        VMs whose busy step nobody does any more (its process died: :meth:`reap`).

        Returns ``{"leftovers": [{kind, id, name, owner, vm, vm_state, vm_id, why, provider,
        region, credentials_secret, may_delete, deleted?, error?}], "abandoned": [{name, owner,
        state, step, why, may_delete}], "errors": [{provider, region, credentials_secret,
        error}], "deleted": N, "reaped": [{name, state, reason}]}`` (``owner``: whose it is, the
        node's ``mlws:owner`` tag; None when unknown).

        Listing (the default) changes nothing: ``abandoned`` says what ``delete`` would end
        (after a delete: what it left, someone else's).
        ``delete`` (a user's explicit choice: ``mlws compute gc --yes``, or its question
        answered) ends those steps (failed or orphaned, as :meth:`reap` does), destroys the
        leftovers and marks orphaned VMs left without a node ``deleted``; a workspace owner's
        does all of it, anyone else's only what is theirs (``may_delete``: its ``mlws:owner`` is
        them), the rest listed as it was.  Both need a contributor (it reads the providers'
        credentials, audited)."""
        from . import gc as G

        actor, role = self._actor(actor, "write", check_actor)
        everything = role == OWNER
        reaped = self.reap(actor=actor, owner=None if everything else actor) if delete else []
        abandoned = [{**vm, "may_delete": everything or vm["owner"] == actor}
                     for vm in self.abandoned()]  # after a delete: someone else's, left
        found, errors, failed_vms = [], [], set()
        for provider, secret, region in G.accounts(self.records):
            try:
                prov = self.providers.get(provider)
                driver = self.steps.driver(provider, secret, region, actor)
                items = G.leftovers(driver, prov, self.records, self.workspace_id)
            except Exception as exc:  # noqa: BLE001 - one account's failure is reported
                errors.append({"provider": provider, "region": region,
                               "credentials_secret": secret, "error": N.why(exc)})
                continue
            for item in items:
                item.update(provider=provider, region=region, credentials_secret=secret,
                            may_delete=G.may_delete(item, actor, everything))
                if delete and item["may_delete"]:
                    try:
                        G.delete(driver, item)
                        item["deleted"] = True
                    except Exception as exc:  # noqa: BLE001
                        item["error"] = N.why(exc)
                        failed_vms.add(item["vm_id"])
                elif not item["may_delete"]:
                    failed_vms.add(item["vm_id"])  # its orphaned VM keeps a node: not deleted
            found += items
        if delete:
            for vm in self.records.list():
                if vm["state"] == S.ORPHANED and vm["id"] not in failed_vms \
                        and (everything or vm["owner"] == actor):
                    self._finish_orphan(vm, actor)
        return {"leftovers": [{k: v for k, v in i.items() if k != "resource"} for i in found],
                "abandoned": abandoned, "errors": errors,
                "deleted": sum(1 for i in found if i.get("deleted")), "reaped": reaped}

    def abandoned(self, now: int | None = None) -> list[dict]:
        """The VMs whose busy step nobody does any more (what :meth:`reap` would end now):
        ``[{"name", "owner", "state", "step", "why"}]``; changes nothing."""
        found = []
        for seen in self.records.busy():
            why = leases.abandoned(seen, now_ms() if now is None else now)
            if why is not None:
                found.append({"name": seen["name"], "owner": seen["owner"], "state": seen["state"],
                              "step": seen["busy_step"] or STEP.get(seen["state"]), "why": why})
        return found

    # -- steps nobody does any more (:mod:`.leases`) -----------------------------------------------

    def reap(self, *, actor: str, now: int | None = None, owner: str | None = None) -> list[dict]:
        """End every busy step whose process is gone (:func:`.leases.abandoned`; ``now`` in ms,
        default the clock) as a failure of that step would have: an interrupted creation
        destroys the VM's node (``failed``; ``orphaned`` when it cannot), an interrupted start
        or stop leaves it ``failed`` (start, stop and delete work from there), an interrupted
        delete ``orphaned`` (delete again finishes it).  The reason names the step and why.
        Returns ``[{"name", "state", "reason"}]`` of the VMs it ended; with ``owner``, only
        that user's VMs are looked at.  Callers check who may (the scheduler host, ``mlws
        compute gc --yes``)."""
        ended = []
        for seen in self.records.busy():
            if owner is not None and seen["owner"] != owner:
                continue
            why = leases.abandoned(seen, now_ms() if now is None else now)
            vm = None if why is None else self.records.take_over(seen)
            if vm is None:
                continue  # still worked on, or its holder (or someone) acted meanwhile
            with self.leases.holding(vm["id"]):
                vm = self.steps.end_abandoned(vm, why, actor)
            ended.append({"name": vm["name"], "state": vm["state"], "reason": vm["reason"]})
        return ended

    def _finish_orphan(self, vm: dict, actor: str) -> None:
        """An orphaned VM whose leftovers gc destroyed: deleted, as ``delete`` would."""
        try:
            vm = self.records.move(vm["id"], S.DELETING, "cleaned up by gc", actor, done="deleted")
            with self.leases.holding(vm["id"]):
                self.steps.delete(vm, actor, reason=f"cleaned up by gc ({actor})")
        except MlwsError:
            pass  # still orphaned, with the reason why

    # -- as a compute target ----------------------------------------------------------------------

    def target(self, name: str) -> dict | None:
        """VM ``name`` as a compute target record of type ``vm`` (what ``--compute NAME``
        executes on over SSH), None when there is no such VM or its nodes are not reached over
        SSH."""
        try:
            vm = self.records.find(spec.check_vm_name(name))
        except InvalidInput:
            return None
        if vm is None or not self.providers.get(vm["provider"]).ssh:
            return None
        return {"name": vm["name"], "type": "vm", "builtin": False, "created_at": vm["created_at"],
                "created_by": vm["created_by"], "host": vm["host"], "port": vm["ssh_port"],
                "user": vm["ssh_user"], "workdir": "mlws-work", "python": vm["python"] or "python3",
                "key_secret": vm["key_secret"], "env": "system", "keepalive": DEFAULT_KEEPALIVE,
                "host_key": vm["host_key"],
                "host_key_fingerprint": reach.fingerprint(vm["host_key"]), "state": vm["state"],
                "owner": vm["owner"]}

    def exists(self, name: str) -> bool:
        """Whether a VM that is not deleted is named ``name``."""
        try:
            return self.records.find(spec.check_vm_name(name)) is not None
        except InvalidInput:
            return False

    def targets(self) -> list[dict]:
        """Every VM that is a compute target (see :meth:`target`)."""
        found = (self.target(vm["name"]) for vm in self.records.list())
        return [t for t in found if t is not None]

