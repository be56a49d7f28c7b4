"""The notebook widgets rendered by a real kernel in a real JupyterLab, in Chromium."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import nbformat

import pytest

from jupyter_mlws import Workspace

from .conftest import SCREENSHOTS

#: an SVG whose script would set a flag on the page, were it ever run
SVG = (b"<svg xmlns='http://www.w3.org/2000/svg' width='40' height='40' "
       b"onload='window.parent.__mlws_svg_ran = 1'><circle cx='20' cy='20' r='16' fill='teal'/></svg>")


@pytest.fixture(scope="module")
def evaluated(lab):
    """A run that logged one accuracy, a confusion table, per-class scores and ROC plots."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    with Workspace.open(lab["root"]) as ws:
        with ws.experiment("wine").start_run("wine-eval", description="random forest, 200 trees",
                                             tags={"stage": "review"}, snapshot=False,
                                             outputs=None) as run:
            run.log("accuracy", 0.9444)
            run.log_table("confusion", {"class": ["class_0", "class_1", "class_2"],
                                        "class_0": [14, 0, 0], "class_1": [1, 17, 0], "class_2": [0, 1, 3]})
            run.log_list("f1_per_class", [0.966, 0.944, 0.857])
            for epoch in range(3):
                fig = Figure(figsize=(3.2, 2.4))
                ax = fig.add_subplot()
                ax.plot([0, 0.1 / (epoch + 1), 1], [0, 0.8 + 0.05 * epoch, 1], label="ROC")
                ax.plot([0, 1], [0, 1], linestyle="--")
                ax.set_title(f"ROC, epoch {epoch}")
                buf = io.BytesIO()
                fig.savefig(buf, format="png")
                run.log_image("roc", buf.getvalue())
            run.log_image("logo", SVG)
        return run.id


def test_run_details_and_register_model_render_and_work_in_a_notebook(page, lab, evaluated):
    root_dir = Path(lab["log"]).parent / "ws"
    with Workspace.open(root_dir) as ws:  # a model for the Deploy form to offer
        (root_dir / "weights.bin").write_bytes(b"\0" * 64)
        ws.register_model("ui-deploy", root_dir / "weights.bin")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from jupyter_mlws.widgets import RunDetails, RegisterModel\n"
                                  f"RunDetails({lab['long_id']!r})"),
        nbformat.v4.new_code_cell(f"RegisterModel({lab['long_id']!r})"),
        nbformat.v4.new_code_cell("from jupyter_mlws.widgets import Deploy\nDeploy('ui-deploy')"),
        nbformat.v4.new_code_cell(f"RunDetails({evaluated!r})"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, root_dir / "widgets.ipynb")

    page.goto(f"{lab['url']}lab/tree/widgets.ipynb?token={lab['token']}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    # the kernel is up when the status bar says so; then Run > Run All Cells
    page.locator(".jp-StatusBar-Widget", has_text="| Idle").wait_for(timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.get_by_text("Run All Cells", exact=True).click()

    details = page.locator(".mlws-RunDetails", has_text="long-run")
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

    # a run's logged values in brief: a number for a single value, the table, thumbnails
    evaluation = page.locator(".mlws-RunDetails", has_text="wine-eval")
    evaluation.wait_for(timeout=60_000)
    number = evaluation.locator(".mlws-WidgetNumber[data-metric='accuracy']")
    assert number.inner_text().split() == ["accuracy", "0.9444"]
    assert evaluation.locator("svg polyline").count() == 0  # no lone dot on a chart
    assert "random forest, 200 trees" in evaluation.inner_text() and "stage=review" in evaluation.inner_text()
    rows = evaluation.locator(".mlws-WidgetTable tr")
    assert rows.count() == 4 and rows.nth(2).inner_text().split() == ["class_1", "0", "17", "1"]
    assert "[0.966, 0.944, 0.857]" in evaluation.locator(".mlws-WidgetList").inner_text()
    thumbs = evaluation.locator("img[alt^='roc at step']")
    assert thumbs.count() == 3
    for i in range(3):  # decoded from the stored bytes: real pictures, not broken links
        assert thumbs.nth(i).evaluate("img => img.complete && img.naturalWidth") > 100
    logo = evaluation.locator("img[alt='logo at step 0']")
    assert logo.evaluate("img => img.complete && img.naturalWidth") == 40
    assert page.evaluate("() => window.__mlws_svg_ran") is None  # an SVG in an <img> runs nothing
    evaluation.scroll_into_view_if_needed()
    page.evaluate("el => el.scrollIntoView({block: 'start'})", evaluation.element_handle())
    page.screenshot(path=str(SCREENSHOTS / "run-details-widget.png"))
