"""The OpenAPI 3 description of ``{base_url}mlws/api/``, served at ``mlws/api/openapi.json``.

Written by hand, next to the routes joined in ``routes.ROUTES``; a test checks that
every registered route and method is described here and nothing else is.  The
request bodies' schemas are also what the handlers validate bodies against
(:func:`request_schema`): a field of the wrong type or out of range is a 400 naming it.
"""

from __future__ import annotations

import re

from .. import __version__
from ..limits import (
    DESCRIPTION_MAX, KEY_MAX, PARAMS_MAX, STEP_MAX, STEP_MIN, TAG_VALUE_MAX, TAGS_MAX, TS_MAX, TS_MIN,
    VERSION_MAX,
)
from ..run_records import ENDED
from ..run_writes import BATCH_MAX_POINTS, CELLS_MAX, SOURCE_TYPES
from ..secrets.names import BINDINGS_MAX, VALUE_MAX_BYTES, VALUE_MIN_CHARS
from ..secrets.service import AUDIT_MAX

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
        status: str = "200", content_type: str = "application/json", body_required: bool = True) -> dict:
    responses = {code: {"description": text, "content": {"application/json": {"schema": _ref("Error")}}}
                 for code, text in _ERRORS.items()}
    if response is None:
        responses[status] = {"description": "Done"}
    else:
        schema = {"type": "string", "format": "binary"} if content_type != "application/json" else _ref(response)
        responses[status] = {"description": "OK", "content": {content_type: {"schema": schema}}}
    op = {"summary": summary, "tags": [tag], "parameters": list(params), "responses": responses}
    if body:
        op["requestBody"] = {"required": body_required, "content": {"application/json": {"schema": _ref(body)}}}
    return op


RUN_ID = _param("run_id", description="A run id, or a unique prefix of 4+ characters")
REF = _param("ref", description="NAME (every version), NAME:VERSION or NAME@ALIAS")
ENDPOINT = _param("endpoint", description="The endpoint's name")
SECRET = _param("secret", description="The secret's name")
TARGET = _param("target", description="The compute target's name")
EXPERIMENT = _param("experiment", description="The experiment's name")
PIPELINE = _param("pipeline", description="The pipeline's name")
_SECRET_SPECS = {"type": "array", "maxItems": BINDINGS_MAX,
                 "items": {"type": "string", "minLength": 1, "maxLength": 400},
                 "description": "The workspace's secrets given to the run as environment variables: "
                                "'NAME' or 'NAME=ENVVAR' (masked in its logs and outputs)"}

_TARGET_SECRETS = {**_SECRET_SPECS, "description": (
    "The workspace's secrets the target gives every run as environment variables: 'NAME' or "
    "'NAME=ENVVAR' (names only are kept; a run's own secrets replace one given as the same "
    "variable)")}

#: the longest a notebook run may be given (--timeout), in seconds: a year
MAX_TIMEOUT_S = 365 * 86400
_TEXT = {"type": "string", "maxLength": 4096}
_NAME = {"type": "string", "minLength": 1, "maxLength": KEY_MAX}
_PARAMETER_TEXTS = {"type": "object", "maxProperties": PARAMS_MAX,
                    "additionalProperties": {**_TEXT, "maxLength": 1 << 20},
                    "description": "Values as text, typed as `mlws run submit -p` types them "
                                   "(JSON/YAML: '1.0' stays a float); over parameters"}
_TAGS = {"type": "object", "maxProperties": TAGS_MAX,
         "description": "Name: value; a value that is not a string is stored as its JSON"}
_VERSION = {"type": "integer", "minimum": 1, "maximum": VERSION_MAX}
_STEP_NAMES = {"type": "array", "maxItems": 200, "items": {"type": "string", "minLength": 1,
                                                             "maxLength": 64},
               "description": "Step names"}


def _body(required: list[str], properties: dict, example: dict) -> dict:
    """A request body: an object with these properties and no others."""
    return {"type": "object", "required": required, "properties": properties,
            "additionalProperties": False, "example": example}


