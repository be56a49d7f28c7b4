"""A tiny training script: fit y = 2x + 1 by gradient descent, logging as it goes.

``mlws quickstart`` runs it a few times with different learning rates; run it
yourself with ``mlws run start -e quickstart -- python train_line.py 0.05``.
"""

import json
import os
import random
import sys

import jupyter_mlws as mlws

lr = float(sys.argv[1]) if len(sys.argv) > 1 else 0.05
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 60
rng = random.Random(0)
data = [(x / 10, 2 * x / 10 + 1 + rng.gauss(0, 0.1)) for x in range(-20, 21)]

run = mlws.current_run()
run.log_params({"lr": lr, "epochs": epochs, "model": "line"})
w = b = 0.0
for epoch in range(epochs):
    gw = sum(2 * (w * x + b - y) * x for x, y in data) / len(data)
    gb = sum(2 * (w * x + b - y) for x, y in data) / len(data)
    w, b = w - lr * gw, b - lr * gb
    loss = sum((w * x + b - y) ** 2 for x, y in data) / len(data)
    mlws.log("loss", loss)
    if epoch % 20 == 0:
        print(f"epoch {epoch}: loss {loss:.4f}")
run.log("w", w)
run.log("b", b)
residuals = [y - (w * x + b) for x, y in data]
run.log_list("residuals", residuals)
run.log_table("fit", {"x": [x for x, _ in data], "y": [y for _, y in data],
                      "pred": [w * x + b for x, _ in data]})
os.makedirs("outputs", exist_ok=True)
with open("outputs/model.json", "w") as f:
    json.dump({"w": w, "b": b}, f)
print(f"done: w={w:.3f} b={b:.3f} loss={loss:.4f}")
