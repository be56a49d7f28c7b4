"""Iris scoring script for the endpoint tests (Azure ML contract), with test hooks.

A request is {"data": [[4 floats], ...]} and may carry test switches: "sleep" (seconds
run() sleeps), "stuck" (seconds run() sleeps, ignoring any interruption), "raise" (run()
raises), "exit" (the worker process dies).
"""

import json
import os
import pickle
import time

model = None
loaded_from = None

input_schema = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {"type": "array", "items": {"type": "array", "items": {"type": "number"},
                                            "minItems": 4, "maxItems": 4}},
        "sleep": {"type": "number"},
        "stuck": {"type": "number"},
        "raise": {"type": "boolean"},
        "exit": {"type": "boolean"},
    },
}
output_schema = {"type": "object", "properties": {"predictions": {"type": "array"}}}


def init():
    global model, loaded_from
    folder = os.environ["MLWS_MODEL_DIR"]
    dirs = json.loads(os.environ["MLWS_MODEL_DIRS"])
    assert folder in dirs.values()
    with open(os.path.join(folder, "model.pkl"), "rb") as f:
        model = pickle.load(f)
    loaded_from = sorted(dirs)


def run(data):
    if data.get("sleep"):
        time.sleep(data["sleep"])
    if data.get("stuck"):
        end = time.monotonic() + data["stuck"]
        while time.monotonic() < end:
            try:
                time.sleep(max(0.0, end - time.monotonic()))
            except BaseException:  # a run() that will not be interrupted
                pass
    if data.get("raise"):
        raise ValueError("secret internal detail")
    if data.get("exit"):
        os._exit(17)
    return {"predictions": model.predict(data["data"]).tolist(), "models": loaded_from,
            "deployment": os.environ.get("MLWS_DEPLOYMENT")}
