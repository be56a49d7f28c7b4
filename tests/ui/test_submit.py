"""'Submit as experiment' from a notebook's toolbar: a form from its parameters cell, then a run."""

from __future__ import annotations

import shutil
from pathlib import Path

from jupyter_mlws import Workspace

from .conftest import SCREENSHOTS

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"


def test_submit_a_notebook_with_its_parameter_form(page, lab):
    root_dir = Path(lab["log"]).parent / "ws"
    shutil.copy(NOTEBOOKS / "train.ipynb", root_dir / "submit-me.ipynb")
    page.goto(f"{lab['url']}{lab['home']}/tree/submit-me.ipynb?token={lab['token']}")
    page.locator(".mlws-SubmitButton").click()

    dialog = page.locator(".jp-Dialog")
    lr = dialog.locator(".mlws-SubmitParam[data-param='lr']")
    lr.wait_for()
    assert lr.input_value() == "0.1"  # the notebook's default, read by the server
    lr.fill("0.5")
    dialog.locator(".mlws-SubmitExperiment").fill("ui-submit")
    page.screenshot(path=str(SCREENSHOTS / "submit.png"))
    dialog.locator("button", has_text="Submit").click()

    view = page.locator(".mlws-RunView")
    view.locator(".mlws-RunTitle").wait_for()
    run_id = None
    with Workspace.open(root_dir) as ws:
        [run] = ws.search_runs(experiments=["ui-submit"])
        run_id = run.id
        assert run.params["lr"] == "0.5" and run.record.source_type == "notebook"
    assert run_id in view.inner_text()
    assert "0.5" in view.locator(".mlws-Params").inner_text()
