"""A step's reuse key, and why a step ran or was reused.

A step is reused when its key is unchanged.  The key is the sha256 of four parts, each a
sha256 itself:

- ``code``: a notebook's code cells' source (outputs, metadata, markdown and raw cells
  ignored), or a script's bytes;
- ``parameters``: the step's parameters as given (pipeline parameters resolved, inputs'
  local paths included), as canonical JSON;
- ``inputs``: each input's name and the content hash (sha256) of the file it receives;
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
PARTS = ("code", "parameters", "inputs", "environment")
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
    code, parameters, inputs, environment : str
        The parts' sha256 (``environment``: the environment spec's hash).
    params : dict
        The parameters the ``parameters`` part hashes.
    input_hashes : dict
        Input name -> the content sha256 of the file it receives.
    """

    code: str
    parameters: str
    inputs: str
    environment: str
    params: dict = field(default_factory=dict, compare=False)
    input_hashes: dict = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, code: str, params: Mapping[str, Any], input_hashes: Mapping[str, str],
           environment: str) -> "Key":
        return cls(code, sha256(canonical(dict(params))), sha256(canonical(dict(input_hashes))),
                   environment, dict(params), dict(input_hashes))

    @property
    def value(self) -> str:
        """The key: the sha256 of its four parts."""
        return sha256(canonical([getattr(self, p) for p in PARTS]))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Key":
        return cls(**{k: data.get(k, {} if k in ("params", "input_hashes") else "")
                      for k in (*PARTS, "params", "input_hashes")})


def explain(now: Key, before: Key | None, before_run: str | None = None, *,
            environment: Callable[[], Sequence[str]] | None = None) -> tuple[list[str], str]:
    """Why a step runs although it was not forced: which parts of its key changed since
    ``before`` (the key of its latest completed run, ``before_run``), as ``(changed, text)``.

    ``changed`` lists part names (``code``, ``parameters``, ``inputs``, ``environment``), or is
    ``["no earlier run"]``; ``text`` says it in words, naming the parameters and inputs, and
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
        elif part == "inputs":
            names = _differ(now.input_hashes, before.input_hashes)
            words.append(f"inputs changed ({', '.join(names)})" if names else "inputs changed")
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