def _raw_body(description: str) -> dict:
    """A request body of bytes (an image, a file), not JSON."""
    return {"required": True, "description": description, "content": {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}


def _upload_body(schema: str, description: str) -> dict:
    """A request body of two parts (multipart/form-data): ``submission``, JSON fitting
    ``schema``, and ``project``, a tar of the project folder."""
    return {"required": True, "description": description, "content": {"multipart/form-data": {
        "schema": {"type": "object", "required": ["submission"], "properties": {
            "submission": _ref(schema),
            "project": {"type": "string", "format": "binary",
                        "description": "A tar of the project folder's files (regular files only)"}}}}}}


#: runs submitted from another machine with their project folder (the CLI against a server)
SUBMISSION_PATHS = {
    "/submissions/notebook": {"post": {**_op(
        "Submit a notebook sent with its project folder (what 'mlws run submit' does against a "
        "server): unpacked into a work folder of the workspace and submitted from there, as "
        "POST /runs submits one of the server's folder; 400 for a notebook not among the files "
        "sent or files beyond snapshot_max_mb (nothing is recorded)", "runs", "Run",
        status="201"), "requestBody": _upload_body(
            "NotebookUpload", "The submission (JSON) and the project folder (a tar)")}},
    "/submissions/command": {"post": {**_op(
        "Start a command as a run on a compute target (not local), its project folder sent with "
        "it (what 'mlws run start --compute NAME' does against a server): it executes there in a "
        "folder holding the snapshot; follow it with GET /runs/{run_id}/logs", "runs", "Run",
        status="201"), "requestBody": _upload_body(
            "CommandUpload", "The submission (JSON) and, optionally, the project folder (a tar)")}},
}


#: the tracking write API: what the SDK sends over HTTP (run tokens may call these on their runs)
TRACKING_PATHS = {
    "/tracking": {"get": _op(
        "What a client writes by: heartbeat_interval (s), snapshot_max_mb, upload_max_bytes, "
        "batch_max_points, batch_max_bytes, value_max_bytes, and run_id (a run token's run, else "
        "null)", "tracking")},
    "/experiments/{experiment}/runs": {"post": _op(
        "Start a running run of the experiment (created by its first run); a run's token starts "
        "children of its run only", "tracking", "Run", params=[EXPERIMENT], body="RunCreation",
        status="201")},
    "/runs/{run_id}/batch": {"post": _op(
        "Write params, tags, metric points and executed cells to a running run, all or nothing; "
        "answers {points}", "tracking", params=[RUN_ID], body="RunBatch")},
    "/runs/{run_id}/start": {"post": _op(
        "A queued run is picked up by a process elsewhere: it becomes running", "tracking", "Run",
        params=[RUN_ID])},
    "/runs/{run_id}/end": {"post": _op(
        "End a running run with a status and error (its token then stops working)", "tracking",
        "Run", params=[RUN_ID], body="RunEnd")},
    "/runs/{run_id}/heartbeat": {"post": _op(
        "The process of a running run is alive; answers {status, cancel, heartbeat_timeout}: "
        "whether it is asked to stop (mlws run cancel, or the run ended), and the seconds "
        "without a heartbeat after which the workspace ends the run killed", "tracking",
        params=[RUN_ID])},
    "/runs/{run_id}/children": {"get": _op("The run's child runs, oldest first", "tracking",
                                           params=[RUN_ID])},
    "/runs/{run_id}/images/{key}": {"post": {
        **_op("Log an image (PNG, JPEG, GIF, WebP or SVG, told by its content; at most 16 MB) at "
              "?step=N of a running run", "tracking", params=[
                  RUN_ID, _param("key", description="The image's key"),
                  _param("step", "query", "The step", "integer"),
                  _param("timestamp", "query", "ms since the epoch (default: now)", "integer")],
              status="201"),
        "requestBody": _raw_body("The image's bytes")}},
    "/runs/{run_id}/files/{path}": {"put": {
        **_op("Store the body as the run's file PATH, streamed (at most the workspace's "
              "upload_max_mb); answers {path, kind, size}", "tracking", params=[
                  RUN_ID, _param("path", description="The file's name, e.g. out/model.pkl"),
                  _param("kind", "query", "artifact (default), log or snapshot")], status="201"),
        "requestBody": _raw_body("The file's bytes")}},
}

_FENCED = (" (a run's token: from the attempt executing the run only, named in X-Mlws-Attempt; "
           "409 for another)")
#: runs executed on other machines: what their executor reports through (jupyter_mlws.executions)
EXECUTION_PATHS = {
    "/runs/{run_id}/job": {"get": _op(
        "The run's job, as an executor elsewhere reads it: kind (notebook or command), "
        "secret_env (the names of the variables its secrets are given as; never their values), "
        "and for a notebook run notebook, kernel, parameters, timeout, retries; for a command run "
        "argv", "executions", params=[RUN_ID])},
    "/runs/{run_id}/bundle": {"get": _op(
        "The run's bundle: a tar of its snapshot (with a notebook run's notebook): what the "
        "executor runs in",
        "executions", params=[RUN_ID], content_type="application/x-tar")},
    "/runs/{run_id}/execution": {"post": _op(
        "An attempt starts executing the run: it becomes running; when another attempt started "
        "before, what that one recorded is cleared and its writes are refused from now on (409). "
        "409 for a run that has ended. Answers {attempt, attempts, run}", "executions",
        params=[RUN_ID], body="ExecutionStart", status="201")},
    "/runs/{run_id}/progress": {"post": _op(
        "Cells done of the notebook, in retry `attempt`" + _FENCED, "executions",
        params=[RUN_ID], body="ExecutionProgress", status="201")},
    "/runs/{run_id}/attempts": {"post": _op(
        "How a retry of the notebook ended" + _FENCED, "executions", params=[RUN_ID],
        body="AttemptEnd", status="201")},
    "/runs/{run_id}/environment": {"put": _op(
        "The environment the run's kernel executed in (tags kernel, env_hash, python and the "
        "artifact environment.json)" + _FENCED, "executions", params=[RUN_ID],
        body="ExecutionEnvironment")},
    "/runs/{run_id}/cell-records": {"put": _op(
        "The per-cell records of the executed notebook" + _FENCED, "executions", params=[RUN_ID],
        body="CellRecords")},
    "/runs/{run_id}/output-copy": {"post": _op(
        "Copy the stored executed notebook to the run's output path, if it asked for one"
        + _FENCED, "executions", params=[RUN_ID], status="201")},
    "/runs/{run_id}/logs/{name}": {"post": {
        **_op("Write the body at byte ?offset=N of the running run's live log NAME (NAME.log, "
              "at most 1 MB a piece): idempotent, bytes the log has are not written again; 409 "
              "for an offset past its end. Answers {name, size}" + _FENCED, "executions", params=[
                  RUN_ID, _param("name", description="The log, e.g. stdout.log"),
                  _param("offset", "query", "The byte the piece starts at", "integer")]),
        "requestBody": _raw_body("The log's bytes from offset on")}},
    "/runs/{run_id}/live-notebook": {"put": {
        **_op("The executed notebook so far (what a run whose executor vanished keeps; at most "
              "64 MB)" + _FENCED, "executions", None, params=[RUN_ID], status="204"),
        "requestBody": _raw_body("The .ipynb file's bytes")}},
}

DATASTORE = _param("datastore", description="The datastore's name")
#: datastores (``mlws datastore ...``): named fsspec URLs, their credentials in a secret (by name)
DATASTORE_PATHS = {
    "/datastores": {
        "get": _op("Datastores: default (built in) and the registered ones, each with its URL "
                   "(never credentials or a query), options and its credentials' secret (its "
                   "name)", "datastores"),
        "post": _op("Register a datastore (contributors and owners). The URL, its hosts (no "
                    "link-local or cloud metadata address), the secret's content and, unless check "
                    "is false, the store itself (reached with the credentials) are checked first: "
                    "400, 404, 409 or 503 say what failed, and nothing is recorded",
                    "datastores", "Datastore", body="DatastoreRegistration", status="201"),
    },
    "/datastores/{datastore}": {
        "get": _op("One datastore", "datastores", "Datastore", params=[DATASTORE]),
        "delete": _op("Delete a datastore's record (owners; its files stay; 409 for default, or "
                      "while dataset versions live in it)", "datastores", None,
                      params=[DATASTORE], status="204"),
    },
}
DATASTORE_SCHEMAS = {
    "DatastoreRegistration": _body(["name", "url"], {
        "name": _NAME,
        "url": {"type": "string", "minLength": 1, "maxLength": 2048, "description": (
            "s3://BUCKET/PREFIX[?endpoint_url=...&region=...], gs://BUCKET/PREFIX, "
            "abfs://CONTAINER/PREFIX?account_name=..., sftp://USER@HOST[:PORT]/PATH, file:///PATH; "
            "never credentials")},
        "credentials_secret": {"type": "string", "minLength": 1, "maxLength": 64, "description": (
            "The workspace secret holding the credentials (s3: {\"key\", \"secret\"} JSON; gs: "
            "a service account's JSON key; abfs: {\"account_key\"...}; sftp: an SSH private key)")},
        "description": {"type": "string", "maxLength": 2000},
        "host_key": {"type": "string", "minLength": 1, "maxLength": 4096,
                     "description": "sftp: pin this key, 'ssh-ed25519 AAAA...'"},
        "check": {"type": "boolean", "description": "Reach the store first (default true)"}},
        {"name": "lake", "url": "s3://team-data/lake", "credentials_secret": "lake-s3"}),
    "Datastore": {"type": "object", "properties": {
        "name": {"type": "string"}, "url": {"type": "string"}, "scheme": {"type": "string"},
        "options": {"type": "object", "additionalProperties": {"type": "string"}},
        "credentials_secret": {"type": ["string", "null"]},
        "host_key": {"type": ["string", "null"]}, "host_key_fingerprint": {"type": ["string", "null"]},
        "description": {"type": "string"}, "builtin": {"type": "boolean"},
        "created_at": {"type": ["integer", "null"]}, "created_by": {"type": "string"}}},
}

DATASET_REF = _param("ref", description="NAME (the latest version), NAME:VERSION or NAME@ALIAS")
_DATASET_FILE = _param("path", description="The file's path in the version, e.g. part-0/a.csv")
#: a page of a long list: where it starts and how long it is
PAGE_PARAMS = [_param("offset", "query", "Skip this many (default 0)", "integer"),
               _param("limit", "query", "At most this many (1 to 1000; default all)", "integer")]
#: datasets (``mlws dataset ...``): versioned file sets with lineage
DATASET_PATHS = {
    "/datasets": {
        "get": _op("Datasets, each with its latest version's number, files, size and datastore",
                   "datasets"),
        "post": _op("Register a folder or file of the server's folder as the dataset's next "
                    "version (contributors and owners): 201 with the new version, 200 when the "
                    "content equals the latest version's (no new version); 400 for a bad name, "
                    "path, empty folder or a table that is not one, and nothing is recorded",
                    "datasets", "DatasetRegistered", body="DatasetRegistration", status="201"),
    },
    "/datasets/{ref}": {
        "get": _op("A version with the runs and model versions that used it (used_by)", "datasets",
                   params=[DATASET_REF]),
        "delete": _op("Delete the version NAME:VERSION, or with all_versions=true every version of "
                      "NAME (its objects stay); 400 for NAME alone or an alias, 409 naming the runs "
                      "and models that used one", "datasets", params=[
                          DATASET_REF, _param("all_versions", "query", "Delete every version of "
                                              "NAME", "boolean")]),
    },
    "/datasets/{ref}/files": {"get": _op("A version's files by path (path, sha256, size) and "
                                         "their total: all, or a page (offset, limit)", "datasets",
                                         params=[DATASET_REF, *PAGE_PARAMS])},
    "/datasets/{name}/versions": {"get": _op("The versions of a dataset, newest first, and their "
                                             "total: all, or a page (offset, limit)", "datasets",
                                             params=[_param("name"), *PAGE_PARAMS])},
    "/datasets/{ref}/files/{path}": {"get": _op(
        "Download one file of a version, streamed (only PNG/JPEG/GIF/WebP inline, everything else "
        "as a sandboxed attachment)", "datasets", "File", content_type="application/octet-stream",
        params=[DATASET_REF, _DATASET_FILE])},
    "/runs/{run_id}/datasets/{ref}": {"get": _op(
        "A version read by run RUN (its token, or a user who may write the run), with its "
        "manifest ([{path, sha256, size}]): recorded as the run's read unless it was the run's "
        "input", "datasets", params=[RUN_ID, DATASET_REF])},
    "/runs/{run_id}/datasets/{ref}/files/{path}": {"get": _op(
        "Download one file of a version for run RUN, streamed", "datasets", "File",
        content_type="application/octet-stream", params=[RUN_ID, DATASET_REF, _DATASET_FILE])},
    "/datasets/{name}/aliases/{alias}": {
        "put": _op("Point NAME@ALIAS at a version", "datasets", params=[_param("name"),
                                                                        _param("alias")],
                   body="AliasTarget"),
        "delete": _op("Remove the alias", "datasets", None, params=[_param("name"), _param("alias")],
                      status="204"),
    },
}
DATASET_SCHEMAS = {
    "DatasetRegistration": _body(["name", "path"], {
        "name": _NAME,
        "path": {**_TEXT, "minLength": 1, "description": "A folder or file, relative to the "
                                                          "server's folder"},
        "datastore": {**_NAME, "description": "Where its objects go (default: the datastore of the dataset's latest version; default for a new dataset)"},
        "description": {**_TEXT, "maxLength": TAG_VALUE_MAX}, "tags": _TAGS,
        "tabular": {"type": "boolean", "description": "CSV or Parquet tables: record their "
                                                      "schema and per-column statistics"}},
        {"name": "train", "path": "data/train", "tabular": True}),
    "DatasetRegistered": {"type": "object", "properties": {
        "version": {"type": "object"}, "created": {"type": "boolean"}, "message": {"type": "string"},
        "uploaded_files": {"type": "integer"}, "uploaded_bytes": {"type": "integer"}}},
}

VM = _param("vm", description="The VM's name")
_DURATION = {"type": "string", "minLength": 1, "maxLength": 32, "description": "90s, 30m, 2h, 1d"}
_SCRIPT = {"type": "string", "maxLength": 1 << 20, "description": "The script's text (sh)"}
#: notebook VMs (``mlws vm ...``): records of machines at a provider, reached over SSH
VM_PATHS = {
    "/vms": {
        "get": _op("Notebook VMs with state and reason (their owner and workspace owners also see "
                   "connection details); ?all=true: deleted ones too", "vms",
                   params=[_param("all", "query", "true: deleted VMs too", "boolean")]),
        "post": _op("Create a VM (contributors for themselves, owners for anyone): checked at once "
                    "(400 names a bad provider, size, image or region; nothing is recorded), then "
                    "202 with state creating; watch GET /vms/{vm}", "vms", "VM", body="VMCreation",
                    status="202"),
    },
    "/vms/{vm}": {
        "get": _op("A VM with its history (events); connection details for its owner and "
                   "workspace owners only", "vms", "VM", params=[VM]),
        "delete": _op("Delete the VM and its node (its owner or a workspace owner; 202 with state "
                      "deleting; a deleted VM stays deleted)", "vms", "VM", params=[VM],
                      status="202"),
    },
    "/vms/{vm}/{action}": {"post": _op(
        "start, stop or restart the VM (its owner or a workspace owner; 202 at once)", "vms", "VM",
        params=[VM, {**_param("action"), "schema": {"enum": ["start", "stop", "restart"]}}],
        status="202")},
    "/vms/{vm}/open": {"post": _op(
        "The URL that opens the running VM's JupyterLab in a new tab (its token inside; its owner "
        "or a workspace owner): a port of the workspace server's machine tunnelled to the VM; 409 "
        "while the VM is not running or for one that runs no JupyterLab (jupyterlab false), 503 "
        "naming the failing step (DNS, TCP, host key, authentication, tunnel, the remote port not "
        "up yet)", "vms", "VMOpen", params=[VM])},
    "/vms/{vm}/postpone": {"post": _op(
        "Postpone the running VM's idle stop (by an hour, or {hours: 0.1 to 24}; its owner or a "
        "workspace owner; 409 while it is not running): {postponed_until: ms}", "vms",
        params=[VM], body="VMPostponement")},
    "/vms/{vm}/logs": {"get": _op(
        "The VM's log: its lifecycle and its scripts' output (its owner or a workspace owner)",
        "vms", params=[VM, _param("tail", "query", "Only the last N bytes (1 to 1073741824)",
                                  "integer")])},
    "/vms-gc": {
        "get": _op("Lists, changing nothing: provider resources tagged for this workspace that "
                   "no VM owns (leftovers), and VMs left busy by a process that died (abandoned), "
                   "each with its owner (the mlws:owner tag) and may_delete (contributors: it "
                   "reads the providers' credentials)", "vms"),
        "post": _op("Delete them: the leftovers are destroyed, the abandoned VMs ended failed or "
                    "orphaned (reaped: [{name, state, reason}]), orphaned VMs left without a node "
                    "deleted; a workspace owner's request all of them, a contributor's only their "
                    "own (the others stay listed, may_delete false)", "vms"),
    },
}
VM_SCHEMAS = {
    "VMPostponement": _body([], {"hours": {"type": "number", "minimum": 0.1, "maximum": 24}},
                            {"hours": 1}),
    "VMOpen": {"type": "object", "required": ["url", "expires_at"], "properties": {
        "url": {"type": "string", "description": "Opens the VM's JupyterLab (holds its token)"},
        "expires_at": {"type": ["integer", "null"], "description": "ms; null: while the VM runs"}}},
    "VMCreation": _body(["name", "provider", "size"], {
        "name": {"type": "string", "minLength": 1, "maxLength": 63},
        "provider": {"type": "string", "minLength": 1, "maxLength": 64},
        "size": {"type": "string", "minLength": 1, "maxLength": 256},
        "image": {"type": "string", "minLength": 1, "maxLength": 256},
        "region": {"type": "string", "minLength": 1, "maxLength": 256},
        "owner": {"type": "string", "minLength": 1, "maxLength": 256},
        "setup_script": _SCRIPT, "startup_script": _SCRIPT,
        "idle_shutdown": _DURATION, "script_timeout": _DURATION,
        "schedule": {"type": "string", "maxLength": 1000,
                     "description": "start 0 8 * * 1-5; stop 0 19 * * 1-5"},
        "tz": {"type": "string", "minLength": 1, "maxLength": 64},
        "credentials_secret": {"type": "string", "minLength": 1, "maxLength": 127},
        "ssh_user": {"type": "string", "minLength": 1, "maxLength": 64}},
        {"name": "box", "provider": "local", "size": "host"}),
    "VM": {"type": "object", "properties": {
        "name": {"type": "string"}, "id": {"type": "string"}, "provider": {"type": "string"},
        "size": {"type": "string"}, "state": {"type": "string"}, "reason": {"type": "string"},
        "owner": {"type": "string"}, "host": {"type": ["string", "null"]},
        "ssh_port": {"type": ["integer", "null"]}, "host_key_fingerprint": {"type": ["string", "null"]},
        "jupyterlab": {"type": "boolean", "description": "Whether the VM runs JupyterLab when it "
                       "runs (open answers 409 for one that does not)"},
        "events": {"type": "array", "items": {"type": "object"}},
        "idle": {"type": ["object", "null"], "description": "The idle check's newest decision "
                 "(null when not known): action none|warn|stop, stop_at (ms or null), reason, "
                 "postponed_until (ms or null)"}}},
}

SCHEDULE = _param("schedule", description="The schedule's name")
_CRON = {"type": "string", "minLength": 1, "maxLength": 200,
         "description": "Five fields, minute hour day-of-month month day-of-week: 0 6 * * 1-5"}
_WEBHOOKS = {"type": "array", "maxItems": 10, "items": {"type": "object", "required": ["url"],
             "additionalProperties": False, "properties": {
                 "url": {"type": "string", "minLength": 1, "maxLength": 2000},
                 "on": {"type": "array", "minItems": 1, "maxItems": 2,
                        "items": {"enum": ["failure", "success"]}}}}}
_SCHEDULE_FIELDS = {
    "notebook": {"type": "string", "minLength": 1, "maxLength": 4096,
                 "description": "A notebook in the server's folder, snapshotted now"},
    "pipeline": {"type": "string", "minLength": 1, "maxLength": 4096,
                 "description": "A pipeline.yaml in the server's folder, snapshotted now"},
    "cron": _CRON, "tz": {"type": "string", "minLength": 1, "maxLength": 64,
                          "description": "IANA zone (default: the server's)"},
    "params": {"type": "object", "maxProperties": PARAMS_MAX},
    "compute": {**_NAME, "description": "The compute target runs execute on (default local)"},
    "secrets": _SECRET_SPECS, "catch_up": {"type": "string", "maxLength": 16,
                                           "description": "latest (default), skip or all:N"},
    "retries": {"type": "integer", "minimum": 0, "maximum": 10}, "notify": _WEBHOOKS,
    "no_reuse": {"type": "boolean", "description": "A pipeline's runs run every step"},
    "force": {"type": "array", "maxItems": 200, "items": {"type": "string", "maxLength": 64},
              "description": "A pipeline's runs run these steps, and what follows them, even "
                             "when unchanged"}}
_HOUR12 = _param("hour12", "query", "true: the cron in words on a 12-hour clock (At 06:00 AM), "
                 "as the reader's locale shows times", "boolean")
#: schedules (``mlws schedule ...``): notebooks and pipelines run on a cron
SCHEDULE_PATHS = {
    "/schedules": {
        "get": _op("Every schedule: its cron in words, next 5 fire times, settings and last runs",
                   "schedules", "ScheduleList", params=[_HOUR12]),
        "post": _op("Create a schedule (contributors; it is theirs): 400 names a bad cron, zone, "
                    "file or name and nothing is stored; 409 when the name is taken; 201 with "
                    "warnings (parameters its notebook does not declare, passed anyway)",
                    "schedules", "Schedule", body="ScheduleCreation", status="201"),
    },
    "/schedules-preview": {"get": _op(
        "A cron in words and its next fire times, or 400 saying what is wrong", "schedules",
        params=[_param("cron", "query", "The cron expression"),
                _param("tz", "query", "IANA zone (default: the server's)"),
                _param("n", "query", "How many fire times (1 to 100, default 5)", "integer"),
                _HOUR12])},
    "/schedules/{schedule}": {
        "get": _op("A schedule, with source_state (unchanged, changed, missing)", "schedules",
                   "Schedule", params=[SCHEDULE, _HOUR12]),
        "patch": _op("Change a schedule (its owner or a workspace owner): any create field, and "
                     "paused; notebook/pipeline takes a new snapshot", "schedules", "Schedule",
                     params=[SCHEDULE], body="ScheduleUpdate"),
        "delete": _op("Delete a schedule (its owner or a workspace owner); its runs stay",
                      "schedules", None, params=[SCHEDULE], status="204"),
    },
    "/schedules/{schedule}/runs": {"get": _op(
        "The schedule's runs, newest first, retries included", "schedules",
        params=[SCHEDULE, _param("limit", "query", "At most this many (1 to 1000, default 20)",
                                 "integer")])},
    "/schedules/{schedule}/trigger": {"post": _op(
        "Run the schedule now (its owner or a workspace owner): 201 with the run, queued or "
        "failed saying why it could not start", "schedules", "ScheduleRun", params=[SCHEDULE],
        status="201")},
}
SCHEDULE_SCHEMAS = {
    "ScheduleCreation": _body(["name", "cron"], {"name": _NAME, **_SCHEDULE_FIELDS},
                              {"name": "nightly", "notebook": "reports/daily.ipynb",
                               "cron": "0 6 * * 1-5", "tz": "Europe/Berlin",
                               "params": {"rows": 500}}),
    "ScheduleUpdate": _body([], {**_SCHEDULE_FIELDS, "paused": {"type": "boolean"}},
                            {"paused": True}),
    "ScheduleRun": {"type": "object", "properties": {
        "id": {"type": ["string", "null"]}, "status": {"type": "string"},
        "nominal": {"type": "string", "description": "The tick, ISO 8601 in the schedule's zone"},
        "ticks": {"type": "array", "items": {"type": "string"}},
        "tick_count": {"type": "integer"}, "trigger": {"enum": ["tick", "manual"]},
        "attempt": {"type": "integer"}, "retry_of": {"type": ["string", "null"]},
        "started": {"type": ["integer", "null"]}, "ended": {"type": ["integer", "null"]},
        "error": {"type": ["string", "null"]}, "due": {"type": ["string", "null"]}}},
    "Schedule": {"type": "object", "properties": {
        "name": {"type": "string"}, "kind": {"enum": ["notebook", "pipeline"]},
        "source": {"type": "string"}, "cron": {"type": "string"}, "tz": {"type": "string"},
        "description": {"type": "string"},
        "next": {"type": "array", "items": {"type": "string"}}, "params": {"type": "object"},
        "compute": {"type": ["string", "null"]}, "secrets": {"type": "array"},
        "catch_up": {"type": "string"}, "retries": {"type": "integer"},
        "notify": {"type": "array", "items": {"type": "object"}}, "paused": {"type": "boolean"},
        "no_reuse": {"type": "boolean"}, "force": {"type": "array", "items": {"type": "string"}},
        "source_missing": {"type": "boolean", "description": "Its file is gone: runs fail"},
        "source_changed": {"type": "array", "items": {"type": "string"},
                           "description": "GET schedules/NAME: the snapshot's files edited since"},
        "owner": {"type": "string"}, "created": {"type": "integer"},
        "updated": {"type": "integer"}, "snapshot_at": {"type": "integer"},
        "last_runs": {"type": "array", "items": _ref("ScheduleRun")}}},
    "ScheduleList": {"type": "object", "properties": {
        "schedules": {"type": "array", "items": _ref("Schedule")}}},
}

PATHS = {
    "/workspace": {"get": _op("Describe the workspace, with your user and role", "workspace")},
    "/openapi.json": {"get": _op("This document", "workspace")},
    "/experiments": {"get": _op("Experiments with their run counts", "experiments")},
    "/runs": {
        "get": _op("Search runs with the filter language, one page at a time", "runs", "RunPage", params=[
            _param("filter", "query", "e.g. metrics.acc > 0.9 and params.model = 'rf' (repeatable: all "
                   "must hold, e.g. a user's filter and 'parent_id IS NULL' for top-level runs; an "
                   "error's caret points into the one it is in)", array=True),
            _param("experiment", "query", "Only these experiments (repeatable)", array=True),
            _param("order_by", "query", "e.g. 'metrics.acc DESC', or 'min(metrics.loss) ASC' for the "
                   "smallest value a metric ever had (repeatable)", array=True),
            _param("max_results", "query", "1 to 50000 (default 100)", "integer"),
            _param("page_token", "query", "The next_page_token of the previous page"),
            _param("children", "query", "true: each run gets 'children', its number of child runs",
                   "boolean"),
            _param("ranges", "query", "A metric name (repeatable, up to 50): each run gets 'ranges', "
                   "{metric: {min, max}} over all its points", array=True),
            _param("keys", "query", "true: the page gets 'keys', the param, metric and tag keys of the "
                   "experiments searched (for a column chooser)", "boolean")]),
        "post": _op("Submit a notebook inside the server's folder as a run (returns at once)", "runs",
                    "Run", body="NotebookSubmission", status="201"),
    },
    "/runs/{run_id}": {
        "get": _op("A run: status, times, params, metrics (and each one's point count), tags, "
                   "description, git state, environment hash, error", "runs", "Run", params=[RUN_ID]),
        "patch": _op("Change the run's description (also after the run ended)", "runs", "Run",
                     params=[RUN_ID], body="RunUpdate"),
    },
    "/runs/{run_id}/cells": {"get": _op(
        "The cells a session run executed, with the last value of each metric each logged "
        "([] for other runs)", "runs", "Cells", params=[RUN_ID])},
    "/runs/{run_id}/lineage": {"get": _op(
        "Parent and children, rerun_of and re-runs, promoted from and to, model versions "
        "registered from the run", "runs", "Lineage", params=[RUN_ID])},
    "/runs/{run_id}/values": {"get": _op(
        "Logged lists, tables and images: the newest max_results steps of each key, and every key "
        "with its count", "runs", "Values", params=[
            RUN_ID, _param("key", "query", "Only this key"),
            _param("max_results", "query", "Steps per key, 1 to 1000 (default 50)", "integer")]),
        "post": _op("Log a list or table at a step of a running run (checked as run.log_list and "
                    "run.log_table check it; at most 16 MB of JSON)", "tracking", params=[RUN_ID],
                    body="LoggedValue", status="201")},
    "/runs/{run_id}/values/{key}/{step}/image": {"get": _op(
        "A logged image's bytes: PNG/JPEG/GIF/WebP inline, SVG as a sandboxed attachment", "runs",
        "File", content_type="application/octet-stream",
        params=[RUN_ID, _param("key", description="The image's key"),
                _param("step", description="The step it was logged at", type_="integer")])},
    "/runs/{run_id}/snapshot": {"get": _op("The files of the run's source snapshot", "runs",
                                           "SnapshotFiles", params=[RUN_ID])},
    "/runs/{run_id}/snapshot/{path}": {"get": _op(
        "One file of the snapshot, as a sandboxed attachment (UTF-8 text as text/plain)", "runs",
        "File", content_type="application/octet-stream",
        params=[RUN_ID, _param("path", description="The file's path in the snapshot, e.g. src/train.py")])},
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
    "/runs/{run_id}/files": {"get": _op(
        "The run's files, and how many lists, tables and images it logged (logged_values)", "runs",
        params=[RUN_ID, _param("kind", "query", "artifact, snapshot or log")])},
    "/runs/{run_id}/artifacts/{path}": {"get": _op(
        "Download a file; only PNG/JPEG/GIF/WebP inline, everything else as a sandboxed attachment",
        "runs", "File", content_type="application/octet-stream",
        params=[RUN_ID, _param("path", description="The artifact's name, e.g. out/model.pkl"),
                _param("kind", "query", "artifact (default), snapshot or log (a stored log)")])},
    "/runs/{run_id}/{action}": {"post": _op(
        "cancel a queued or running run; rerun a notebook run ({parameters, parameter_texts}); "
        "promote a session run",
        "runs", "Run", params=[RUN_ID, {**_param("action"),
                                        "schema": {"enum": ["cancel", "rerun", "promote"]}}],
        body="RunAction", body_required=False)},
    **TRACKING_PATHS,
    **EXECUTION_PATHS,
    **SUBMISSION_PATHS,
    "/notebook-parameters": {"get": _op(
        "The parameters cell of a notebook in the server's folder, read without running it "
        "(contributors and owners only: it tells which files exist)",
        "runs", params=[_param("notebook", "query", "path of the .ipynb inside the server's folder")])},
    "/models": {
        "get": _op("Registered models", "models"),
        "post": _op("Register a run's artifact as the model's next version", "models", "ModelVersion",
                    body="ModelRegistration", status="201"),
    },
    "/models/{ref}": {
        "get": _op("A version (NAME:3, NAME@alias) or every version of NAME, each with served_by "
                   "(the endpoints serving it)", "models", params=[REF]),
        "patch": _op("Change a version's description and tags (NAME:3 or NAME@alias), all or nothing",
                     "models", "ModelVersion", params=[REF], body="ModelUpdate"),
        "delete": _op("Delete a version, or every version of NAME (409 while an endpoint serves it)",
                      "models", params=[REF]),
    },
    "/models/{ref}/training-data": {"get": _op(
        "Per-feature statistics of the version's training data (rows null, with a message, when "
        "none was recorded)", "models", params=[REF])},
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
    "/tokens": {
        "get": _op("Users' API tokens: ids, users, notes and dates, never a token (an owner: "
                   "anyone's; else your own)", "access",
                   params=[_param("user", "query", "only this user's tokens")]),
        "post": _op("Create a user's API token (an owner: for anyone with a role; a contributor: "
                    "for themselves): the token is in this answer only", "access", body="TokenCreation",
                    status="201"),
    },
    "/tokens/{token_id}": {
        "delete": _op("Revoke a user's API token (an owner: anyone's; a contributor: their own)", "access",
                      params=[_param("token_id")]),
    },
    "/secrets": {"get": _op("Secrets: names, versions and dates, and the notebook VM each of the "
                            "VMs' own secrets was made for; never a value (no route returns one)",
                            "secrets", "Secrets", params=[_param("deleted", "query",
                                                      "true: the deleted ones still recoverable",
                                                      "boolean")])},
    "/secrets/{secret}": {
        "get": _op("A secret's metadata and versions (never its value)", "secrets", "Secret",
                   params=[SECRET]),
        "put": _op("Set the secret's next version (contributors and owners); 409 when it is deleted",
                   "secrets", params=[SECRET], body="SecretValue"),
        "delete": _op("Delete the secret, recoverable until its purge_at; ?purge=true removes a "
                      "deleted one for good (owners only, 204)", "secrets", params=[
                          SECRET, _param("purge", "query", "true: purge a deleted secret", "boolean")]),
    },
    "/secrets/{secret}/recover": {"post": _op("Bring a deleted secret back (contributors and owners)",
                                              "secrets", params=[SECRET])},
    "/secrets-audit": {"get": _op(
        "The audit log, newest first: who read or changed which secret, when, in which run and "
        "version (owners only; never a value)", "secrets", "SecretsAudit", params=[
            _param("secret", "query", "Only this secret's entries"),
            _param("max_results", "query", f"Entries at most (1 to {AUDIT_MAX}; 100)", "integer")])},
    "/compute": {
        "get": _op("Compute targets: local (built in), ssh hosts with their pinned host keys, Dask "
                   "schedulers (never a private key)", "compute"),
        "post": _op("Create a compute target (contributors and owners). An ssh host's key is pinned: "
                    "host_key as given, else the key the host presents, once accepted by "
                    "accept_host_key or a matching host_key_fingerprint (without either, 400 with "
                    "its fingerprint; nothing is created)", "compute", "ComputeTarget",
                    body="ComputeTargetCreation", status="201"),
    },
    "/compute/{target}": {
        "get": _op("A compute target's settings", "compute", "ComputeTarget", params=[TARGET]),
        "patch": _op("Change a target: the secrets it gives every run (their names, replacing the "
                     "list), its python (ssh) and env (ssh, dask), checked as at creation "
                     "(contributors and owners; 400 for a bad value or a setting its type does not "
                     "take, 409 for local or a deleted secret, 404 for a missing one)",
                     "compute", "ComputeTarget", params=[TARGET], body="ComputeTargetUpdate"),
        "delete": _op("Delete a compute target (contributors and owners; 409 for local, or while "
                      "runs are queued or running on it)", "compute", None, params=[TARGET],
                      status="204"),
    },
    "/compute/{target}/test": {"post": _op(
        "Check the target step by step: DNS, TCP connect, SSH handshake, host key, authentication, "
        "Python, jupyter_mlws, disk (contributors and owners: it reads the key's secret). 200 "
        "with ok false when a check fails", "compute", "ComputeTest", params=[TARGET])},
    "/pipelines": {
        "get": _op("Pipelines that ran, each with its number of runs and its latest run's id, "
                   "status and start", "pipelines"),
        "post": _op("Run a pipeline, detached (contributors and owners): answers its run as GET "
                    "/runs/{run_id}/pipeline does; 400 naming the mistake in a bad definition "
                    "(nothing is recorded)", "pipelines", body="PipelineRun", status="201"),
    },
    "/pipelines/{pipeline}": {"get": _op(
        "A pipeline as its latest run defined it: its steps, edges and newest 10 runs",
        "pipelines", params=[PIPELINE])},
    "/pipelines/{pipeline}/runs": {"get": _op(
        "A pipeline's runs, newest first: status, times, error and how many steps are in each "
        "state", "pipelines", params=[PIPELINE, _param("limit", "query", "At most (1 to 1000; "
                                                                "100)", "integer")])},
    "/runs/{run_id}/pipeline": {"get": _op(
        "A pipeline run's steps and edges: each step's state (pending, running, completed, "
        "reused, skipped, failed, blocked, canceled), child run, the run it reuses, why it ran or "
        "was reused (reason; changed: code, parameters, inputs, environment, forced, no earlier "
        "run), its outputs' content hashes and times", "pipelines", params=[RUN_ID])},
    "/automl": {"post": _op(
        "Start an automated-ML search (FLAML) over a tabular dataset version, detached "
        "(contributors and owners): answers the search as GET /automl/{run_id} does; 400 naming "
        "the mistake (an unknown target column, one class, regression on text, an empty dataset, "
        "a budget under 5 s, an unknown estimator or metric; nothing is recorded)", "automl",
        body="AutoMLRun", status="201")},
    "/automl/{run_id}": {"get": _op(
        "A search: its request (spec), the metric and its direction (max: higher is better, "
        "min: lower is), the leaderboard (rows best first: rank, "
        "run_id, trial, estimator, config, metric, val_loss, train_time_s, sample_size, best), "
        "the budget (time_budget_s, time_spent_s, search_s, refit_s, setup_s), the trial the "
        "deadline stopped, the registered model; 400 for a run that is not a search", "automl",
        params=[RUN_ID])},
    "/automl/{run_id}/resume": {"post": _op(
        "Resume an interrupted search (killed, failed or canceled), detached, keeping its "
        "finished trials and the budget left (contributors and owners); 409 while it runs or "
        "once it completed", "automl", params=[RUN_ID])},
    "/environments": {"get": _op("Environments built per compute target, from the records (the "
                                 "targets are not contacted)", "environments",
                                 params=[_param("compute", "query", "One target's (e.g. local)")])},
    "/environments/check": {"get": _op(
        "Before a notebook is submitted to a target (what mlws run submit warns of): how the "
        "target's environments differ from the notebook's kernel's: state same, current (nothing "
        "to say: this machine's Python, or a target that builds none), none or differs, and "
        "lines saying it (contributors and owners: it reads the server's folder)", "environments",
        params=[_param("notebook", "query", "Relative to the server's folder"),
                _param("compute", "query", "The target (default local)"),
                _param("kernel", "query", "The kernel (default: the notebook's)")])},
    "/environments/diff": {"get": _op(
        "How a target's ready environments differ from a kernel's (default: the server's own): "
        "state same, current, none or differs; missing, different and extra distributions",
        "environments", params=[_param("compute", "query", "The target (default local)"),
                                _param("kernel", "query", "An installed kernel's name")])},
    "/environments/build": {"post": _op(
        "Build an environment (one of run, kernel, spec) on a target, or find it built "
        "(contributors and owners): its record, state ready or failed (with the reason naming "
        "the step and the distribution); a build the release check knows will fail is refused "
        "(400, nothing built) unless force",
        "environments", body="EnvironmentBuild", body_required=False)},
    "/environments/prune": {"post": _op(
        "Remove the environments not used for a while, failed ones included, from their "
        "targets and the records (contributors and owners): {removed, errors}",
        "environments", body="EnvironmentPrune", body_required=False)},
    "/environments/{env_hash}": {"get": _op(
        "One environment: its spec and where it is built", "environments",
        params=[_param("env_hash", description="Its hash, or a unique prefix of 6+ hex digits "
                                                "(a run's env_hash)")])},
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
        "The last lines of the endpoint's log, tracebacks included (contributors and owners only)",
        "endpoints", params=[
            ENDPOINT, _param("tail", "query", "Lines, 1 to 10000 (default 200)", "integer")])},
    "/endpoints/{endpoint}/metrics": {"get": _op(
        "Requests, errors, status codes and latency p50/p95/p99 (ms), totals and a 10 s series; "
        "with buckets, a timeline: per deployment, arrays of {t (ms), count, errors, p50, p95, p99}",
        "endpoints", params=[ENDPOINT,
                             _param("since", "query", "Seconds back (default 3600)", "number"),
                             _param("deployment", "query", "Only this deployment"),
                             _param("buckets", "query", "Cut the window into this many buckets "
                                    "(1 to 1000; each a whole 10 s or more)", "integer")])},
    "/endpoints/{endpoint}/drift": {"get": _op(
        "Per deployment and feature, the drift (PSI) of sampled inputs from the model's training "
        "data, or why there is no verdict", "endpoints",
        params=[ENDPOINT, _param("since", "query", "Seconds back (default 3600)", "number")])},
    "/endpoints/{endpoint}/deployments/{deployment}": {
        "put": _op("Add or replace a deployment taking no traffic (returns at once, 202; split "
                   "traffic once it is healthy)", "endpoints", "Endpoint",
                   params=[ENDPOINT, _param("deployment", description="e.g. green")],
                   body="DeploymentCreation", status="202"),
        "delete": _op("Remove a deployment that takes no traffic", "endpoints", "Endpoint",
                      params=[ENDPOINT, _param("deployment")]),
    },
    "/endpoints/{endpoint}/keys": {
        "get": _op("The endpoint's two keys (contributors and owners only)", "endpoints", "EndpointKeys",
                   params=[ENDPOINT]),
        "post": _op("Regenerate one key ({\"key\": \"secondary\"}); the other keeps working",
                    "endpoints", "EndpointKeys", params=[ENDPOINT], body="KeyChoice"),
    },
    "/endpoints/{endpoint}/invoke": {"post": _op(
        "Score the JSON body on the endpoint with its key; its refusals come back as errors",
        "endpoints", params=[ENDPOINT, _param("deployment", "query", "Call this deployment directly")],
        body="ScoringData")},
    **VM_PATHS,
    **SCHEDULE_PATHS,
    **DATASTORE_PATHS,
    **DATASET_PATHS,
}

