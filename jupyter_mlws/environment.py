"""The software environment a run executed in: Python, platform, kernel and packages.

Two runs can be compared by ``packages_hash``: the sha256 of the sorted
``name==version`` list of installed distributions.
"""

from __future__ import annotations

import hashlib
import platform
import sys


def packages() -> list[str]:
    """Installed distributions as sorted ``name==version`` lines."""
    from importlib import metadata

    seen = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            seen[name.lower()] = f"{name}=={dist.version}"
    return sorted(seen.values(), key=str.lower)


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
        from jupyter_client.kernelspec import KernelSpecManager

        spec = KernelSpecManager().get_kernel_spec(name)
    except Exception as exc:  # the kernel may have been removed since
        return {"error": str(exc)}
    return {"display_name": spec.display_name, "language": spec.language, "argv": spec.argv}
