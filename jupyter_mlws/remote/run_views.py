"""What ``mlws run show`` reads of a run besides its record, over HTTP: its logged values, a
session's cells and its lineage (``ws.values``, ``ws.cells``, ``ws.lineage`` of a local
workspace, whose methods and return shapes these mirror)."""

from __future__ import annotations

from pathlib import Path

from ..fsutil import atomic_write, safe_join
from .service import RemoteService


class RemoteValues(RemoteService):
    """The lists, tables and images a run logged (see :class:`~jupyter_mlws.values.ValueService`)."""

    name = "values"

    def page(self, run_id: str, key: str | None = None, max_results: int = 1) -> dict:
        """The newest ``max_results`` steps of each key (or of ``key``), and every key."""
        return self.client.call("GET", ("runs", run_id, "values"),
                                query={"key": key, "max_results": max_results})

    def save_images(self, run_id: str, dest, key: str | None = None,
                    max_results: int = 1) -> list[Path]:
        """Write the images of :meth:`page` into the folder ``dest`` as ``KEY-STEP.FORMAT``
        (see :meth:`ValueService.save_images <jupyter_mlws.values.ValueService.save_images>`)."""
        from ..values import image_name  # (its rule: the store's names them so too)

        written = []
        for item in self.page(run_id, key, max_results)["values"]:
            if item["kind"] != "image":
                continue
            target = safe_join(dest, image_name(item["key"], item["step"], item["image"]["format"]))
            atomic_write(target, self.client.stream(
                ("runs", run_id, "values", item["key"], str(item["step"]), "image")))
            written.append(target)
        return written


class RemoteCells(RemoteService):
    """The cells a session run executed (see :class:`~jupyter_mlws.cells.CellService`)."""

    name = "cells"

    def list(self, run_id: str) -> list[dict]:
        return self.client.call("GET", ("runs", run_id, "cells"))["cells"]


class RemoteLineage(RemoteService):
    """A run's links to other runs and model versions (see
    :class:`~jupyter_mlws.lineage.LineageService`)."""

    name = "lineage"

    def of(self, run_id: str) -> dict:
        return self.client.call("GET", ("runs", run_id, "lineage"))
