"""The workspace's secrets: named, versioned values encrypted at rest, soft-deleted, audited.

Every face calls this service: the CLI (``mlws secret ...``), the REST API (``secrets``: metadata
only, never a value), the SDK (``ws.get_secret``, ``mlws.get_secret`` in a run) and the
executors that inject a run's secrets into its process.

Roles (:mod:`jupyter_mlws.access`): readers see names, dates and versions; contributors set,
delete and recover secrets and read values (through the SDK, or by giving them to a run);
owners also purge and rotate the key.  Every read of a value writes an audit entry (who,
when, which run), never the value; so does every change.

Deleting a secret is soft: it can be recovered for ``retention_days`` (7 by default, the
workspace's ``secret_retention_days``), then it is purged.  Its name stays taken meanwhile:
setting it is a Conflict that says to recover or purge it.  The service's ``clock`` (seconds
since the epoch) decides when that is; tests set it.
"""

from __future__ import annotations

import time
from typing import Callable, Mapping

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from ..errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unavailable
from ..store import schema as S
from .names import check_name, check_value, parse_bindings
from .vault import Vault, decrypt, encrypt

#: the meta row naming the key new values are encrypted under (the one rule writers follow)
KEY_ID = "secrets_key_id"
#: audit entries one call returns at most
AUDIT_MAX = 10_000
_DAY_MS = 86_400_000

T, V, E, B = S.secrets, S.secret_versions, S.secret_events, S.run_secrets


