"""'Submit as experiment' from the file browser and a notebook's toolbar: a form from its
parameters cell, then the new run's page, which opens the notebook again."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from jupyter_mlws import Workspace

from .conftest import SCREENSHOTS

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"


def test_submit_a_notebook_with_its_parameter_form(page, lab):
    root_dir = Path(lab["log"]).parent / "ws"
    nb = nbformat.read(NOTEBOOKS / "train.ipynb", as_version=4)
    nb.cells[1].source = "lr = 0.1\nC = 1.0\nlayers = [8]\nepochs = 5\nmessage = 'hi'"  # the parameters
    nbformat.write(nb, root_dir / "submit-me.ipynb")
    page.goto(f"{lab['url']}{lab['home']}?token={lab['token']}")
    # the file browser's context menu on the notebook
    item = page.locator(".jp-DirListing-item[data-file-type='notebook']", has_text="submit-me.ipynb")
    item.click(button="right")
    page.locator(".lm-Menu-item", has_text="Submit as experiment").click()

    dialog = page.locator(".jp-Dialog")
    lr = dialog.locator(".mlws-SubmitParam[data-param='lr']")
    lr.wait_for()
    assert lr.input_value() == "0.1"  # the notebook's default, read by the server
    c = dialog.locator(".mlws-SubmitParam[data-param='C']")
    assert c.input_value() == "1.0"  # a float shown as written, not as JavaScript's 1
    # a string as itself, as the run will record it and the Re-run form shows it (not 'hi')
    assert dialog.locator(".mlws-SubmitParam[data-param='message']").input_value() == "hi"
    assert dialog.locator(".mlws-Hint").inner_text().endswith("the others keep the notebook's defaults.")
    lr.fill("0.5")
    c.fill("2.0")
    dialog.locator(".mlws-SubmitExperiment").fill("ui-submit")
    page.screenshot(path=str(SCREENSHOTS / "submit.png"))
    dialog.locator("button", has_text="Submit").click()

    view = page.locator("#jp-main-dock-panel .mlws-RunPage")  # the new run's page
    view.locator(".mlws-RunTitle").wait_for()
    run_id = None
    with Workspace.open(root_dir) as ws:
        [run] = ws.search_runs(experiments=["ui-submit"])
        run_id = run.id
        assert run.record.source_type == "notebook"
        # the same record as `mlws run submit submit-me.ipynb -p lr 0.5 -p C 2.0`: every declared
        # parameter, floats kept as typed, the changed ones listed
        assert run.params == {"lr": "0.5", "C": "2.0", "layers": "[8]", "epochs": "5", "message": "hi"}
        assert json.loads(run.tags["overridden_params"]) == ["C", "lr"]
    assert view.get_attribute("data-run-id") == run_id
    assert run_id in view.locator(".mlws-RunPageHeader").inner_text()
    assert view.locator(".mlws-Params tr[data-key='lr'] td").inner_text() == "0.5"

    # the run's page opens the source notebook, whose toolbar submits it too
    # the source, then its link apart ("submit-me.ipynbopen submit-me.ipynb" once)
    assert view.locator(".mlws-Source dd").inner_text() == "notebook · submit-me.ipynb · open"
    assert view.locator(".mlws-OpenNotebook").get_attribute("title") == \
        "Open submit-me.ipynb, the notebook this run came from"
    view.locator(".mlws-OpenNotebook").click()
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="submit-me.ipynb")
    tab.wait_for()
    page.locator(".jp-NotebookPanel:visible .mlws-SubmitButton").click()
    dialog.locator(".mlws-SubmitParam[data-param='lr']").wait_for()
    assert dialog.locator(".mlws-SubmitParam[data-param='lr']").input_value() == "0.1"
    dialog.locator("button", has_text="Cancel").click()
    dialog.wait_for(state="detached")
