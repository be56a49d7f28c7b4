"""An environment as a reproducible spec, and its hash (a run's ``env_hash``).

A spec says what a venv must hold to run what a kernel runs:

- ``python``: the interpreter's ``major.minor`` (micro releases keep the same ABI, and a
  target seldom has the very same micro; the kernel's micro is kept as ``python_full``,
  outside the hash);
- ``packages``: every distribution the kernel can import that an index or a URL can give
  back, pinned: ``name==version``, or ``name @ url`` for one installed from a URL or a
  version-control checkout (its commit pinned);
- ``local``: every distribution installed from this machine's files (PEP 610
  ``direct_url.json`` with a ``file://`` URL: an editable install, a folder, a local archive).
  No index has these, so a build makes a wheel from the source (:mod:`.wheels`).  They are
  hashed by their *content* (the files of the folder a snapshot would keep, or the archive's
  bytes), never by their path: the same source elsewhere gives the same hash.

:attr:`EnvironmentSpec.hash` is the sha256 of the spec's canonical JSON (sorted keys, no
spaces, paths left out); its first 16 hex digits are the ``env_hash`` tag of the runs that
executed in it.  The hash does not depend on the process, the machine or the order packages
were found in.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import unquote, urlsplit

from ..errors import InvalidInput

#: the spec's own format: a change to what is hashed bumps it
FORMAT = 1
#: hex digits of the hash shown on runs (their ``env_hash`` tag) and in listings
SHORT = 16
_PYTHON = re.compile(r"^\d+\.\d+$")
_HASH = re.compile(r"^[0-9a-f]{64}$")
#: a pin: a PEP 508 name, then ``==version`` or `` @ url``
_PIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(==[A-Za-z0-9.+!_-]+| @ \S+)$")
#: the most files a local package's source may hold to be hashed (a wheel's source, not a dataset)
LOCAL_MAX_FILES = 20_000
LOCAL_MAX_BYTES = 2 * 1024 ** 3


@dataclass(frozen=True)
class LocalPackage:
    """A distribution installed from files of this machine, built into a wheel from its source.

    Attributes
    ----------
    name : str
        Its normalized name (PEP 503).
    version : str
        The version installed.
    content : str
        ``sha256:<hex>`` of its source's content (see :func:`content_hash`): in the hash.
    source : str
        Where the source is on this machine (a folder, or an archive): not in the hash.
    editable : bool
        Installed editable (``pip install -e``): not in the hash.
    """

    name: str
    version: str
    content: str
    source: str = ""
    editable: bool = False

    def identity(self) -> dict[str, str]:
        """What of it is hashed."""
        return {"name": self.name, "version": self.version, "content": self.content}

    def to_dict(self) -> dict[str, Any]:
        return {**self.identity(), "source": self.source, "editable": self.editable}


@dataclass(frozen=True)
class EnvironmentSpec:
    """A reproducible environment: Python ``major.minor``, pinned distributions, local packages.

    Build one with :func:`from_probe` (what :func:`current` and a kernel's probe give) or
    :func:`from_dict`; compare two with :func:`diff`.
    """

    python: str
    packages: tuple[str, ...] = ()
    local: tuple[LocalPackage, ...] = ()
    #: the kernel's full version (``3.11.2``), for people: not in the hash
    python_full: str = ""
    #: why a spec is not what its kernel had (an old run's capture): not in the hash
    notes: tuple[str, ...] = field(default=(), compare=False)

    def identity(self) -> dict[str, Any]:
        """What the hash covers: format, python, sorted pins, local packages by content."""
        return {"format": FORMAT, "python": self.python, "packages": sorted(self.packages),
                "local": [p.identity() for p in sorted(self.local, key=lambda p: p.name)]}

    @property
    def hash(self) -> str:
        """The sha256 (64 hex digits) of :meth:`identity` as canonical JSON."""
        text = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def short_hash(self) -> str:
        """The first :data:`SHORT` hex digits of :attr:`hash`: a run's ``env_hash``."""
        return self.hash[:SHORT]

    def versions(self) -> dict[str, str]:
        """Every distribution's version (a URL pin's: ``@ url``; a local one's: its version
        and content hash), by name."""
        out = {}
        for pin in self.packages:
            name, sep, rest = pin.partition("==") if "==" in pin else pin.partition(" @ ")
            out[name] = rest if sep == "==" else f"@ {rest}"
        for p in self.local:
            out[p.name] = f"{p.version} (local {p.content.split(':')[-1][:12]})"
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: :meth:`identity` with ``hash``, sources, ``python_full`` and ``notes``."""
        return {**self.identity(), "hash": self.hash, "python_full": self.python_full,
                "local": [p.to_dict() for p in sorted(self.local, key=lambda p: p.name)],
                "notes": list(self.notes)}


def from_dict(data: Mapping[str, Any]) -> EnvironmentSpec:
    """The spec of :meth:`EnvironmentSpec.to_dict` (or of its ``identity``).

    Raises InvalidInput naming the field that does not fit (an unknown format, a Python that is
    not ``major.minor``, a pin that is not ``name==version`` or ``name @ url``, a local
    package without a ``sha256:`` content hash).
    """
    if not isinstance(data, Mapping):
        raise InvalidInput("an environment spec is a JSON object: {python, packages, local}")
    if data.get("format", FORMAT) != FORMAT:
        raise InvalidInput(f"environment spec format {data.get('format')!r} is not known to this "
                           f"jupyter_mlws (it reads {FORMAT}): upgrade jupyter_mlws")
    python = data.get("python")
    if not isinstance(python, str) or not _PYTHON.match(python):
        raise InvalidInput(f"an environment spec's python must be 'major.minor' such as '3.11', "
                           f"got {python!r}")
    packages = data.get("packages") or []
    if not isinstance(packages, list) or not all(isinstance(p, str) and _PIN.match(p) for p in packages):
        bad = next((p for p in packages if not (isinstance(p, str) and _PIN.match(p))), packages) \
            if isinstance(packages, list) else packages
        raise InvalidInput(f"an environment spec's packages are 'name==version' or 'name @ url' "
                           f"(names normalized: lower case, '-'), got {bad!r}")
    local = tuple(_local(p) for p in data.get("local") or [])
    spec = EnvironmentSpec(python, tuple(sorted(packages)), local,
                           python_full=str(data.get("python_full") or ""),
                           notes=tuple(str(n) for n in data.get("notes") or ()))
    given = data.get("hash")
    if given is not None and given != spec.hash:
        raise InvalidInput(f"the environment spec's hash {str(given)[:SHORT]} does not match its "
                           f"content ({spec.short_hash}): it was edited; drop its 'hash' field")
    return spec


def _local(data: Any) -> LocalPackage:
    if not isinstance(data, Mapping) or not all(isinstance(data.get(k), str) for k in
                                                ("name", "version", "content")):
        raise InvalidInput("an environment spec's local packages are {name, version, content, "
                           f"source}}, got {data!r}")
    if not data["content"].startswith("sha256:") or not _HASH.match(data["content"][7:]):
        raise InvalidInput(f"local package {data['name']!r}: content must be 'sha256:<64 hex>'")
    return LocalPackage(data["name"], data["version"], data["content"],
                        source=str(data.get("source") or ""), editable=bool(data.get("editable")))


# -- from what an interpreter has installed ------------------------------------------------------


def from_probe(probe: Mapping[str, Any], *, hasher=None) -> EnvironmentSpec:
    """The spec of an interpreter described by :func:`.probe.describe`.

    ``hasher(path) -> "sha256:..."`` hashes a local package's source (default
    :func:`content_hash`).  Raises InvalidInput when a local package's source is gone or too
    large to hash (the message names it).
    """
    hasher = hasher or content_hash
    major_minor = ".".join(str(probe["python"]).split(".")[:2])
    packages, local = [], []
    for dist in probe["distributions"]:
        kind, value = _classify(dist)
        if kind == "local":
            local.append(LocalPackage(dist["name"], dist["version"], hasher(value), source=value,
                                      editable=_editable(dist)))
        else:
            packages.append(value)
    return EnvironmentSpec(major_minor, tuple(sorted(packages)), tuple(local),
                           python_full=str(probe["python"]))


def _editable(dist: Mapping) -> bool:
    info = dist.get("direct_url", {}).get("dir_info")
    return bool(isinstance(info, dict) and info.get("editable"))


def _classify(dist: Mapping[str, Any]) -> tuple[str, str]:
    """``("local", path)`` for a distribution from this machine's files, else ``("pin", pin)``."""
    url = dist.get("direct_url")
    name = dist["name"]
    if not url:
        return "pin", f"{name}=={dist['version']}"
    where = url["url"]
    if where.startswith("file:"):
        return "local", unquote(urlsplit(where).path)
    vcs = url.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs") and vcs.get("commit_id"):
        return "pin", f"{name} @ {vcs['vcs']}+{where}@{vcs['commit_id']}"
    return "pin", f"{name} @ {where}"