class SecretService:
    """Secrets of one workspace.

    Parameters
    ----------
    db : Database
        The metadata store (tables ``secrets``, ``secret_versions``, ``secret_events``,
        ``run_secrets``).
    access : AccessService
        Decides who may do what (``actor`` in the methods below; ``check_actor=False`` when
        the caller has decided already, as a personal Jupyter server does).
    vault : Vault
        The keys, from the workspace's key file.
    retention_days : float
        Days a deleted secret stays recoverable.
    clock : callable
        Seconds since the epoch (default ``time.time``).
    vm_secrets : callable, optional
        ``vm_secrets() -> {secret name: VM name}``: the secrets the workspace made for its
        notebook VMs (:func:`jupyter_mlws.vms.secret_names.vm_secrets`), marked ``vm`` in the
        listing.
    """

    def __init__(self, db, *, access, vault: Vault, retention_days: float = 7.0,
                 clock: Callable[[], float] = time.time,
                 vm_secrets: Callable[[], Mapping[str, str]] | None = None):
        self.db, self.access, self.vault = db, access, vault
        self.retention_days = retention_days
        self.clock = clock
        self._vm_secrets = vm_secrets

    def _vms(self) -> Mapping[str, str]:
        return self._vm_secrets() if self._vm_secrets is not None else {}

    def _shown(self, row: Mapping) -> dict:
        """One secret's row as :meth:`list` shows it."""
        return _describe(row, self._vms())

    def _now(self) -> int:
        return int(self.clock() * 1000)

    def _require(self, actor: str, action: str, check: bool) -> None:
        if check:
            self.access.require(actor, action, "secrets")

    # -- metadata: names, dates and versions, never values --------------------------------------

    def list(self, *, deleted: bool = False) -> list[dict]:
        """Secrets by name: ``name, version, state, created_at, created_by, updated_at,
        updated_by, deleted_at, deleted_by, purge_at`` (times in ms), and ``vm``: the name of
        the notebook VM a secret was made for (its login key, its JupyterLab's token), None
        for everyone else's.  With ``deleted``, the deleted ones that can still be recovered
        instead of the live ones."""
        now = self._now()
        where = T.c.deleted_at.is_(None) if not deleted else and_(T.c.deleted_at.is_not(None),
                                                                   T.c.purge_at > now)
        with self.db.read() as conn:
            rows = conn.execute(select(T).where(where).order_by(T.c.name)).mappings().all()
        vms = self._vms() if rows else {}
        return [_describe(r, vms) for r in rows]

    def show(self, name: str) -> dict:
        """One secret's metadata (as :meth:`list`) with ``versions``: ``[{version, created_at,
        created_by}]``, newest first.  NotFound when there is none (or it was purged)."""
        name = check_name(name)
        with self.db.read() as conn:
            row = self._row(conn, name)
            versions = conn.execute(select(V.c.version, V.c.created_at, V.c.created_by)
                                    .where(V.c.secret_pk == row["pk"]).order_by(V.c.version.desc())
                                    ).mappings().all()
        return {**self._shown(row), "versions": [dict(v) for v in versions]}

    def audit(self, name: str | None = None, *, limit: int = 100, actor: str | None = None,
              check_actor: bool = True) -> list[dict]:
        """What happened to secret ``name`` (every secret: None), newest first: ``{name, action,
        version, user, run_id, ts}``; ``action`` is set, read, delete, recover, purge, expire or
        rotate-key.  Values never appear.  Owners only (``actor``, default this OS user): who
        read which secret is the owners' to know.  InvalidInput for a bad name or ``limit``
        (1 to ``AUDIT_MAX``), PermissionDenied."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= AUDIT_MAX:
            raise InvalidInput(f"limit must be an integer from 1 to {AUDIT_MAX}, got {limit!r}")
        if name is not None:
            name = check_name(name)
        if check_actor:
            from ..access import os_user

            self._require(os_user() if actor is None else actor, "admin", True)
        query = select(E).order_by(E.c.ts.desc(), E.c.pk.desc()).limit(limit)
        if name is not None:
            query = query.where(E.c.name == name)
        with self.db.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [{"name": r["name"], "action": r["action"], "version": r["version"],
                 "user": r["user_name"], "run_id": r["run_id"], "ts": r["ts"]} for r in rows]

    # -- changes ----------------------------------------------------------------------------

    def set(self, actor: str, name: str, value: str, *, check_actor: bool = True) -> dict:
        """Store ``value`` as the next version of ``name`` (version 1 for a new name); return its
        metadata.  Contributors and owners.

        Raises InvalidInput (name or value; the message never quotes the value), Conflict for a
        name that is deleted (recover or purge it first), PermissionDenied, Unavailable when the
        key file is missing or damaged.
        """
        name, value = check_name(name), check_value(value)
        self._require(actor, "write", check_actor)

        def write(conn: Connection) -> dict:
            now = self._now()
            self._expire(conn, now)
            row = conn.execute(select(T).where(T.c.name == name)).mappings().first()
            if row is not None and row["deleted_at"] is not None:
                raise Conflict(f"secret {name!r} is deleted (recoverable until {_day(row['purge_at'])}): "
                               f"recover it with 'mlws secret recover {name}', or have an owner "
                               f"purge it ('mlws secret purge {name}') before setting it again")
            version = 1 if row is None else row["version"] + 1
            key_id, key = self._encrypting_key(conn)
            if row is None:
                pk = conn.execute(insert(T).values(name=name, version=1, created_at=now, created_by=actor,
                                                   updated_at=now, updated_by=actor)).inserted_primary_key[0]
            else:
                pk = row["pk"]
                conn.execute(update(T).where(T.c.pk == pk).values(version=version, updated_at=now,
                                                                  updated_by=actor))
            conn.execute(insert(V).values(secret_pk=pk, version=version, key_id=key_id,
                                          ciphertext=encrypt(key, name, version, value),
                                          created_at=now, created_by=actor))
            record_event(conn, name, "set", actor, now, version=version)
            return dict(conn.execute(select(T).where(T.c.pk == pk)).mappings().one())

        return self._shown(self.db.transact(write))

    def delete(self, actor: str, name: str, *, check_actor: bool = True) -> dict:
        """Soft-delete ``name``: it can be recovered until its ``purge_at``, then it is purged.
        Contributors and owners.  NotFound, or Conflict when it is deleted already."""
        name = check_name(name)
        days = self.retention_days
        if isinstance(days, bool) or not isinstance(days, (int, float)) or not 0 < days <= 3650:
            raise InvalidInput("the workspace's secret_retention_days (mlws.toml) must be a positive "
                               f"number of days up to 3650, got {days!r}: fix it in mlws.toml")
        self._require(actor, "write", check_actor)

        def write(conn: Connection) -> dict:
            now = self._now()
            self._expire(conn, now)
            row = self._row(conn, name)
            if row["deleted_at"] is not None:
                raise Conflict(f"secret {name!r} is deleted already (recoverable until "
                               f"{_day(row['purge_at'])})")
            conn.execute(update(T).where(T.c.pk == row["pk"]).values(
                deleted_at=now, deleted_by=actor, purge_at=now + int(days * _DAY_MS)))
            record_event(conn, name, "delete", actor, now)
            return dict(conn.execute(select(T).where(T.c.pk == row["pk"])).mappings().one())

        return self._shown(self.db.transact(write))

    def recover(self, actor: str, name: str, *, check_actor: bool = True) -> dict:
        """Bring a deleted secret back, every version with it.  Contributors and owners.
        NotFound (never was, or purged), Conflict when it is not deleted."""
        name = check_name(name)
        self._require(actor, "write", check_actor)

        def write(conn: Connection) -> dict:
            now = self._now()
            self._expire(conn, now)
            row = self._row(conn, name)
            if row["deleted_at"] is None:
                raise Conflict(f"secret {name!r} is not deleted: there is nothing to recover")
            conn.execute(update(T).where(T.c.pk == row["pk"]).values(deleted_at=None, deleted_by=None,
                                                                     purge_at=None))
            record_event(conn, name, "recover", actor, now)
            return dict(conn.execute(select(T).where(T.c.pk == row["pk"])).mappings().one())

        return self._shown(self.db.transact(write))

    def purge(self, actor: str, name: str, *, check_actor: bool = True) -> None:
        """Remove a deleted secret and all its versions for good.  Owners only.  NotFound, or
        Conflict when it is not deleted (delete it first)."""
        name = check_name(name)
        self._require(actor, "admin", check_actor)

        def write(conn: Connection) -> None:
            now = self._now()
            self._expire(conn, now)
            row = self._row(conn, name)
            if row["deleted_at"] is None:
                raise Conflict(f"secret {name!r} is not deleted: delete it first ('mlws secret "
                               f"delete {name}'), then purge it")
            self._remove(conn, row["pk"])
            record_event(conn, name, "purge", actor, now)

        self.db.transact(write)

    # -- values -------------------------------------------------------------------------------

    def read(self, actor: str, name: str, *, version: int | None = None, run_id: str | None = None,
             check_actor: bool = True) -> str:
        """The value of ``name`` (its latest version, or ``version``), audited as read by ``actor``
        (in run ``run_id``).  Contributors and owners: readers never read values.

        Raises NotFound, Conflict for a deleted secret, PermissionDenied, Unavailable when the
        key file is missing or does not hold its key (or the audit cannot be written: then no
        value is returned).
        """
        name = check_name(name)
        self._require(actor, "write", check_actor)
        version, value = self._decrypted(name, version)
        self.db.transact(lambda conn: record_event(conn, name, "read", actor, self._now(),
                                                  version=version, run_id=run_id))
        return value

    def _decrypted(self, name: str, version: int | None) -> tuple[int, str]:
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)
                                    or version < 1):
            raise InvalidInput(f"a secret's version is a positive integer, got {version!r}")
        for _attempt in range(3):  # a rotation may re-encrypt the row between our read and our key
            with self.db.read() as conn:
                row = self._row(conn, name)
                if row["deleted_at"] is not None:
                    raise Conflict(f"secret {name!r} is deleted: recover it first ('mlws secret "
                                   f"recover {name}')")
                wanted = version or row["version"]
                found = conn.execute(select(V.c.key_id, V.c.ciphertext).where(
                    V.c.secret_pk == row["pk"], V.c.version == wanted)).first()
            if found is None:
                raise NotFound(f"secret {name!r} has no version {wanted} (its latest is "
                               f"{row['version']})")
            key = self.vault.key(found.key_id)
            value = decrypt(key, name, wanted, bytes(found.ciphertext)) if key is not None else None
            if value is not None:
                return wanted, value
        if key is None:
            raise self.vault.missing()
        raise Unavailable(f"secret {name!r} version {wanted} does not decrypt with the workspace's "
                          "key: its stored value was changed or belongs to another secret; set it again")

    # -- runs: which secrets a run is given, and their values for its process -------------------

    def check_bindings(self, actor: str, specs, *, check_actor: bool = True) -> dict[str, str]:
        """``--secret NAME[=ENVVAR]`` values as ``{ENVVAR: NAME}``, each naming a live secret the
        actor may read (contributors and owners); nothing is recorded."""
        bindings = parse_bindings(specs)
        if not bindings:
            return {}
        self._require(actor, "write", check_actor)
        with self.db.read() as conn:
            for name in sorted(set(bindings.values())):
                if self._row(conn, name)["deleted_at"] is not None:
                    raise Conflict(f"secret {name!r} is deleted: recover it before giving it to a run")
        return bindings

    def bind(self, actor: str, run_id: str, specs, *, check_actor: bool = True) -> dict[str, str]:
        """Record that run ``run_id`` is given these secrets (:meth:`check_bindings`), replacing
        what it was given; return ``{ENVVAR: NAME}``.  Names only: values are read when the run
        executes (:meth:`env_for_run`)."""
        bindings = self.check_bindings(actor, specs, check_actor=check_actor)

        def write(conn: Connection) -> None:
            conn.execute(delete(B).where(B.c.run_id == run_id))
            if bindings:
                conn.execute(insert(B), [{"run_id": run_id, "env": env, "name": name, "bound_by": actor}
                                         for env, name in sorted(bindings.items())])

        self.db.transact(write)
        return bindings

    def unbind(self, run_id: str) -> None:
        """Forget the secrets given to ``run_id`` (a submission that was refused)."""
        self.db.transact(lambda conn: conn.execute(delete(B).where(B.c.run_id == run_id)))

    def bindings(self, run_id: str) -> dict[str, str]:
        """The secrets run ``run_id`` was given, as ``{ENVVAR: NAME}``."""
        with self.db.read() as conn:
            return dict(conn.execute(select(B.c.env, B.c.name).where(B.c.run_id == run_id)
                                     .order_by(B.c.env)).all())

    def env_for_run(self, run_id: str) -> dict[str, str]:
        """The environment variables of run ``run_id``'s secrets, values read now (each read
        audited for the run, as its submitter's).  Raises as :meth:`read` does, e.g. Conflict
        when a secret was deleted after the run was submitted."""
        with self.db.read() as conn:
            rows = conn.execute(select(B.c.env, B.c.name, B.c.bound_by).where(B.c.run_id == run_id)
                                .order_by(B.c.env)).all()
        env, reads = {}, []
        for var, name, bound_by in rows:
            version, env[var] = self._decrypted(name, None)
            reads.append((name, version, bound_by))
        if reads:
            def write(conn: Connection) -> None:
                now = self._now()
                for name, version, user in reads:
                    record_event(conn, name, "read", user, now, version=version, run_id=run_id)
            self.db.transact(write)
        return env

    def read_in_run(self, run_id: str, name: str, *, version: int | None = None) -> str:
        """The value of ``name`` for code in run ``run_id`` (``mlws.get_secret``): only a secret
        the run was given, so that its outputs mask it.  PermissionDenied otherwise."""
        name = check_name(name)
        with self.db.read() as conn:
            bound_by = conn.execute(select(B.c.bound_by).where(B.c.run_id == run_id, B.c.name == name)
                                    ).scalar()
        if bound_by is None:
            raise PermissionDenied(
                f"run {run_id} was not given secret {name!r}, so its outputs would not mask it: "
                f"submit the run with --secret {name} (ws.submit_notebook(..., secrets=[{name!r}]))")
        return self.read(bound_by, name, version=version, run_id=run_id, check_actor=False)

    # -- the key ----------------------------------------------------------------------------------

    def _encrypting_key(self, conn: Connection) -> tuple[str, bytes]:
        """The id and key new values are encrypted under: the one the ``meta`` row names, locked
        for this transaction, so that a rotation (which moves the row) waits for this write and
        then re-encrypts it.  The first secret makes the key file."""
        meta = S.meta
        for _attempt in range(3):
            key_id = conn.execute(select(meta.c.value).where(meta.c.key == KEY_ID)).scalar()
            if key_id is None:
                keys = self.vault.create()
                conn.execute(insert(meta).values(key=KEY_ID, value=keys.primary))
                return keys.primary, keys.key
            key = self.vault.key(key_id)
            if key is None:
                raise self.vault.missing()
            locked = conn.execute(update(meta).where(meta.c.key == KEY_ID, meta.c.value == key_id)
                                  .values(value=key_id)).rowcount
            if locked:
                return key_id, key
        raise Unavailable("the secrets key is being rotated by another process: try again")

    # -- helpers ----------------------------------------------------------------------------------

    def _row(self, conn: Connection, name: str) -> Mapping:
        row = conn.execute(select(T).where(T.c.name == name)).mappings().first()
        if row is None or (row["purge_at"] is not None and row["purge_at"] <= self._now()):
            raise NotFound(f"no secret named {name!r}: 'mlws secret list' shows them "
                           "('--deleted' the deleted ones)")
        return row

    def _expire(self, conn: Connection, now: int) -> None:
        """Purge the deleted secrets whose retention has passed."""
        for pk, name in conn.execute(select(T.c.pk, T.c.name).where(T.c.purge_at <= now)).all():
            self._remove(conn, pk)
            record_event(conn, name, "expire", "", now)

    @staticmethod
    def _remove(conn: Connection, pk: int) -> None:
        conn.execute(delete(V).where(V.c.secret_pk == pk))
        conn.execute(delete(T).where(T.c.pk == pk))

    def rotate_key(self, actor: str, *, check_actor: bool = True, batch: int = 200) -> dict:
        """Re-encrypt every version under a new key, without stopping readers or writers; owners
        only.  Returns ``{"key_id", "re_encrypted"}``.  See :mod:`.rotation`."""
        from .rotation import rotate

        self._require(actor, "admin", check_actor)
        return rotate(self.db, self.vault, actor, now=self._now, batch=batch)

    def count_versions(self) -> dict[str, int]:
        """Versions stored under each key id (what a rotation has left to do)."""
        with self.db.read() as conn:
            return dict(conn.execute(select(V.c.key_id, func.count()).group_by(V.c.key_id)).all())


def record_event(conn: Connection, name: str, action: str, user: str, now: int, *,
                 version: int | None = None, run_id: str | None = None) -> None:
    """Write one audit entry (never a value)."""
    conn.execute(insert(E).values(name=name, action=action, version=version, user_name=user or "",
                                  run_id=run_id, ts=now))


def _describe(row: Mapping, vms: Mapping[str, str]) -> dict:
    """A secret's metadata as every face shows it (``vms``: the VMs' own secrets' VM names)."""
    return {"name": row["name"], "version": row["version"], "vm": vms.get(row["name"]),
            "state": "deleted" if row["deleted_at"] is not None else "active",
            "created_at": row["created_at"], "created_by": row["created_by"],
            "updated_at": row["updated_at"], "updated_by": row["updated_by"],
            "deleted_at": row["deleted_at"], "deleted_by": row["deleted_by"],
            "purge_at": row["purge_at"]}


def _day(ms: int | None) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp((ms or 0) / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
