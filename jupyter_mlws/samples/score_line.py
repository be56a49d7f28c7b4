"""Scoring script for the quickstart's line model (``outputs/model.json`` of a ``train_line`` run).

``mlws endpoint create line-api --model line --entry-script score_line.py``, then
``mlws endpoint invoke line-api --data '{"x": [0.5, 1.0]}'``.
"""

import json
import os

input_schema = {"type": "object", "properties": {"x": {"type": "array", "items": {"type": "number"}}},
                "required": ["x"]}


def init():
    global model
    with open(os.path.join(os.environ["MLWS_MODEL_DIR"], "model.json")) as f:
        model = json.load(f)


def run(data):
    return {"predictions": [model["w"] * x + model["b"] for x in data["x"]]}
