"""What the idle check last decided for each running VM, and the owner's "postpone".

The check (:mod:`.watch`, in whichever scheduler host runs it: the Jupyter server extension or
``mlws scheduler``) writes its newest :class:`~.idle.Decision` per VM to a small JSON file in
the workspace (``.mlws/vms/idle/VM_ID.json``, replaced atomically).  The workspace server reads
them back for ``GET vms/{name}`` (``idle``) and for the ``vm-idle-warning`` live event, so a
warning reaches JupyterLab whichever process made it.  A decision older than
:data:`STALE_AFTER_S` (several missed checks) is no longer shown: "not known".
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ..errors import Conflict, InvalidInput
from ..fsutil import atomic_write
from ..ticks import to_ms
from . import states as S
from .idle import Decision

#: a decision written longer ago than this (seconds) says nothing about now
STALE_AFTER_S = 300.0
#: the owner kind of VMs' postponements (:mod:`.postpones`)
KIND = "vm"
#: how long a postponement may be, hours
MIN_HOURS, MAX_HOURS = 0.1, 24.0


class VMIdleStates:
    """The idle decisions of a workspace's VMs, and postponing their stops.

    Parameters
    ----------
    folder : path
        Where the decisions are kept (one file per VM id).
    vms : VMService
        Who may act on a VM, and its record.
    postpones : IdlePostpones
        The owners' postponements (owner kind ``vm``, owner id the VM's id).
    """

    def __init__(self, folder: Path, *, vms, postpones):
        self.folder, self.vms, self.postpones = Path(folder), vms, postpones

    def _file(self, vm_id: str) -> Path:
        return self.folder / f"{vm_id}.json"

    def record(self, vm: dict, decision: Decision) -> None:
        """Keep ``decision`` as VM ``vm``'s newest (the check calls this)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {"name": vm["name"], "action": decision.action, "reason": decision.reason,
                "stop_at": None if decision.stop_at is None else to_ms(decision.stop_at),
                "idle_since": None if decision.idle_since is None else to_ms(decision.idle_since)}
        atomic_write(self._file(vm["id"]), json.dumps(data).encode())

    def forget(self, vm_id: str) -> None:
        """Drop VM ``vm_id``'s decision (it stopped, or idle shutdown is off)."""
        self._file(vm_id).unlink(missing_ok=True)

    def _read(self, vm_id: str) -> dict | None:
        path = self._file(vm_id)
        try:
            if time.time() - path.stat().st_mtime > STALE_AFTER_S:
                return None
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def state(self, vm: dict) -> dict | None:
        """``{"action": "none|warn|stop", "stop_at": ms|None, "reason": str, "postponed_until":
        ms|None}`` for a running VM with idle shutdown whose last check is recent; None when not
        known."""
        if vm["state"] != S.RUNNING or not vm.get("idle_shutdown_s"):
            return None
        data = self._read(vm["id"])
        if data is None:
            return None
        until = self.postpones.until(KIND, vm["id"])
        return {"action": data.get("action"), "stop_at": data.get("stop_at"),
                "reason": data.get("reason", ""),
                "postponed_until": None if until is None else to_ms(until)}

    def show(self, name: str, *, actor: str | None = None, check_actor: bool = True) -> dict:
        """``ws.vms.show(name)`` with ``idle`` (:meth:`state`, or None)."""
        shown = self.vms.show(name, actor=actor, check_actor=check_actor)
        shown["idle"] = self.state(self.vms.records.by_id(shown["id"]))
        return shown

    def warnings(self) -> list[dict]:
        """The running VMs whose recent check warns of a stop: ``[{"id", "name", "stop_at",
        "idle_since", "reason"}]`` (times in ms; what the live events publish)."""
        if not self.folder.is_dir():
            return []
        found = []
        for entry in os.scandir(self.folder):
            vm_id = entry.name[:-len(".json")]
            if not entry.name.endswith(".json"):
                continue
            data = self._read(vm_id)
            if data and data.get("action") == "warn" and data.get("stop_at") is not None:
                found.append({"id": vm_id, "name": data.get("name", ""),
                              "stop_at": data["stop_at"], "idle_since": data.get("idle_since"),
                              "reason": data.get("reason", "")})
        return found

    def postpone(self, name: str, *, actor: str | None = None, check_actor: bool = True,
                 hours: float = 1.0) -> dict:
        """No idle stop of running VM ``name`` for ``hours`` (default 1; a later postponement
        already set is kept): ``{"postponed_until": ms}``.  Its owner or a workspace owner.
        Raises NotFound, PermissionDenied, Conflict (a VM not running), InvalidInput (``hours``
        outside :data:`MIN_HOURS` to :data:`MAX_HOURS`)."""
        from datetime import timedelta

        from ..access import os_user

        if isinstance(hours, bool) or not isinstance(hours, (int, float)) \
                or not MIN_HOURS <= hours <= MAX_HOURS:
            raise InvalidInput(f"a vm's idle stop is postponed by {MIN_HOURS} to {MAX_HOURS:g} "
                               f"hours, got {hours!r}")
        vm = self.vms.manage(name, actor=actor, check_actor=check_actor)
        if vm["state"] != S.RUNNING:
            raise Conflict(f"vm {vm['name']!r} is {vm['state']}: only a running vm's idle stop "
                           "can be postponed")
        until = self.postpones.postpone(KIND, vm["id"], actor or os_user(),
                                        timedelta(hours=hours))
        return {"postponed_until": to_ms(until)}
