"""The scoring app's JSON answers: what json.dumps would write, and a result JSON cannot hold
leaves the next one unaffected."""

from __future__ import annotations

import json

import pytest

np = pytest.importorskip("numpy")

from jupyter_mlws.endpoints.serving.app import _dumps  # noqa: E402


@pytest.mark.parametrize("value", [
    {"predictions": [0, 2], "p": [[0.1, 0.9], [1e-300, -0.0]], "label": "été ✓", "ok": True, "none": None},
    [1, "two", 3.5, {"nested": {"deeper": [[]]}}],
    "text",
    17,
])
def test_an_answer_is_what_json_dumps_writes(value):
    assert _dumps(value) == json.dumps(value, separators=(",", ":")).encode()


def test_numpy_values_are_written_as_lists_and_numbers():
    value = {"a": np.array([[1, 2], [3, 4]]), "b": np.float32(0.5), "c": np.int64(7)}
    assert json.loads(_dumps(value)) == {"a": [[1, 2], [3, 4]], "b": 0.5, "c": 7}


def test_a_result_json_cannot_hold_leaves_the_next_one_unaffected():
    inner = [float("nan")]
    value = [1, inner]
    with pytest.raises(ValueError, match="not JSON compliant"):
        _dumps(value)
    # the same lists again (same identities), now valid: nothing of the failed call is left to
    # take them for a circular reference
    inner[0] = 2
    assert _dumps(value) == b"[1,[2]]"
    circular: list = [1]
    circular.append(circular)
    with pytest.raises(ValueError, match="Circular reference"):
        _dumps(circular)
    circular.pop()
    assert _dumps(circular) == b"[1]"
    with pytest.raises(TypeError, match="object is not JSON serialisable"):
        _dumps({"x": object()})
    assert _dumps({"x": 1}) == b'{"x":1}'
