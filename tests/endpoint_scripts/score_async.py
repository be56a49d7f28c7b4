"""An ``async def run`` scoring script: awaited on the worker's event loop."""

import asyncio
import os
import pickle

model = None


def init():
    global model
    with open(os.path.join(os.environ["MLWS_MODEL_DIR"], "model.pkl"), "rb") as f:
        model = pickle.load(f)


async def run(data):
    if data.get("sleep"):
        await asyncio.sleep(data["sleep"])
    return {"predictions": model.predict(data["data"]).tolist(), "async": True}
