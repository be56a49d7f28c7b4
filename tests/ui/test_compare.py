"""Compare runs ticked in the runs table: overlaid metric, params and environment diffs (the
compare page)."""

from __future__ import annotations

from .conftest import SCREENSHOTS
from .test_pages import palette


def test_compare_overlays_a_metric_and_diffs_params_and_environments(page, lab):
    ids = lab["compared"]  # two runs of experiment "cmp" (tests/ui/conftest.py)
    palette(page, "Runs table")
    table = page.locator("#jp-main-dock-panel .mlws-RunsPage")
    table.locator(".mlws-Experiment").select_option("cmp")
    page.wait_for_function("document.querySelectorAll('.mlws-RunsPage .mlws-RunRow').length === 2")
    for run_id in ids:
        table.locator(f'.mlws-RunRow[data-run-id="{run_id}"] .mlws-Select').check()
    table.locator(".mlws-Compare-open", has_text="Compare selected (2)").click()

    view = page.locator("#jp-main-dock-panel .mlws-Compare")
    view.locator(".mlws-CompareChart[data-series='2'] canvas").wait_for()
    assert view.locator(".mlws-CompareMetric").input_value() == "loss"
    lr_row = view.locator(".mlws-CompareParams tr[data-param='lr']")
    assert "mlws-Differs" in lr_row.get_attribute("class")
    assert lr_row.inner_text().split() == ["lr", "0.1", "0.2"]
    assert "mlws-Differs" not in (view.locator(".mlws-CompareParams tr[data-param='seed']").get_attribute("class") or "")
    env = view.locator(".mlws-CompareEnv")
    assert "numpy" in env.inner_text() and "2.1.0" in env.inner_text() and "pandas" not in env.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "compare.png"))
    view.locator(".mlws-Back").click()  # back to the runs table's tab
    table.locator(".mlws-RunRow").first.wait_for()
