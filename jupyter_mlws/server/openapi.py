"""The OpenAPI 3 description of ``{base_url}mlws/api/``, served at ``mlws/api/openapi.json``.

Written by hand, next to the routes in ``handlers.ROUTES``; a test checks that
every registered route and method is described here and nothing else is.
"""

from __future__ import annotations

from .. import __version__

_ERRORS = {
    "400": "Invalid input (a bad filter, parameter or body)",
    "403": "Not signed in, or the workspace role does not allow it",
    "404": "No such run, model, file or workspace",
    "409": "Conflicts with the current state (e.g. the run has ended)",
    "503": "A backing service is unavailable",
    "507": "No space left on the device holding the workspace: nothing of the request was written",
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _param(name: str, where: str = "path", description: str = "", type_: str = "string",
           array: bool = False) -> dict:
    schema = {"type": "array", "items": {"type": type_}} if array else {"type": type_}
    return {"name": name, "in": where, "required": where == "path", "description": description,
            "schema": schema}


def _op(summary: str, tag: str, response: str | None = "Object", *, params=(), body: str | None = None,
        status: str = "200", content_type: str = "application/json") -> dict:
    responses = {code: {"description": text, "content": {"application/json": {"schema": _ref("Error")}}}
                 for code, text in _ERRORS.items()}
    if response is None:
        responses[status] = {"description": "Done"}
    else:
        schema = {"type": "string", "format": "binary"} if content_type != "application/json" else _ref(response)
        responses[status] = {"description": "OK", "content": {content_type: {"schema": schema}}}
    op = {"summary": summary, "tags": [tag], "parameters": list(params), "responses": responses}
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    return op


RUN_ID = _param("run_id", description="A run id, or a unique prefix of 4+ characters")
REF = _param("ref", description="NAME (every version), NAME:VERSION or NAME@ALIAS")
ENDPOINT = _param("endpoint", description="The endpoint's name")

PATHS = {
    "/workspace": {"get": _op("Describe the workspace, with your user and role", "workspace")},
    "/openapi.json": {"get": _op("This document", "workspace")},
    "/experiments": {"get": _op("Experiments with their run counts", "experiments")},
    "/runs": {
        "get": _op("Search runs with the filter language, one page at a time", "runs", "RunPage", params=[
            _param("filter", "query", "e.g. metrics.acc > 0.9 and params.model = 'rf'"),
            _param("experiment", "query", "Only these experiments (repeatable)", array=True),
            _param("order_by", "query", "e.g. 'metrics.acc DESC' (repeatable)", array=True),
            _param("max_results", "query", "1 to 50000 (default 100)", "integer"),
            _param("page_token", "query", "The next_page_token of the previous page")]),
        "post": _op("Submit a notebook inside the server's folder as a run (returns at once)", "runs",
                    "Run", body="NotebookSubmission", status="201"),
    },
    "/runs/{run_id}": {"get": _op("A run: status, params, metrics, tags, error", "runs", "Run",
                                  params=[RUN_ID])},
    "/runs/{run_id}/{part}": {"get": _op("The run's params or latest metrics", "runs", params=[
        RUN_ID, {**_param("part"), "schema": {"enum": ["params", "metrics"]}}])},
    "/runs/{run_id}/tags": {
        "get": _op("The run's tags", "runs", params=[RUN_ID]),
        "patch": _op("Set and delete tags (also after the run ended)", "runs", params=[RUN_ID],
                     body="TagUpdate"),
    },
    "/runs/{run_id}/metrics/{key}": {"get": _op(
        "A metric's points, at most max_points of them (min/max per bucket kept)", "runs",
        "MetricHistory", params=[RUN_ID, _param("key", description="The metric's name"),
                                 _param("max_points", "query", "Downsample to at most this many",
                                        "integer")])},
    "/runs/{run_id}/logs": {"get": _op(
        "Logs as text from since_bytes on, or their last tail_bytes (a live tail)", "runs", params=[
            RUN_ID, _param("name", "query", "Only this log, e.g. stdout.log"),
            _param("since_bytes", "query", "Skip the first bytes already shown", "integer"),
            _param("tail_bytes", "query", "Only the last bytes of each log", "integer")])},
    "/runs/{run_id}/files": {"get": _op("The run's files", "runs", params=[
        RUN_ID, _param("kind", "query", "artifact, snapshot or log")])},
    "/runs/{run_id}/artifacts/{path}": {"get": _op(
        "Download a file; only PNG/JPEG/GIF/WebP inline, everything else as a sandboxed attachment",
        "runs", "File", content_type="application/octet-stream",
        params=[RUN_ID, _param("path", description="The artifact's name, e.g. out/model.pkl"),
                _param("kind", "query", "artifact (default), snapshot or log (a stored log)")])},
    "/runs/{run_id}/{action}": {"post": _op(
        "cancel a queued or running run; rerun a notebook run ({parameters}); promote a session run",
        "runs", "Run", params=[RUN_ID, {**_param("action"),
                                        "schema": {"enum": ["cancel", "rerun", "promote"]}}])},
    "/notebook-parameters": {"get": _op(
        "The parameters cell of a notebook in the server's folder, read without running it",
        "runs", params=[_param("notebook", "query", "path of the .ipynb inside the server's folder")])},
    "/models": {
        "get": _op("Registered models", "models"),
        "post": _op("Register a run's artifact as the model's next version", "models", "ModelVersion",
                    body="ModelRegistration", status="201"),
    },
    "/models/{ref}": {
        "get": _op("A version (NAME:3, NAME@alias) or every version of NAME", "models", params=[REF]),
        "delete": _op("Delete a version, or every version of NAME", "models", params=[REF]),
    },
    "/models/{name}/aliases/{alias}": {
        "put": _op("Point NAME@ALIAS at a version", "models", "ModelVersion",
                   params=[_param("name"), _param("alias")], body="AliasTarget"),
        "delete": _op("Remove the alias", "models", None, params=[_param("name"), _param("alias")],
                      status="204"),
    },
    "/access": {"get": _op("Role assignments, and your own role", "access")},
    "/access/{user}": {
        "put": _op("Grant USER a role (owners only)", "access", params=[_param("user")], body="RoleGrant"),
        "delete": _op("Revoke USER's role (owners only; never the last owner)", "access", None,
                      params=[_param("user")], status="204"),
    },
    "/endpoints": {
        "get": _op("Endpoints with state, URL and each deployment's traffic (never keys)", "endpoints"),
        "post": _op("Serve a model version behind a scoring script (returns at once, state "
                    "'creating'; watch GET /endpoints/{endpoint})", "endpoints", "Endpoint",
                    body="EndpointCreation", status="202"),
    },
    "/endpoints/{endpoint}": {
        "get": _op("An endpoint: state, URL, deployments with traffic, restarts, error (never keys)",
                   "endpoints", "Endpoint", params=[ENDPOINT]),
        "delete": _op("Stop the endpoint and remove it with its statistics", "endpoints", None,
                      params=[ENDPOINT], status="204"),
    },
    "/endpoints/{endpoint}/{action}": {"post": _op(
        "start a stopped or failed endpoint (returns at once, 202); stop it (in-flight calls finish)",
        "endpoints", "Endpoint", params=[ENDPOINT, {**_param("action"),
                                                    "schema": {"enum": ["start", "stop"]}}])},
    "/endpoints/{endpoint}/traffic": {"put": _op(
        "Split traffic between deployments in whole percents summing to 100", "endpoints",
        "Endpoint", params=[ENDPOINT], body="TrafficSplit")},
    "/endpoints/{endpoint}/logs": {"get": _op(
        "The last lines of the endpoint's log", "endpoints", params=[
            ENDPOINT, _param("tail", "query", "Lines, 1 to 10000 (default 200)", "integer")])},
    "/endpoints/{endpoint}/metrics": {"get": _op(
        "Requests, errors, status codes and latency p50/p95/p99 (ms), totals and a 10 s series",
        "endpoints", params=[ENDPOINT,
                             _param("since", "query", "Seconds back (default 3600)", "number"),
                             _param("deployment", "query", "Only this deployment")])},
    "/endpoints/{endpoint}/keys": {
        "get": _op("The endpoint's two keys (contributors and owners only)", "endpoints", "EndpointKeys",
                   params=[ENDPOINT]),
        "post": _op("Regenerate one key ({\"key\": \"secondary\"}); the other keeps working",
                    "endpoints", "EndpointKeys", params=[ENDPOINT], body="KeyChoice"),
    },
    "/endpoints/{endpoint}/invoke": {"post": _op(
        "Score the JSON body on the endpoint with its key; its refusals come back as errors",
        "endpoints", params=[ENDPOINT, _param("deployment", "query", "Call this deployment directly")],
        body="Object")},
}

SCHEMAS = {
    "Error": {"type": "object", "required": ["message", "reason"], "properties": {
        "message": {"type": "string", "description": "What is wrong and what to do"},
        "reason": {"type": "string", "enum": ["invalid_input", "permission_denied", "not_found",
                                              "already_exists", "conflict", "unavailable",
                                              "unauthenticated", "method_not_allowed", "error",
                                              "internal"]}}},
    "Object": {"type": "object"},
    "File": {"type": "string", "format": "binary"},
    "Run": {"type": "object", "properties": {
        "id": {"type": "string"}, "experiment": {"type": "string"}, "name": {"type": "string"},
        "status": {"type": "string", "enum": ["queued", "running", "completed", "failed", "canceled",
                                              "killed", "timed_out"]},
        "start_time": {"type": "integer"}, "end_time": {"type": ["integer", "null"]},
        "params": {"type": "object"}, "metrics": {"type": "object"}, "tags": {"type": "object"},
        "error": {"type": ["string", "null"]}, "parent_id": {"type": ["string", "null"]},
        "notebook": {"type": ["string", "null"], "description": (
            "GET /runs/{run_id} only: the source notebook's path inside the server's folder, "
            "when it is there")}}},
    "RunPage": {"type": "object", "properties": {
        "runs": {"type": "array", "items": _ref("Run")},
        "next_page_token": {"type": ["string", "null"]}}},
    "MetricHistory": {"type": "object", "properties": {
        "key": {"type": "string"}, "total": {"type": "integer"}, "downsampled": {"type": "boolean"},
        "steps": {"type": "array", "items": {"type": "integer"}},
        "timestamps": {"type": "array", "items": {"type": "integer"}},
        "values": {"type": "array", "items": {"type": ["number", "string"]},
                   "description": "NaN and infinities as the strings 'nan', 'inf', '-inf'"}}},
    "NotebookSubmission": {"type": "object", "required": ["notebook"], "properties": {
        "notebook": {"type": "string", "description": "Relative to the server's folder"},
        "parameters": {"type": "object"}, "experiment": {"type": "string"},
        "kernel": {"type": "string"}, "timeout": {"type": "number"}, "retries": {"type": "integer"},
        "name": {"type": "string"}, "tags": {"type": "object"}}},
    "TagUpdate": {"type": "object", "properties": {
        "set": {"type": "object"}, "delete": {"type": "array", "items": {"type": "string"}}}},
    "ModelRegistration": {"type": "object", "required": ["name", "run", "artifact"], "properties": {
        "name": {"type": "string"}, "run": {"type": "string"}, "artifact": {"type": "string"},
        "tags": {"type": "object"}, "description": {"type": "string"}}},
    "ModelVersion": {"type": "object", "properties": {
        "name": {"type": "string"}, "version": {"type": "integer"}, "ref": {"type": "string"},
        "flavor": {"type": "string"}, "run_id": {"type": ["string", "null"]},
        "aliases": {"type": "array", "items": {"type": "string"}}}},
    "AliasTarget": {"type": "object", "required": ["version"],
                    "properties": {"version": {"type": "integer"}}},
    "RoleGrant": {"type": "object", "required": ["role"], "properties": {
        "role": {"type": "string", "enum": ["owner", "contributor", "reader"]}}},
    "EndpointCreation": {"type": "object", "required": ["name", "model", "script"], "properties": {
        "name": {"type": "string"},
        "model": {"type": "string", "description": "NAME:VERSION, NAME@ALIAS or NAME (latest)"},
        "script": {"type": "string", "description": "The scoring script (init() and run(data)), "
                                                     "relative to the server's folder"},
        "workers": {"type": "integer", "minimum": 1, "maximum": 64},
        "deployment": {"type": "string", "description": "The first deployment (default blue)"}}},
    "Endpoint": {"type": "object", "properties": {
        "name": {"type": "string"},
        "state": {"type": "string", "enum": ["creating", "healthy", "failed", "stopped"]},
        "error": {"type": ["string", "null"], "description": "Why it failed, with a log excerpt"},
        "url": {"type": ["string", "null"]}, "scoring_uri": {"type": ["string", "null"]},
        "workers": {"type": "integer"}, "restarts": {"type": "integer"},
        "deployments": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "traffic": {"type": "integer"}, "state": {"type": "string"},
            "models": {"type": "array", "items": {"type": "string"}},
            "entry_script": {"type": "string"}, "error": {"type": ["string", "null"]}}}}}},
    "TrafficSplit": {"type": "object", "additionalProperties": {"type": "integer"},
                     "description": "Deployment name: percent, e.g. {\"blue\": 90, \"green\": 10}"},
    "EndpointKeys": {"type": "object", "properties": {
        "primary": {"type": "string"}, "secondary": {"type": "string"}}},
    "KeyChoice": {"type": "object", "properties": {
        "key": {"type": "string", "enum": ["primary", "secondary"]}}},
}


def document(base_url: str = "/") -> dict:
    """The OpenAPI document, its server URL under ``base_url``."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "jupyter_mlws workspace API", "version": __version__,
                 "description": "Runs, experiments, models, endpoints and roles of the workspace. Errors are "
                                "JSON {message, reason}. Authenticate as with any Jupyter API "
                                "(Authorization: token ..., or the session cookie with _xsrf)."},
        "servers": [{"url": base_url.rstrip("/") + "/mlws/api"}],
        "paths": PATHS,
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "token": {"type": "apiKey", "in": "header", "name": "Authorization"}}},
        "security": [{"token": []}],
    }