def current() -> EnvironmentSpec:
    """The spec of the interpreter running this code."""
    from .probe import describe

    return from_probe(describe())


# -- content hashes of local sources -------------------------------------------------------------


def content_hash(path: str | os.PathLike) -> str:
    """``sha256:<hex>`` of a local package's source: an archive's bytes, or a folder's files.

    A folder's files are those a run's source snapshot would keep
    (:func:`jupyter_mlws.snapshot.collect`: ``.gitignore`` applied, ``.git``, virtual
    environments and caches skipped), each as its relative path and its bytes' sha256, sorted:
    the hash follows the content, never where the folder is.

    Raises InvalidInput when the source is missing (reinstall the package, or install it
    from an index) or holds more than :data:`LOCAL_MAX_FILES` files.
    """
    real = Path(path)
    if real.is_file():
        return "sha256:" + _file_sha(real)
    if not real.is_dir():
        raise InvalidInput(f"the source of a local package is gone ({os.fspath(path)!r}): reinstall "
                           "it, or install it from an index, before building its environment")
    from ..snapshot import collect

    digest = hashlib.sha256()
    for f in collect(real, max_bytes=LOCAL_MAX_BYTES, max_files=LOCAL_MAX_FILES):
        digest.update(f"{f.path}\0{_file_sha(Path(f.abspath))}\n".encode())
    return "sha256:" + digest.hexdigest()


