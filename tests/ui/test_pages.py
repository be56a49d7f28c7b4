"""Main-area pages: one tab per item, opened from the command palette or a row; opening it again
focuses that tab instead of opening a second one."""

from __future__ import annotations

from .conftest import SCREENSHOTS, palette




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
