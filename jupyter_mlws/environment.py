"""The software environment a run executed in: Python, platform, kernel and packages.

Two runs can be compared by ``packages_hash``: the sha256 of the sorted
``name==version`` list of installed distributions.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys


def packages() -> list[str]:
    """Installed distributions as sorted ``name==version`` lines.

    Read from the ``*.dist-info`` / ``*.egg-info`` folder names on ``sys.path``
    (what pip writes), which is far cheaper than parsing every METADATA file.
    """
    seen: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            stem, dot, suffix = name.rpartition(".")
            if suffix in ("dist-info", "egg-info") and "-" in stem:
                dist, _, version = stem.partition("-")
                key = dist.lower().replace("_", "-")
                seen.setdefault(key, f"{key}=={version.split('-')[0]}")
    return sorted(seen.values())


def capture(kernel: str | None = None) -> dict:
    """A JSON-friendly description of this process's environment (and the kernel's spec)."""
    pkgs = packages()
    env = {
        "python": sys.version,
        "executable": sys.executable,
        "platform": platform.platform(),
        "packages": pkgs,
        "packages_hash": hashlib.sha256("\n".join(pkgs).encode()).hexdigest(),
    }
    if kernel:
        env["kernel"] = {"name": kernel, **_kernelspec(kernel)}
    return env


def _kernelspec(name: str) -> dict:
    try:
        from .notebooks.kernels import spec_manager

        spec = spec_manager().get_kernel_spec(name)
    except Exception as exc:  # the kernel may have been removed since
        return {"error": str(exc)}
    return {"display_name": spec.display_name, "language": spec.language, "argv": spec.argv}
