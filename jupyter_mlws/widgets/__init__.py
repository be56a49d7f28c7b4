"""Notebook widgets (ipywidgets 8) over the workspace, for JupyterLab 4 and Notebook 7.

- :class:`RunDetails`: a run's live status, metric charts, logs and child runs;
- :class:`AutoMLDetails`: an automated-ML search's state and leaderboard, live while it runs;
- :class:`RegisterModel`: a form that registers a model from a run's artifact or a path;
- :class:`Deploy`: deploy a model version with a scoring script, then call the endpoint.

They call the Workspace service in the kernel directly (no HTTP to the server) and use only
standard ipywidgets, so no front-end extension beyond ipywidgets' own is needed.
"""

from __future__ import annotations

__all__ = ["AutoMLDetails", "Deploy", "RegisterModel", "RunDetails"]


def __getattr__(name: str):  # ipywidgets loads only when a widget is first used
    if name == "RunDetails":
        from .run_details import RunDetails

        return RunDetails
    if name == "AutoMLDetails":
        from .automl_details import AutoMLDetails

        return AutoMLDetails
    if name == "RegisterModel":
        from .register_model import RegisterModel

        return RegisterModel
    if name == "Deploy":
        from .deploy import Deploy

        return Deploy
    raise AttributeError(f"module 'jupyter_mlws.widgets' has no attribute {name!r}")
