"""The model registry: named, versioned models with lineage to the run that made them.

A version is a set of files (content-addressed blobs), its framework flavor
when it can be told without running anything, its size and hash, and the
params and metrics of its run at registration.  ``NAME`` (the latest
version), ``NAME:3`` and ``NAME@champion`` name a version everywhere.

Nothing is ever unpickled here: flavors are read from pickle opcodes, and
models are only loaded inside an endpoint's own process.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickletools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Mapping, Union

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from . import runs as R
from .fsutil import safe_join, shown_path, validate_name
from .artifacts import copy_blob
from .errors import Conflict, InvalidInput, NotFound
from .limits import TAGS_MAX, VERSION_MAX, check_count, check_key, check_text
from .store import schema as S
from .store.blobs import BlobStore
from .store.versions import version_pk_query
from .store.db import Database

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
REF_RE = re.compile(r"^(?P<name>[^:@]+)(?::(?P<version>[^:@]+)|@(?P<alias>[^:@]+))?$")
#: file suffixes that tell a model's flavor, first match wins
SUFFIX_FLAVORS = (((".onnx",), "onnx"), ((".pt", ".pth"), "pytorch"), ((".h5", ".keras"), "keras"),
                  ((".safetensors",), "safetensors"))
#: pickled models, whose flavor is read from their opcodes
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
MODEL_SUFFIXES = tuple(s for group, _ in SUFFIX_FLAVORS for s in group) + PICKLE_SUFFIXES
#: a model file's content: a local path, or a callable opening it as a binary stream (a blob)
Source = Union[str, os.PathLike, Callable[[], BinaryIO]]


@dataclass
class ModelVersion:
    """One registered version of a model."""

    name: str
    version: int
    pk: int
    description: str
    created_at: int
    flavor: str
    size: int
    sha256: str
    run_id: str | None
    source: str
    lineage: dict
    tags: dict
    aliases: list[str] = field(default_factory=list)
    files: list[dict] = field(default_factory=list)
    #: rows and feature names of the training data summarised at registration (None: none given)
    training_data: dict | None = None
    #: dataset versions it was trained on (``how`` training) and those its run used (``run
    #: input``, ``run read``): ``[{"ref", "name", "version", "root_hash", "how"}]``
    datasets: list[dict] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """``name:version``."""
        return f"{self.name}:{self.version}"

    def to_dict(self) -> dict:
        """A JSON-friendly dict."""
        return {k: v for k, v in self.__dict__.items() if k != "pk"} | {"ref": self.ref}


def check_name(name: object, what: str = "model name") -> str:
    """A model or alias name: letters, digits, '.', '_' and '-', up to 128 characters.

    Raises InvalidInput for anything else, an empty name included (never a default in its place)."""
    if isinstance(name, str) and not name.strip():
        raise InvalidInput(f"give the {what}: letters, digits, '.', '_' and '-' (starting with a "
                           "letter or digit, up to 128 characters), e.g. 'wine'")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InvalidInput(f"{what} {name!r} is not valid: use letters, digits, '.', '_' and '-' "
                           "(starting with a letter or digit, up to 128 characters)")
    return name


def parse_ref(ref: object, what: str = "model") -> tuple[str, int | None, str | None]:
    """``(name, version, alias)`` of ``NAME``, ``NAME:VERSION`` or ``NAME@ALIAS`` in a registry of
    ``what`` (a model, a dataset); InvalidInput for anything else."""
    match = REF_RE.match(ref) if isinstance(ref, str) else None
    if not match:
        raise InvalidInput(f"{ref!r:.80} does not name a {what}: use NAME, NAME:VERSION or NAME@ALIAS")
    version = match["version"]
    if version is not None:
        version = check_version(version if version.isdecimal() and len(version) <= 16 else -1, ref)
    alias = match["alias"]
    if alias is not None:
        check_name(alias, "alias")
    return check_name(match["name"], f"{what} name"), version, alias


def check_version(version: object, ref: str = "") -> int:
    """A model version number, 1 to ``VERSION_MAX``, else InvalidInput."""
    try:
        number = int(version) if not isinstance(version, bool) else -1
    except (TypeError, ValueError, OverflowError):
        number = -1
    if not 1 <= number <= VERSION_MAX:
        raise InvalidInput(f"{ref or version!r:.80}: the version must be a number from 1 to {VERSION_MAX} "
                           "(or use NAME@ALIAS)")
    return number


def detect_flavor(files: list[tuple[str, Source]]) -> str:
    """The framework a model's files ``(name, path or opener)`` come from, read without
    executing anything."""
    names = [name for name, _ in files]
    if any(Path(n).name == "MLmodel" for n in names):
        return "mlflow"
    for suffixes, flavor in SUFFIX_FLAVORS:
        if any(n.endswith(suffixes) for n in names):
            return flavor
    for name, path in files:
        if name.endswith(PICKLE_SUFFIXES):
            return _pickle_flavor(path)
    return "unknown"


def likely_model_artifact(paths: list[str]) -> str | None:
    """Of a run's artifact paths, the file or folder most likely its model; None when unsure.

    The folder holding an ``MLmodel`` file; else the one file with a model suffix
    (``MODEL_SUFFIXES``), or the folder that holds all such files.  Never a guess between
    several candidates (an ``MLmodel`` in two folders, model files in two folders).
    """
    mlmodel = {p.rpartition("/")[0] for p in paths if p.rpartition("/")[2] == "MLmodel"}
    if mlmodel:
        return (mlmodel.pop() or None) if len(mlmodel) == 1 else None
    models = [p for p in paths if p.endswith(MODEL_SUFFIXES)]
    if len(models) == 1:
        return models[0]
    folders = {p.rpartition("/")[0] for p in models}
    return (folders.pop() or None) if len(folders) == 1 else None


#: the packages a pickled model's flavor is named by, as the first of their classes it names
#: (a fitted ``flaml.AutoML`` names flaml's class first, then its estimator's library's)
PICKLE_FLAVORS = ("flaml", "sklearn", "xgboost", "lightgbm", "catboost", "torch", "statsmodels")
#: pickle opcodes that push a string (a module or class name of a STACK_GLOBAL)
_STRING_OPS = frozenset({"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE",
                         "SHORT_BINSTRING", "BINSTRING", "STRING"})


def _pickle_flavor(source: Source) -> str:
    """The top-level package of the first known class a pickle names (:data:`PICKLE_FLAVORS`),
    read from its opcodes, never loaded (``pickletools``, protocols 0-5: ``GLOBAL``/``INST``
    name ``module name``; ``STACK_GLOBAL`` takes the two values pushed before it, strings or
    memo gets of strings).  ``"pickle"`` when none is named or the file is not a plain pickle."""
    memo: dict = {}
    pushed: list = [None, None]  # the values of the last two pushes (None: not a string)
    try:
        with (source() if callable(source) else open(source, "rb")) as f:
            for op, arg, _pos in pickletools.genops(f):
                name, module = op.name, None
                if name in ("GLOBAL", "INST") and isinstance(arg, str):
                    module = arg.split(" ")[0]
                elif name == "STACK_GLOBAL":
                    module = pushed[0]
                elif name == "MEMOIZE":
                    memo[len(memo)] = pushed[1]
                    continue
                elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                    memo[arg] = pushed[1]
                    continue
                value = (arg if name in _STRING_OPS and isinstance(arg, str)
                         else memo.get(arg) if name in ("GET", "BINGET", "LONG_BINGET") else None)
                pushed = [pushed[1], value]
                top = module.split(".")[0] if isinstance(module, str) else None
                if top in PICKLE_FLAVORS:
                    return top
    except Exception:  # compressed joblib files and the like
        return "pickle"
    return "pickle"


class ModelRegistry:
    """Register, name, list and fetch model versions.

    Parameters
    ----------
    db : Database
        The metadata store holding the model tables.
    runs : RunService
        The runs models are registered from (lineage, artifacts).
    blobs : BlobStore
        Where the models' files live.
    in_use : callable, optional
        Given a version's ``NAME:VERSION`` (or a model's ``NAME``: any of its versions), the
        names of endpoints serving it (deletion refuses those).
    datasets : callable, optional
        ``datasets()``: the :class:`~jupyter_mlws.datasets.service.DatasetService` (a tabular
        dataset version as training data; the datasets a version lineage lists).
    """

    def __init__(self, db: Database, runs: R.RunService, blobs: BlobStore,
                 in_use: Callable[[str], list[str]] | None = None,
                 datasets: Callable[[], Any] | None = None):
        self.db = db
        self.runs = runs
        self.blobs = blobs
        self.in_use = in_use or (lambda ref: [])
        self._datasets = datasets

    # -- registering --------------------------------------------------------------

    def register(self, name: str, path: str | os.PathLike | None = None, *, run: str | None = None,
                 artifact: str | None = None, tags: Mapping | None = None,
                 description: str = "", training_data: Any = None) -> ModelVersion:
        """Register the next version of ``name`` from a file or folder, or from a run's artifact.

        ``path`` is a local file or folder; or ``run`` with ``artifact``, a run's artifact
        (a file or a folder of artifacts).  A run given with ``path`` becomes the lineage.
        ``training_data`` (a DataFrame, a 2-D array, rows, or a .csv/.parquet path) is
        summarised per feature and kept with the version: endpoints serving it then report
        drift (``mlws endpoint drift``).  Only the statistics are stored, never the rows.  A
        tabular dataset version (``"dataset:train:3"``, or ``ws.dataset("train:3")``) gives
        the statistics recorded when it was registered, and becomes the version's lineage.
        """
        check_name(name)
        check_text(description, "the description")
        tags = R.tag_rows(tags or {})
        stats, dataset = None, self._training_dataset(training_data)
        if dataset is not None:
            stats = {"rows": dataset.stats["rows"], "features": [
                f for f in dataset.stats["features"] if f.get("kind") != "empty"]}
        elif training_data is not None:
            from .endpoints.drift import feature_stats

            stats = feature_stats(training_data)  # before anything is stored: bad data stores nothing
        record = self.runs.get(run) if run else None
        if path is not None:
            entries = self._from_path(Path(path))
            source = str(Path(path).name)
        elif record is not None and artifact:
            entries = self._from_run(record, artifact)
            source = f"runs:/{record.id}/{validate_name(artifact)}"
        else:
            raise InvalidInput("give the model's files: --path FILE_OR_FOLDER, or --run RUN "
                               "with --artifact PATH")
        flavor = detect_flavor([(n, p) for n, p, _, _ in entries if p is not None])
        files = [(n, sha, size) for n, _, sha, size in entries]
        digest = hashlib.sha256(json.dumps(sorted((n, s) for n, s, _ in files)).encode()).hexdigest()
        lineage = ({"run_id": record.id, "run_name": record.name, "experiment": record.experiment,
                    "params": record.params,
                    "metrics": {k: R.json_number(v) for k, v in record.metrics.items()}}
                   if record else {})
        version_pk = self.db.transact(lambda conn: self._insert(
            conn, name, description, flavor, files, digest, record, source, lineage, tags, stats))
        if dataset is not None:
            self._datasets().record_training(dataset.ref, version_pk)
        return self._version_by_pk(version_pk)

    def _training_dataset(self, training_data: Any):
        """The tabular dataset version ``training_data`` names (``"dataset:REF"`` or a
        DatasetVersion), None for other training data; InvalidInput when it is not tabular."""
        from .datasets.refs import param_ref

        if isinstance(training_data, str):
            ref = param_ref(training_data)
        elif hasattr(training_data, "root_hash") and hasattr(training_data, "ref"):
            ref = training_data.ref  # a DatasetVersion
        else:
            ref = None
        if ref is None or self._datasets is None:
            return None
        dataset = self._datasets().get(ref)
        if not dataset.tabular:
            raise InvalidInput(f"dataset {dataset.ref} is not tabular: only a version registered "
                               "with --tabular (CSV or Parquet) can be a model's training data")
        return dataset

    def _from_path(self, path: Path) -> list[tuple]:
        if not path.exists():
            raise NotFound(f"no model file or folder at {shown_path(path)!r}")
        if path.is_file():
            return [(validate_name(path.name), path, *self.blobs.put_file(path))]
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
        if not files:
            raise InvalidInput(f"the folder {shown_path(path)!r} holds no files to register")
        return [(validate_name(p.relative_to(path).as_posix()), p, *self.blobs.put_file(p))
                for p in files]

    def _from_run(self, record: R.RunRecord, artifact: str) -> list[tuple]:
        prefix = validate_name(artifact)
        found = [f for f in self.runs.files(record.id, "artifact")
                 if f["path"] == prefix or f["path"].startswith(prefix + "/")]
        if not found:
            raise NotFound(f"run {record.id} has no artifact {prefix!r}: 'mlws run show "
                           f"{record.id}' lists its files")
        if len(found) == 1 and found[0]["path"] == prefix:  # one file: keep its own name
            base = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
        else:  # a folder: names relative to it
            base = prefix + "/"
        return [(f["path"][len(base):], functools.partial(self.blobs.open, f["sha256"]),
                 f["sha256"], f["size"]) for f in found]

    def _insert(self, conn: Connection, name, description, flavor, files, digest, record, source,
                lineage, tags, stats) -> int:
        conn.execute(self.db.insert(S.models).values(
            name=name, description="", created_at=R.now_ms(), version_counter=0)
            .on_conflict_do_nothing(index_elements=["name"]))
        model_pk, version = conn.execute(
            S.models.update().where(S.models.c.name == name)
            .values(version_counter=S.models.c.version_counter + 1)
            .returning(S.models.c.pk, S.models.c.version_counter)).one()
        version_pk = conn.execute(S.model_versions.insert().values(
            model_pk=model_pk, version=version, description=description, created_at=R.now_ms(),
            flavor=flavor, size=sum(f[2] for f in files), sha256=digest,
            run_pk=record.pk if record else None, source=source, lineage=json.dumps(lineage),
            tags=json.dumps(tags))).inserted_primary_key[0]
        conn.execute(S.model_files.insert(), [
            dict(version_pk=version_pk, path=n, sha256=h, size=s) for n, h, s in files])
        if stats is not None:
            conn.execute(S.model_training_stats.insert().values(version_pk=version_pk,
                                                                stats=json.dumps(stats)))
        return version_pk

    def training_stats(self, version: ModelVersion) -> dict | None:
        """The per-feature statistics of the version's training data (None: none was given)."""
        t = S.model_training_stats
        with self.db.read() as conn:
            text = conn.execute(select(t.c.stats).where(t.c.version_pk == version.pk)).scalar()
        return None if text is None else json.loads(text)

    # -- naming and reading ---------------------------------------------------------

    def resolve(self, ref: str) -> ModelVersion:
        """The version ``NAME`` (latest), ``NAME:VERSION`` or ``NAME@ALIAS`` names."""
        name, version, alias = parse_ref(ref)
        query = version_pk_query(S.model_versions, S.models, S.model_aliases,
                                 S.model_versions.c.model_pk, name, version, alias)
        with self.db.read() as conn:
            pk = conn.execute(query).scalar()
            if pk is None:
                raise NotFound(self._missing(conn, name, version, alias))
        return self._version_by_pk(pk)

    def _missing(self, conn: Connection, name: str, version, alias) -> str:
        model_pk = conn.execute(select(S.models.c.pk).where(S.models.c.name == name)).scalar()
        if model_pk is None:
            return f"no model named {name!r}: 'mlws model list' shows them"
        if alias is not None:
            return f"model {name!r} has no alias {alias!r}: set it with 'mlws model alias {name}@{alias} VERSION'"
        return f"model {name!r} has no version {version}: 'mlws model show {name}' lists its versions"

    def _version_by_pk(self, pk: int) -> ModelVersion:
        v, m = S.model_versions, S.models
        with self.db.read() as conn:
            row = conn.execute(
                select(v, m.c.name, S.runs.c.id.label("run_id"))
                .select_from(v.join(m, m.c.pk == v.c.model_pk)
                             .outerjoin(S.runs, S.runs.c.pk == v.c.run_pk))
                .where(v.c.pk == pk)).mappings().one()
            aliases = conn.execute(select(S.model_aliases.c.alias)
                                   .where(S.model_aliases.c.version_pk == pk)
                                   .order_by(S.model_aliases.c.alias)).scalars().all()
            files = [dict(r) for r in conn.execute(
                select(S.model_files.c.path, S.model_files.c.sha256, S.model_files.c.size)
                .where(S.model_files.c.version_pk == pk).order_by(S.model_files.c.path)).mappings()]
            stats = conn.execute(select(S.model_training_stats.c.stats)
                                 .where(S.model_training_stats.c.version_pk == pk)).scalar()
        training = None
        if stats is not None:
            parsed = json.loads(stats)
            training = {"rows": parsed["rows"], "features": [f["name"] for f in parsed["features"]]}
        return ModelVersion(
            name=row["name"], version=row["version"], pk=pk, description=row["description"],
            created_at=row["created_at"], flavor=row["flavor"], size=row["size"],
            sha256=row["sha256"], run_id=row["run_id"], source=row["source"],
            lineage=json.loads(row["lineage"]), tags=json.loads(row["tags"]),
            aliases=list(aliases), files=files, training_data=training,
            datasets=self._datasets().of_model(pk, row["run_id"]) if self._datasets else [])

    def list(self) -> list[dict]:
        """Every model with its latest version, number of versions, aliases and ``served_by``
        (the endpoints serving any of its versions)."""
        m, v, a = S.models, S.model_versions, S.model_aliases
        with self.db.read() as conn:
            rows = conn.execute(
                select(m.c.name, m.c.description, func.max(v.c.version), func.count(v.c.pk),
                       func.max(v.c.created_at))
                .select_from(m.join(v, v.c.model_pk == m.c.pk)).group_by(m.c.pk)
                .order_by(m.c.name)).all()
            aliases = conn.execute(
                select(m.c.name, a.c.alias, v.c.version)
                .select_from(a.join(m, m.c.pk == a.c.model_pk).join(v, v.c.pk == a.c.version_pk))
                .order_by(a.c.alias)).all()
        by_model: dict[str, dict] = {}
        for name, alias, version in aliases:
            by_model.setdefault(name, {})[alias] = version
        return [dict(name=n, description=d, latest=latest, versions=count, updated_at=t,
                     aliases=by_model.get(n, {}), served_by=self.in_use(n))
                for n, d, latest, count, t in rows]

    def show(self, ref: str) -> dict:
        """What a model's page shows, JSON-friendly: a version (``NAME:3``, ``NAME@alias``) or,
        for ``NAME``, ``{"name", "versions": [...]}`` newest first; each version with
        ``served_by``, the endpoints serving it (such a version cannot be deleted)."""
        name, version, alias = parse_ref(ref)

        def shown(v: ModelVersion) -> dict:
            return v.to_dict() | {"served_by": self.in_use(v.ref)}

        if version is not None or alias is not None:
            return shown(self.resolve(ref))
        return {"name": name, "versions": [shown(v) for v in self.versions(name)]}

    def update(self, ref: str, *, description: str | None = None, set_tags: Mapping | None = None,
               delete_tags: "list[str] | tuple[str, ...]" = ()) -> ModelVersion:
        """Change a version's description and tags (``NAME:3`` or ``NAME@alias``), all or nothing.

        Raises InvalidInput for ``NAME`` alone (name a version), a bad tag or text, and NotFound
        for a tag to delete that the version does not have (nothing is then changed).
        """
        _name, version, alias = parse_ref(ref)
        if version is None and alias is None:
            raise InvalidInput(f"{ref!r} names a whole model: give the version to change, "
                               f"e.g. {ref}:1 or {ref}@champion")
        if description is not None:
            description = check_text(description, "the description")
        rows = R.tag_rows(set_tags or {})
        check_count(len(delete_tags), TAGS_MAX, "tags to delete")
        doomed = [check_key(k, "tag") for k in delete_tags]
        target = self.resolve(ref)
        v = S.model_versions

        def write(conn: Connection) -> None:
            tags = json.loads(conn.execute(select(v.c.tags).where(v.c.pk == target.pk)).scalar())
            for key in doomed:
                if key not in tags:  # raising rolls the whole call back
                    raise NotFound(f"{target.ref} has no tag {key!r}: nothing was changed")
                del tags[key]
            tags.update(rows)
            check_count(len(tags), TAGS_MAX, "tags")
            values = {"tags": json.dumps(tags)}
            if description is not None:
                values["description"] = description
            conn.execute(v.update().where(v.c.pk == target.pk).values(**values))

        self.db.transact(write)
        return self._version_by_pk(target.pk)

    def training_data(self, ref: str) -> dict:
        """The per-feature statistics of a version's training data (:func:`.endpoints.drift.
        feature_stats`: rows, and per feature its kind, count, missing, mean, std, min, max and
        bin fractions), what drift is measured against.  ``rows`` is None, with a ``message``
        saying how to record them, for a version registered without training data."""
        version = self.resolve(ref)
        stats = self.training_stats(version)
        if stats is None:
            return {"ref": version.ref, "rows": None, "features": [],
                    "message": f"{version.ref} was registered without training data: register a "
                               "version with training_data=... (or --training-data train.csv) to "
                               "see its statistics and measure drift"}
        return {"ref": version.ref, **stats, "message": None}

    def versions(self, name: str) -> list[ModelVersion]:
        """Every version of a model, newest first."""
        check_name(name)
        m, v = S.models, S.model_versions
        with self.db.read() as conn:
            pks = conn.execute(select(v.c.pk).select_from(v.join(m, m.c.pk == v.c.model_pk))
                               .where(m.c.name == name).order_by(v.c.version.desc())).scalars().all()
        if not pks:
            raise NotFound(f"no model named {name!r}: 'mlws model list' shows them")
        return [self._version_by_pk(pk) for pk in pks]

    # -- aliases, deletion, files ---------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: int) -> ModelVersion:
        """Point ``NAME@alias`` at a version (moving it if it pointed elsewhere)."""
        check_name(alias, "alias")
        if alias.isdigit():
            raise InvalidInput(f"alias {alias!r} is a number: it would read like a version")
        target = self.resolve(f"{name}:{check_version(version)}")
        model_pk = self._model_pk(name)
        stmt, rows = self.db.upsert(
            S.model_aliases, [dict(model_pk=model_pk, alias=alias, version_pk=target.pk)],
            ["model_pk", "alias"])
        self.db.transact(lambda conn: conn.execute(stmt, rows))
        return self.resolve(f"{name}@{alias}")

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove ``NAME@alias``."""
        model_pk = self._model_pk(name)
        a = S.model_aliases

        def delete(conn: Connection) -> None:
            if not conn.execute(a.delete().where(and_(a.c.model_pk == model_pk,
                                                      a.c.alias == alias))).rowcount:
                raise NotFound(f"model {name!r} has no alias {alias!r}")

        self.db.transact(delete)

    def _model_pk(self, name: str) -> int:
        with self.db.read() as conn:
            pk = conn.execute(select(S.models.c.pk).where(S.models.c.name == name)).scalar()
        if pk is None:
            raise NotFound(f"no model named {name!r}: 'mlws model list' shows them")
        return pk

    def delete(self, ref: str) -> list[str]:
        """Delete a version (``NAME:3``, ``NAME@alias``) or every version (``NAME``).

        A version an endpoint serves is refused, naming the endpoint.  The blobs
        stay (other versions or runs may share them).
        """
        name, version, alias = parse_ref(ref)
        targets = [self.resolve(ref)] if version is not None or alias else self.versions(name)
        for target in targets:
            serving = self.in_use(target.ref)
            if serving:
                raise Conflict(f"{target.ref} is served by endpoint {', '.join(serving)}: "
                               "move the endpoint to another version or delete it first")

        model_pk = self._model_pk(name)

        def delete(conn: Connection) -> None:
            pks = [t.pk for t in targets]
            conn.execute(S.model_aliases.delete().where(S.model_aliases.c.version_pk.in_(pks)))
            conn.execute(S.model_files.delete().where(S.model_files.c.version_pk.in_(pks)))
            conn.execute(S.model_training_stats.delete()
                         .where(S.model_training_stats.c.version_pk.in_(pks)))
            conn.execute(S.dataset_uses.delete().where(S.dataset_uses.c.model_version_pk.in_(pks)))
            conn.execute(S.model_versions.delete().where(S.model_versions.c.pk.in_(pks)))
            left = conn.execute(select(func.count()).select_from(S.model_versions)
                                .where(S.model_versions.c.model_pk == model_pk)).scalar()
            if not left:
                conn.execute(S.models.delete().where(S.models.c.pk == model_pk))

        self.db.transact(delete)
        return [t.ref for t in targets]

    def download(self, ref: str, dest: str | os.PathLike) -> list[Path]:
        """Copy a version's files into ``dest`` (what an endpoint loads its model from)."""
        target = self.resolve(ref) if isinstance(ref, str) else ref
        written = []
        for f in target.files:
            path = safe_join(dest, f["path"])
            copy_blob(self.blobs, f["sha256"], path)
            written.append(path)
        return written
