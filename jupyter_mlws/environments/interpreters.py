"""The spec of a kernel's environment: asked of the kernel's own interpreter.

A kernelspec whose ``argv[0]`` is ``python``, ``python3``, ``python3.X`` (what jupyter_client
runs as this interpreter) or this interpreter's path describes the environment running this
code: it is read in-process.  Any other Python is asked with :mod:`.probe` run as a script.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from ..errors import InvalidInput, Unavailable
from .spec import EnvironmentSpec, current, from_probe

_SAME = re.compile(r"^python(\d(\.\d+)?)?$")
#: seconds a kernel's interpreter has to describe itself
PROBE_TIMEOUT_S = 60


def kernel_interpreter(name: str) -> str | None:
    """The interpreter of kernel ``name``'s argv, None when it is this one.

    Raises InvalidInput when no kernel of that name is installed, or it runs another language
    than Python (environments hold Python distributions).
    """
    from ..notebooks.kernels import spec_manager

    try:
        spec = spec_manager().get_kernel_spec(name)
    except Exception:  # jupyter_client raises NoSuchKernel (a KeyError) or worse
        raise InvalidInput(f"no kernel named {name!r} is installed: 'jupyter kernelspec list' "
                           "shows them") from None
    if str(spec.language).lower() != "python":
        raise InvalidInput(f"kernel {name!r} runs {spec.language}: an environment spec holds a "
                           "Python kernel's distributions")
    exe = spec.argv[0] if spec.argv else "python"
    if _SAME.match(exe) or _this_environment(exe):
        return None
    return exe


def _this_environment(exe: str) -> bool:
    """Whether ``exe`` runs this interpreter's environment: the same program in the same folder.
    (Not the resolved program alone: every venv made from one Python links to the same binary,
    each with packages of its own.)"""
    here = Path(sys.executable).absolute()
    there = Path(exe).absolute()
    return there.parent == here.parent and os.path.realpath(there) == os.path.realpath(here)


def spec_of_kernel(name: str) -> EnvironmentSpec:
    """The spec of the environment kernel ``name`` runs in (see the module's rule).

    Raises InvalidInput (see :func:`kernel_interpreter`; a local package whose source is
    gone), Unavailable when the kernel's interpreter cannot describe itself.
    """
    exe = kernel_interpreter(name)
    if exe is None:
        return current()
    probe = Path(__file__).with_name("probe.py")
    try:
        done = subprocess.run([exe, str(probe)], capture_output=True, timeout=PROBE_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
        data = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        data = None
    if not isinstance(data, dict):
        raise Unavailable(f"kernel {name!r}'s interpreter {Path(exe).name} could not list its "
                          "distributions: check that it starts ('jupyter kernelspec list')")
    return from_probe(data)
