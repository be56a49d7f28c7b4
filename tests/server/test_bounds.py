"""Every input is bounded and checked before anything is recorded (README, "Limits and guarantees").

One test walks every route of the OpenAPI document with wrong types, out-of-range numbers,
oversized, too-deep and non-text values: nothing answers 5xx, and nothing changes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from jupyter_mlws.limits import JSON_MAX_BYTES, JSON_MAX_DEPTH, JSON_MAX_ITEMS, PARAMS_MAX
from jupyter_mlws.server.openapi import PATHS, request_schema

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
SURROGATE = '"\\ud800"'  # JSON text of a lone surrogate: valid JSON, not valid text


def _deep(depth: int, leaf=1):
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def _bad_values(schema: dict) -> list:
    """Values (as JSON text) that must not fit ``schema``: a wrong type, out of range,
    oversized, too deep, not text."""
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds or []
    out = [json.dumps(_deep(JSON_MAX_DEPTH + 2)), "[" * 5000 + "]" * 5000]
    if "string" in kinds:
        out += ["12345", "null", "[\"x\"]", SURROGATE, json.dumps("x" * (schema.get("maxLength", 4096) + 1))]
    if "integer" in kinds or "number" in kinds:
        out += ['"7"', "true", "1e400", "-1e400", "NaN", str(2**70), str(-2**70)]
        for bound in ("minimum", "exclusiveMinimum"):
            if bound in schema:
                out.append(json.dumps(schema[bound] - 1))
        if "maximum" in schema:
            out.append(json.dumps(schema["maximum"] + 1))
    if "integer" in kinds:
        out.append("1.5")
    if "object" in kinds:
        out += ['"notadict"', "[1]", "{%s: 1}" % SURROGATE, '{"k": %s}' % SURROGATE]
        if "maxProperties" in schema:
            out.append(json.dumps({f"k{i}": 1 for i in range(schema["maxProperties"] + 1)}))
    if "array" in kinds:
        out += ['"notalist"', "[%s]" % SURROGATE, json.dumps(["x"] * (schema.get("maxItems", 10) + 1))]
    return out


def _bad_bodies(schema: dict) -> list[str]:
    """Request bodies, as raw JSON text, that a route with ``schema`` must refuse."""
    if schema.get("type") != "object":  # any JSON (scoring data): only the bounds apply
        return [json.dumps(_deep(JSON_MAX_DEPTH + 1)), "{" + SURROGATE + ": 1}",
                json.dumps([[0] * 1000] * (JSON_MAX_ITEMS // 1000 + 1))]
    example = schema.get("example", {})
    bodies = []
    for name, prop in (schema.get("properties") or {}).items():
        rest = json.dumps({k: v for k, v in example.items() if k != name})
        for value in _bad_values(prop):  # the example with one property replaced
            bodies.append(rest[:-1] + (", " if rest != "{}" else "") + f'"{name}": {value}}}')
    if schema.get("additionalProperties") is False:
        bodies.append(json.dumps({**example, "no_such_field": 1}))
    elif isinstance(schema.get("additionalProperties"), dict):
        bodies += [f'{{"blue": {v}}}' for v in _bad_values(schema["additionalProperties"])]
    if schema.get("required"):
        bodies.append(json.dumps({k: v for k, v in example.items() if k != schema["required"][0]}))
    return bodies


#: bodies every route that takes one must refuse
ANY_ROUTE = ["not json", "[1, 2]", '"text"', "[" * 100_000 + "]" * 100_000, '{"a": "\xff"}'.encode("latin-1"),
             b'{"a": "' + b"x" * (JSON_MAX_BYTES + 1) + b'"}', "{%s: 1}" % SURROGATE,
             json.dumps({"a": list(range(JSON_MAX_ITEMS + 1))}), json.dumps(_deep(JSON_MAX_DEPTH + 1))]


def _queries(op: dict) -> list[dict]:
    """Query strings with a wrong or out-of-range value for each query parameter."""
    out = []
    for p in op.get("parameters", []):
        if p["in"] != "query":
            continue
        kind = p["schema"].get("type")
        if kind in ("integer", "number"):
            values = ["abc", "-5", "1e400", "nan", "inf", str(2**70), ""]
        elif kind == "array":
            values = ["x" * 3000]
        else:
            values = ["x" * 3000, "../../etc/passwd", "/etc/passwd", "s3://b/k.ipynb"]
        out += [{p["name"]: v} for v in values]
    return out


@pytest.fixture
def filled(mlws_ws, tmp_path, jp_root_dir):
    """Real names for every path parameter: a notebook run, a model with an alias, a user."""
    from jupyter_mlws.access import os_user

    shutil.copy(NOTEBOOKS / "train.ipynb", jp_root_dir / "train.ipynb")
    sub = mlws_ws.notebooks.submit(jp_root_dir / "train.ipynb", {"lr": 0.5}, detach=False)
    mlws_ws.runs.end(sub.run_id, "completed")
    (tmp_path / "a.txt").write_text("a")
    with mlws_ws.experiment("e").start_run(snapshot=False, outputs=None) as run:
        run.log("acc", 0.5)
        run.set_tag("t", "1")
        run.upload_file("a.txt", tmp_path / "a.txt")
    mlws_ws.register_model("m", run=run.id, artifact="a.txt")
    mlws_ws.models.set_alias("m", "champ", 1)
    mlws_ws.access.grant(os_user(), "bob", "reader")
    mlws_ws.secrets.set(os_user(), "db-pass", "a-value-1")
    return {"run_id": sub.run_id, "part": "params", "key": "acc", "step": "0", "path": "a.txt",
            "ref": "m:1", "name": "m", "alias": "champ", "user": "bob", "endpoint": "ep",
            "action": "rerun", "secret": "db-pass"}


#: path parameters that name nothing the workspace can hold
BAD_PATH_VALUES = {"ref": [f"m:{2**70}", "m:" + "9" * 5000, "m:0", "m:-1", "m@" + "a" * 3000],
                   "run_id": ["x" * 3000, "%"], "key": ["x" * 3000], "endpoint": ["x" * 3000],
                   "user": ["x" * 3000], "alias": ["x" * 3000, "7"], "name": ["x" * 3000],
                   "path": ["x" * 3000, "../../etc/passwd"],
                   "step": ["x", "1.5", str(2**70), "-" + "9" * 5000],
                   "secret": ["x" * 3000, "9lives", "a b"]}


def _requests(filled: dict):
    """(method, path parts, query, body) of every bad request, over every documented route."""
    for template, ops in PATHS.items():
        parts = [filled.get(seg[1:-1], seg) if seg.startswith("{") else seg
                 for seg in template.strip("/").split("/")]
        for i, seg in enumerate(template.strip("/").split("/")):
            for bad in BAD_PATH_VALUES.get(seg[1:-1], []):
                for method in ops:
                    yield method.upper(), parts[:i] + [bad] + parts[i + 1:], None, None
        for method, op in ops.items():
            for query in _queries(op):
                yield method.upper(), parts, query, None
            schema = request_schema(template, method)
            if schema is None:
                continue
            for body in ANY_ROUTE + _bad_bodies(schema):
                yield method.upper(), parts, None, body


async def test_every_route_refuses_bad_input_and_changes_nothing(api, mlws_ws, filled, workspace_state):
    requests = list(_requests(filled))
    assert len(requests) > 300
    assert {t for t, ops in PATHS.items() for m in ops if request_schema(t, m)} >= {
        "/runs", "/runs/{run_id}/tags", "/models", "/endpoints", "/endpoints/{endpoint}/traffic",
        "/secrets/{secret}"}
    before = workspace_state(mlws_ws)
    for method, parts, query, body in requests:
        r = await api(method, *parts, params=query, body=body)
        assert r.code < 500, (method, parts, query, str(body)[:200], r)
        assert r.json and set(r.json) >= {"message", "reason"} or r.code < 300, (method, parts, r)
        if body is not None:
            assert r.code in (400, 404), (method, parts, str(body)[:200], r)
    assert workspace_state(mlws_ws) == before, "a refused request changed the workspace"
    assert len(mlws_ws.search_runs(max_results=100)) == 2  # no run row was added


async def test_a_bad_body_names_the_field(api, mlws_ws, jp_root_dir):
    shutil.copy(NOTEBOOKS / "train.ipynb", jp_root_dir / "train.ipynb")
    cases = [
        ({"notebook": "train.ipynb", "tags": "notadict"}, "body.tags must be object, got string"),
        ({"notebook": "train.ipynb", "retries": 11}, "body.retries must be <= 10"),
        ({"notebook": "train.ipynb", "timeout": -1}, "body.timeout must be > 0"),
        ({"notebook": "train.ipynb", "parameter": {"lr": 1}}, "unexpected properties ['parameter']"),
        ({"notebook": "train.ipynb", "parameters": {f"p{i}": i for i in range(10_000)}},
         f"body.parameters takes at most {PARAMS_MAX} properties, got 10000"),
    ]
    for body, message in cases:
        r = await api("POST", "runs", body=body)
        assert r.code == 400 and message in r.json["message"], (body, r)
    raw = '{"notebook": "train.ipynb", "parameters": {"lr": %s}}' % SURROGATE
    r = await api("POST", "runs", body=raw)
    assert r.code == 400 and "body.parameters.lr" in r.json["message"], r
    assert "lone surrogate" in r.json["message"]
    r = await api("POST", "runs", body="[" * 100_000 + "]" * 100_000)
    assert r.code == 400 and "nested" in r.json["message"], r
    r = await api("PUT", "endpoints", "ep", "traffic", body={"blue": 101})
    assert r.code == 400 and "body.blue must be <= 100" in r.json["message"], r
    r = await api("PUT", "models", "m", "aliases", "a", body={"version": 2**70})
    assert r.code == 400 and "body.version must be <=" in r.json["message"], r
    assert mlws_ws.search_runs() == []  # no half-created run


async def test_a_tag_update_applies_whole_or_not_at_all(api, mlws_ws):
    with mlws_ws.experiment("e").start_run(snapshot=False, outputs=None) as run:
        run.set_tag("keep", "1")
    r = await api("PATCH", "runs", run.id, "tags", body={"set": {"a": "1"}, "delete": ["no_such_tag"]})
    assert r.code == 404 and "no_such_tag" in r.json["message"], r
    assert mlws_ws.runs.get(run.id).tags == {"keep": "1"}
    # values that are not strings are stored as JSON, as the SDK stores them
    r = await api("PATCH", "runs", run.id, "tags",
                  body={"set": {"b": [1], "c": True, "d": None, "e": 1.0, "f": {"x": 1}}, "delete": ["keep"]})
    assert r.code == 200 and r.json["tags"] == {"b": "[1]", "c": "true", "d": "null", "e": "1.0",
                                                "f": '{"x": 1}'}, r


async def test_a_url_or_missing_notebook_never_shows_a_server_path(api, mlws_ws, jp_root_dir):
    (jp_root_dir / "broken.ipynb").write_text("{not a notebook")
    for ref in ("s3://b/k.ipynb", "http://host/k.ipynb", "file:///etc/k.ipynb"):
        for method, route, kwargs in (("POST", ("runs",), {"body": {"notebook": ref}}),
                                      ("GET", ("notebook-parameters",), {"params": {"notebook": ref}})):
            r = await api(method, *route, **kwargs)
            assert r.code == 400 and "only notebook files inside the server's" in r.json["message"], r
            assert str(jp_root_dir) not in r.raw.decode()
    for name, code in (("missing/x.ipynb", 404), ("broken.ipynb", 400)):
        r = await api("POST", "runs", body={"notebook": name})
        r2 = await api("GET", "notebook-parameters", params={"notebook": name})
        for reply in (r, r2):
            assert reply.code == code and name in reply.json["message"], reply
            assert str(jp_root_dir) not in reply.raw.decode() and "/tmp" not in reply.raw.decode()
    (jp_root_dir / "README.md").write_text("# not a notebook")
    r = await api("GET", "notebook-parameters", params={"notebook": "README.md"})
    assert r.code == 400 and r.json["message"] == (
        "'README.md' is not a notebook: only .ipynb files can be submitted or read for parameters"), r
    assert mlws_ws.search_runs() == []
