"""Wheels of local packages, built from their source once per content and cached.

A spec's local packages (:class:`.spec.LocalPackage`) are on no index: a build makes a wheel of
each from its source, on this machine (where the source is), and the builder copies it to the
target.  Wheels are cached in a folder per package and *content hash*: the same source is built
once, however many environments or targets use it.  That matters for a package whose build is
slow: jupyter_mlws's own runs a JavaScript build through hatch-jupyter-builder, which its
``skip-if-exists`` setting skips when the built bundles are there already (any checkout that
was ``pip install -e``-ed), and which this cache spares entirely after the first build.

Before building, the source is hashed again: a source that changed since the spec was taken
would give another package under the same environment hash, so it is refused.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInput, Unavailable
from .spec import LocalPackage, content_hash

#: characters of a failed wheel build's output kept in the error
_TAIL = 1500


@dataclass(frozen=True)
class BuildOptions:
    """How distributions are found and installed (not part of an environment's identity).

    Attributes
    ----------
    installer : str
        ``auto`` (uv where it is found, else pip), ``uv`` or ``pip``.
    index_url : str or None
        The package index (default: the installer's own, or its config on the target).
    find_links : tuple of str
        Folders or pages of wheels to look in (paths as the target sees them).
    no_index : bool
        Use ``find_links`` only.
    timeout : float
        Seconds a build may take before it is stopped.
    """

    installer: str = "auto"
    index_url: str | None = None
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    timeout: float = 3600.0

    def __post_init__(self):
        if self.installer not in ("auto", "uv", "pip"):
            raise InvalidInput(f"installer {self.installer!r} is not known: use auto, uv or pip")
        if not (isinstance(self.timeout, (int, float)) and self.timeout > 0):
            raise InvalidInput(f"a build timeout is a number of seconds > 0, got {self.timeout!r}")

    def index(self) -> dict:
        """The index options as the build script reads them."""
        return {"index_url": self.index_url, "find_links": list(self.find_links),
                "no_index": self.no_index}

    def args(self) -> list[str]:
        """The index options as pip and uv take them."""
        args = ["--index-url", self.index_url] if self.index_url else []
        for link in self.find_links:
            args += ["--find-links", link]
        return args + (["--no-index"] if self.no_index else [])


def find_uv() -> str | None:
    """The ``uv`` program of this machine (the ``uv`` package's, else on PATH), None if absent."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


class WheelCache:
    """Wheels of local packages on this machine, one folder per name and content hash.

    Parameters
    ----------
    root : Path
        The cache folder (the workspace's ``.mlws/wheels``).
    uv : str or None
        The uv program (None: pip, with this interpreter).
    """

    def __init__(self, root: Path, uv: str | None):
        self.root = Path(root)
        self.uv = uv
        #: wheels this object built (not found in the cache): what a test counts
        self.built = 0

    def folder(self, pkg: LocalPackage) -> Path:
        """The cache folder of ``pkg``'s wheel."""
        return self.root / f"{pkg.name}-{pkg.content.split(':')[-1][:24]}"

    def wheel(self, pkg: LocalPackage, options: BuildOptions) -> Path:
        """The wheel of ``pkg``: from the cache, else built from its source now.

        Raises InvalidInput when the source is gone or changed since the spec was taken,
        Unavailable when the build fails (the message ends with the builder's last lines).
        """
        folder = self.folder(pkg)
        found = sorted(folder.glob("*.whl"))
        if found:
            return found[0]
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f"{folder.name}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one build per package at a time
            found = sorted(folder.glob("*.whl"))
            if found:
                return found[0]
            return self._build(pkg, folder, options)

    def _build(self, pkg: LocalPackage, folder: Path, options: BuildOptions) -> Path:
        if not pkg.source:
            raise InvalidInput(
                f"local package {pkg.name} {pkg.version} has no wheel in this workspace's cache, "
                "and the spec does not say where its source is (specs that 'mlws env show' and the "
                "REST API show leave it out): build the environment from its run (--from-run RUN) "
                "or its kernel (--from-kernel NAME) instead")
        now = content_hash(pkg.source)
        if now != pkg.content:
            raise InvalidInput(
                f"local package {pkg.name}'s source changed since this environment's spec was "
                f"taken (content {pkg.content[7:19]}, now {now[7:19]}): build the environment of "
                "the kernel as it is now, or restore that source")
        tmp = self.root / f".{folder.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            if pkg.source.endswith(".whl"):
                shutil.copy2(pkg.source, tmp / Path(pkg.source).name)
            else:
                self._run(pkg, tmp, options)
            wheels = sorted(tmp.glob("*.whl"))
            if len(wheels) != 1:
                raise Unavailable(f"building local package {pkg.name} gave {len(wheels)} wheels, "
                                  "not one: check its build configuration")
            os.rename(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.built += 1
        return folder / wheels[0].name

    def _run(self, pkg: LocalPackage, out: Path, options: BuildOptions) -> None:
        cache = self.root.parent / "cache"
        use_uv = self.uv is not None and options.installer != "pip"
        if use_uv:
            argv = [self.uv, "build", "--wheel", "--quiet", "--out-dir", str(out), *options.args(),
                    pkg.source]
            env = {"UV_CACHE_DIR": str(cache / "uv")}
        else:
            argv = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out),
                    *options.args(), pkg.source]
            env = {"PIP_CACHE_DIR": str(cache / "pip"), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        try:
            done = subprocess.run(argv, env={**os.environ, **env}, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=options.timeout, cwd=str(out))
        except subprocess.TimeoutExpired:
            raise Unavailable(f"building local package {pkg.name}'s wheel took longer than "
                              f"{options.timeout:g} s") from None
        if done.returncode != 0:
            tail = done.stdout.decode("utf-8", "replace").strip()[-_TAIL:]
            raise Unavailable(f"building local package {pkg.name}'s wheel failed "
                              f"({'uv build' if use_uv else 'pip wheel'}):\n{tail}")