SCHEMAS = {
    "Error": {"type": "object", "required": ["message", "reason"], "properties": {
        "message": {"type": "string", "description": "What is wrong and what to do"},
        "details": {"type": "object", "description": "Facts to act on, for some errors: an ssh "
                    "host key nobody accepted (POST compute) gives host, key_type, fingerprint"},
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
        "children": {"type": "integer", "description": "GET /runs?children=true only: child runs"},
        "ranges": {"type": "object", "description": (
            "GET /runs?ranges=KEY only: {KEY: {min, max}} over all the metric's points")},
        "notebook": {"type": ["string", "null"], "description": (
            "GET /runs/{run_id} only: the source notebook's path inside the server's folder, "
            "when it is there")},
        "compute": {"type": "string", "description": (
            "GET /runs and /runs/{run_id}: the compute target it executes on (local by default; "
            "a filter says compute = 'NAME')")},
        "description": {"type": "string"},
        "duration_s": {"type": ["number", "null"], "description": "GET /runs/{run_id}: None while it runs"},
        "git": {"type": ["object", "null"], "description": "GET /runs/{run_id}: {commit, branch, dirty}",
                "properties": {"commit": {"type": ["string", "null"]},
                               "branch": {"type": ["string", "null"]},
                               "dirty": {"type": ["boolean", "null"]}}},
        "environment_hash": {"type": ["string", "null"], "description": (
            "GET /runs/{run_id}: the first 16 hex digits of its environment spec's hash (notebook "
            "runs; GET /environments/{env_hash} shows it once built)")},
        "metric_counts": {"type": "object", "additionalProperties": {"type": "integer"},
                          "description": "GET /runs/{run_id}: points logged per metric (1 is a "
                                         "single value: a number, not a chart)"}}},
    "RunUpdate": _body([], {"description": {"type": "string", "maxLength": DESCRIPTION_MAX}},
                       {"description": "baseline with the new features"}),
    "RunBrief": {"type": "object", "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "status": {"type": "string"}}},
    "Lineage": {"type": "object", "properties": {
        "parent": {"oneOf": [_ref("RunBrief"), {"type": "null"}]},
        "children": {"type": "array", "items": _ref("RunBrief"), "description": "The first 100"},
        "child_count": {"type": "integer"},
        "rerun_of": {"oneOf": [_ref("RunBrief"), {"type": "null"}]},
        "reruns": {"type": "array", "items": _ref("RunBrief")},
        "promoted_from": {"oneOf": [_ref("RunBrief"), {"type": "null"}]},
        "promoted_to": {"type": "array", "items": _ref("RunBrief")},
        "models": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "version": {"type": "integer"}}}}}},
    "Cells": {"type": "object", "properties": {"cells": {"type": "array", "items": {
        "type": "object", "properties": {
            "number": {"type": "integer", "description": "The execution count"},
            "cell_id": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": ["completed", "failed"]},
            "started": {"type": ["integer", "null"], "description": "ms since the epoch"},
            "duration_s": {"type": ["number", "null"]}, "source": {"type": "string"},
            "error": {"type": ["string", "null"], "description": "Name: message"},
            "metrics": {"type": "object", "description": "key: the last value the cell logged"}}}}}},
    "Values": {"type": "object", "properties": {
        "values": {"type": "array", "items": {"type": "object", "properties": {
            "key": {"type": "string"}, "kind": {"type": "string", "enum": ["list", "table", "image"]},
            "step": {"type": "integer"}, "timestamp": {"type": "integer", "description": "ms"},
            "value": {"type": ["array", "object", "null"],
                      "description": "A list, a table as {column: [...]}, null for an image"},
            "image": {"type": ["object", "null"], "properties": {
                "url": {"type": "string", "description": "Relative to mlws/api/"},
                "format": {"type": "string"}, "size": {"type": "integer"}}},
            "truncated": {"type": "boolean", "description": (
                "The answer's size limit left this older value's content out: ask for its key "
                "with a smaller max_results")}}}},
        "keys": {"type": "array", "items": {"type": "object", "properties": {
            "key": {"type": "string"}, "kind": {"type": "string"}, "count": {"type": "integer"}}}}}},
    "SnapshotFiles": {"type": "object", "properties": {"files": {"type": "array", "items": {
        "type": "object", "properties": {"path": {"type": "string"}, "size": {"type": "integer"}}}}}},
    "RunPage": {"type": "object", "properties": {
        "runs": {"type": "array", "items": _ref("Run")},
        "next_page_token": {"type": ["string", "null"]},
        "keys": {"type": "object", "description": "keys=true only: {params, metrics, tags}: sorted key lists",
                 "properties": {kind: {"type": "array", "items": {"type": "string"}}
                                for kind in ("params", "metrics", "tags")}}}},
    "MetricHistory": {"type": "object", "properties": {
        "key": {"type": "string"}, "total": {"type": "integer"}, "downsampled": {"type": "boolean"},
        "steps": {"type": "array", "items": {"type": "integer"}},
        "timestamps": {"type": "array", "items": {"type": "integer"}},
        "values": {"type": "array", "items": {"type": ["number", "string"]},
                   "description": "NaN and infinities as the strings 'nan', 'inf', '-inf'"}}},
    "NotebookSubmission": _body(["notebook"], {
        "notebook": {**_TEXT, "minLength": 1, "description": "Relative to the server's folder"},
        "parameters": {"type": "object", "maxProperties": PARAMS_MAX, "description": "Typed values (JSON)"},
        "parameter_texts": _PARAMETER_TEXTS,
        "experiment": _NAME, "kernel": _NAME,
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_TIMEOUT_S,
                    "description": "Seconds"},
        "retries": {"type": "integer", "minimum": 0, "maximum": 10},
        "name": {**_NAME, "minLength": 0}, "tags": _TAGS, "secrets": _SECRET_SPECS,
        "compute": {**_NAME, "description": "The compute target it executes on (default local)"},
        "env_check": {"type": "boolean", "default": True, "description": (
            "Compare the target's environments with the kernel's first, as mlws run submit "
            "does: a drift is one of the run's warnings; a target that cannot be reached is "
            "refused (503), nothing recorded")}},
        {"notebook": "folder/train.ipynb", "parameters": {"C": 0.5}}),
    "NotebookUpload": _body(["notebook"], {
        "notebook": {**_TEXT, "minLength": 1, "description": "Its path in the project folder sent"},
        "parameters": {"type": "object", "maxProperties": PARAMS_MAX, "description": "Typed values (JSON)"},
        "parameter_texts": _PARAMETER_TEXTS,
        "grid": {"type": "object", "maxProperties": PARAMS_MAX, "description": (
            "NAME: [values]: a sweep, one child run per combination")},
        "max_parallel": {"type": "integer", "minimum": 1, "maximum": 64},
        "experiment": _NAME, "kernel": _NAME,
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_TIMEOUT_S,
                    "description": "Seconds"},
        "retries": {"type": "integer", "minimum": 0, "maximum": 10},
        "name": {**_NAME, "minLength": 0}, "tags": _TAGS, "secrets": _SECRET_SPECS,
        "output": {**_TEXT, "minLength": 1, "description": (
            "A copy of the output notebook inside the workspace: reports/{run_name}.ipynb")},
        "compute": {**_NAME, "description": "The compute target it executes on (default local)"}},
        {"notebook": "train.ipynb", "parameters": {"C": 0.5}, "compute": "gpu-box"}),
    "CommandUpload": _body(["argv", "compute"], {
        "argv": {"type": "array", "minItems": 1, "maxItems": 1000,
                 "items": {"type": "string", "maxLength": 4096}},
        "compute": {**_NAME, "description": "The compute target it executes on (not local)"},
        "experiment": _NAME, "name": {**_NAME, "minLength": 0}, "tags": _TAGS,
        "secrets": _SECRET_SPECS},
        {"argv": ["python", "train.py"], "compute": "gpu-box", "experiment": "default"}),
    "TagUpdate": _body([], {
        "set": _TAGS, "delete": {"type": "array", "maxItems": TAGS_MAX, "items": _NAME}},
        {"set": {"stage": "review"}, "delete": ["draft"]}),
    "RunAction": _body([], {"parameters": {"type": "object", "maxProperties": PARAMS_MAX,
                                           "description": "rerun: the parameters to change"},
                            "parameter_texts": _PARAMETER_TEXTS,
                            "secrets": {**_SECRET_SPECS, "description": "rerun: secrets to give "
                                        "besides the run's own ('NAME' or 'NAME=ENVVAR')"},
                            "compute": {**_NAME, "description": "rerun: the compute target it "
                                        "executes on (default local)"}},
                       {"parameters": {"C": 0.2}}),
    "ModelRegistration": _body(["name", "run", "artifact"], {
        "name": _NAME, "run": _NAME, "artifact": {**_TEXT, "minLength": 1}, "tags": _TAGS,
        "description": {**_TEXT, "maxLength": TAG_VALUE_MAX}},
        {"name": "iris", "run": "0123abcd", "artifact": "model.pkl"}),
    "ModelVersion": {"type": "object", "properties": {
        "name": {"type": "string"}, "version": {"type": "integer"}, "ref": {"type": "string"},
        "flavor": {"type": "string"}, "run_id": {"type": ["string", "null"]},
        "aliases": {"type": "array", "items": {"type": "string"}},
        "description": {"type": "string"}, "tags": {"type": "object"},
        "lineage": {"type": "object", "description": "run_id, run_name, experiment, params and metrics at registration"},
        "files": {"type": "array", "items": {"type": "object"}},
        "served_by": {"type": "array", "items": {"type": "string"},
                      "description": "The endpoints serving this version"}}},
    "ModelUpdate": _body([], {
        "description": {**_TEXT, "maxLength": TAG_VALUE_MAX}, "set": _TAGS,
        "delete": {"type": "array", "maxItems": TAGS_MAX, "items": _NAME}},
        {"description": "LogisticRegression, C=0.5", "set": {"stage": "review"}, "delete": ["draft"]}),
    "AliasTarget": _body(["version"], {"version": _VERSION}, {"version": 3}),
    "RoleGrant": _body(["role"], {"role": {"type": "string", "maxLength": 32,
                                           "description": "owner, contributor or reader (any case)"}},
                       {"role": "reader"}),
    "TokenCreation": _body([], {
        "user": {**_TEXT, "maxLength": 256, "description": "Whose token (default: yours)"},
        "expires": {"type": ["string", "integer"], "maxLength": 16,
                    "description": "How long it works: 1h to 366d, e.g. 30d (default 90d), or seconds"},
        "note": {**_TEXT, "maxLength": 200, "description": "What it is for"}},
        {"user": "alice", "expires": "30d", "note": "alice's laptop"}),
    "EndpointCreation": _body(["name", "model", "script"], {
        "name": _NAME,
        "model": {**_NAME, "description": "NAME:VERSION, NAME@ALIAS or NAME (latest)"},
        "script": {**_TEXT, "minLength": 1, "description": "The scoring script (init() and run(data)), "
                                                          "relative to the server's folder"},
        "workers": {"type": "integer", "minimum": 1, "maximum": 64},
        "deployment": {**_NAME, "description": "The first deployment (default blue)"}},
        {"name": "iris", "model": "iris:2", "script": "serving/score.py"}),
    "DeploymentCreation": _body(["model", "script"], {
        "model": {**_NAME, "description": "NAME:VERSION, NAME@ALIAS or NAME (latest)"},
        "script": {**_TEXT, "minLength": 1, "description": "The scoring script, relative to the "
                                                          "server's folder"}},
        {"model": "iris:2", "script": "serving/score.py"}),
    "Endpoint": {"type": "object", "properties": {
        "name": {"type": "string"},
        "state": {"type": "string", "enum": ["creating", "healthy", "failed", "stopped"]},
        "error": {"type": ["string", "null"], "description": (
            "Why it failed: the exception's type and message, paths relative to the workspace "
            "(the endpoint's log has the traceback)")},
        "url": {"type": ["string", "null"]}, "scoring_uri": {"type": ["string", "null"]},
        "workers": {"type": "integer"}, "restarts": {"type": "integer"},
        "deployments": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "traffic": {"type": "integer"}, "state": {"type": "string"},
            "models": {"type": "array", "items": {"type": "string"}},
            "entry_script": {"type": "string", "description": (
                "The scoring script's path in the workspace folder (its file name when it was "
                "outside)")},
            "input_example": {"description": (
                "A request to start a test from: the script's input_example, else a value its "
                "input_schema accepts; null when it has neither")},
            "error": {"type": ["string", "null"]}}}},
        "worker_status": {"type": "array", "description": (
            "The running worker processes, as their supervisor last wrote them (every 2 s)"),
            "items": {"type": "object", "properties": {
                "slot": {"type": "integer"}, "pid": {"type": "integer"}, "generation": {"type": "integer"},
                "state": {"type": "string", "enum": ["starting", "serving", "draining"]},
                "requests": {"type": "integer", "description": "HTTP requests answered since it started"},
                "connections": {"type": "integer", "description": "Connections open now"},
                "started_at": {"type": "integer", "description": "ms since the epoch"}}}}}},
    "TrafficSplit": {"type": "object", "minProperties": 1, "maxProperties": 64,
                     "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 100},
                     "description": "Deployment name: percent, e.g. {\"blue\": 90, \"green\": 10}",
                     "example": {"blue": 90, "green": 10}},
    "EndpointKeys": {"type": "object", "properties": {
        "primary": {"type": "string"}, "secondary": {"type": "string"}}},
    "KeyChoice": _body([], {"key": {"type": "string", "enum": ["primary", "secondary"]}},
                       {"key": "secondary"}),
    "SecretValue": _body(["value"], {"value": {
        "type": "string", "minLength": VALUE_MIN_CHARS, "maxLength": VALUE_MAX_BYTES,
        "description": f"The value: text of {VALUE_MIN_CHARS} characters to {VALUE_MAX_BYTES} bytes "
                       "of UTF-8, no NUL; never logged or returned"}},
        {"value": "s3cr3t-value"}),
    "Secret": {"type": "object", "properties": {
        "name": {"type": "string"}, "version": {"type": "integer"},
        "state": {"type": "string", "enum": ["active", "deleted"]},
        **{f"{what}_at": {"type": ["integer", "null"], "description": "ms since the epoch"}
           for what in ("created", "updated", "deleted", "purge")},
        **{f"{what}_by": {"type": ["string", "null"]} for what in ("created", "updated", "deleted")},
        "vm": {"type": ["string", "null"], "description": "The name of the notebook VM this "
               "secret was made for (its login key, mlws-vm-ID, or its JupyterLab's token, "
               "mlws-vm-ID-lab): made and deleted with the VM, never a user's pick; null for "
               "every other secret"},
        "versions": {"type": "array", "description": "GET /secrets/{secret} only: newest first",
                     "items": {"type": "object", "properties": {
                         "version": {"type": "integer"}, "created_at": {"type": "integer"},
                         "created_by": {"type": "string"}}}}}},
    "Secrets": {"type": "object", "properties": {"secrets": {"type": "array",
                                                             "items": _ref("Secret")}}},
    "SecretsAudit": {"type": "object", "properties": {"entries": {"type": "array", "items": {
        "type": "object", "properties": {
            "name": {"type": "string"}, "ts": {"type": "integer", "description": "ms since the epoch"},
            "action": {"type": "string", "enum": ["set", "read", "delete", "recover", "purge",
                                                  "expire", "rotate-key"]},
            "version": {"type": ["integer", "null"]}, "user": {"type": "string"},
            "run_id": {"type": ["string", "null"], "description": "The run that read it"}}}}}},
    "ComputeTargetCreation": _body(["name", "type"], {
        "name": _NAME, "type": {"type": "string", "enum": ["ssh", "dask"]},
        "host": {"type": "string", "minLength": 1, "maxLength": 253, "description": "ssh"},
        "user": {"type": "string", "minLength": 1, "maxLength": 64, "description": "ssh: the login"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "description": "ssh (22)"},
        "workdir": {"type": "string", "minLength": 1, "maxLength": 1024,
                    "description": "ssh: the folder runs work in, relative to the login folder or "
                                   "absolute (mlws-work)"},
        "python": {"type": "string", "minLength": 1, "maxLength": 1024,
                   "description": "ssh: the interpreter on the host (python3)"},
        "key_secret": {"type": "string", "minLength": 1, "maxLength": 127,
                       "description": "ssh: the workspace secret holding the private key"},
        "env": {"type": "string", "enum": ["system", "build"],
                "description": "ssh and dask: what runs execute with: the host's python (ssh) "
                               "or the workers' (dask) as it is (system), or each run's "
                               "environment built on the host (the worker's machine) once "
                               "(build)"},
        "keepalive": {"type": "integer", "minimum": 1, "maximum": 3600,
                      "description": "ssh: seconds between keepalives on a run's connection (10); "
                                     "one unanswered for 3 of them is lost, failing its run"},
        "host_key": {"type": "string", "minLength": 1, "maxLength": 4096,
                     "description": "ssh: pin this key, 'ssh-ed25519 AAAA...', without connecting"},
        "accept_host_key": {"type": "boolean", "description": "ssh: pin the key the host presents now"},
        "host_key_fingerprint": {"type": "string", "minLength": 1, "maxLength": 100,
                                 "description": "ssh: pin the key the host presents now if it has "
                                                "this fingerprint ('SHA256:...'; 409 otherwise)"},
        "address": {"type": "string", "minLength": 1, "maxLength": 300,
                    "description": "dask: the scheduler, tcp://HOST:PORT"},
        "secrets": _TARGET_SECRETS},
        {"name": "gpu1", "type": "ssh", "host": "gpu1.example.org", "user": "alice",
         "key_secret": "gpu1-key", "accept_host_key": True}),
    "ComputeTargetUpdate": _body([], {
        "secrets": _TARGET_SECRETS,
        "python": {"type": "string", "minLength": 1, "maxLength": 1024,
                   "description": "ssh: the interpreter on the host"},
        "env": {"type": "string", "enum": ["system", "build"],
                "description": "ssh and dask: what runs execute with (system or build)"}},
        {"env": "build", "secrets": ["hf-token=HF_TOKEN"]}),
    "ComputeTarget": {"type": "object", "properties": {
        "name": {"type": "string"}, "type": {"type": "string", "enum": ["local", "ssh", "dask", "vm"]},
        "builtin": {"type": "boolean"}, "created_at": {"type": ["integer", "null"]},
        "created_by": {"type": "string"}, "host": {"type": "string"}, "user": {"type": "string"},
        "port": {"type": "integer"}, "workdir": {"type": "string"}, "python": {"type": "string"},
        "env": {"type": "string"}, "keepalive": {"type": "integer"},
        "key_secret": {"type": ["string", "null"]}, "host_key": {"type": "string"},
        "host_key_fingerprint": {"type": "string"}, "address": {"type": "string"},
        "secrets": {"type": "object", "additionalProperties": {"type": "string"},
                    "description": "The secrets it gives every run: {ENVVAR: NAME} (names only)"}}},
    "ComputeTest": {"type": "object", "properties": {
        "target": {"type": "string"}, "type": {"type": "string"}, "ok": {"type": "boolean"},
        "checks": {"type": "array", "items": {"type": "object", "properties": {
            "check": {"type": "string"}, "title": {"type": "string"},
            "status": {"type": "string", "enum": ["ok", "fail", "skip"]},
            "detail": {"type": "string"}}}}}},
    "RunCreation": _body([], {
        "name": {**_NAME, "minLength": 0}, "description": {"type": "string", "maxLength": DESCRIPTION_MAX},
        "parent_id": {"type": "string", "minLength": 1, "maxLength": 64, "description": (
            "The parent run (required with a run's token: a run it covers)")},
        "tags": _TAGS, "source_type": {"type": "string", "enum": list(SOURCE_TYPES)},
        "source_name": _TEXT, "host": {"type": "string", "maxLength": 255, "description": (
            "The machine the run's process runs on")},
        "git": {"type": "object", "additionalProperties": False, "properties": {
            "commit": {"type": "string", "maxLength": 64},
            "branch": {"type": "string", "maxLength": 1024},
            "dirty": {"type": "boolean"}}}},
        {"name": "rf-1", "tags": {"team": "a"}, "source_type": "script", "source_name": "train.py"}),
    "RunBatch": _body([], {
        "params": {"type": "object", "maxProperties": PARAMS_MAX, "description": (
            "Name: value; a value that is not a string is stored as its JSON (a param keeps its "
            "first value)")},
        "tags": _TAGS,
        "metrics": {"type": "array", "maxItems": BATCH_MAX_POINTS, "description": (
            "Points [key, value, step, timestamp (ms)], each checked as run.log checks it; NaN "
            "and infinities as JSON's NaN / Infinity / -Infinity")},
        "cells": {"type": "array", "maxItems": CELLS_MAX, "description": (
            "Executed cells of a session run: [ordinal, timestamp (ms), record]")}},
        {"params": {"lr": 0.1}, "metrics": [["loss", 0.25, 0, 1700000000000]]}),
    "ExecutionStart": _body([], {
        "attempt": {"type": "string", "minLength": 1, "maxLength": 200, "description": (
            "The attempt's id, chosen by the target (e.g. a task key and its retry); default: "
            "a new one")},
        "host": {"type": "string", "maxLength": 255, "description": "The machine executing it"}},
        {"attempt": "train-3f2a-1", "host": "gpu-box"}),
    "ExecutionProgress": _body(["attempt", "done", "total"], {
        "attempt": {"type": "integer", "minimum": 1, "maximum": 11, "description": "The retry, 1 the first"},
        "done": {"type": "integer", "minimum": 0, "maximum": 1000000},
        "total": {"type": "integer", "minimum": 0, "maximum": 1000000}},
        {"attempt": 1, "done": 3, "total": 8}),
    "AttemptEnd": _body(["attempt", "status"], {
        "attempt": {"type": "integer", "minimum": 1, "maximum": 11},
        "status": {"type": "string", "enum": list(ENDED)},
        "error": {"type": "string", "maxLength": DESCRIPTION_MAX}},
        {"attempt": 1, "status": "failed", "error": "cell 3 raised ValueError: bad input"}),
    "ExecutionEnvironment": _body(["captured"], {
        "kernel": {**_NAME, "description": "A notebook run's kernel (a command run sends none)"},
        "captured": {"type": "object", "required": ["python", "packages_hash"],
                                      "description": "jupyter_mlws.environment.capture()'s dict"}},
        {"kernel": "python3", "captured": {"python": "3.11.7", "packages_hash": "ab12...",
                                           "packages": ["numpy==1.26.4"]}}),
    "CellRecords": _body(["cells"], {"cells": {"type": "array", "maxItems": 20000,
                                               "items": {"type": "object"}}},
                         {"cells": [{"index": 0, "number": 1, "status": "ok"}]}),
    "RunEnd": _body(["status"], {
        "status": {"type": "string", "enum": list(ENDED)},
        "error": {"type": "string", "maxLength": DESCRIPTION_MAX}},
        {"status": "failed", "error": "ValueError: bad input"}),
    "LoggedValue": _body(["key", "kind", "step", "value"], {
        "key": _NAME, "kind": {"type": "string", "enum": ["list", "table"]},
        "step": {"type": "integer", "minimum": STEP_MIN, "maximum": STEP_MAX},
        "timestamp": {"type": "integer", "minimum": TS_MIN, "maximum": TS_MAX},
        "value": {"description": "A list (kind list), or a table as {column: [...]} (kind table), "
                                 "at most 16 MB as JSON"}},
        {"key": "acc_per_class", "kind": "list", "step": 0, "value": [0.9, 0.8]}),
    "EnvironmentBuild": _body([], {
        "compute": {**_NAME, "description": "The target (default local)"},
        "run": {**_NAME, "description": "The environment this run executed in"},
        "kernel": {**_NAME, "description": "The environment of this installed kernel"},
        "spec": {"type": "object", "description": "A spec, as GET /environments/{env_hash} gives it"},
        "installer": {"type": "string", "enum": ["auto", "uv", "pip"]},
        "index_url": {**_TEXT, "minLength": 1},
        "find_links": {"type": "array", "maxItems": 16, "items": {**_TEXT, "minLength": 1}},
        "no_index": {"type": "boolean"},
        "force": {"type": "boolean", "description": "Build even when the release check says "
                  "the build will fail (the target's Python cannot take pins of the spec), as "
                  "mlws env build --yes; without it such a build is a 400 naming the pins, and "
                  "nothing is built (default false)"}},
        {"compute": "local", "run": "0123abcd"}),
    "EnvironmentPrune": _body([], {
        "compute": {**_NAME, "description": "One target's (default: every target's)"},
        "unused_for": {"type": "string", "minLength": 1, "maxLength": 32,
                       "description": "A duration, e.g. 30d, 12h (default 30d)"},
        "cache": {"type": "boolean", "description": "Also empty each target's download cache "
                  "(default false)"}},
        {"compute": "local", "unused_for": "30d"}),
    "AutoMLRun": _body(["data", "target", "task"], {
        "data": {**_TEXT, "minLength": 1, "description": "A tabular dataset version: NAME, "
                 "NAME:VERSION or NAME@ALIAS"},
        "target": {**_TEXT, "minLength": 1, "description": "The column to predict"},
        "task": {"type": "string", "enum": ["classification", "regression"]},
        "metric": {**_TEXT, "description": "FLAML's metric name (default roc_auc for two "
                   "classes, accuracy for more, r2 for regression)"},
        "time_budget": {"type": ["number", "string"], "description": "Seconds (>= 5), or 90s, "
                        "10m, 1h: the search and the best model's refit"},
        "max_trials": {"type": "integer", "minimum": 1},
        "seed": {"type": "integer", "minimum": 0},
        "estimators": {"type": "array", "items": _TEXT, "maxItems": 32,
                       "description": "FLAML estimator names (default: FLAML's list)"},
        "experiment": _NAME, "compute": _NAME,
        "register": {"type": "boolean", "description": "Register the best model (default true)"},
        "model_name": _NAME,
    }, {"data": "breast:1", "target": "target", "task": "classification", "time_budget": "30s"}),
    "PipelineRun": _body([], {
        "path": {**_TEXT, "minLength": 1, "description": "A pipeline.yaml, relative to the "
                                                          "server's folder (or give definition)"},
        "definition": {"type": "object", "description": "The pipeline as the YAML's JSON: name, "
                                                         "parameters, steps"},
        "project_dir": {**_TEXT, "minLength": 1, "description": "The folder the steps' paths are "
                        "relative to, inside the server's folder (default: the YAML's)"},
        "parameters": {"type": "object", "maxProperties": PARAMS_MAX,
                       "description": "Typed values of the pipeline's parameters, or STEP.NAME"},
        "parameter_texts": _PARAMETER_TEXTS,
        "compute": {**_NAME, "description": "The compute target steps execute on (default local)"},
        "only": _STEP_NAMES, "force": _STEP_NAMES,
        "from": {**_NAME, "description": "Run this step and the steps after it"},
        "no_reuse": {"type": "boolean", "description": "Run every step"},
        "max_parallel": {"type": "integer", "minimum": 1, "maximum": 64}},
        {"path": "folder/pipeline.yaml", "parameters": {"rows": 500}}),
    "ScoringData": {"description": "Any JSON value the endpoint's run(data) takes",
                    "example": {"data": [[5.1, 3.5, 1.4, 0.2]]}},
    **VM_SCHEMAS,
    **SCHEDULE_SCHEMAS,
    **DATASTORE_SCHEMAS,
    **DATASET_SCHEMAS,
}


