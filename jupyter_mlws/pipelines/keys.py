"""A step's reuse key, and why a step ran or was reused.

A step is reused when its key is unchanged.  The key is the sha256 of its parts, each a
sha256 itself:

- ``code``: a notebook's code cells' source (outputs, metadata, markdown and raw cells
  ignored), or a script's bytes;
- ``parameters``: the step's parameters as given (pipeline parameters resolved, inputs'
  local paths included), as canonical JSON;
- ``inputs``: each input's name and the content hash (sha256) of the file it receives;
- ``deps``: each file of the project files and folders the step declares it reads (``deps:``),
  as its path and content hash in the pipeline's snapshot; a step declaring none has no such
  part (its key is as it was before deps existed).  Files a step does not declare are not
  hashed;
- ``environment``: the spec hash of the environment the step runs in
  (:mod:`jupyter_mlws.environments`).

The parts are kept beside the key, so that a step that runs again says which of them changed
(:func:`explain`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ..errors import InvalidInput

#: the parts of a key, in the order explanations name them
PARTS = ("code", "parameters", "inputs", "deps", "environment")
_MAPS = ("params", "input_hashes", "dep_hashes")
#: how :func:`explain` names each part that changed
_WORDS = {"inputs": "inputs", "deps": "project files"}
#: how many changed names an explanation lists
NAMED_MAX = 5
#: why a step ran when it was forced, or had no earlier run to compare with
FORCED, NO_EARLIER = "forced", "no earlier run"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical(value: Any) -> bytes:
    """``value`` as canonical JSON bytes (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def code_hash(kind: str, data: bytes, shown: str) -> str:
    """The ``code`` part of a step of ``kind`` (``script`` or ``notebook``) whose file holds
    ``data``: a script's bytes; a notebook's code cells' source only.  InvalidInput for a
    notebook that is not valid JSON (named as ``shown``)."""
    if kind == "script":
        return sha256(data)
    try:
        nb = json.loads(data)
        cells = nb["cells"]
        sources = [_text(c.get("source", "")) for c in cells if c.get("cell_type") == "code"]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InvalidInput(f"{shown} is not a valid notebook: open it in Jupyter and save it "
                           "again") from None
    return sha256(canonical(sources))


def _text(source: Any) -> str:
    """A cell's source, given as one text or a list of lines (nbformat allows both)."""
    return "".join(source) if isinstance(source, list) else str(source)


@dataclass(frozen=True)
class Key:
    """A step's key and its parts, with what they were made of (to explain a change).

    Attributes
    ----------
    code, parameters, inputs, deps, environment : str
        The parts' sha256 (``environment``: the environment spec's hash; ``deps``: ``""``
        when the step declares none).
    params : dict
        The parameters the ``parameters`` part hashes.
    input_hashes : dict
        Input name -> the content sha256 of the file it receives.
    dep_hashes : dict
        Project path -> content sha256 of each file of the step's deps.
    """

    code: str
    parameters: str
    inputs: str
    environment: str
    deps: str = ""
    params: dict = field(default_factory=dict, compare=False)
    input_hashes: dict = field(default_factory=dict, compare=False)
    dep_hashes: dict = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, code: str, params: Mapping[str, Any], input_hashes: Mapping[str, str],
           environment: str, dep_hashes: Mapping[str, str] | None = None) -> "Key":
        deps = sha256(canonical(dict(dep_hashes))) if dep_hashes else ""
        return cls(code, sha256(canonical(dict(params))), sha256(canonical(dict(input_hashes))),
                   environment, deps, dict(params), dict(input_hashes), dict(dep_hashes or {}))

    @property
    def value(self) -> str:
        """The key: the sha256 of its parts (``deps`` left out when the step declares none,
        so that such a step keeps the key it had before deps existed)."""
        return sha256(canonical([getattr(self, p) for p in PARTS
                                 if p != "deps" or self.deps]))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Key":
        return cls(**{k: data.get(k, {} if k in _MAPS else "") for k in (*PARTS, *_MAPS)})


def explain(now: Key, before: Key | None, before_run: str | None = None, *,
            environment: Callable[[], Sequence[str]] | None = None) -> tuple[list[str], str]:
    """Why a step runs although it was not forced: which parts of its key changed since
    ``before`` (the key of its latest completed run, ``before_run``), as ``(changed, text)``.

    ``changed`` lists part names (``code``, ``parameters``, ``inputs``, ``deps``,
    ``environment``), or is ``["no earlier run"]``; ``text`` says it in words, naming the
    parameters, inputs and project files (deps: ``project files changed (raw.csv)``), and
    what changed in the environment as ``environment()`` says (asked only when it changed:
    ``["numpy 1.26.4 -> 2.0.0", "mypkg 0.1: its local source changed"]``; none: unnamed).
    """
    if before is None:
        return [NO_EARLIER], "no earlier run of this step to reuse"
    changed = [p for p in PARTS if getattr(now, p) != getattr(before, p)]
    if not changed:  # the same key, but nothing of it to reuse
        return [NO_EARLIER], (f"no completed run with this key has its outputs (the latest, "
                              f"{before_run}, cannot be reused)")
    words = []
    for part in changed:
        if part == "parameters":
            names = _differ(now.params, before.params)
            words.append(f"parameters changed ({', '.join(names)})" if names else
                         "parameters changed")
        elif part in ("inputs", "deps"):
            names = (_differ(now.input_hashes, before.input_hashes) if part == "inputs" else
                     _differ(now.dep_hashes, before.dep_hashes))
            more = f", {len(names) - NAMED_MAX} more" if len(names) > NAMED_MAX else ""
            words.append(f"{_WORDS[part]} changed ({', '.join(names[:NAMED_MAX])}{more})"
                         if names else f"{_WORDS[part]} changed")
        elif part == "environment":
            items = list(environment()) if environment is not None else []
            words.append(f"environment changed ({'; '.join(items)})" if items else
                         "environment changed")
        else:
            words.append(f"{part} changed")
    since = f" since run {before_run}" if before_run else ""
    return changed, "; ".join(words) + since


def _differ(a: Mapping, b: Mapping) -> list[str]:
    """Names whose values differ between ``a`` and ``b`` (added and removed ones included)."""
    return sorted(k for k in set(a) | set(b) if canonical(a.get(k)) != canonical(b.get(k))
                  or (k in a) != (k in b))


def dep_hashes(step: str, deps: Sequence[str], snapshot: Mapping[str, str]) -> dict[str, str]:
    """``{path: sha256}`` of every file of ``deps`` (project files, or folders standing for every
    file under them) in ``snapshot`` (the pipeline's snapshot: path -> sha256).

    Raises
    ------
    InvalidInput
        A dep with no file in the snapshot (missing, or left out by ``.gitignore`` /
        ``.mlwsignore``), naming step ``step`` and what to do.
    """
    out: dict[str, str] = {}
    for dep in deps:
        if dep in snapshot:
            out[dep] = snapshot[dep]
            continue
        under = {p: h for p, h in snapshot.items() if p.startswith(dep + "/")}
        if not under:
            raise InvalidInput(f"step {step!r}: its dep {dep!r} is no file or folder of the "
                               "project's snapshot: create it, un-ignore it (.gitignore or "
                               ".mlwsignore), or drop it from the step's deps")
        out.update(under)
    return dict(sorted(out.items()))
