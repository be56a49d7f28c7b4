"""Environments of a workspace: specs from kernels and runs, built lazily on targets, recorded.

Every face calls this service: the CLI (``mlws env list/show/build/prune/diff``), the REST API
(``environments``), the SDK (``ws.environments``), and a compute target before it executes a
run elsewhere (:meth:`EnvironmentService.ensure`).

An environment is built on a target the first time it is needed, into a venv keyed by its
spec's hash (:mod:`.builder`), and reused after: a second build of the same hash on the same
target finds the record ``ready`` and the target's marker, and runs nothing.  Each target's
environments are recorded (table ``environments``: target, hash, spec, state, path, sizes,
times) so that listing, showing, diffing and choosing what to prune never touch the target.

Roles are the faces' concern (the REST routes: reads for every role, build and prune for
contributors and owners), as for runs and endpoints.

What this service returns never holds a path of the machine that holds the workspace (one rule,
for every face: :func:`shown_record`, :func:`shown_spec`): an environment of ``local`` is named
by its folder relative to the workspace's, and a spec's local packages by their name, version
and content hash, not where their source is.
"""

from __future__ import annotations

import json
import os
import re
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping

from sqlalchemy import and_, delete, func, select, update

from ..errors import BuildFailed, InvalidInput, MlwsError, NotFound, Unavailable
from ..store import schema as S
from . import builder
from .builder import Place
from .imports import summed_up
from .spec import SHORT, Difference, EnvironmentSpec, diff, from_dict
from .wheels import BuildOptions, WheelCache

T = S.environments
BUILDING, READY, FAILED = "building", "ready", "failed"
STATES = (BUILDING, READY, FAILED)
#: the default of ``prune``'s ``unused_for``
DEFAULT_UNUSED = "30d"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_HEX = re.compile(r"^[0-9a-f]+$")
#: the shortest hash prefix ``show`` accepts
MIN_PREFIX = 6


