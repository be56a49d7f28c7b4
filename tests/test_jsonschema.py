"""The JSON-Schema subset: the first mismatch, named by its path, or None."""

from __future__ import annotations

import pytest

from jupyter_mlws.endpoints.example import input_example
from jupyter_mlws.jsonschema import example_of, validate

ROWS = {"type": "object", "required": ["data"], "additionalProperties": False,
        "properties": {"data": {"type": "array", "minItems": 1, "items": {
            "type": "array", "items": {"type": "number", "minimum": 0}, "minItems": 2, "maxItems": 2}},
            "tags": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 3}},
            "mode": {"enum": ["fast", "exact"]}, "k": {"type": ["integer", "null"], "maximum": 9}}}


@pytest.mark.parametrize("value, message", [
    ({"data": [[1, 2], [3.5, 4]], "tags": {"a": "x"}, "mode": "fast", "k": None}, None),
    ({"data": [[1, 2], [3, "4"]]}, "$.data[1][1] must be number, got string"),
    ({"data": [[1, 2], [3, -1]]}, "$.data[1][1] must be >= 0, got -1"),
    ({"data": [[1, 2], [3, float("nan")]]}, "$.data[1][1] must be >= 0, got nan"),
    ({"data": [[1, 2], [3]]}, "$.data[1] needs at least 2 items"),
    ({"data": []}, "$.data needs at least 1 items"),
    ({"data": [[True, 1]]}, "$.data[0][0] must be number, got boolean"),
    ({"data": [[1, 2]], "tags": {"a": "long"}}, "$.tags.a takes at most 3 characters, got 4"),
    ({"data": [[1, 2]], "mode": "slow"}, "$.mode must be one of ['fast', 'exact']"),
    ({"data": [[1, 2]], "k": 10}, "$.k must be <= 9, got 10"),
    ({"data": [[1, 2]], "k": 1.5}, "$.k must be integer or null, got number"),
    ({"data": [[1, 2]], "other": 1}, "$ has unexpected properties ['other']"),
    ({}, "$ lacks the required property 'data'"),
    ([1], "$ must be object, got array"),
])
def test_the_first_mismatch_is_named_by_its_path(value, message):
    assert validate(value, ROWS) == message


def test_prefix_items_check_each_position_and_items_the_rest():
    """A row of typed features by position (JSON Schema 2020-12's ``prefixItems``)."""
    row = {"type": "array", "items": {"type": "boolean"},
           "prefixItems": [{"type": "number"}, {"type": ["string", "null"], "title": "colour"}]}
    assert validate([1.5, "red", True, False], row) is None
    assert validate([1.5, None], row) is None
    assert validate(["1.5", "red"], row) == "$[0] must be number, got string"
    assert validate([1.5, 2], row) == "$[1] (colour) must be string or null, got integer"
    assert validate([1.5, "red", "x"], row) == "$[2] must be boolean, got string"


def test_the_path_starts_where_the_caller_says():
    assert validate({"data": [["x", 1]]}, ROWS, "body") == "body.data[0][0] must be number, got string"


def test_an_example_is_a_value_the_schema_accepts():
    example = example_of(ROWS)
    assert example == {"data": [[0, 0]]}
    assert validate(example, ROWS) is None
    assert example_of({"type": "object", "properties": {"mode": {"enum": ["fast", "exact"]},
                                                        "n": {"type": "integer", "exclusiveMinimum": 2}}}) \
        == {"mode": "fast", "n": 3}
    assert example_of("not a schema") == {}


def test_a_scoring_scripts_example_is_read_without_running_it(tmp_path):
    """The endpoint page's test box starts from it: the script's input_example, else a value its
    input_schema accepts, else None (nothing of the script runs).  Scripts are stored blobs (on
    any blob store: a folder, object storage)."""
    from jupyter_mlws.store.blobs import LocalBlobStore

    blobs = LocalBlobStore(tmp_path / "blobs")
    sha, _ = blobs.put_bytes(b"import sys\nsys.exit(3)\ninput_schema = {'type': 'object'}\n"
                             b"input_example = {'data': [[5.1, 3.5]]}\ndef run(data): return data\n")
    assert input_example(blobs, sha) == {"data": [[5.1, 3.5]]}
    sha, _ = blobs.put_bytes(f"input_schema = {ROWS!r}\ndef run(data): return data\n".encode())
    assert input_example(blobs, sha) == {"data": [[0, 0]]}
    sha, _ = blobs.put_bytes(b"def run(data): return data\n")
    assert input_example(blobs, sha) is None
    assert input_example(blobs, "0" * 64) is None
