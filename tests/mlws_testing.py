"""What several test folders share (importable everywhere: setup.cfg puts tests/ on sys.path)."""

from __future__ import annotations

import pickle
from pathlib import Path


def iris_model(folder: Path, C: float = 1.0):
    """Fit a LogisticRegression on iris, pickle it as ``folder/model.pkl`` (the folder is made);
    return the model and the training features."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(C=C, max_iter=1000).fit(X, y)
    folder.mkdir(parents=True)
    with open(folder / "model.pkl", "wb") as f:
        pickle.dump(model, f)
    return model, X
