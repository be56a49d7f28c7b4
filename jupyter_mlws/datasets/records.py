"""The dataset tables (migration 21): versions and their manifests, aliases, and lineage rows.

A version row is inserted in one transaction with its manifest, only after its objects are all
stored (:mod:`.service`); the same transaction re-reads the latest version, so two registers of
the same content at once make one version.  Lineage is read both ways here: the runs and model
versions that used a version, and the versions a run or model version used (a model version's
own training data, plus every version its run used: inherited when read, never copied).
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from sqlalchemy import and_, func, literal, select
from sqlalchemy.engine import Connection

from .. import run_records as R
from ..errors import NotFound
from ..store import schema as S
from ..store.versions import version_pk_query

#: runs or models listed per version (the count says how many there are)
USERS_MAX = 100
#: values per SQL ``IN`` list
_IN_CHUNK = 500


class DatasetRecords:
    """Reads and writes the dataset tables of one store; ``runs`` turns run ids into keys."""

    def __init__(self, db, runs):
        self.db, self.runs = db, runs

    # -- versions ---------------------------------------------------------------------------

    def insert_version(self, name: str, *, datastore: str, root_hash: str,
                       files: list[tuple[str, str, int]], row: dict[str, Any],
                       run_id: str | None) -> tuple[int, bool]:
        """The next version of ``name`` with ``files`` ``(path, sha256, size)``; or, when the
        latest version already holds exactly these files in ``datastore``, that one.  Returns
        ``(version pk, created)``."""
        run_pk = self.runs.pk_of(run_id) if run_id else None

        def write(conn: Connection) -> tuple[int, bool]:
            self.db.serialize(conn, f"dataset:{name}")
            conn.execute(self.db.insert(S.datasets).values(
                name=name, created_at=R.now_ms(), version_counter=0)
                .on_conflict_do_nothing(index_elements=["name"]))
            dataset_pk = conn.execute(select(S.datasets.c.pk)
                                      .where(S.datasets.c.name == name)).scalar_one()
            v = S.dataset_versions
            latest = conn.execute(select(v.c.pk, v.c.root_hash, v.c.datastore)
                                  .where(v.c.dataset_pk == dataset_pk)
                                  .order_by(v.c.version.desc()).limit(1)).first()
            if latest is not None and (latest.root_hash, latest.datastore) == (root_hash, datastore):
                return latest.pk, False
            number = conn.execute(
                S.datasets.update().where(S.datasets.c.pk == dataset_pk)
                .values(version_counter=S.datasets.c.version_counter + 1)
                .returning(S.datasets.c.version_counter)).scalar_one()
            pk = conn.execute(v.insert().values(
                dataset_pk=dataset_pk, version=number, datastore=datastore, root_hash=root_hash,
                files=len(files), size=sum(f[2] for f in files), run_pk=run_pk,
                created_at=R.now_ms(), **row)).inserted_primary_key[0]
            conn.execute(S.dataset_files.insert(), [
                {"version_pk": pk, "path": p, "sha256": s, "size": n} for p, s, n in files])
            return pk, True

        return self.db.transact(write)

    def known_objects(self, datastore: str, shas: Iterable[str]) -> set[str]:
        """Those of ``shas`` some version in ``datastore`` lists: stored before its row was."""
        shas = list(dict.fromkeys(shas))
        f, v = S.dataset_files, S.dataset_versions
        found: set[str] = set()
        with self.db.read() as conn:
            for i in range(0, len(shas), _IN_CHUNK):
                found.update(conn.execute(
                    select(f.c.sha256).distinct().select_from(f.join(v, v.c.pk == f.c.version_pk))
                    .where(and_(v.c.datastore == datastore,
                                f.c.sha256.in_(shas[i:i + _IN_CHUNK])))).scalars())
        return found

    def find(self, name: str, version: int | None = None, alias: str | None = None) -> dict:
        """The version row ``name`` (latest), ``name:version`` or ``name@alias`` names, with
        ``name``, ``aliases`` and ``run_id``; NotFound saying what exists."""
        query = version_pk_query(S.dataset_versions, S.datasets, S.dataset_aliases,
                                 S.dataset_versions.c.dataset_pk, name, version, alias)
        with self.db.read() as conn:
            pk = conn.execute(query).scalar()
            if pk is None:
                raise NotFound(_missing(conn, name, version, alias))
            return self._rows(conn, [pk])[0]

    def by_pks(self, pks: list[int]) -> list[dict]:
        with self.db.read() as conn:
            return self._rows(conn, pks)

    def _rows(self, conn: Connection, pks: list[int]) -> list[dict]:
        v, d, r = S.dataset_versions, S.datasets, S.runs
        rows = conn.execute(
            select(v, d.c.name, r.c.id.label("run_id"))
            .select_from(v.join(d, d.c.pk == v.c.dataset_pk).outerjoin(r, r.c.pk == v.c.run_pk))
            .where(v.c.pk.in_(pks))).mappings().all()
        aliases: dict[int, list[str]] = {}
        for alias, pk in conn.execute(select(S.dataset_aliases.c.alias, S.dataset_aliases.c.version_pk)
                                      .where(S.dataset_aliases.c.version_pk.in_(pks))
                                      .order_by(S.dataset_aliases.c.alias)):
            aliases.setdefault(pk, []).append(alias)
        out = {row["pk"]: {**row, "tags": json.loads(row["tags"]),
                           "stats": json.loads(row["stats"]) if row["stats"] else None,
                           "aliases": aliases.get(row["pk"], [])} for row in rows}
        return [out[pk] for pk in pks if pk in out]

    def files(self, version_pk: int, offset: int = 0, limit: int | None = None) -> list[dict]:
        """A version's manifest, ``{"path", "sha256", "size"}`` by path (from the ``offset``-th
        file, at most ``limit`` of them; None: all)."""
        f = S.dataset_files
        query = (select(f.c.path, f.c.sha256, f.c.size).where(f.c.version_pk == version_pk)
                 .order_by(f.c.path).offset(offset).limit(limit))
        with self.db.read() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def file(self, version_pk: int, path: str) -> dict | None:
        """One file of a version's manifest, ``{"path", "sha256", "size"}``; None when it has
        no file ``path``."""
        f = S.dataset_files
        with self.db.read() as conn:
            row = conn.execute(select(f.c.path, f.c.sha256, f.c.size).where(and_(
                f.c.version_pk == version_pk, f.c.path == path))).mappings().first()
        return dict(row) if row is not None else None

    def version_pks(self, name: str) -> list[int]:
        """The versions of ``name``, newest first (NotFound for no such dataset)."""
        v, d = S.dataset_versions, S.datasets
        with self.db.read() as conn:
            pks = conn.execute(select(v.c.pk).select_from(v.join(d, d.c.pk == v.c.dataset_pk))
                               .where(d.c.name == name).order_by(v.c.version.desc())).scalars().all()
        if not pks:
            raise NotFound(f"no dataset named {name!r}: 'mlws dataset list' shows them")
        return list(pks)

    def listing(self) -> list[dict]:
        """Every dataset: its latest version, number of versions, latest size and files."""
        v, d = S.dataset_versions, S.datasets
        latest = (select(v.c.dataset_pk, func.max(v.c.version).label("latest"),
                         func.count(v.c.pk).label("versions")).group_by(v.c.dataset_pk).subquery())
        with self.db.read() as conn:
            rows = conn.execute(
                select(d.c.name, latest.c.latest, latest.c.versions, v.c.size, v.c.files,
                       v.c.created_at, v.c.datastore, v.c.description, v.c.stats.isnot(None))
                .select_from(d.join(latest, latest.c.dataset_pk == d.c.pk)
                             .join(v, and_(v.c.dataset_pk == d.c.pk, v.c.version == latest.c.latest)))
                .order_by(d.c.name)).all()
        return [dict(name=n, latest=lv, versions=c, size=s, files=f, updated_at=t, datastore=ds,
                     description=desc, tabular=bool(tab))
                for n, lv, c, s, f, t, ds, desc, tab in rows]

    def using_datastore(self, datastore: str) -> list[str]:
        """``NAME:VERSION`` of every version whose objects live in ``datastore``."""
        v, d = S.dataset_versions, S.datasets
        with self.db.read() as conn:
            rows = conn.execute(select(d.c.name, v.c.version).select_from(
                v.join(d, d.c.pk == v.c.dataset_pk)).where(v.c.datastore == datastore)
                .order_by(d.c.name, v.c.version)).all()
        return [f"{n}:{ver}" for n, ver in rows]

    # -- aliases and deletion ---------------------------------------------------------------

    def set_alias(self, dataset_pk: int, alias: str, version_pk: int) -> None:
        stmt, rows = self.db.upsert(S.dataset_aliases, [dict(dataset_pk=dataset_pk, alias=alias,
                                                             version_pk=version_pk)],
                                    ["dataset_pk", "alias"])
        self.db.transact(lambda conn: conn.execute(stmt, rows))

    def delete_alias(self, name: str, alias: str) -> bool:
        a, d = S.dataset_aliases, S.datasets
        return bool(self.db.transact(lambda conn: conn.execute(a.delete().where(and_(
            a.c.alias == alias, a.c.dataset_pk.in_(select(d.c.pk).where(d.c.name == name)))))
            .rowcount))

    def delete_versions(self, dataset_pk: int, pks: list[int]) -> None:
        """Remove versions (their manifest, aliases and lineage rows), and the dataset when none
        is left; the objects stay (other versions may hold them)."""
        def delete(conn: Connection) -> None:
            for table, column in ((S.dataset_aliases, S.dataset_aliases.c.version_pk),
                                  (S.dataset_files, S.dataset_files.c.version_pk),
                                  (S.dataset_uses, S.dataset_uses.c.version_pk)):
                conn.execute(table.delete().where(column.in_(pks)))
            conn.execute(S.dataset_versions.delete().where(S.dataset_versions.c.pk.in_(pks)))
            left = conn.execute(select(func.count()).select_from(S.dataset_versions)
                                .where(S.dataset_versions.c.dataset_pk == dataset_pk)).scalar()
            if not left:
                conn.execute(S.datasets.delete().where(S.datasets.c.pk == dataset_pk))

        self.db.transact(delete)

    # -- lineage ------------------------------------------------------------------------------

    def record_use(self, version_pk: int, run_id: str, how: str) -> None:
        """Run ``run_id`` used the version (once per way: a second read adds nothing)."""
        run_pk = self.runs.pk_of(run_id)
        u = S.dataset_uses
        stmt = self.db.insert(u).values(version_pk=version_pk, run_pk=run_pk, how=how,
                                        at=R.now_ms()).on_conflict_do_nothing(
            index_elements=["version_pk", "run_pk", "how"], index_where=u.c.run_pk.isnot(None))
        self.db.transact(lambda conn: conn.execute(stmt))

    def record_training(self, version_pk: int, model_version_pk: int) -> None:
        """Model version ``model_version_pk`` was trained on the version."""
        self.db.transact(lambda conn: conn.execute(S.dataset_uses.insert().values(
            version_pk=version_pk, model_version_pk=model_version_pk, how="training",
            at=R.now_ms())))

    def users(self, version_pk: int) -> dict:
        """The runs that used (or made) a version and the model versions trained on it or
        registered from such a run: ``{"runs": [{"id", "name", "status", "how"}], "models":
        [{"name", "version", "how"}], "run_count", "model_count"}``."""
        u, r, mv, m, v = S.dataset_uses, S.runs, S.model_versions, S.models, S.dataset_versions
        with self.db.read() as conn:
            used = conn.execute(select(r.c.id, r.c.name, r.c.status, u.c.how).select_from(
                u.join(r, r.c.pk == u.c.run_pk)).where(u.c.version_pk == version_pk)
                .order_by(u.c.at, u.c.pk)).all()
            maker = conn.execute(select(r.c.id, r.c.name, r.c.status).select_from(
                v.join(r, r.c.pk == v.c.run_pk)).where(v.c.pk == version_pk)).first()
            run_pks = select(u.c.run_pk).where(and_(u.c.version_pk == version_pk,
                                                    u.c.run_pk.isnot(None)))
            models = conn.execute(
                select(m.c.name, mv.c.version, u.c.how).select_from(
                    mv.join(m, m.c.pk == mv.c.model_pk).join(u, u.c.model_version_pk == mv.c.pk))
                .where(u.c.version_pk == version_pk)
                .union_all(select(m.c.name, mv.c.version, literal("run")).select_from(
                    mv.join(m, m.c.pk == mv.c.model_pk)).where(mv.c.run_pk.in_(run_pks)))).all()
        runs: dict[str, dict] = {}
        if maker is not None:
            runs[maker.id] = {"id": maker.id, "name": maker.name, "status": maker.status,
                              "how": "output"}
        for rid, name, status, how in used:
            runs.setdefault(rid, {"id": rid, "name": name, "status": status, "how": how})
        seen: dict[tuple, dict] = {}
        for name, version, how in sorted(models, key=lambda x: (x[0], x[1], x[2] != "training")):
            seen.setdefault((name, version), {"name": name, "version": version, "how": how})
        run_list, model_list = list(runs.values()), list(seen.values())
        return {"runs": run_list[:USERS_MAX], "run_count": len(run_list),
                "models": model_list[:USERS_MAX], "model_count": len(model_list)}

    def of_run(self, run_id: str) -> list[dict]:
        """The versions a run used (``how``: input, read) or made (``output``)."""
        pk = self.runs.pk_of(run_id)
        u, v = S.dataset_uses, S.dataset_versions
        with self.db.read() as conn:
            rows = conn.execute(select(u.c.version_pk, u.c.how).where(u.c.run_pk == pk)
                                .order_by(u.c.at, u.c.pk)).all()
            made = conn.execute(select(v.c.pk).where(v.c.run_pk == pk).order_by(v.c.pk)).scalars().all()
        return self._linked([(p, h) for p, h in rows] + [(p, "output") for p in made])

    def of_model(self, model_version_pk: int, run_id: str | None) -> list[dict]:
        """The versions a model version was trained on, then those its run used (a version it
        was trained on is listed once, as training, though its run read it too)."""
        u = S.dataset_uses
        with self.db.read() as conn:
            own = conn.execute(select(u.c.version_pk).where(u.c.model_version_pk == model_version_pk)
                               .order_by(u.c.pk)).scalars().all()
        trained = self._linked([(p, "training") for p in own])
        inherited = [d for d in self.of_run(run_id) if d["how"] != "output"] if run_id else []
        listed = {d["ref"] for d in trained}
        out = list(trained)
        for d in inherited:
            if d["ref"] not in listed:
                listed.add(d["ref"])
                out.append({**d, "how": f"run {d['how']}"})
        return out

    def _linked(self, pairs: list[tuple[int, str]]) -> list[dict]:
        rows = {r["pk"]: r for r in self.by_pks(list({p for p, _ in pairs}))}
        out, seen = [], set()
        for pk, how in pairs:
            if pk in rows and (pk, how) not in seen:
                seen.add((pk, how))
                row = rows[pk]
                out.append({"ref": f"{row['name']}:{row['version']}", "name": row["name"],
                            "version": row["version"], "root_hash": row["root_hash"], "how": how})
        return out


def _missing(conn: Connection, name: str, version, alias) -> str:
    if conn.execute(select(S.datasets.c.pk).where(S.datasets.c.name == name)).scalar() is None:
        return f"no dataset named {name!r}: 'mlws dataset list' shows them"
    if alias is not None:
        return (f"dataset {name!r} has no alias {alias!r}: set it with 'mlws dataset alias "
                f"{name}@{alias} VERSION'")
    return f"dataset {name!r} has no version {version}: 'mlws dataset versions {name}' lists them"
