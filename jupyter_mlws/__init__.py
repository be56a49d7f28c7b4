"""jupyter_mlws: a self-hosted machine-learning workspace that lives inside Jupyter.

``import jupyter_mlws`` stays light: the store, SQLAlchemy and the rest load
when first used.
"""

__version__ = "0.1.0"

_LAZY = {
    "Workspace": ("workspace", "Workspace"),
    "Experiment": ("workspace", "Experiment"),
    "Run": ("run", "Run"),
    "current_run": ("context", "current_run"),
    "log": ("context", "log"),
    "get_secret": ("context", "get_secret"),
    "parameters": ("context", "parameters"),
    "Pipeline": ("pipelines.definition", "Pipeline"),
    "Step": ("pipelines.definition", "Step"),
    "MlwsError": ("errors", "MlwsError"),
    "NotFound": ("errors", "NotFound"),
    "AlreadyExists": ("errors", "AlreadyExists"),
    "InvalidInput": ("errors", "InvalidInput"),
    "PermissionDenied": ("errors", "PermissionDenied"),
    "Conflict": ("errors", "Conflict"),
    "Unavailable": ("errors", "Unavailable"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jupyter_mlws' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)


def _jupyter_server_extension_points():
    """The Jupyter server extension (the REST API); its module loads only when the server asks."""
    from .server.extension import MlwsApp

    return [{"module": "jupyter_mlws.server.extension", "app": MlwsApp}]


def load_ipython_extension(ipython):
    """``%load_ext jupyter_mlws``: track this kernel session's cells as a run."""
    from .celltracker import load

    load(ipython)


def unload_ipython_extension(ipython):
    """``%unload_ext jupyter_mlws``: stop tracking and complete the session run."""
    from .celltracker import unload

    unload(ipython)
