"""The installed package ships its Jupyter faces enabled: what `jupyter ... list` tells a user."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _jupyter(*args: str) -> str:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    res = subprocess.run([str(bin_dir / "jupyter"), *args], capture_output=True, text=True,
                         timeout=120, env=env)
    assert res.returncode == 0, res.stderr
    return ANSI.sub("", res.stdout + res.stderr)


def test_the_server_extension_is_enabled_and_valid():
    out = _jupyter("server", "extension", "list")
    assert re.search(r"jupyter_mlws\s+enabled", out), out
    assert re.search(r"jupyter_mlws \S+ OK", out), out


def test_the_prebuilt_lab_extension_is_enabled():
    out = _jupyter("labextension", "list")
    assert re.search(r"jupyter-mlws v\S+ enabled\s+OK", out), out
