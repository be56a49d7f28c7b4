"""What a scoring script says a request looks like, read from its source without running it:
the endpoint page's test box starts from it."""

from __future__ import annotations

import ast
import functools

from ..jsonschema import example_of


def input_example(blobs, sha256: str) -> object | None:
    """A request for the scoring script stored as blob ``sha256`` of ``blobs`` (content-addressed:
    the cache never goes stale): its module-level ``input_example`` literal, else a small value its
    literal ``input_schema`` accepts (``jsonschema.example_of``); None when it has neither (or they
    are not plain literals, or the blob cannot be read)."""
    return _example_of_blob(blobs, sha256)


@functools.lru_cache(maxsize=256)
def _example_of_blob(blobs, sha256: str) -> object | None:
    from ..errors import MlwsError

    try:
        return _example_of_source(blobs.read_bytes(sha256))
    except (OSError, MlwsError):
        return None


def _example_of_source(source: bytes) -> object | None:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
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
