"""The ``mlws`` command line: a thin face over :class:`~jupyter_mlws.workspace.Workspace`.

``main`` (in :mod:`.main`, with the helpers every command shares: errors to exit codes,
tables, ``label: value`` fields, JSON) is the root command; each other module holds one
command group and imports only from ``.main``.  The groups join the root here, in one place.
"""

from __future__ import annotations

from .main import main


def _join_groups() -> None:
    # names bound in here only: the package's attributes stay its modules (cli.runs, cli.access, ...)
    from .access import access
    from .automl import automl
    from .compute import compute
    from .datasets import dataset
    from .datastores import datastore
    from .endpoints import endpoint
    from .environments import env
    from .models import model
    from .pipelines import pipeline
    from .run_values import run_cells, run_values
    from .runs import run
    from .scheduler import scheduler
    from .schedules import schedule
    from .secrets import secret
    from .server import server
    from .vms import compute_gc, vm
    from .workspace import experiment, quickstart, workspace

    for command in (run_values, run_cells):
        run.add_command(command)
    compute.add_command(compute_gc)
    for command in (quickstart, workspace, experiment, run, model, dataset, access, secret, compute,
                    env, server, scheduler, schedule, endpoint, pipeline, vm, datastore, automl):
        main.add_command(command)


_join_groups()

__all__ = ["main"]
