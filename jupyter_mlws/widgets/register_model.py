"""``RegisterModel(run_or_path)``: a form that registers a model, then shows the new version."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import ipywidgets as W

from ..errors import InvalidInput
from ..models import likely_model_artifact
from .common import error_html, esc, run_id_of, table, workspace_of


class RegisterModel(W.VBox):
    """Register the next version of a model from a run's artifact, or from a file or folder.

    Parameters
    ----------
    run_or_path : Run, RunRecord, run id, or path
        A run (its artifacts and outputs are offered, and it becomes the lineage), or a
        local model file or folder.  A string that is an existing path is a path.
        Of a run's artifacts, the one that is plainly its model (a single model file, an
        MLflow model folder) is preselected; otherwise none is, and Register asks for one.
    workspace : Workspace, optional
        Where to register (default: the run's own, else the workspace found from here).
    """

    def __init__(self, run_or_path: Any, *, workspace=None):
        self._ws = workspace_of(run_or_path, workspace)
        self.run_id = None
        self.path = None
        if isinstance(run_or_path, (str, os.PathLike)) and Path(run_or_path).expanduser().exists():
            self.path = Path(run_or_path).expanduser()
            default_name, choices, likely = self.path.stem, [], None
        else:
            self.run_id = run_id_of(run_or_path)
            record = self._ws.runs.get(self.run_id)
            default_name = record.name
            files = [f["path"] for f in self._ws.runs.files(record.id) if f["kind"] == "artifact"]
            likely = likely_model_artifact(files)
            folders = {p.split("/")[0] for p in files if "/" in p}
            if likely and likely not in files:
                folders.add(likely)  # a nested folder, e.g. outputs/model
            choices = sorted(folders) + sorted(files)
        self.name = W.Text(value=_model_name(default_name), description="name")
        self.artifact = W.Dropdown(options=choices, value=likely, description="artifact",
                                   layout=W.Layout(display="" if self.run_id else "none"))
        self.tags = W.Text(placeholder="stage=dev, owner=me", description="tags")
        self.description = W.Text(description="description")
        self.button = W.Button(description="Register", button_style="primary")
        self.result = W.HTML()
        source = (f"from run <code>{esc(self.run_id)}</code>" if self.run_id
                  else f"from <code>{esc(self.path)}</code>")
        super().__init__([W.HTML(f"<b>Register a model</b> {source}"), self.name, self.artifact,
                          self.tags, self.description, self.button, self.result])
        self.add_class("mlws-RegisterModel")
        self.version = None
        self.button.on_click(lambda _b: self.register())

    def register(self):
        """Register with the form's values; show the new version, or the error (nothing stored)."""
        self.button.disabled = True
        try:
            tags = {}
            for item in filter(None, (t.strip() for t in self.tags.value.split(","))):
                key, sep, value = item.partition("=")
                if not sep or not key.strip():
                    raise ValueError(f"tag {item!r} is not KEY=VALUE")
                tags[key.strip()] = value.strip()
            if self.run_id and not self.artifact.value:
                raise InvalidInput("choose the artifact to register: the model file or folder of the run")
            if self.run_id:
                version = self._ws.register_model(self.name.value, run=self.run_id,
                                                  artifact=self.artifact.value, tags=tags,
                                                  description=self.description.value)
            else:
                version = self._ws.register_model(self.name.value, self.path, tags=tags,
                                                  description=self.description.value)
        except Exception as exc:
            self.result.value = error_html(exc)
            return None
        finally:
            self.button.disabled = False
        self.version = version
        self.result.value = (
            f'<div class="mlws-RegisteredVersion">registered <b>{esc(version.ref)}</b></div>'
            + table(["", ""], [["flavor", version.flavor], ["size", f"{version.size:,} bytes"],
                               ["sha256", version.sha256[:16] + "…"], ["run", version.run_id or "-"],
                               ["files", ", ".join(f["path"] for f in version.files)]]))
        return version


def _model_name(text: str) -> str:
    """A valid model name from a run or file name."""
    import re

    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._") or "model"
    return name[:128]
