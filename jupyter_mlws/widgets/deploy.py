"""``Deploy(model)``: deploy a model version with a scoring script, then call the endpoint."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import ipywidgets as W

from ..errors import MlwsError, Unavailable
from .common import error_html, esc, status_badge, workspace_of


class Deploy(W.VBox):
    """Choose a version, a scoring script and workers; deploy with progress; test the endpoint.

    Parameters
    ----------
    model : ModelVersion or str
        ``"iris"``, ``"iris:2"``, ``"iris@champion"`` or a registered version.
    workspace : Workspace, optional
        Where the model is registered (default: the workspace found from here).
    timeout : float
        Seconds the endpoint may take to become healthy before the widget says it is still
        starting (the core's wait: :meth:`Workspace.deploy`).

    The start runs in a thread: the kernel stays free while the endpoint comes up.
    """

    def __init__(self, model: Any, *, workspace=None, entry_script: str = "score.py",
                 timeout: float = 120.0):
        self._ws = workspace_of(model, workspace)
        self.timeout = timeout
        chosen = model if not isinstance(model, str) else self._ws.models.resolve(model)
        versions = self._ws.models.versions(chosen.name)
        self.version = W.Dropdown(
            options=[(v.ref + (f" @{', @'.join(v.aliases)}" if v.aliases else ""), v.ref) for v in versions],
            value=chosen.ref, description="version")
        self.endpoint = W.Text(value=f"{chosen.name}-api", description="endpoint")
        self.script = W.Text(value=str(entry_script), description="script")
        self.workers = W.BoundedIntText(value=1, min=1, max=64, description="workers")
        self.button = W.Button(description="Deploy", button_style="primary")
        self.status = W.HTML()
        self.result = W.HTML()
        self.data = W.Textarea(placeholder='{"data": [[5.1, 3.5, 1.4, 0.2]]}', description="input",
                               layout=W.Layout(width="100%"))
        self.test = W.Button(description="Test", disabled=True)
        self.answer = W.HTML()
        super().__init__([W.HTML("<b>Deploy a model</b>"), self.version, self.endpoint, self.script,
                          self.workers, self.button, self.status, self.result, self.data, self.test,
                          self.answer])
        self.add_class("mlws-Deploy")
        self.info: dict | None = None
        self._thread: threading.Thread | None = None
        self.button.on_click(lambda _b: self.deploy())
        self.test.on_click(lambda _b: self.invoke())

    def deploy(self) -> None:
        """Start the deployment in a thread; the widget follows it (see :meth:`wait`)."""
        self.button.disabled = True
        self.result.value = ""
        self.status.value = f"{status_badge('creating')} starting {esc(self.endpoint.value)}…"
        self._thread = threading.Thread(target=self._deploy, name="mlws-deploy", daemon=True)
        self._thread.start()

    def _deploy(self) -> None:
        name = self.endpoint.value
        started = time.monotonic()
        done = threading.Event()

        def tick() -> None:  # the seconds it has been starting, while the core waits
            while not done.wait(0.25):
                self.status.value = (f"{status_badge('creating')} starting {esc(name)}… "
                                     f"{time.monotonic() - started:.1f} s")

        ticker = threading.Thread(target=tick, name="mlws-deploy-tick", daemon=True)
        ticker.start()
        try:
            info, error = self._ws.deploy(self.version.value, name, self.script.value,
                                          workers=int(self.workers.value), timeout=self.timeout), None
        except Unavailable as exc:  # it failed to start, or is still starting after the timeout
            info, error = self._ended(name), exc
        except Exception as exc:
            info, error = None, exc
        finally:
            done.set()
            ticker.join()
        if info is None:
            self.status.value = error_html(error)
            self.button.disabled = False
            return
        self.info = info
        self.status.value = f"{status_badge(info['state'])} {esc(name)} after {time.monotonic() - started:.1f} s"
        if info["state"] != "healthy":
            self.result.value = error_html(RuntimeError(info.get("error") or info["state"]))
            self.button.disabled = False
            return
        key = self._ws.endpoints.keys(name)["primary"]
        self.result.value = (
            f'<div>URL: <code class="mlws-DeployUrl">{esc(info["scoring_uri"])}</code></div>'
            f'<div>key: <code style="filter:blur(3px)" title="the primary key">{esc(key[:6])}…</code> '
            f'<button class="mlws-CopyKey" onclick="navigator.clipboard.writeText({esc(json.dumps(key))})">'
            f"copy key</button> (call with <code>Authorization: Bearer KEY</code>)</div>")
        self.test.disabled = False

    def _ended(self, name: str) -> dict | None:
        """The endpoint that failed to start (None while it is still starting, or is gone)."""
        try:
            info = self._ws.endpoints.show(name)
        except MlwsError:
            return None
        return None if info["state"] in ("creating", "healthy") else info

    def wait(self, timeout: float = 120.0) -> dict | None:
        """Block until the deployment has finished starting; return the endpoint (None if it failed)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.info if self.info and self.info["state"] == "healthy" else None

    def invoke(self):
        """Call the endpoint with the JSON in the input box; show its answer."""
        try:
            data = json.loads(self.data.value or "null")
        except ValueError as exc:
            self.answer.value = error_html(ValueError(f"the input is not JSON: {exc}"))
            return None
        try:
            out = self._ws.endpoints.invoke(self.endpoint.value, data)
        except Exception as exc:
            self.answer.value = error_html(exc)
            return None
        self.answer.value = f'<pre class="mlws-DeployAnswer">{esc(json.dumps(out, indent=1))}</pre>'
        return out
