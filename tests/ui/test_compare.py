"""Compare runs in the sidebar: overlaid metric, params and environment diffs."""

from __future__ import annotations

from .conftest import SCREENSHOTS


def test_compare_overlays_a_metric_and_diffs_params_and_environments(page, lab):
    ids = lab["compared"]  # two runs of experiment "cmp" (tests/ui/conftest.py)
    # ?mlws=open opens the panel (an activation, where a click on its tab would toggle it)
    page.goto(f"{lab['url']}{lab['home']}?mlws=open&token={lab['token']}")
    page.wait_for_selector(".mlws-Sidebar .mlws-RunRow")
    page.locator(".mlws-Experiment").select_option("cmp")
    page.wait_for_function("document.querySelectorAll('.mlws-RunRow').length === 2")
    for run_id in ids:
        page.locator(f'.mlws-RunRow[data-run-id="{run_id}"] .mlws-Select').check()
    page.locator(".mlws-Compare-open", has_text="Compare (2)").click()

    view = page.locator(".mlws-Compare")
    view.locator(".mlws-CompareChart[data-series='2'] canvas").wait_for()
    assert view.locator(".mlws-CompareMetric").input_value() == "loss"
    lr_row = view.locator(".mlws-CompareParams tr[data-param='lr']")
    assert "mlws-Differs" in lr_row.get_attribute("class")
    assert lr_row.inner_text().split() == ["lr", "0.1", "0.2"]
    assert "mlws-Differs" not in (view.locator(".mlws-CompareParams tr[data-param='seed']").get_attribute("class") or "")
    env = view.locator(".mlws-CompareEnv")
    assert "numpy" in env.inner_text() and "2.1.0" in env.inner_text() and "pandas" not in env.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "compare.png"))
    view.locator(".mlws-Back").click()
    page.wait_for_selector(".mlws-RunRow")
