"""The compute registry: backends by name, loaded on first use, clear errors for bad entries."""

from __future__ import annotations

import subprocess
import sys

import pytest

from jupyter_mlws.compute.base import ComputeTarget
from jupyter_mlws.compute.registry import TargetRegistry
from jupyter_mlws.errors import InvalidInput, Unavailable


def test_the_local_target_is_built_once_on_first_use(ws):
    target = ws.compute.target("local")
    assert isinstance(target, ComputeTarget) and ws.compute.target() is target
    assert ws.compute.backends.names() == ["dask", "local", "ssh", "vm"]  # named, loaded when used


def test_a_backend_is_imported_only_when_first_used():
    code = ("import sys\nfrom jupyter_mlws.compute.registry import TargetRegistry\n"
            "r = TargetRegistry({}, {'local': 'jupyter_mlws.compute.local:LocalTarget'})\n"
            "print('jupyter_mlws.compute.local' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_and_broken_backends_are_clear_errors():
    registry = TargetRegistry({}, {"local": "jupyter_mlws.compute.local:LocalTarget",
                                   "gone": "no_such_module_here:Target",
                                   "typo": "jupyter_mlws.compute.local:NoSuchTarget",
                                   "dict": "collections:OrderedDict"})
    with pytest.raises(InvalidInput, match="no compute target 'nope': use one of dict, gone, local, typo"):
        registry.get("nope")
    with pytest.raises(Unavailable, match="'gone' .* cannot be loaded: No module named 'no_such_module_here'"):
        registry.get("gone")
    with pytest.raises(Unavailable, match="'typo': jupyter_mlws.compute.local has no 'NoSuchTarget'"):
        registry.get("typo")
    with pytest.raises(Unavailable, match="collections:OrderedDict is not a ComputeTarget"):
        registry.get("dict")
    with pytest.raises(InvalidInput, match="'module:Class'"):
        registry.register("bad", "no-colon")
