"""Who is doing a VM's step, and finding the steps nobody does any more.

A VM in a busy state (:data:`.states.BUSY`: creating, bootstrapping, starting, stopping,
deleting) is in the hands of one process: the one that moved it there records itself in the
VM's row in the same transaction (``busy_host``, ``busy_pid``, ``busy_started``: its start in
clock ticks, so that a reused pid is not taken for it), with the time (``busy_at``) and the
step it is at (``busy_step``: create, boot, ssh, bootstrap, start, stop, delete).  While it
works on the step its :class:`Beater` renews ``busy_at`` every :data:`BEAT_S` seconds.  Leaving
the busy states clears all five.

**Abandoned** (:func:`abandoned`): the holder ran on this machine and is gone (``kill -9``, a
crash, a reboot), or nobody renewed the lease for :data:`LEASE_S` seconds (a holder on another
machine; or one alive here that no longer works on the step).  Host names tell machines apart,
as everywhere the workspace records a process (:class:`jupyter_mlws.compute.local.Process`).
The reaper (:meth:`jupyter_mlws.vms.service.VMService.reap`, run by the scheduler host's
periodic watcher and by ``mlws compute gc``) takes such a VM over (only if its lease is still the
one judged) and ends the step as a failure of it would have.

**Fencing.**  Once a lease has another holder, the old one can no longer move the VM: a
process that was only stopped (SIGSTOP, a frozen machine) and wakes up later finds its next
step refused, and the reaper's outcome stands.
"""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager
from typing import Any

from ..compute.local import Process

#: seconds between two renewals of the leases a process holds
BEAT_S = 10.0
#: seconds without a renewal after which a lease is abandoned whoever holds it
LEASE_S = 120.0
#: the lease columns of a VM row
COLUMNS = ("busy_host", "busy_pid", "busy_started", "busy_at", "busy_step")
#: the lease fields outside busy states
CLEAR: dict[str, Any] = dict.fromkeys(COLUMNS)


def here(step: str, now: int) -> dict[str, Any]:
    """The lease fields that make this process the holder, at ``step``, beating at ``now`` (ms)."""
    me = Process.current()
    return {"busy_host": me.host, "busy_pid": me.pid, "busy_started": me.started,
            "busy_at": now, "busy_step": step}


def holder(vm: dict) -> Process | None:
    """The process holding ``vm``'s lease (None: no lease recorded)."""
    if not vm.get("busy_pid"):
        return None
    return Process(int(vm["busy_pid"]), vm.get("busy_host") or "", vm.get("busy_started"))


def is_mine(vm: dict) -> bool:
    """Whether this process holds ``vm``'s lease."""
    found = holder(vm)
    me = Process.current()
    return found is not None and (found.host, found.pid) == (me.host, me.pid)


def describe(vm: dict) -> str:
    """"pid N on HOST" of ``vm``'s holder, for a message."""
    found = holder(vm)
    return "an unrecorded process" if found is None else f"pid {found.pid} on {found.host}"


def abandoned(vm: dict, now: int, lease_s: float = LEASE_S) -> str | None:
    """Why the step of busy VM ``vm`` (a row) is done by nobody, or None while its holder may
    still do it; ``now`` in ms.  A VM recorded before leases existed is judged by its last
    change."""
    found = holder(vm)
    if found is not None and found.gone_here():
        return f"the process doing it ({describe(vm)}) ended before it finished"
    beat = vm["updated_at"] if vm.get("busy_at") is None else vm["busy_at"]
    if now - beat > lease_s * 1000:
        return (f"nothing worked on it for {(now - beat) // 1000} s (the process doing it, "
                f"{describe(vm)}, stopped renewing its lease)")
    return None


class Beater:
    """Renews the leases of the steps this process works on, in a thread of its own that runs
    while there are any.

    Parameters
    ----------
    renew : callable
        ``renew(vm_ids)``: set ``busy_at`` to now for those of ``vm_ids`` whose lease this
        process holds (:meth:`jupyter_mlws.vms.records.VMRecords.renew`).
    interval : float
        Seconds between two renewals.
    """

    def __init__(self, renew, interval: float = BEAT_S):
        self.renew, self.interval = renew, interval
        self._held: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None

    @contextmanager
    def holding(self, vm_id: str):
        """Renew VM ``vm_id``'s lease while the block runs."""
        with self._lock:
            self._held[vm_id] += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mlws-vm-leases",
                                                daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._held[vm_id] -= 1
                if self._held[vm_id] <= 0:
                    del self._held[vm_id]
                self._wake.notify_all()

    def _run(self) -> None:
        while True:
            with self._lock:
                self._wake.wait(self.interval)
                ids = sorted(self._held)
                if not ids:
                    self._thread = None
                    return
            try:
                self.renew(ids)
            except Exception:  # noqa: BLE001 - a busy store: renewed at the next beat
                pass
