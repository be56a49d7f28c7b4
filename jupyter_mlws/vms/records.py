"""The records of notebook VMs: the ``vms`` and ``vm_events`` tables (migration 14).

Every change of state goes through :meth:`VMRecords.move`: one write transaction checks the legal
transition (:mod:`.states`) against the state read in that transaction and records the event with
its reason and actor, so two processes acting on one VM cannot both win.  The same transaction
sets the busy lease (:mod:`.leases`): the mover holds it in a busy state, nobody outside them;
and only the holder moves a VM on from a busy state (``take_over`` aside: delete, the reaper).
"""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import AlreadyExists, Conflict, NotFound
from ..run_records import new_run_id as new_id, now_ms
from ..store import schema as S
from . import leases, states

V, E = S.vms, S.vm_events
#: the fields of a record a caller may change besides its state (connection, node, scripts)
FIELDS = ("node_id", "host", "ssh_port", "ssh_user", "host_key", "key_secret", "python")
#: the longest reason kept, in characters (the end of a log is cut to fit)
REASON_MAX = 4000


def _taken(name: str) -> AlreadyExists:
    return AlreadyExists(f"vm {name!r} exists: delete it first ('mlws vm delete {name}') or choose "
                         "another name")


class VMRecords:
    """The VM rows of one workspace's metadata store ``db``."""

    def __init__(self, db):
        self.db = db

    # -- reading --------------------------------------------------------------------------------

    def get(self, name: str) -> dict:
        """The VM named ``name``: the one not deleted, else the last one deleted; NotFound."""
        with self.db.read() as conn:
            row = conn.execute(select(V).where(V.c.name == name)
                               .order_by((V.c.state == states.DELETED).asc(), V.c.pk.desc())
                               .limit(1)).mappings().first()
        if row is None:
            raise NotFound(f"no vm {name!r}: 'mlws vm list' shows them")
        return dict(row)

    def by_id(self, vm_id: str) -> dict | None:
        with self.db.read() as conn:
            row = conn.execute(select(V).where(V.c.id == vm_id)).mappings().first()
        return None if row is None else dict(row)

    def find(self, name: str) -> dict | None:
        """The VM named ``name`` that is not deleted, or None."""
        with self.db.read() as conn:
            row = conn.execute(select(V).where(V.c.name == name, V.c.state != states.DELETED)
                               ).mappings().first()
        return None if row is None else dict(row)

    def list(self, *, deleted: bool = False) -> list[dict]:
        """Every VM by name (the deleted ones too with ``deleted``)."""
        query = select(V).order_by(V.c.name, V.c.pk)
        if not deleted:
            query = query.where(V.c.state != states.DELETED)
        with self.db.read() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]

    def events(self, vm_id: str, limit: int = 200) -> list[dict]:
        """The VM's last ``limit`` state changes, oldest first: ``at, from_state, to_state,
        reason, actor``."""
        with self.db.read() as conn:
            rows = conn.execute(select(E).where(E.c.vm_id == vm_id).order_by(E.c.pk.desc())
                                .limit(limit)).mappings().all()
        return [{k: r[k] for k in ("at", "from_state", "to_state", "reason", "actor")}
                for r in reversed(rows)]

    # -- changing ---------------------------------------------------------------------------------

    def insert(self, values: dict[str, Any], actor: str, reason: str) -> dict:
        """Record a new VM in state ``creating``; AlreadyExists when a VM not deleted has its
        name."""
        now = now_ms()
        row = {**values, "id": new_id(), "state": states.CREATING, "reason": reason[:REASON_MAX],
               "created_at": now, "updated_at": now, "created_by": actor,
               **leases.here("create", now)}

        def write(conn) -> None:
            if conn.execute(select(V.c.pk).where(V.c.name == row["name"],
                                                 V.c.state != states.DELETED)).first():
                raise _taken(row["name"])
            conn.execute(insert(V).values(**row))
            conn.execute(insert(E).values(vm_id=row["id"], at=now, from_state=None,
                                          to_state=states.CREATING, reason=row["reason"],
                                          actor=actor))

        try:
            self.db.transact(write)
        except IntegrityError:
            raise _taken(row["name"]) from None
        return self.by_id(row["id"])

    def move(self, vm_id: str, to: str, reason: str, actor: str, *,
             expect: Iterable[str] | None = None, done: str = "changed", take_over: bool = False,
             step: str | None = None, **fields) -> dict:
        """Change the VM's state to ``to`` (and ``fields``) if that is legal from its state now
        (and its state is one of ``expect``, when given); return the record.  Into a busy state
        this process takes the lease (at ``step``, default the state's own verb); out of them it
        is cleared.  Conflict otherwise, saying what the VM can do; also when the VM is busy
        with a step another process holds, unless ``take_over`` (delete)."""
        bad = set(fields) - set(FIELDS)
        if bad:
            raise ValueError(f"not fields of a vm record: {sorted(bad)}")

        def write(conn) -> dict:
            row = conn.execute(select(V).where(V.c.id == vm_id)).mappings().first()
            if row is None:
                raise NotFound(f"no vm with id {vm_id}")
            old = row["state"]
            if expect is not None and old not in tuple(expect):
                raise Conflict(f"vm {row['name']!r} is {old} now: it cannot be {done}")
            states.check(row["name"], old, to, done)
            if old in states.BUSY and not take_over and leases.holder(row) is not None \
                    and not leases.is_mine(row):
                raise Conflict(f"vm {row['name']!r} is {old}: that step is in the hands of "
                               f"{leases.describe(row)}, not this process: it cannot be {done} "
                               "here")
            now = now_ms()
            lease = leases.here(step or STEP[to], now) if to in states.BUSY else leases.CLEAR
            conn.execute(update(V).where(V.c.id == vm_id).values(
                state=to, reason=reason[:REASON_MAX], updated_at=now, **lease, **fields))
            conn.execute(insert(E).values(vm_id=vm_id, at=now, from_state=old, to_state=to,
                                          reason=reason[:REASON_MAX], actor=actor))
            return dict(conn.execute(select(V).where(V.c.id == vm_id)).mappings().one())

        return self.db.transact(write)

    # -- busy leases (:mod:`.leases`) ------------------------------------------------------------

    def at_step(self, vm_id: str, step: str) -> None:
        """Record that this process, holding the VM's lease, is now at ``step`` (renewing it)."""
        self.db.transact(lambda conn: conn.execute(
            update(V).where(V.c.id == vm_id, *_held_here()).values(busy_step=step,
                                                                   busy_at=now_ms())))

    def renew(self, vm_ids: list[str]) -> None:
        """Renew the leases this process holds among ``vm_ids`` (:class:`.leases.Beater`)."""
        self.db.transact(lambda conn: conn.execute(
            update(V).where(V.c.id.in_(vm_ids), *_held_here()).values(busy_at=now_ms())))

    def busy(self) -> list[dict]:
        """Every VM in a busy state."""
        with self.db.read() as conn:
            return [dict(r) for r in conn.execute(
                select(V).where(V.c.state.in_(states.BUSY)).order_by(V.c.name)).mappings()]

    def take_over(self, seen: dict) -> dict | None:
        """Make this process the holder of VM ``seen``'s lease (keeping its state and step) if
        the VM is still as ``seen`` (same state, holder and last renewal); the record, or None
        when it changed meanwhile (its holder renewed it, or someone acted)."""
        def write(conn) -> dict | None:
            now = now_ms()
            same = [V.c.id == seen["id"], V.c.state == seen["state"]]
            for column in ("busy_host", "busy_pid", "busy_at"):
                same.append(V.c[column].is_(None) if seen[column] is None
                            else V.c[column] == seen[column])
            mine = leases.here(seen["busy_step"] or STEP[seen["state"]], now)
            if conn.execute(update(V).where(*same).values(**mine)).rowcount != 1:
                return None
            return dict(conn.execute(select(V).where(V.c.id == seen["id"])).mappings().one())

        return self.db.transact(write)

    def update(self, vm_id: str, **fields) -> dict:
        """Change connection or node fields without a change of state."""
        bad = set(fields) - set(FIELDS)
        if bad:
            raise ValueError(f"not fields of a vm record: {sorted(bad)}")

        def write(conn) -> None:
            conn.execute(update(V).where(V.c.id == vm_id).values(updated_at=now_ms(), **fields))

        self.db.transact(write)
        return self.by_id(vm_id)


#: the step a busy state starts at
STEP = {states.CREATING: "create", states.BOOTSTRAPPING: "bootstrap", states.STARTING: "start",
        states.STOPPING: "stop", states.DELETING: "delete"}


def _held_here() -> list:
    """Where-clauses: the lease is this process's."""
    from ..compute.local import Process

    me = Process.current()
    return [V.c.busy_host == me.host, V.c.busy_pid == me.pid]
