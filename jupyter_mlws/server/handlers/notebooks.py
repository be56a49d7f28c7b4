"""Notebook parameters: what the submit form shows before a notebook is run."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import MlwsHandler


class NotebookParametersHandler(MlwsHandler):
    """GET ``?notebook=folder/train.ipynb``: its parameters cell (names, defaults, types) and kernel.

    Part of submitting, and it tells which files exist in the server's folder: contributors
    and owners only (readers read runs, not the server's files).
    """

    auth_resource = "mlws:runs"
    read_action = "write"

    @web.authenticated
    @authorized
    async def get(self):
        from ...notebooks import load_notebook, parameter_defaults
        from ...notebooks.kernels import kernel_name

        name = self.get_query_argument("notebook", None)
        nb = await self.call(load_notebook, self.app.notebook_path(name), name)
        found = parameter_defaults(nb)
        self.reply({"notebook": name, "has_parameters_cell": found is not None,
                    "parameters": found or [],
                    "kernel": kernel_name(nb.metadata)})


#: (route template under mlws/api, handler)
ROUTES = [
    ("/notebook-parameters", NotebookParametersHandler),
]
