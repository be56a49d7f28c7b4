"""The navigator's Runs table button opens the runs table of the experiment the navigator shows
(a runs page per experiment; the same experiment again focuses its page)."""

from __future__ import annotations

from jupyter_mlws import Workspace


def test_the_runs_table_button_opens_the_navigators_experiment(page, lab):
    with Workspace.open(lab["root"]) as ws:
        for experiment in ("nav-a", "nav-b"):
            with ws.experiment(experiment).start_run(f"{experiment}-run", snapshot=False, outputs=None) as run:
                run.log("loss", 0.5)
    page.goto(f"{lab['url']}{lab['home']}?mlws=open&token={lab['token']}")
    nav = page.locator(".mlws-Sidebar")
    nav.locator(".mlws-NavRun").first.wait_for()
    current = page.locator(".lm-DockPanel-tabBar .lm-mod-current")
    for experiment in ("nav-a", "nav-b"):
        nav.locator(".mlws-NavExperiment").select_option(experiment)
        nav.locator(".mlws-NavRun", has_text=f"{experiment}-run").wait_for()
        nav.locator(".mlws-OpenRunsTable").click()
        page.locator(".lm-DockPanel-tabBar .lm-mod-current", has_text=f"Runs · {experiment}").wait_for()
        table = page.locator("#jp-main-dock-panel .mlws-Page:visible")
        assert table.locator(".mlws-Experiment").input_value() == experiment
    nav.locator(".mlws-NavExperiment").select_option("nav-a")
    nav.locator(".mlws-OpenRunsTable").click()
    page.locator(".lm-DockPanel-tabBar .lm-mod-current", has_text="Runs · nav-a").wait_for()
    assert page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Runs · nav-a").count() == 1
    assert current.count() == 1
