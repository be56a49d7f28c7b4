"""Charts draw at their container's width: a compare page restored in a background tab (0 wide
while hidden) draws its bars once shown, and the charts follow when their panel is resized; a
run page's uPlot charts built in a background tab take their box's width once it is shown."""

from __future__ import annotations

import json
import urllib.request
import uuid

import pytest

from .test_best_rule import make_three

EXPERIMENT = "sized3"


@pytest.fixture(scope="module")
def three(lab):
    return make_three(lab, EXPERIMENT)


def restore(page, lab, requests: list[dict]) -> None:
    """A JupyterLab workspace whose saved state holds these pages: the last opened is the current
    tab, the others are restored behind it."""
    name = f"page-{uuid.uuid4().hex[:8]}"
    data = {}
    for request in requests:
        item = ",".join(sorted(request["ids"])) if "ids" in request else request.get("id") or request["experiment"]
        data[f"mlws-pages:{request['kind']}:{item}"] = {"data": request}
    body = json.dumps({"data": data, "metadata": {"id": name}}).encode()
    req = urllib.request.Request(f"{lab['url']}lab/api/workspaces/{name}", data=body, method="PUT",
                                 headers={"Authorization": f"token {lab['token']}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 204
    page.goto(f"{lab['url']}lab/workspaces/{name}?token={lab['token']}")
    page.wait_for_selector("#jp-main-dock-panel .mlws-Page", state="attached")


def widths(page, selector: str) -> tuple[float, float]:
    """The drawn chart's width and its container's."""
    return page.locator(selector).evaluate(
        "h => [h.querySelector('svg').getBoundingClientRect().width, h.getBoundingClientRect().width]")


def test_a_compare_page_restored_behind_another_draws_when_shown_and_follows_resizes(page, lab, three):
    restore(page, lab, [{"kind": "compare", "ids": list(three.values())},
                        {"kind": "runs", "experiment": EXPERIMENT}])
    tabs = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab")
    compare_tab = tabs.filter(has_text="Compare")
    compare_tab.wait_for()
    page.locator(".mlws-BestPicker").wait_for()  # the runs table, current
    assert "lm-mod-current" not in compare_tab.get_attribute("class")
    page.wait_for_timeout(1000)  # the hidden page has loaded its runs meanwhile
    compare_tab.click()
    view = page.locator(".mlws-ComparePage[data-loaded='true']")
    host = ".mlws-Bars .mlws-PlotHost[data-drawn='true']"
    view.locator(host).wait_for()
    assert view.locator(".mlws-Bars svg g.mark-rect.role-mark path").count() == 3
    chart, container = widths(page, host)
    assert container > 300 and abs(chart - container) < 40, (chart, container)
    # the panel narrows (as when a side panel is dragged wider: no window resize): the bars follow
    view.evaluate("v => { v.style.width = '350px'; }")
    page.wait_for_function(
        """([s, w]) => { const h = document.querySelector(s); const svg = h && h.querySelector('svg');
             return svg && h.getBoundingClientRect().width < w - 50
               && Math.abs(svg.getBoundingClientRect().width - h.getBoundingClientRect().width) < 40; }""",
        arg=[host, container])
    assert view.locator(".mlws-Bars svg g.mark-rect.role-mark path").count() == 3


def shown_charts_take_their_width(page, lab, request: dict, tab_label: str, charts: str, count: int) -> None:
    """Restore the page of `request` behind the "long" runs table, let its uPlot charts (`count`
    boxes matching `charts`) be drawn while its tab is hidden, show the tab: each canvas is then
    as wide as its box."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    restore(page, lab, [request, {"kind": "runs", "experiment": "long"}])
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab").filter(has_text=tab_label)
    tab.wait_for()
    page.locator(".mlws-BestPicker").wait_for()  # the runs table, current
    assert "lm-mod-current" not in tab.get_attribute("class")
    page.locator(f"{charts} canvas").first.wait_for(state="attached")  # drawn while hidden
    tab.click()
    page.locator(charts).first.wait_for()
    assert page.locator(charts).count() == count
    try:  # once shown, each canvas is as wide as its box (a width, whenever it comes)
        page.wait_for_function(
            """s => [...document.querySelectorAll(s)].every(h => h.clientWidth > 200
                 && Math.abs(h.querySelector('canvas').getBoundingClientRect().width - h.clientWidth) <= 2)""",
            arg=charts)
    except PlaywrightTimeout:
        pass  # the assertion below names the widths
    widths = page.locator(charts).evaluate_all(
        "hosts => hosts.map(h => [h.querySelector('canvas').getBoundingClientRect().width, h.clientWidth])")
    for canvas, box in widths:
        assert box > 200 and abs(canvas - box) <= 2, (canvas, box)


def test_a_run_pages_charts_restored_behind_another_take_their_width_when_shown(page, lab):
    # the long run's charts (loss, val_loss): uPlot canvases
    shown_charts_take_their_width(page, lab, {"kind": "run", "id": lab["long_id"], "tab": "charts"}, "long-run",
                                  ".mlws-RunPage .mlws-ChartCard .mlws-Plot", 2)
