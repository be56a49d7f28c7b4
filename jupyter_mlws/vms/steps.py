"""The steps done on a notebook VM's node (:class:`VMSteps`), each recorded as it goes: what
:class:`~.service.VMService` runs once it has checked who asks and recorded the VM's new state.

**Create** (:meth:`VMSteps.provision`): a login key pair (its private half becomes the workspace
secret ``mlws-vm-VM_ID``), the node (tagged ``mlws:workspace``, ``mlws:vm``, ``mlws:owner``), a
wait until it runs, its SSH host key pinned (the key the provider reports, as the local provider
does, else the one it presents at first contact), then ``bootstrapping``: the bootstrap's create
steps and start steps over SSH (:mod:`.bootstrap`: the setup script once, the startup script),
their output in the VM's log, and ``running``.  Each step is recorded as the busy lease's step
(:mod:`.leases`: create, boot, ssh, bootstrap; start, stop, delete).

**A failure part-way** (making the node, booting, reaching it, a script) destroys the VM's nodes
(by id and by tag) and leaves the VM ``failed`` with the step and why (a script's failure ends
with the end of its log); when they cannot be destroyed the VM is ``orphaned`` and its reason
holds the command that cleans it up (``mlws vm delete NAME``), which ``mlws compute gc`` also
finds.  **Start** runs the startup steps again (a failure stops the node: ``failed``); **stop**
keeps the node; **delete** destroys it.  **A step whose process died** is ended the same way
(:meth:`VMSteps.end_abandoned`), its reason saying it was interrupted.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import Conflict, MlwsError, NotFound, Unavailable
from . import nodes as N
from . import reach, secret_names
from . import states as S
from .bootstrap import Bootstrap, Context, VMLog
from .log_paths import ServerPaths
from .providers import ProviderRegistry, parse_credentials
from .records import STEP, VMRecords


class VMFailed(Unavailable):
    """A VM's creation, start or stop failed part-way; the message is the VM's reason (the step,
    why, and what became of its node)."""


class VMSteps:
    """The steps done on the nodes of one workspace's VMs.

    Parameters
    ----------
    records : VMRecords
    secrets, blobs, known_hosts, providers, logs, workspace_id, timeout, server_paths
        As :class:`~.service.VMService`'s of the same names (it builds this).
    bootstrap : Bootstrap
        The steps run over SSH (JupyterLab's start step added).
    lab : Lab or None
        JupyterLab on the VMs: stopped with a VM, forgotten with it.
    """

    def __init__(self, records: VMRecords, *, secrets, blobs, known_hosts,
                 providers: ProviderRegistry, logs: Path, workspace_id: str, bootstrap: Bootstrap,
                 timeout: float, lab=None, server_paths: ServerPaths | None = None):
        self.records, self.secrets, self.blobs = records, secrets, blobs
        self.server_paths = server_paths
        self.known_hosts, self.providers = known_hosts, providers
        self.log_folder, self.workspace_id = Path(logs), workspace_id
        self.bootstrap, self.timeout, self.lab = bootstrap, timeout, lab

    def log(self, vm: dict) -> VMLog:
        """The VM's log (its lifecycle, its scripts' and its JupyterLab's output), which rewrites
        this server's paths as the VM sees them (:mod:`.log_paths`)."""
        paths = None if self.server_paths is None else self.server_paths.of(vm["provider"])
        return VMLog(self.log_folder / f"{vm['id']}.log", paths)

    def driver(self, provider: str, secret: str | None, region: str | None, actor: str):
        """The provider's driver with the credentials in ``secret`` (an audited read)."""
        creds = None
        if secret is not None:
            creds = parse_credentials(self.secrets.read(actor, secret, check_actor=False), secret)
        return self.providers.driver(provider, creds, region)

    def driver_of(self, vm: dict, actor: str):
        """The driver of ``vm``'s provider, account and region."""
        return self.driver(vm["provider"], vm["credentials_secret"], vm["region"], actor)

    def at(self, vm: dict, step: str) -> str:
        """Record that ``vm``'s step is now ``step`` (what the reaper names if it ends here)."""
        self.records.at_step(vm["id"], step)
        return step

    def provision(self, vm: dict, driver, size, image, actor: str) -> None:
        """Make the VM's node, wait for it, reach it and bootstrap it; on a failure, clean up and
        raise VMFailed (see the module's text)."""
        from .keys import new_key_pair

        prov = self.providers.get(vm["provider"])
        log = self.log(vm)
        step = "create"
        try:
            key = new_key_pair(f"mlws-vm-{vm['name']}")
            key_secret = secret_names.key_secret(vm)
            self.secrets.set(actor, key_secret, key.private, check_actor=False)
            vm = self.records.update(vm["id"], key_secret=key_secret)
            log.say(f"creating node {vm['name']} at {prov.name} (size {vm['size']})")
            create_extra = self._create_extra(vm, actor)
            node = N.create(driver, prov, name=vm["name"], size=size, image=image,
                            tags=self._tags(vm), public_key=key.public,
                            user=vm["ssh_user"] or prov.ssh_user,
                            key_name=N.key_pair_name(self.workspace_id, vm["id"]), extra=create_extra)
            vm = self.records.update(vm["id"], node_id=node.id)
            log.say(f"node {node.id} made; waiting until it runs")
            step = self.at(vm, "boot")
            node, addresses = N.wait_running(driver, prov, node)
            if prov.ssh:
                step = self.at(vm, "ssh")
                vm = self._reach(vm, node, addresses, prov, log, first=True)
                vm = self.records.move(vm["id"], S.BOOTSTRAPPING, "bootstrapping over SSH", actor,
                                       expect=(S.CREATING,), done="bootstrapped")
                step = "bootstrap"
                self._bootstrap(vm, actor, log, created=True)
            self.records.move(vm["id"], S.RUNNING, "created and running", actor,
                              expect=(S.CREATING, S.BOOTSTRAPPING), done="running")
            log.say("running")
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, then raised
            reason = f"the {step} step failed: {N.why(exc)}"
            raise self.abandon(vm, driver, prov, reason, actor, _tail(exc)) from None

    def _create_extra(self, vm: dict, actor: str) -> dict:
        """Extra ``create_node`` keywords from the credentials' ``create`` object."""
        if vm["credentials_secret"] is None:
            return {}
        secret = vm["credentials_secret"]
        return dict(parse_credentials(self.secrets.read(actor, secret, check_actor=False),
                                      secret).get("create") or {})

    def _tags(self, vm: dict) -> dict[str, str]:
        return {N.TAG_WORKSPACE: self.workspace_id, N.TAG_VM: vm["id"], N.TAG_OWNER: vm["owner"]}

    def abandon(self, vm: dict, driver, prov, reason: str, actor: str, tail: str = "") -> VMFailed:
        """Destroy what creation made so far and record the VM ``failed``, or ``orphaned`` when
        that fails, ``reason`` (which step failed, and why) first and ``tail`` (the end of a
        script's log) last; the error to raise."""
        vm = self.records.by_id(vm["id"]) or vm
        self.log(vm).say(reason)
        try:
            N.destroy(driver, N.find(driver, vm_id=vm["id"], node_id=vm["node_id"]))
            N.drop_key_pair(driver, prov, N.key_pair_name(self.workspace_id, vm["id"]))
        except Exception as cleanup:  # noqa: BLE001
            reason += (f"; its node {vm['node_id'] or '(unknown id)'} could not be destroyed "
                       f"({N.why(cleanup)[:300]}): clean it up with 'mlws vm delete {vm['name']}'")
            return self.record_failure(vm, S.ORPHANED, reason + tail, actor)
        self.forget_pin(vm)
        reason += (f"; its node was destroyed: delete the vm ('mlws vm delete {vm['name']}') and "
                   f"create it again{tail}")
        return self.record_failure(vm, S.FAILED, reason, actor, node_id=None, host=None,
                                    ssh_port=None)

    def record_failure(self, vm: dict, state: str, reason: str, actor: str, **fields) -> VMFailed:
        """Record ``vm`` in ``state`` (failed, orphaned) with ``reason``; the error to raise."""
        try:
            self.records.move(vm["id"], state, reason, actor, **fields)
        except (Conflict, NotFound):
            pass  # deleted meanwhile: its delete cleans up, gc finds what it leaves
        return VMFailed(f"vm {vm['name']!r} is {state}: {reason}")

    def _reach(self, vm: dict, node, addresses: list[str], prov, log: VMLog, *, first: bool) -> dict:
        """Record the node's address, port, login and (at creation) pinned host key."""
        fields = reach.address(vm, node, addresses, prov, log, self.known_hosts, self.timeout,
                               first=first)
        return self.records.update(vm["id"], **fields)

    def _bootstrap(self, vm: dict, actor: str, log: VMLog, *, created: bool) -> None:
        scripts = {"setup": self._text(vm["setup_script"]), "startup": self._text(vm["startup_script"])}
        with reach.connect(vm, self.known_hosts, self.secrets, actor, self.timeout) as conn:
            self.bootstrap.run(Context(vm, conn, log, scripts, float(vm["script_timeout_s"])),
                               created=created)

    def _text(self, sha: str | None) -> str | None:
        return None if sha is None else self.blobs.read_bytes(sha).decode()

    def forget_pin(self, vm: dict) -> None:
        """Forget ``vm``'s pinned host key (its node is gone)."""
        if vm["host"] is not None and vm["ssh_port"] is not None:
            self.known_hosts.forget(vm["host"], vm["ssh_port"])

    def start(self, vm: dict, actor: str) -> None:
        log = self.log(vm)
        step, driver = "start", None
        try:
            prov = self.providers.get(vm["provider"])
            driver = self.driver_of(vm, actor)
            node = self._node(driver, vm)
            log.say(f"starting node {node.id}")
            driver.start_node(node)
            step = self.at(vm, "boot")
            node, addresses = N.wait_running(driver, prov, node)
            if prov.ssh:
                step = self.at(vm, "ssh")
                vm = self._reach(vm, node, addresses, prov, log, first=False)
                step = self.at(vm, "bootstrap")
                self._bootstrap(vm, actor, log, created=False)
            self.records.move(vm["id"], S.RUNNING, f"started by {actor}", actor,
                              expect=(S.STARTING,), done="running")
            log.say("running")
        except Exception as exc:  # noqa: BLE001 - recorded, then raised
            reason = f"the {step} step failed: {N.why(exc)}"
            log.say(reason)
            reason += self._stop_quietly(driver, vm) + _tail(exc)
            raise self.record_failure(vm, S.FAILED, reason, actor) from None

    def _stop_quietly(self, driver, vm: dict) -> str:
        """Stop the VM's node after a failed start; what became of it, for the reason."""
        if driver is None or vm["node_id"] is None:
            return ""
        try:
            for node in N.find(driver, vm_id=vm["id"], node_id=vm["node_id"]):
                driver.stop_node(node)
            return "; its node was stopped: fix what failed, then 'mlws vm start " + vm["name"] + "'"
        except Exception as exc:  # noqa: BLE001
            return f"; its node could not be stopped ({N.why(exc)[:200]}): 'mlws vm stop {vm['name']}'"

    def _node(self, driver, vm: dict):
        """The VM's node at its provider; VMFailed-worthy ProviderFailed when it is gone."""
        found = [n for n in N.find(driver, vm_id=vm["id"], node_id=vm["node_id"])
                 if n.id == vm["node_id"]]
        if not found:
            raise N.ProviderFailed(f"its node {vm['node_id']} no longer exists at {vm['provider']}: "
                                   f"delete the vm ('mlws vm delete {vm['name']}')")
        return found[0]

    def stop(self, vm: dict, actor: str, reason: str) -> None:
        from libcloud.compute.types import NodeState

        log = self.log(vm)
        try:
            if self.lab is not None:
                self.lab.stop(vm)
            prov = self.providers.get(vm["provider"])
            driver = self.driver_of(vm, actor)
            if vm["node_id"] is not None:
                node = self._node(driver, vm)
                log.say(f"stopping node {node.id}")
                driver.stop_node(node)
                N.wait_state(driver, prov, node, NodeState.STOPPED)
            self.records.move(vm["id"], S.STOPPED, reason, actor, expect=(S.STOPPING,),
                              done="stopped")
            log.say("stopped")
        except Exception as exc:  # noqa: BLE001
            reason = (f"the stop step failed: {N.why(exc)}; the node may still run: stop it again "
                      f"('mlws vm stop {vm['name']}') or delete it")
            log.say(reason)
            raise self.record_failure(vm, S.FAILED, reason, actor) from None

    def delete(self, vm: dict, actor: str, reason: str | None = None) -> None:
        log = self.log(vm)
        try:
            if self.lab is not None:
                self.lab.forget(vm, actor)
            prov = self.providers.get(vm["provider"])
            driver = self.driver_of(vm, actor)
            N.destroy(driver, N.find(driver, vm_id=vm["id"], node_id=vm["node_id"]))
            N.drop_key_pair(driver, prov, N.key_pair_name(self.workspace_id, vm["id"]))
        except Exception as exc:  # noqa: BLE001
            why = (f"its node {vm['node_id'] or '(unknown id)'} could not be destroyed "
                   f"({N.why(exc)[:300]}): clean it up with 'mlws vm delete {vm['name']}'")
            log.say(why)
            raise self.record_failure(vm, S.ORPHANED, why, actor) from None
        self.forget_pin(vm)
        if vm["key_secret"] is not None:
            try:
                self.secrets.delete(actor, vm["key_secret"], check_actor=False)
            except (NotFound, Conflict):
                pass
        self.records.move(vm["id"], S.DELETED, reason or f"deleted by {actor}", actor, node_id=None)
        log.say("deleted")

    def end_abandoned(self, vm: dict, why: str, actor: str) -> dict:
        """End the step of ``vm`` (whose lease this process took over) interrupted because
        ``why``; the record."""
        name, state = vm["name"], vm["state"]
        lead = f"the {vm['busy_step'] or STEP[state]} step was interrupted: {why}"
        if state in (S.CREATING, S.BOOTSTRAPPING):
            try:
                prov, driver = self.providers.get(vm["provider"]), self.driver_of(vm, actor)
            except MlwsError as exc:
                self.record_failure(vm, S.ORPHANED, f"{lead}; its node could not be looked for "
                                     f"({exc}): clean it up with 'mlws vm delete {name}'", actor)
            else:
                self.abandon(vm, driver, prov, lead, actor)
        else:
            self.log(vm).say(lead)
            to, then = {
                S.STARTING: (S.FAILED, f": start it again ('mlws vm start {name}') or delete it"),
                S.STOPPING: (S.FAILED, f"; its node may still run: stop it again ('mlws vm stop "
                                       f"{name}') or delete it"),
                S.DELETING: (S.ORPHANED, f"; its node may remain: finish deleting it ('mlws vm "
                                         f"delete {name}')")}[state]
            self.record_failure(vm, to, lead + then, actor)
        return self.records.by_id(vm["id"])



def _tail(exc: BaseException) -> str:
    """The end of the VM's log a step's failure carries, for the end of its reason."""
    tail = getattr(exc, "tail", "")
    return f"; the end of its log:\n{tail.rstrip()}" if tail else ""
