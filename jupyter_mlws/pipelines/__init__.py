"""Notebook pipelines: a DAG of notebook and script steps, with steps reused by content.

:mod:`.definition` (``Pipeline``, ``Step``, the YAML form and its checks), :mod:`.keys` (a
step's reuse key and why a step ran), :mod:`.records` (the tables), :mod:`.service` (``ws.
pipelines``: run, list, show, describe) and :mod:`.orchestrator` (the process that executes a
pipeline run).  Nothing here imports the store or a kernel at ``import jupyter_mlws.pipelines``.
"""

from .definition import Pipeline, Step, load, parse

__all__ = ["Pipeline", "Step", "load", "parse"]
