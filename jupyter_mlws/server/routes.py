"""Every REST route of the extension, joined in one place from the handler modules' ``ROUTES``.

A route template is a path under ``{base_url}mlws/api``: ``{name}`` matches one path segment,
``{path}`` spans slashes, ``{name:a|b}`` matches one of the choices.  The template also names
the route's request-body schema in the OpenAPI document (:mod:`.openapi`), which a test checks
against the routes registered here.
"""

from __future__ import annotations

import re

from .handlers import (
    access, artifacts, automl, compute, datasets, datastores, endpoints, environments, executions,
    experiments, models, notebooks, pipelines, runs, schedules, secrets, submissions, tracking,
    values, vms, workspace,
)

API_PREFIX = "mlws/api"

#: (route template under mlws/api, handler), concept by concept
ROUTES = (workspace.ROUTES + experiments.ROUTES + runs.ROUTES + artifacts.ROUTES + values.ROUTES
          + tracking.ROUTES + notebooks.ROUTES + models.ROUTES + access.ROUTES + endpoints.ROUTES
          + secrets.ROUTES + compute.ROUTES + environments.ROUTES + executions.ROUTES
          + pipelines.ROUTES + vms.ROUTES + schedules.ROUTES + datastores.ROUTES + datasets.ROUTES
          + automl.ROUTES + submissions.ROUTES)


def route_pattern(template: str) -> str:
    """The tornado pattern of a route template (named groups, one path segment each)."""
    def group(m: re.Match) -> str:
        name, _, choices = m.group(1).partition(":")
        body = choices or (".+" if name == "path" else "[^/]+")
        return f"(?P<{name}>{body})"

    return "/" + API_PREFIX + re.sub(r"\{([^}]+)\}", group, template)


def handlers() -> list[tuple]:
    """Every API route of the extension, the catch-all 404 last."""
    return [(route_pattern(t), h, {"route": t}) for t, h in ROUTES] + [
        (rf"/{API_PREFIX}(?P<rest>/.*)?", workspace.NotFoundHandler)]
