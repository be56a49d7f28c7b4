"""Every input is bounded before anything is recorded: the SDK, the CLI and the core limits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_mlws import Workspace
from jupyter_mlws.cli import main
from jupyter_mlws.errors import InvalidInput, NotFound
from jupyter_mlws.limits import JSON_MAX_DEPTH, PARAMS_MAX, TAGS_MAX, load_json

NOTEBOOKS = Path(__file__).parent / "notebooks"
LONE = "\ud800"


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.delenv("MLWS_WORKSPACE", raising=False)
    monkeypatch.delenv("MLWS_RUN_ID", raising=False)
    shutil.copy(NOTEBOOKS / "train.ipynb", tmp_path / "train.ipynb")
    ws = Workspace.create(tmp_path / "ws")
    yield ws
    ws.close()


def _deep(depth: int):
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def test_text_that_utf8_cannot_hold_is_refused_everywhere_it_is_stored(ws):
    with ws.experiment("e").start_run(snapshot=False, outputs=None) as run:
        for call in (lambda: run.log_param("p", LONE), lambda: run.log_params({LONE: 1}),
                     lambda: run.set_tag("t", LONE), lambda: run.set_tag(LONE, "v"),
                     lambda: run.log(f"m{LONE}", 1.0), lambda: run.set_description(LONE)):
            with pytest.raises(InvalidInput, match="lone surrogate"):
                call()
    for call in (lambda: ws.experiment(LONE).start_run(snapshot=False, outputs=None),
                 lambda: ws.experiment("e").start_run(name=LONE, snapshot=False, outputs=None),
                 lambda: ws.runs.create("e", tags={"t": [LONE]}), lambda: ws.runs.get(f"abcd{LONE}"),
                 lambda: ws.search_runs(f"params.a = '{LONE}'")):
        with pytest.raises(InvalidInput, match="lone surrogate"):
            call()
    assert [r.id for r in ws.search_runs()] == [run.id]  # nothing half-made
    assert ws.runs.get(run.id).params == {} and "t" not in ws.runs.get(run.id).tags


def test_tag_values_that_are_not_strings_are_stored_as_json(ws):
    import numpy as np

    with ws.experiment("e").start_run(snapshot=False, outputs=None) as run:
        run.set_tags({"b": [1], "c": True, "d": None, "e": 0.5, "f": {"x": [1, 2]}, "g": np.int64(3)})
        run.set_tag("s", "plain")
    wanted = {"b": "[1]", "c": "true", "d": "null", "e": "0.5", "f": '{"x": [1, 2]}', "g": "3", "s": "plain"}
    stored = ws.runs.get(run.id).tags
    assert {k: stored[k] for k in wanted} == wanted
    assert {k: run.record.tags[k] for k in wanted} == wanted  # the SDK's copy agrees

    class Estimator:
        def __str__(self):
            return "Estimator(depth=3)"

    run.set_tag("o", Estimator())  # as params store it: an object JSON cannot hold as its str()
    assert ws.runs.get(run.id).tags["o"] == "Estimator(depth=3)"


def test_a_tag_update_applies_whole_or_not_at_all(ws):
    with ws.experiment("e").start_run(snapshot=False, outputs=None) as run:
        run.set_tag("keep", "1")
    before = ws.runs.get(run.id).tags
    with pytest.raises(NotFound, match="no_such_tag"):
        ws.runs.update_tags(run.id, {"a": "1"}, ["no_such_tag"])
    with pytest.raises(InvalidInput, match="lone surrogate"):
        ws.runs.update_tags(run.id, {"a": "1", "b": LONE}, ["keep"])
    assert ws.runs.get(run.id).tags == before


def test_counts_are_bounded(ws):
    with ws.experiment("e").start_run(snapshot=False, outputs=None) as run:
        with pytest.raises(InvalidInput, match=f"over the limit of {PARAMS_MAX}"):
            run.log_params({f"p{i}": i for i in range(10_000)})
        with pytest.raises(InvalidInput, match=f"over the limit of {TAGS_MAX}"):
            run.set_tags({f"t{i}": i for i in range(TAGS_MAX + 1)})
    assert ws.runs.get(run.id).params == {}


@pytest.mark.parametrize("params, message", [
    ({"lr": LONE}, "lone surrogate"),
    ({"lr": {"a": [LONE]}}, "lone surrogate"),
    ({"lr": _deep(JSON_MAX_DEPTH + 1)}, "nested deeper"),
    ({f"p{i}": i for i in range(10_000)}, "over the limit"),
])
def test_a_bad_submission_records_no_run(ws, tmp_path, params, message):
    with pytest.raises(InvalidInput, match=message):
        ws.submit_notebook(tmp_path / "train.ipynb", params, detach=False)
    with pytest.raises(InvalidInput, match="lone surrogate"):
        ws.submit_notebook(tmp_path / "train.ipynb", {"lr": 0.1}, tags={"t": LONE}, detach=False)
    assert ws.search_runs() == []


@pytest.mark.parametrize("args", [
    ["-r", "lr", LONE], ["-p", "lr", LONE], ["-p", "lr", "[" * 5000 + "]" * 5000],
    ["-p", "lr", json.dumps(_deep(JSON_MAX_DEPTH + 1))], ["--tag", f"t={LONE}"], ["--name", LONE],
    ["--tag", f"{LONE}=1"],
])
def test_the_cli_refuses_bad_input_before_recording_a_run(ws, tmp_path, args):
    result = CliRunner().invoke(main, ["--workspace", str(ws.root), "run", "submit",
                                       str(tmp_path / "train.ipynb"), *args])
    assert result.exit_code == 2, result.output  # InvalidInput, with its message, no traceback
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert ws.search_runs() == []


def test_a_url_is_not_a_notebook(ws):
    for ref in ("s3://b/k.ipynb", "http://host/k.ipynb", "file:///tmp/k.ipynb"):
        with pytest.raises(InvalidInput, match="is a URL: only notebook files"):
            ws.submit_notebook(ref, detach=False)
    with pytest.raises(NotFound) as missing:
        ws.submit_notebook(ws.root.parent / "nope.ipynb", detach=False)
    assert str(ws.root.parent) not in str(missing.value)
    assert ws.search_runs() == []


@pytest.mark.parametrize("raw, message", [
    ("[" * 100_000 + "]" * 100_000, "nested"),
    (json.dumps(_deep(JSON_MAX_DEPTH + 1)), "nested deeper than"),
    ('{"a": "\\ud800"}', "lone surrogate"),
    ('{"\\udfff": 1}', "lone surrogate"),
    (b'{"a": "\xff"}', "not UTF-8"),
    ("{", "not valid JSON"),
    (json.dumps(list(range(100_001))), "more than 100000 values"),
])
def test_json_input_is_bounded(raw, message):
    with pytest.raises(InvalidInput, match=message):
        load_json(raw)
    assert load_json(json.dumps(_deep(JSON_MAX_DEPTH))) == _deep(JSON_MAX_DEPTH)


@pytest.mark.parametrize("options, message", [
    ({"timeout": float("inf")}, "timeout must be a positive number"),
    ({"timeout": float("nan")}, "timeout must be a positive number"),
    ({"retries": 11}, "retries must be an integer from 0 to 10"),
])
def test_numbers_out_of_range_record_no_run(ws, tmp_path, options, message):
    with pytest.raises(InvalidInput, match=message):
        ws.submit_notebook(tmp_path / "train.ipynb", {"lr": 0.1}, detach=False, **options)
    assert ws.search_runs() == []


@pytest.mark.parametrize("raw", [
    b'{"data": [[5.1, 3.5], [6.7, 3.0]]}', b'[1, 2]', b'[1, 2] \n', b'{"a": 1} x', b'{"a": NaN}',
    b'["\xed\xa0\x80"]', b'{"\xff": 1}', b'[', b'{\x00"a": 1}', b' {"a": 1}', b'"text"', b'12',
    '{"a": 1}'.encode("utf-16"), '[1]'.encode("utf-8-sig"), '{"a": "\\ud800"}',
])
def test_json_bytes_read_as_json_loads_reads_them(raw):
    """load_json's bytes: the value json.loads gives, or InvalidInput where json.loads fails."""
    try:
        expected = json.loads(raw)
    except (ValueError, RecursionError):
        with pytest.raises(InvalidInput):
            load_json(raw, max_depth=None)
        return
    got = load_json(raw, max_depth=None)
    assert json.dumps(got) == json.dumps(expected)
