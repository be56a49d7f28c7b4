"""The notebook widgets rendered by a real kernel in a real JupyterLab, in Chromium."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import nbformat

from jupyter_mlws import Workspace

from .conftest import SCREENSHOTS


def test_run_details_and_register_model_render_and_work_in_a_notebook(page, lab):
    root_dir = Path(lab["log"]).parent / "ws"
    with Workspace.open(root_dir) as ws:  # a model for the Deploy form to offer
        (root_dir / "weights.bin").write_bytes(b"\0" * 64)
        ws.register_model("ui-deploy", root_dir / "weights.bin")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from jupyter_mlws.widgets import RunDetails, RegisterModel\n"
                                  f"RunDetails({lab['long_id']!r})"),
        nbformat.v4.new_code_cell(f"RegisterModel({lab['long_id']!r})"),
        nbformat.v4.new_code_cell("from jupyter_mlws.widgets import Deploy\nDeploy('ui-deploy')"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, root_dir / "widgets.ipynb")

    page.goto(f"{lab['url']}lab/tree/widgets.ipynb?token={lab['token']}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    # the kernel is up when the status bar says so; then Run > Run All Cells
    page.locator(".jp-StatusBar-Widget", has_text="| Idle").wait_for(timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.get_by_text("Run All Cells", exact=True).click()

    details = page.locator(".mlws-RunDetails")
    details.wait_for(timeout=60_000)
    assert "long-run" in details.inner_text() and "completed" in details.inner_text()
    assert "0.001" in details.locator(".mlws-WidgetParams").inner_text()
    chart = details.locator("svg polyline[data-metric='loss']")
    chart.wait_for()
    assert len(chart.get_attribute("points").split()) > 100  # the 10,000-point series, thinned

    form = page.locator(".mlws-RegisterModel")
    form.wait_for()
    name = form.locator("input[type='text']").first
    name.fill("ui-model")
    name.press("Enter")
    artifact = form.locator("select")
    assert artifact.input_value() == ""  # summary.json is no plain model: nothing is chosen for you
    artifact.select_option("summary.json")
    form.locator("button", has_text="Register").click()
    form.locator(".mlws-RegisteredVersion", has_text="ui-model:1").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "widgets.png"))

    deploy = page.locator(".mlws-Deploy")
    deploy.wait_for()
    assert deploy.locator("select").input_value() == "ui-deploy:1"
    assert deploy.locator("input[type='text']").first.input_value() == "ui-deploy-api"
    assert deploy.locator("button", has_text="Deploy").is_enabled()

    req = urllib.request.Request(f"{lab['url']}mlws/api/models/ui-model:1",
                                 headers={"Authorization": f"token {lab['token']}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        shown = json.load(resp)
    assert shown["run_id"] == lab["long_id"] and shown["files"][0]["path"] == "summary.json"