def request_schema(template: str, method: str) -> dict | None:
    """The schema a route's request body must fit (``template`` as in ``routes.ROUTES``),
    None when the route takes no body."""
    path = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", template)
    op = PATHS.get(path, {}).get(method.lower(), {})
    content = op.get("requestBody", {}).get("content", {})
    if "multipart/form-data" in content:  # its JSON part (see _upload_body)
        schema = content["multipart/form-data"]["schema"]["properties"]["submission"]
    elif "application/json" in content:
        schema = content["application/json"]["schema"]
    else:
        return None
    return SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]


def document(base_url: str = "/") -> dict:
    """The OpenAPI document, its server URL under ``base_url``."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "jupyter_mlws workspace API", "version": __version__,
                 "description": "Runs, experiments, pipelines, models, endpoints, secrets (never their "
                                "values), compute targets and roles of the workspace. Errors are JSON "
                                "{message, reason}. Authenticate as with any Jupyter API (Authorization: token ..., or "
                                "environments and roles of the workspace. Errors are JSON {message, reason}. "
                                "Authenticate as with any Jupyter API (Authorization: token ..., or "
                                "the session cookie with _xsrf)."},
        "servers": [{"url": base_url.rstrip("/") + "/mlws/api"}],
        "paths": PATHS,
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "token": {"type": "apiKey", "in": "header", "name": "Authorization"}}},
        "security": [{"token": []}],
    }