def parse_duration(text: object, what: str = "--unused-for") -> float:
    """Seconds in a duration such as ``30d``, ``12h``, ``90m``, ``45s``, ``2w``, or ``0s`` (>= 0:
    for ``prune``, every environment not being built).

    Raises InvalidInput saying what a duration looks like.
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool) and text >= 0:
        return float(text)
    m = _DURATION.match(text) if isinstance(text, str) else None
    if not m:
        raise InvalidInput(f"{what} {text!r} is not a duration: a number and a unit, e.g. 30d, "
                           "12h, 90m, 45s or 2w (0s: however recently used)")
    return float(m.group(1)) * _UNITS[m.group(2)]


class EnvironmentService:
    """Environment specs, and the environments built from them on compute targets.

    Parameters
    ----------
    db : Database
        The metadata store (table ``environments``).
    places : callable
        ``places(target) -> Place``: where target ``target`` keeps its environments; raises
        InvalidInput for a target that cannot hold any.
    wheels : WheelCache
        Local packages' wheels, built on this machine.
    runs, artifacts : RunService, ArtifactService
        To read the spec a run recorded (its ``environment.json``).
    clock : callable
        Seconds since the epoch (default ``time.time``); tests set it.
    root : path, optional
        The workspace's folder: paths below it are shown relative to it (see the module's text).
    """

    def __init__(self, db, *, places: Callable[[str], Place], wheels: WheelCache, runs, artifacts,
                 clock: Callable[[], float] = time.time, root: str | os.PathLike | None = None):
        self.db, self.places, self.wheels = db, places, wheels
        self.runs, self.artifacts = runs, artifacts
        self.clock = clock
        self.root = None if root is None else os.path.abspath(root)

    def _record(self, row) -> dict:
        return shown_record(row, self.root)

    def _now(self) -> int:
        return int(self.clock() * 1000)

    # -- specs ----------------------------------------------------------------------------------

    def current(self) -> EnvironmentSpec:
        """The spec of the interpreter running this code."""
        from .spec import current

        return current()

    def of_kernel(self, name: str) -> EnvironmentSpec:
        """The spec of the environment kernel ``name`` runs in (:mod:`.interpreters`)."""
        from .interpreters import spec_of_kernel

        return spec_of_kernel(name)

    def of_run(self, run_id: str) -> EnvironmentSpec:
        """The spec of the environment run ``run_id`` (or a unique prefix) executed in.

        A run recorded before specs existed gives the spec of its captured packages, pinned
        from an index (its local packages cannot be told apart), with a note saying so.
        Raises NotFound for an unknown run, or one that recorded no environment.
        """
        record = self.runs.get(run_id)
        try:
            with self.artifacts.open(record.id, "environment.json") as f:
                data = json.load(f)
        except NotFound:
            raise NotFound(f"run {record.id} recorded no environment (notebook runs do): build "
                           "from a kernel (--from-kernel NAME) instead") from None
        if isinstance(data.get("spec"), dict):
            return from_dict({k: v for k, v in data["spec"].items() if k != "hash"})
        return _legacy(data)

    def for_remote_run(self, kernel: str) -> EnvironmentSpec:
        """The spec of kernel ``kernel``'s environment, for a run to execute in it on another
        machine (a target with ``env: build``), where the remote executor runs with it: so it
        must hold jupyter_mlws.  Raises Unavailable saying so when it does not (and the errors
        of :meth:`of_kernel`)."""
        spec = self.of_kernel(kernel)
        if "jupyter-mlws" not in spec.versions():
            raise Unavailable(f"kernel {kernel!r}'s environment does not have jupyter_mlws, which "
                              "executes the run where its environment is built: install "
                              "jupyter_mlws in that environment (pip install jupyter_mlws), or "
                              "run on a target with env 'system'")
        return spec

    def local_wheels(self, spec: EnvironmentSpec, options: BuildOptions | None = None) -> list:
        """The wheels of ``spec``'s local packages (built here once, then cached): what a
        target that builds environments itself (a Dask worker) is given."""
        return [self.wheels.wheel(pkg, options or BuildOptions()) for pkg in spec.local]

    def parse(self, data: Mapping[str, Any]) -> EnvironmentSpec:
        """The spec of a JSON object (:meth:`EnvironmentSpec.to_dict`, or what :meth:`show`
        returns: its ``spec``); InvalidInput if it is none."""
        if isinstance(data, Mapping) and isinstance(data.get("spec"), Mapping) and "python" not in data:
            data = data["spec"]
        return from_dict(data)

    # -- records --------------------------------------------------------------------------------

    def list(self, target: str | None = None) -> list[dict]:
        """The environments built (or being built) per target, newest use first: each as
        :meth:`show`'s records (no spec).  ``target`` keeps one target's."""
        query = select(T).order_by(func.coalesce(T.c.last_used_at, T.c.updated_at).desc(), T.c.pk)
        if target is not None:
            query = query.where(T.c.target == target)
        with self.db.read() as conn:
            return [self._record(r) for r in conn.execute(query).mappings()]

    def show(self, ref: str) -> dict:
        """One environment: ``{hash, short_hash, spec, targets: [records], run}`` (a record:
        target, state, path, error, installer, size_bytes, build_seconds, builds, python,
        packages, created_at, created_by, updated_at, last_used_at; times in ms).

        ``ref`` is its hash or a unique prefix of :data:`MIN_PREFIX`+ hex digits (a run's
        ``env_hash``).  An environment built nowhere yet that a run executed in is shown from
        that run's record (``targets`` empty, ``run`` the newest such run's id; None otherwise).
        Raises InvalidInput for a malformed one, NotFound for one neither built nor recorded by
        a run, Conflict for an ambiguous prefix.
        """
        ref = _check_ref(ref)
        with self.db.read() as conn:
            rows = conn.execute(select(T).where(T.c.hash.like(ref + "%")).order_by(T.c.target)
                                ).mappings().all()
        hashes = sorted({r["hash"] for r in rows})
        if not hashes:
            return self._show_of_run(ref)
        if len(hashes) > 1:
            raise _ambiguous(ref, len(hashes))
        return {"hash": hashes[0], "short_hash": hashes[0][:SHORT],
                "spec": shown_spec(json.loads(rows[0]["spec"])),
                "targets": [self._record(r) for r in rows], "run": None}

    def _show_of_run(self, ref: str) -> dict:
        """:meth:`show` of an environment built nowhere: the spec the newest run whose
        ``env_hash`` starts with ``ref`` recorded."""
        tags, runs = S.tags, S.runs
        with self.db.read() as conn:
            found = conn.execute(
                select(tags.c.value, runs.c.id).join(runs, runs.c.pk == tags.c.run_pk)
                .where(tags.c.key == "env_hash", tags.c.value.like(ref[:SHORT] + "%"))
                .order_by(runs.c.start_time.desc())).all()
        found = [(h, run_id) for h, run_id in found if h.startswith(ref[:len(h)])]
        if not found:
            raise NotFound(f"no environment {ref} has been built, and no run executed in one: "
                           "'mlws env list' shows those built; a run's env_hash (mlws run show "
                           "RUN) names the one it executed in")
        if len({h for h, _ in found}) > 1:
            raise _ambiguous(ref, len({h for h, _ in found}))
        run_id = found[0][1]
        spec = self.of_run(run_id)
        return {"hash": spec.hash, "short_hash": spec.short_hash,
                "spec": shown_spec(spec.to_dict()), "targets": [], "run": run_id}

    # -- building -------------------------------------------------------------------------------

    def build(self, spec: EnvironmentSpec, target: str = "local", *,
              options: BuildOptions | None = None, actor: str = "", force: bool = False) -> dict:
        """Make sure environment ``spec`` is built on ``target``; return its record (as in
        :meth:`show`) with ``reused``: True when it was built already (nothing ran).

        First the release check (:meth:`_refuse_doomed`): a target whose Python the spec's
        pins cannot take refuses the build (InvalidInput, nothing is built or recorded) unless
        ``force``.  A build that fails is recorded ``failed`` with its reason (the step, and the
        installer's lines naming the distribution), and leaves no environment on the target;
        its record is returned (state ``failed``), not raised.  Raises InvalidInput for an
        unknown target.
        """
        with self._place(target) as place:
            if not force:
                self._refuse_doomed(self._ahead(spec, target, place))
            return self._build(spec, target, place, options or BuildOptions(), actor)

    def _ahead(self, spec: EnvironmentSpec, target: str, place: Place) -> dict | None:
        """The release check (:func:`.requires.ahead`) of building ``spec`` on ``target``: the
        drift, with ``python_warning`` when pins need a Python the target's is not; None where
        nothing is built (runs use the host's own Python)."""
        from .requires import ahead

        return None if place.system else ahead(self._diff(spec, target, place), spec, place)

    @staticmethod
    def _refuse_doomed(found: dict | None) -> None:
        """A build the release check knows will fail is refused: InvalidInput saying why and
        how to build anyway (the one rule of ``env build``, ``--build-env`` and the REST
        build, whichever face asks)."""
        from .requires import refusal

        if found is not None and found.get("python_warning"):
            raise InvalidInput(refusal(found["python_warning"]))

    def _build(self, spec: EnvironmentSpec, target: str, place: Place, options: BuildOptions,
               actor: str) -> dict:
        env_hash = spec.hash
        row = self._row(target, env_hash)
        if row is not None and row["state"] == READY and place.is_ready(env_hash):
            self._touch(row["pk"])
            return {**self._record(self._row(target, env_hash)), "reused": True}
        self._start(target, spec, place, actor)
        try:
            wheels = self.local_wheels(spec, options)
            result = builder.build(place, env_hash, spec.python, spec.packages, wheels, options,
                                   python_full=spec.python_full)
        except MlwsError as exc:
            result = {"state": FAILED, "built": False, "reason": str(exc)}
        self._finish(target, env_hash, result)
        return {**self._record(self._row(target, env_hash)), "reused": not result.get("built")}

    def ensure(self, spec: EnvironmentSpec, target: str, *, options: BuildOptions | None = None,
               actor: str = "") -> str:
        """The interpreter of environment ``spec`` on ``target``, built first if need be: what a
        compute target calls before it executes a run there.

        Raises BuildFailed (the reason names the step and the distribution), InvalidInput for
        an unknown target.
        """
        return self.ensure_record(spec, target, options=options, actor=actor)[0]

    def ensure_record(self, spec: EnvironmentSpec, target: str, *,
                      options: BuildOptions | None = None, actor: str = "") -> tuple[str, dict]:
        """:meth:`ensure`, with the environment's record (:meth:`build`'s: ``reused`` says
        whether it was built now)."""
        with self._place(target) as place:
            return self._ensure(spec, target, place, options or BuildOptions(), actor)

    def _ensure(self, spec: EnvironmentSpec, target: str, place: Place, options: BuildOptions,
                actor: str = "") -> tuple[str, dict]:
        record = self._build(spec, target, place, options, actor)
        if record["state"] != READY:
            raise BuildFailed(f"environment {spec.short_hash} could not be built on target "
                              f"{target!r}: {record['error']}")
        return place.env_python(spec.hash), record

    @contextmanager
    def _place(self, target: str) -> Iterator[Place]:
        """Where ``target`` keeps its environments, for one operation: its connection (an ssh
        target's) is closed when the operation ends, so no idle connection stays open."""
        place = self.places(target)
        try:
            yield place
        finally:
            place.close()

    def _row(self, target: str, env_hash: str):
        with self.db.read() as conn:
            return conn.execute(select(T).where(and_(T.c.target == target, T.c.hash == env_hash))
                                ).mappings().first()

    def _touch(self, pk: int) -> None:
        now = self._now()
        self.db.transact(lambda conn: conn.execute(update(T).where(T.c.pk == pk)
                                                   .values(last_used_at=now)))

    def _start(self, target: str, spec: EnvironmentSpec, place: Place, actor: str) -> None:
        now = self._now()
        values = dict(spec=json.dumps(spec.to_dict()), state=BUILDING, path=place.env_path(spec.hash),
                      error=None, updated_at=now)

        stmt = self.db.insert(T).values(target=target, hash=spec.hash, created_at=now,
                                        created_by=actor, builds=0, **values)
        stmt = stmt.on_conflict_do_update(index_elements=["target", "hash"], set_=values)
        self.db.transact(lambda conn: conn.execute(stmt))

    def _finish(self, target: str, env_hash: str, result: dict) -> None:
        now = self._now()
        ready = result["state"] == READY
        values = dict(state=READY if ready else FAILED, updated_at=now,
                      error=None if ready else _reason(result), installer=result.get("installer"),
                      size_bytes=result.get("size"), build_seconds=result.get("seconds"),
                      builds=T.c.builds + (1 if result.get("built") else 0))
        if ready:
            values["last_used_at"] = now
        where = and_(T.c.target == target, T.c.hash == env_hash)
        self.db.transact(lambda conn: conn.execute(update(T).where(where).values(**values)))

    # -- pruning --------------------------------------------------------------------------------

    def prune(self, target: str | None = None, *, unused_for: object = DEFAULT_UNUSED,
              cache: bool = False) -> dict:
        """Remove the environments (of ``target``, else of every target) not used for
        ``unused_for`` (a duration: ``30d``, ``12h``; or seconds; ``0s``: however recently
        used), failed ones included, from their targets and the records.  One being built is
        left alone.  Each target's download cache (the installers' ``cache/``, which builds
        share and no environment owns) is measured, and with ``cache`` emptied (not while an
        environment is being built there).

        Returns ``{"removed": [records], "errors": [{target, hash, error}], "cache": [{target,
        size_bytes, cleared} or {target, error}]}`` (a target that could not be reached keeps
        its environments and records).
        """
        cutoff = self._now() - int(parse_duration(unused_for) * 1000)
        query = select(T).where(and_(T.c.state != BUILDING,
                                     func.coalesce(T.c.last_used_at, T.c.updated_at) <= cutoff))
        if target is not None:
            self._check_target(target)  # an unknown target is an error, not an empty answer
            query = query.where(T.c.target == target)
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(T.c.target, T.c.hash)).mappings().all()
            known = {target} if target is not None else \
                set(conn.execute(select(T.c.target).distinct()).scalars())
        removed, errors, caches = [], [], []
        for name in sorted(known | {row["target"] for row in rows}):
            self._prune_on(name, [r for r in rows if r["target"] == name], removed, errors)
            caches.append(self._cache_of(name, cache))
        return {"removed": removed, "errors": errors, "cache": caches}

    def _cache_of(self, target: str, clear: bool) -> dict:
        """``target``'s download cache: ``{target, size_bytes, cleared}`` (emptied with
        ``clear`` unless a build runs there: then ``kept`` says so), or ``{target, error}``."""
        with self.db.read() as conn:
            busy = conn.execute(select(T.c.pk).where(and_(T.c.target == target, T.c.state == BUILDING))
                                .limit(1)).first() is not None
        try:
            with self._place(target) as place:
                found = builder.cache(place, clear=clear and not busy)
        except MlwsError as exc:
            return {"target": target, "error": str(exc)}
        out = {"target": target, "size_bytes": found["size"], "cleared": found["cleared"]}
        if clear and busy:
            out["kept"] = "an environment is being built there: prune again once it is done"
        return out

    def _prune_on(self, target: str, rows: list, removed: list, errors: list) -> None:
        """Remove ``rows``' environments from ``target`` (one connection), adding each to
        ``removed`` or, with why, to ``errors``."""
        if not rows:
            return
        try:
            with self._place(target) as place:
                for row in rows:
                    try:
                        builder.remove(place, row["hash"])
                    except MlwsError as exc:
                        errors.append({"target": target, "hash": row["hash"], "error": str(exc)})
                        continue
                    self.db.transact(lambda conn, pk=row["pk"]: conn.execute(delete(T).where(T.c.pk == pk)))
                    removed.append(self._record(row))
        except MlwsError as exc:  # the target cannot be reached (or is gone)
            errors += [{"target": target, "hash": row["hash"], "error": str(exc)} for row in rows
                       if row["hash"] not in {r["hash"] for r in removed if r["target"] == target}]

    def _check_target(self, target: str) -> None:
        """InvalidInput when ``target`` holds no environments (see ``places``)."""
        with self._place(target):
            pass

    # -- drift ----------------------------------------------------------------------------------

    def check_submission(self, notebook, kernel: str | None = None, target: str = "local", *,
                         build: bool = False, options: BuildOptions | None = None,
                         force: bool = False, actor: str = "") -> dict:
        """What to tell before ``notebook`` is submitted to ``target``: :meth:`diff` of the
        target's environments against the notebook's kernel's (the kernel as a run resolves
        it), or with ``build`` the build of the kernel's environment there (``state`` built,
        ``record``; BuildFailed when it fails).

        A target that would build the kernel's environment, whose Python is another release
        than the kernel's, is asked for it: when pinned distributions need a Python it is not
        (known for the pins at the versions installed here), ``python_warning`` says which,
        before any build fails (:func:`.requires.ahead`); with ``build`` that is refused
        (InvalidInput: nothing is built) unless ``force``, as :meth:`build` refuses it; ``actor``
        is who builds (the record's
        ``created_by``).  A missing or malformed notebook is refused
        (NotFound, InvalidInput) before any target is asked.

        ``local`` with no environment built is answered at once (``state`` current, from the
        records alone): runs there use this interpreter, as always; so is a target where no
        environment is built (a dask target: runs use its workers' Python).  ``build`` on a
        target whose runs use its own Python (``env: system``) is refused (InvalidInput): nothing
        would use what it built.

        A drift (``state`` none or differs) is also summed up in one sentence, ``summary`` (how
        many packages differ, and which of them the notebook imports: ``imported``; see
        :mod:`.imports`).  A target that cannot be reached raises its Unavailable (nothing to
        compare, and a run there would fail), with ``details`` ``{"target", "unreachable": the
        step that failed and why}`` for a form to say so in its words.
        """
        from pathlib import Path

        from ..notebooks.document import load_notebook
        from ..notebooks.kernels import resolve

        current = {"target": target, "hash": None, "state": "current", "closest": None,
                   "difference": None, "lines": []}
        if not build and target == "local" and not self._has_ready(target):
            return current
        try:
            place = self.places(target)
        except InvalidInput:
            if build:
                raise
            return current  # nothing is built there (a dask target: its workers' Python)
        except Unavailable as exc:
            _unreachable(exc, target)
            raise
        try:
            name = resolve(load_notebook(Path(notebook)).metadata, kernel).name
            spec = self.of_kernel(name)
            if place.system:  # runs there use the host's Python: compared, nothing built
                found = None if build else self._diff(spec, target, place)
            else:
                found = self._ahead(spec, target, place)
            if not build:
                return summed_up(found, notebook)
            if not force:
                self._refuse_doomed(found)
            if place.system:
                raise InvalidInput(
                    f"runs on {target} use the host's own Python ({place.python}) as it is (env "
                    "system): no environment is built for them, so --build-env has nothing to do. "
                    f"Install what the notebook needs with that Python, or have the target build "
                    f"each run's environment ('mlws compute update {target} --env build')")
            python = self._ensure(spec, target, place, options or BuildOptions(), actor)[0]
        finally:
            place.close()
        return {"target": target, "hash": spec.hash, "state": "built", "closest": spec.hash,
                "difference": None, "python": python,
                "lines": [f"environment {spec.short_hash} of kernel {name} is ready on {target}"]}

    def _has_ready(self, target: str) -> bool:
        with self.db.read() as conn:
            return conn.execute(select(T.c.pk).where(and_(T.c.target == target, T.c.state == READY))
                                .limit(1)).first() is not None

    def diff(self, spec: EnvironmentSpec, target: str = "local") -> dict:
        """How ``target``'s environments differ from ``spec`` (a kernel's), from the records.

        Returns ``{target, hash, state, closest, difference, lines}``; ``state`` is:

        - ``same``: an environment of this very spec is ready there;
        - ``current``: ``local`` with no environment built: runs use this interpreter, which
          is the kernel's (nothing to say);
        - ``none``: no environment is ready there: the first run builds this one;
        - ``differs``: the ready environment closest to ``spec`` (``closest``, its hash)
          differs by ``difference`` (:meth:`.spec.Difference.to_dict`), said in ``lines``.

        A target whose runs use its own Python (``env = "system"``: nothing is built for them)
        is compared with that Python's packages, asked there (``system`` true; ``closest``
        None): ``same`` when it has the kernel's Python and versions, else ``differs`` (the
        drift, or that it is not known when the host could not be asked).
        """
        with self._place(target) as place:
            return self._diff(spec, target, place)

    def _diff(self, spec: EnvironmentSpec, target: str, place: Place) -> dict:
        if place.system:
            return self._system_diff(spec, target, place)
        ready = [r for r in self.list(target) if r["state"] == READY]
        out = {"target": target, "hash": spec.hash, "closest": None, "difference": None, "lines": []}
        if any(r["hash"] == spec.hash for r in ready):
            return {**out, "state": "same"}
        if not ready:
            if target == "local":
                return {**out, "state": "current"}
            return {**out, "state": "none", "lines": [
                f"no environment is built on {target}: the first run there builds "
                f"{spec.short_hash} (or: mlws env build --compute {target})"]}
        with self.db.read() as conn:
            specs = {r["hash"]: from_dict({k: v for k, v in json.loads(r["spec"]).items() if k != "hash"})
                     for r in conn.execute(select(T.c.hash, T.c.spec).where(and_(
                         T.c.target == target, T.c.state == READY))).mappings()}
        closest, difference = min(((h, diff(spec, s)) for h, s in specs.items()),
                                  key=lambda pair: (pair[1].size(), pair[0]))
        return {**out, "state": "differs", "closest": closest, "difference": difference.to_dict(),
                "lines": difference.lines()}

    def _system_diff(self, spec: EnvironmentSpec, target: str, place) -> dict:
        """:meth:`diff` for a target whose runs use ``place.python`` as it is."""
        out = {"target": target, "hash": spec.hash, "closest": None, "difference": None,
               "system": True}
        uses = f"runs on {target} use the host's own Python ({place.python}) and its packages"
        have = _probe_system(place)
        if isinstance(have, str):
            return {**out, "state": "differs", "lines": [
                f"{uses}: how they differ from the kernel's is not known ({have})"]}
        want = {name: version.split(" (local ")[0] for name, version in spec.versions().items()}
        difference = Difference(
            python=(spec.python, have["python"]) if spec.python != have["python"] else None,
            missing=[(n, want[n]) for n in sorted(want.keys() - have["packages"].keys())],
            different=[(n, want[n], have["packages"][n]) for n in sorted(want.keys() & have["packages"].keys())
                       if not want[n].startswith("@ ") and want[n] != have["packages"][n]])
        if not difference.size():
            return {**out, "state": "same"}
        return {**out, "state": "differs", "difference": difference.to_dict(),
                "lines": [f"{uses}, which differ from the kernel's:", *difference.lines()]}


#: the program that lists an interpreter's Python version and distributions, compactly
_LIST_PACKAGES = (
    "import importlib.metadata as m, json, re, sys\n"
    "v = sys.version_info\n"
    "print('MLWS-PACKAGES' + json.dumps({'python': f'{v.major}.{v.minor}', 'packages': {"
    "re.sub(r'[-_.]+', '-', d.metadata['Name']).lower(): d.version "
    "for d in m.distributions() if d.metadata['Name']}}))\n")


def _unreachable(exc: Unavailable, target: str) -> None:
    """Give ``exc`` (reaching ``target`` failed) ``details`` saying so: ``{"target",
    "unreachable": the failed step and why}`` (a connection's failure names its step)."""
    where, text = getattr(exc, "where", None), str(exc)
    reason = text[len(where) + 2:] if where and text.startswith(f"{where}: ") else text
    exc.details = {**(exc.details or {}), "target": target, "unreachable": reason}


def _probe_system(place) -> dict | str:
    """``{"python": "3.11", "packages": {name: version}}`` of ``place.python`` on its target,
    or why it could not be asked (a short text, no paths of this machine)."""
    try:
        done = place.shell.run([place.python, "-c", _LIST_PACKAGES], timeout=60)
    except MlwsError as exc:
        return f"the host could not be asked: {str(exc).splitlines()[0][:200]}"
    _, found, rest = done.output.partition("MLWS-PACKAGES")
    try:
        data = json.loads(rest.splitlines()[0]) if found and done.status == 0 else None
    except (ValueError, IndexError):
        data = None
    if not isinstance(data, dict):
        last = (done.output.strip().splitlines() or [""])[-1][:200]
        return f"{place.python} did not list its packages" + (f": {last}" if last else "")
    return data


# -- helpers ---------------------------------------------------------------------------------------


def _ambiguous(ref: str, count: int):
    from ..errors import Conflict

    return Conflict(f"{ref} is the start of {count} environments' hashes: give more digits")


def _check_ref(ref: object) -> str:
    if not isinstance(ref, str) or not _HEX.match(ref.strip().lower()) or len(ref.strip()) < MIN_PREFIX:
        raise InvalidInput(f"{ref!r} is not an environment hash: give its hex digits (at least "
                           f"{MIN_PREFIX}, e.g. a run's env_hash); 'mlws env list' shows them")
    return ref.strip().lower()


def _reason(result: dict) -> str:
    return str(result.get("reason") or "the build failed without saying why")[:4000]


def shown_record(row, root: str | None = None) -> dict:
    """An environment's record as every face shows it: its ``path`` relative to the workspace's
    folder ``root`` when below it (a ``local`` environment; another target's path is on that
    target), never a path of this machine."""
    spec = json.loads(row["spec"])
    return {"target": row["target"], "hash": row["hash"], "short_hash": row["hash"][:SHORT],
            "state": row["state"], "path": _shown_path(row["path"], row["target"], root),
            "error": row["error"],
            "installer": row["installer"], "size_bytes": row["size_bytes"],
            "build_seconds": row["build_seconds"], "builds": row["builds"],
            "python": spec.get("python"), "packages": len(spec.get("packages") or []),
            "local": [p.get("name") for p in spec.get("local") or []],
            "created_at": row["created_at"], "created_by": row["created_by"],
            "updated_at": row["updated_at"], "last_used_at": row["last_used_at"]}


def _shown_path(path: str | None, target: str, root: str | None) -> str | None:
    if not path or target != "local" or not os.path.isabs(path):
        return path
    if root is not None and os.path.commonpath([path, root]) == root:
        return os.path.relpath(path, root)
    return os.path.basename(path)


def shown_spec(spec: Mapping[str, Any]) -> dict:
    """A spec's JSON as every face shows it: its local packages without ``source`` (where their
    source is on this machine).  :func:`.spec.from_dict` still reads it (the hash leaves the
    source out); a build then finds their wheels in the workspace's cache."""
    return {**spec, "local": [{k: v for k, v in p.items() if k != "source"}
                              for p in spec.get("local") or []]}


def _legacy(data: Mapping[str, Any]) -> EnvironmentSpec:
    """The spec of an ``environment.json`` written before specs: its packages, pinned."""
    python = ".".join(str(data.get("python", "")).split()[0].split(".")[:2]) if data.get("python") else ""
    packages = data.get("packages")
    if not python or not isinstance(packages, list):
        raise Unavailable("the run's environment.json is damaged (no python or packages): build "
                          "from a kernel (--from-kernel NAME) instead")
    from .probe import normalize

    pins = sorted({f"{normalize(n)}=={v}" for n, _, v in (str(p).partition("==") for p in packages) if v})
    spec = from_dict({"python": python, "packages": pins})
    note = ("recorded before environments were specs: every distribution is pinned from an "
            "index (local ones included), and its hash differs from the run's env_hash")
    return EnvironmentSpec(spec.python, spec.packages, (), python_full=str(data["python"]).split()[0],
                           notes=(note,))