def _file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- comparing two specs --------------------------------------------------------------------------


@dataclass
class Difference:
    """How ``have`` (a target's environment) differs from ``want`` (a kernel's).

    ``missing``: names ``want`` has and ``have`` lacks, with ``want``'s version; ``different``:
    ``(name, want's version, have's version)``; ``extra``: names only ``have`` has; ``python``:
    ``(want, have)`` when they differ, else None.
    """

    python: tuple[str, str] | None = None
    missing: list[tuple[str, str]] = field(default_factory=list)
    different: list[tuple[str, str, str]] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.python or self.missing or self.different or self.extra)

    def size(self) -> int:
        """How many things differ (the closest environment differs least)."""
        return (10 ** 6 if self.python else 0) + len(self.missing) + len(self.different) + len(self.extra)

    def to_dict(self) -> dict[str, Any]:
        return {"python": list(self.python) if self.python else None,
                "missing": [{"name": n, "version": v} for n, v in self.missing],
                "different": [{"name": n, "kernel": w, "target": h} for n, w, h in self.different],
                "extra": [{"name": n, "version": v} for n, v in self.extra]}

    def lines(self, limit: int = 20, first: Iterable[str] = ()) -> list[str]:
        """The difference in words, a line each (at most ``limit`` per kind, then a count).

        The packages named in ``first`` (those the notebook imports: a run fails without them)
        come first in each kind, said so ("the notebook imports it"), the rest by name."""
        wanted = set(first)
        note = " (the notebook imports it)"

        def ordered(rows):
            return sorted(rows, key=lambda row: (row[0] not in wanted, row[0]))

        def said(name: str, text: str) -> str:
            return text + (note if name in wanted else "")

        out = []
        if self.python:
            out.append(f"Python {self.python[0]} in the kernel, {self.python[1]} on the target")
        out += _capped([said(n, f"missing: {n} {v}") for n, v in ordered(self.missing)], limit)
        out += _capped([said(n, f"different: {n} {w} in the kernel, {h} on the target")
                        for n, w, h in ordered(self.different)], limit)
        out += _capped([f"only on the target: {n} {v}" for n, v in self.extra], limit)
        return out


    def changes(self, limit: int = 10) -> list[str]:
        """The difference read as a change from ``want`` (an earlier environment) to ``have``
        (the one now), an item each: ``Python 3.11 -> 3.12``, ``numpy 1.26.4 -> 2.0.0``,
        ``added polars 1.0.0``, ``removed tqdm 4.66.1``; a package installed from local files
        (an editable install of the project among them) whose source changed, its own item:
        ``mypkg 0.1: its local source changed`` (at most ``limit`` items, then a count)."""
        out = [f"Python {self.python[0]} -> {self.python[1]}"] if self.python else []
        for name, before, now in self.different:
            local = _LOCAL.fullmatch(before), _LOCAL.fullmatch(now)
            if local[0] and local[1] and local[0]["version"] == local[1]["version"]:
                out.append(f"{name} {local[1]['version']}: its local source changed")
            else:
                out.append(f"{name} {before} -> {now}")
        out += [f"added {n} {v}" for n, v in self.extra]
        out += [f"removed {n} {v}" for n, v in self.missing]
        return _capped(out, limit)


#: a local package's version as :meth:`EnvironmentSpec.versions` writes it
_LOCAL = re.compile(r"(?P<version>\S+) \(local [0-9a-f]+\)")


def _capped(lines: list[str], limit: int) -> list[str]:
    return lines if len(lines) <= limit else lines[:limit] + [f"... and {len(lines) - limit} more"]


def diff(want: EnvironmentSpec, have: EnvironmentSpec) -> Difference:
    """How ``have`` differs from ``want`` (see :class:`Difference`)."""
    w, h = want.versions(), have.versions()
    return Difference(
        python=(want.python, have.python) if want.python != have.python else None,
        missing=[(n, w[n]) for n in sorted(w.keys() - h.keys())],
        different=[(n, w[n], h[n]) for n in sorted(w.keys() & h.keys()) if w[n] != h[n]],
        extra=[(n, h[n]) for n in sorted(h.keys() - w.keys())])

