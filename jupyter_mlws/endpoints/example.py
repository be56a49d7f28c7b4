"""What a scoring script says a request looks like, read from its source without running it:
the endpoint page's test box starts from it."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from ..jsonschema import example_of


@functools.lru_cache(maxsize=256)
def input_example(path: str) -> object | None:
    """A request for the scoring script at ``path`` (a stored, content-addressed blob: the cache
    never goes stale): its module-level ``input_example`` literal, else a small value its literal
    ``input_schema`` accepts (``jsonschema.example_of``); None when it has neither (or they are
    not plain literals, or the file cannot be read)."""
    try:
        tree = ast.parse(Path(path).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None
    literals = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                literals[node.targets[0].id] = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
    if "input_example" in literals:
        return literals["input_example"]
    if isinstance(literals.get("input_schema"), dict):
        return example_of(literals["input_schema"])
    return None
