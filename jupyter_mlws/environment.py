"""The software environment a run executed in: Python, platform, kernel, packages and its spec.

``spec`` is the environment as a reproducible spec (:mod:`jupyter_mlws.environments.spec`) and
``spec_hash`` its hash: the run's ``env_hash`` tag is its first 16 hex digits, and
``mlws env build --from-run RUN`` builds it.  ``packages`` (sorted ``name==version`` lines) and
``packages_hash`` (their sha256) are kept as before: older runs' ``env_hash`` was the first 16
hex digits of ``packages_hash``, and they stay readable as they are.
"""

from __future__ import annotations

import hashlib
import platform
import sys

from .errors import MlwsError


def packages() -> list[str]:
    """Installed distributions as sorted ``name==version`` lines (names normalized, PEP 503).

    Read from the ``*.dist-info`` / ``*.egg-info`` folder names on ``sys.path``
    (what pip writes), which is far cheaper than parsing every METADATA file.
    """
    from .environments.probe import distributions

    return [f"{d['name']}=={d['version']}" for d in distributions()]


def capture(kernel: str | None = None, *, this_python: bool = False) -> dict:
    """A JSON-friendly description of this process's environment (and the kernel's spec).

    ``spec``/``spec_hash`` describe this interpreter, the kernel's when it runs the same one
    (a ``python3`` kernel, or any with ``this_python``: an executor in an environment built for
    its run runs its own Python's kernel, whatever the name); for a kernel with an interpreter
    of its own, that one is asked.  When no spec can be taken (a local package's source is
    gone), ``spec_error`` says why.
    """
    from .environments.probe import describe

    probe = describe()
    pkgs = [f"{d['name']}=={d['version']}" for d in probe["distributions"]]
    env = {
        "python": sys.version,
        "executable": sys.executable,
        "platform": platform.platform(),
        "packages": pkgs,
        "packages_hash": hashlib.sha256("\n".join(pkgs).encode()).hexdigest(),
    }
    try:
        spec = _spec(probe, None if this_python else kernel)
        env["spec"], env["spec_hash"] = spec.to_dict(), spec.hash
    except MlwsError as exc:
        env["spec_error"] = str(exc)
    if kernel:
        if this_python:
            from .notebooks.kernels import this_python_spec

            env["kernel"] = {"name": kernel, **this_python_spec()}
        else:
            env["kernel"] = {"name": kernel, **_kernelspec(kernel)}
    return env


def _spec(probe: dict, kernel: str | None):
    """The kernel's spec: from ``probe`` (this interpreter's) unless the kernel has its own."""
    from .environments.spec import from_probe

    if kernel:
        from .environments.interpreters import kernel_interpreter, spec_of_kernel

        if kernel_interpreter(kernel) is not None:
            return spec_of_kernel(kernel)
    return from_probe(probe)


def env_hash(captured: dict) -> str:
    """The ``env_hash`` tag of a run whose environment is ``captured``: its spec's hash, else
    (no spec could be taken) its packages' hash, 16 hex digits."""
    return (captured.get("spec_hash") or captured["packages_hash"])[:16]


def _kernelspec(name: str) -> dict:
    try:
        from .notebooks.kernels import spec_manager

        spec = spec_manager().get_kernel_spec(name)
    except Exception as exc:  # the kernel may have been removed since
        return {"error": str(exc)}
    return {"display_name": spec.display_name, "language": spec.language, "argv": spec.argv}
