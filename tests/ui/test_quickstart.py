"""What `mlws quickstart` shows a new user: its own sample runs, in JupyterLab at 1440x900 as
quickstart starts it; the navigator, the runs table of its experiment with the best run marked,
and that run's page with its chart beside it, in view without resizing anything."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mlws_testing import start_jupyter, stop_jupyter

from jupyter_mlws import Workspace
from jupyter_mlws.quickstart import lab_command, lab_workspace

from .conftest import SCREENSHOTS
from .conftest import palette


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    """`mlws quickstart --no-lab` in a fresh folder, then the `jupyter lab` it would start."""
    root = tmp_path_factory.mktemp("quickstart")
    (root / "ws").mkdir()
    mlws = str(Path(sys.executable).parent / "mlws")
    out = subprocess.run([mlws, "quickstart", "--no-lab", "--path", str(root / "ws")], capture_output=True,
                         text=True, timeout=300, check=True).stdout
    best = re.search(r"best run: (\w+)", out).group(1)
    args = [arg for arg in lab_command(root / "ws")[2:] if arg != "--allow-root"]  # what quickstart passes `jupyter lab`
    server = start_jupyter(root, lambda port, token: [
        sys.executable, "-m", "jupyterlab", *args, "--no-browser", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"],
        cwd=root / "ws")
    try:
        yield {"url": server.url, "token": server.token, "best": best, "root": root / "ws"}
    finally:
        stop_jupyter(server)
        shutil.rmtree(root, ignore_errors=True)


def _inside(box, width=1440, height=900) -> bool:
    return box is not None and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width \
        and box["y"] + box["height"] <= height


def test_quickstart_shows_the_best_run_and_its_chart(browser, quickstart):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{quickstart['url']}?token={quickstart['token']}")  # lands on quickstart's URL
        # a JupyterLab workspace of this mlws workspace's own (JupyterLab keeps them per user:
        # another project's layout never comes back here)
        name = lab_workspace(quickstart["root"])
        assert re.fullmatch(r"mlws-[0-9a-f]{8}", name)
        page.wait_for_url(f"**/lab/workspaces/{name}*")
        # the navigator, open by itself
        page.locator(".mlws-Sidebar .mlws-NavRun").first.wait_for()
        assert page.locator(".mlws-Sidebar .mlws-NavRun").count() == 3
        # the runs table of the sample's experiment, the best run marked (lowest loss)
        table = page.locator("#jp-main-dock-panel .mlws-RunsPage")
        best = table.locator(".mlws-RunRow.mlws-mod-best")
        best.wait_for()
        assert best.get_attribute("data-run-id") == quickstart["best"]
        assert table.locator(".mlws-Experiment").input_value() == "quickstart"
        assert table.locator(".mlws-RunRow").count() == 3
        assert table.locator(".mlws-BestMetric").input_value() == "loss"
        assert table.locator(".mlws-BestDirection").inner_text() == "lowest"
        # beside it, the best run's page on its Charts tab, its loss drawn, both in view
        view = page.locator(f"#jp-main-dock-panel .mlws-RunPage[data-run-id='{quickstart['best']}']")
        view.locator(".mlws-RunTab.mlws-mod-active[data-tab='charts']").wait_for()
        chart = view.locator(".mlws-RunSection[data-tab='charts'] .mlws-ChartCard[data-metric='loss'] canvas")
        try:
            chart.wait_for()
        except Exception:
            page.screenshot(path=str(SCREENSHOTS / "quickstart-failed.png"))
            raise
        page.wait_for_timeout(500)  # the split settles
        assert _inside(chart.bounding_box()), chart.bounding_box()
        assert _inside(best.bounding_box()), best.bounding_box()
        status = best.locator("td").nth(2)
        assert status.inner_text().strip() == "completed"
        assert status.evaluate("td => td.scrollWidth <= td.clientWidth")
        page.mouse.move(0, 890)
        page.screenshot(path=str(SCREENSHOTS / "quickstart.png"))

        # the dark theme: the same view in JupyterLab's dark colours (looked at, not committed)
        plot = view.locator(".mlws-ChartCard[data-metric='loss'] .mlws-Plot")
        assert plot.get_attribute("data-theme") == "JupyterLab Light"
        palette(page, "JupyterLab Dark")
        page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
        # the chart is drawn again in the dark theme's colours (a canvas cannot follow CSS variables)
        view.locator(".mlws-ChartCard[data-metric='loss'] .mlws-Plot[data-theme='JupyterLab Dark'] canvas").wait_for()
        page.wait_for_timeout(1000)
        page.screenshot(path=str(SCREENSHOTS / "quickstart-dark.png"))
        palette(page, "JupyterLab Light")
        page.wait_for_function("document.body.dataset.jpThemeLight === 'true'")

        # the first view is shown once: a reload keeps the tabs as the user left them (the run's
        # page closed stays closed), and adds no second table or run page beside them
        tabs = page.locator("#jp-main-dock-panel .lm-DockPanel-tabBar .lm-TabBar-tab")
        assert tabs.count() == 2
        page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon").last.click()
        page.wait_for_function(
            "document.querySelectorAll('#jp-main-dock-panel .lm-DockPanel-tabBar .lm-TabBar-tab').length === 1")
        page.wait_for_timeout(1500)  # the layout is saved
        page.reload()
        table.locator(".mlws-RunRow.mlws-mod-best").wait_for()
        page.wait_for_timeout(1500)  # anything the first view would add has been added
        assert tabs.count() == 1
        assert page.locator("#jp-main-dock-panel .mlws-RunPage").count() == 0

        # one runs table per experiment: the sidebar's "Runs table" (its experiment) and the
        # palette's focus the first view's table, they open no second one
        page.locator(".mlws-Sidebar .mlws-OpenRunsTable").click()
        palette(page, "Runs table")
        page.wait_for_timeout(1000)
        assert tabs.count() == 1
        assert page.locator("#jp-main-dock-panel .mlws-RunsPage").count() == 1
    finally:
        context.close()


def test_the_first_view_is_the_same_on_every_visit(browser, quickstart):
    """A later experiment and a better run still running change nothing of the first view: after a
    reload the table stays on quickstart's experiment, and a reset opens its best completed run."""
    with Workspace.open(quickstart["root"]) as ws:
        live = ws.experiment("quickstart").start_run("live", snapshot=False, outputs=None)
        try:
            live.log("loss", 1e-9)  # better than every sample, but not finished
            with ws.experiment("later").start_run("later-1", snapshot=False, outputs=None) as run:
                run.log("loss", 0.5)  # the experiment with the latest run
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page = context.new_page()
            page.set_default_timeout(30_000)
            url = f"{quickstart['url']}lab/workspaces/{lab_workspace(quickstart['root'])}"
            try:
                for visit in (f"{url}?reset&token={quickstart['token']}", f"{url}?token={quickstart['token']}"):
                    page.goto(visit)
                    table = page.locator("#jp-main-dock-panel .mlws-RunsPage")
                    table.locator(".mlws-RunRow").first.wait_for()
                    view = page.locator(f"#jp-main-dock-panel .mlws-RunPage[data-run-id='{quickstart['best']}']")
                    view.wait_for()
                    page.wait_for_timeout(1000)  # anything the first view would add has been added
                    assert table.locator(".mlws-Experiment").input_value() == "quickstart", visit
                    assert page.locator("#jp-main-dock-panel .mlws-RunPage").count() == 1, visit
                    assert page.locator("#jp-main-dock-panel .mlws-RunsPage").count() == 1, visit
            finally:
                context.close()
        finally:
            live.end()
