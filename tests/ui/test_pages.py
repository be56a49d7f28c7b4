"""Main-area pages: one tab per item, opened from the command palette or a row; opening it again
focuses that tab instead of opening a second one."""

from __future__ import annotations

from .conftest import SCREENSHOTS, palette




def open_saved_workspace(page, lab, name: str, data: dict) -> None:
    """Open JupyterLab workspace ``name`` whose saved state is ``data`` (PUT first)."""
    import json
    import urllib.request

    body = json.dumps({"data": data, "metadata": {"id": name}}).encode()
    req = urllib.request.Request(f"{lab['url']}lab/api/workspaces/{name}", data=body, method="PUT",
                                 headers={"Authorization": f"token {lab['token']}",
                                          "Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=30).close()
    page.goto(f"{lab['url']}lab/workspaces/{name}?token={lab['token']}")


def test_a_page_opens_in_the_main_area_once(page, lab):
    palette(page, "Runs table")
    runs = page.locator("#jp-main-dock-panel .mlws-Page .mlws-RunRow")
    runs.first.wait_for()
    page.locator("#jp-main-dock-panel .mlws-Page .mlws-Experiment").select_option("long")
    row = page.locator('#jp-main-dock-panel .mlws-Page .mlws-RunRow', has_text="long-run")
    row.locator("td").nth(1).click()
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="long-run")
    tab.wait_for()
    page.locator("#jp-main-dock-panel .mlws-Page .mlws-RunTitle", has_text="long-run").wait_for()
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Runs").click()
    row.locator("td").nth(1).click()  # again: focuses the run's tab, opens no second one
    page.wait_for_function("document.querySelector('.lm-DockPanel-tabBar .lm-mod-current').textContent.includes('long-run')")
    assert tab.count() == 1
    page.screenshot(path=str(SCREENSHOTS / "pages.png"))


def test_tabs_of_items_gone_are_not_restored(page, lab):
    """A saved layout (another project's, or items deleted since) whose tabs name a run, an
    experiment, a model and a comparison that do not exist: they are not reopened as error tabs,
    the tab whose run exists is."""
    requests = {"mlws-pages:run:f6f9dead00000000": {"kind": "run", "id": "f6f9dead00000000"},
                "mlws-pages:runs:wine-cv": {"kind": "runs", "experiment": "wine-cv"},
                "mlws-pages:model:no-such-model": {"kind": "model", "id": "no-such-model"},
                "mlws-pages:compare:f6f9dead00000000,f6f9dead00000001": {
                    "kind": "compare", "ids": ["f6f9dead00000000", "f6f9dead00000001"]},
                f"mlws-pages:run:{lab['long_id']}": {"kind": "run", "id": lab["long_id"]}}
    keys = list(requests)
    layout = {"main": {"dock": {"type": "tab-area", "currentIndex": 0, "widgets": keys}, "current": keys[0]},
              "left": {"collapsed": True, "visible": True, "widgets": []},
              "right": {"collapsed": True, "visible": True, "widgets": []}}
    data = {"layout-restorer:data": layout, **{key: {"data": request} for key, request in requests.items()}}
    name = "stale-tabs"
    open_saved_workspace(page, lab, name, data)
    page.locator("#jp-main-dock-panel .mlws-RunTitle", has_text="long-run").wait_for()
    page.wait_for_timeout(1500)  # every restored tab is open
    tabs = page.locator("#jp-main-dock-panel .lm-DockPanel-tabBar .lm-TabBar-tab")
    assert tabs.all_inner_texts() == ["long-run"]
    assert page.locator("#jp-main-dock-panel .mlws-Error").count() == 0


def test_a_saved_page_left_out_of_the_layout_opens_when_asked(page, lab):
    """A JupyterLab workspace whose saved state holds the Compute, Schedules and Pipelines pages'
    entries but whose tab layout does not (a newcomer's, after closing tabs in a former session):
    the sidebar's buttons open those pages (they did nothing: the page tracker believed them open,
    though they were in no tab)."""
    runs = "mlws-pages:runs:long"
    layout = {"main": {"dock": {"type": "tab-area", "currentIndex": 0, "widgets": [runs]}, "current": runs},
              "left": {"collapsed": False, "visible": True, "current": "mlws-sidebar",
                       "widgets": ["filebrowser", "mlws-sidebar"]},
              "right": {"collapsed": True, "visible": True, "widgets": []}}
    data = {"layout-restorer:data": layout, runs: {"data": {"kind": "runs", "experiment": "long"}},
            **{f"mlws-pages:{kind}:": {"data": {"kind": kind}}
               for kind in ("compute", "schedules", "pipelines")}}
    name = "pages-left-out"
    open_saved_workspace(page, lab, name, data)
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    page.locator("#jp-main-dock-panel .mlws-Page .mlws-RunRow").first.wait_for()
    tabs = page.locator("#jp-main-dock-panel .lm-DockPanel-tabBar .lm-TabBar-tab")
    assert len(tabs.all_inner_texts()) == 1  # the saved pages are not shown as tabs
    for button, view in ((".mlws-OpenCompute", ".mlws-ComputePage"),
                         (".mlws-OpenSchedules", ".mlws-SchedulesPage"),
                         (".mlws-OpenPipelines", ".mlws-PipelinesPage")):
        page.locator(f".mlws-Sidebar {button}").click()
        page.locator(f"#jp-main-dock-panel {view}").first.wait_for(state="visible", timeout=15_000)
    assert len(tabs.all_inner_texts()) == 4
