"""Which pinned distributions need a newer Python than a target's: said before a build fails.

A kernel's spec pins its distributions as installed (:mod:`.spec`); a build installs them as
pinned, never resolving again for another Python.  So a target whose Python is another release
than the kernel's (a host on 3.11.2, a kernel on 3.11.7) cannot install a pin whose
``Requires-Python`` excludes it (``soupsieve 4.1.3`` needs ``>=3.11.5``).  That is known here,
before anything is sent, when the kernel is this interpreter: its installed distributions'
metadata (``importlib.metadata``) say what each requires.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping

from .installed import cached

_SEPARATORS = re.compile(r"[-_.]+")
#: pins named in a warning before "and N more"
SHOWN = 3


@cached
def requires_python() -> dict[str, tuple[str, str]]:
    """``{name: (version, Requires-Python)}`` of this interpreter's installed distributions that
    declare one (names normalized as indexes compare them); read again only once a distribution
    was installed or removed here (:mod:`.installed`)."""
    from importlib.metadata import distributions

    found: dict[str, tuple[str, str]] = {}
    for dist in distributions():
        name, needs = dist.metadata.get("Name"), dist.metadata.get("Requires-Python")
        if name and needs:
            found.setdefault(_SEPARATORS.sub("-", name).lower(), (dist.version, needs.strip()))
    return found


def beyond(python: str, requires: Mapping[str, tuple[str, str]],
           pins: Iterable[str] | None = None) -> list[tuple[str, str, str]]:
    """``[(name, version, requires)]`` of ``requires`` whose Requires-Python excludes ``python``
    (``"3.11.2"``); an unparsable one is skipped.  With ``pins`` (``name==version``), only the
    distributions pinned at the version installed here: their metadata is known here, whichever
    kernel's spec pins them (a pin by URL is not checked)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        version = Version(python)
    except InvalidVersion:
        return []
    wanted = None if pins is None else {
        _SEPARATORS.sub("-", name.strip()).lower(): pinned.strip()
        for name, _, pinned in (p.partition("==") for p in pins) if pinned}
    out = []
    for name, (dist_version, needs) in sorted(requires.items()):
        if wanted is not None and wanted.get(name) != dist_version:
            continue
        try:
            if version not in SpecifierSet(needs):
                out.append((name, dist_version, needs))
        except InvalidSpecifier:
            continue
    return out


def python_warning(host: str, kernel: str, where: str, pins: Iterable[str] | None = None,
                   theirs: str = "the kernel's") -> str | None:
    """What to say when ``where``'s Python (``host``, ``"3.11.2"``) is another release than the
    kernel's (``kernel``, this interpreter's: ``theirs`` names it) and distributions of this
    interpreter (the ``pins`` only, when given) need a Python the host's is not; None when
    nothing needs saying."""
    if not host or host == kernel:
        return None
    found = beyond(host, requires_python(), pins)
    if not found:
        return None
    named = "; ".join(f"{n} {v} needs Python {r}" for n, v, r in found[:SHOWN])
    more = f" (and {len(found) - SHOWN} more)" if len(found) > SHOWN else ""
    return (f"{where}'s Python is {host}, {theirs} {kernel}: {named}{more}, so building "
            f"{theirs} environment there will fail. Install a Python release they take there "
            f"(--python names the one builds use), or build from a kernel whose packages take "
            f"{host}")


def refusal(warning: str) -> str:
    """Why a build asked for (``mlws env build``, ``run submit --build-env``, ``POST
    environments/build``) is refused: ``warning`` (:func:`python_warning`), that nothing was
    built, and how to build anyway."""
    return (f"{warning.rstrip('.')}. Nothing was built: fix that first, or build anyway with "
            "--yes (over REST: \"force\": true; the build then fails on the host, saying which "
            "package)")


def python_of(place) -> str:
    """The ``major.minor.micro`` of ``place.python`` on its target, "" when it cannot be asked
    (the build will say why)."""
    from ..errors import MlwsError

    try:
        done = place.shell.run([place.python, "-c", "import sys; print('%d.%d.%d' % "
                                "sys.version_info[:3])"], timeout=60)
    except MlwsError:
        return ""
    lines = done.output.strip().splitlines()
    return lines[-1].strip() if done.status == 0 and lines else ""


def ahead(found: dict, spec, place, kernel_here: bool = True) -> dict:
    """A drift check's ``found`` (:meth:`EnvironmentService.diff <.service.EnvironmentService.diff>`),
    with ``python_warning`` (also its last line) when the kernel's environment would be built
    there and cannot be, for the pins (at the versions installed here) that need a newer Python
    than the target's (:func:`python_warning`); ``kernel_here`` false: nothing is checked."""
    if found["state"] in ("same", "current") or place.system or not kernel_here \
            or found["target"] == "local":
        return found
    warning = python_warning(python_of(place), spec.python_full or spec.python, found["target"],
                             spec.packages)
    if warning is None:
        return found
    return {**found, "python_warning": warning, "lines": [*found["lines"], warning]}
