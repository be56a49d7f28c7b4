"""What a Python interpreter has installed: its version and its distributions.

Standard library only, and runnable as a script by any Python 3.8+ (``python probe.py`` prints
the JSON of :func:`describe`): the workspace asks a kernel's own interpreter with it when that
is not the one running the workspace.  It reads the ``*.dist-info`` / ``*.egg-info`` folder
names on ``sys.path`` (what pip and uv write), far cheaper than parsing every METADATA file,
and a ``direct_url.json`` where one is (PEP 610: a distribution installed from a folder, a
local archive, a URL or a version-control checkout).
"""

import json
import os
import re
import sys

_SEPARATORS = re.compile(r"[-_.]+")


def normalize(name):
    """A distribution's name as indexes compare it (PEP 503): lower case, ``-`` for any run
    of ``-``, ``_`` and ``.``."""
    return _SEPARATORS.sub("-", name).lower()


def _direct_url(folder):
    """The parsed ``direct_url.json`` of a dist-info folder, None when it has none."""
    try:
        with open(os.path.join(folder, "direct_url.json"), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("url"), str) else None


def distributions(paths=None):
    """The distributions importable from ``paths`` (default ``sys.path``), the first of each
    name winning as imports do: ``[{"name", "version", "direct_url"?}]`` sorted by name."""
    seen = {}
    for entry in sys.path if paths is None else paths:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in names:
            stem, _, suffix = folder.rpartition(".")
            if suffix not in ("dist-info", "egg-info") or "-" not in stem:
                continue
            dist, _, version = stem.partition("-")
            key = normalize(dist)
            if key in seen:
                continue
            found = {"name": key, "version": version.split("-")[0]}
            if suffix == "dist-info":
                url = _direct_url(os.path.join(entry or ".", folder))
                if url is not None:
                    found["direct_url"] = url
            seen[key] = found
    return [seen[k] for k in sorted(seen)]


def describe():
    """This interpreter: ``{"python": "3.11.2", "implementation": "cpython", "distributions":
    [...]}`` (see :func:`distributions`)."""
    v = sys.version_info
    return {"python": f"{v.major}.{v.minor}.{v.micro}",
            "implementation": sys.implementation.name,
            "distributions": distributions()}


if __name__ == "__main__":
    json.dump(describe(), sys.stdout)
