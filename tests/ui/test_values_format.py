"""Logged tables and lists show numbers as the rest of the UI does (4 significant digits, no trailing zeros), never
float noise such as 0.30000000000000004; the full value is in the cell's title."""

from __future__ import annotations

from jupyter_mlws import Workspace

from .test_run_page import open_pages, run_page, tab


def test_logged_numbers_are_shown_in_four_digits_with_the_full_value_in_a_title(browser, lab):
    with Workspace.open(lab["root"]) as ws:
        with ws.experiment("values-format").start_run("noisy", snapshot=False, outputs=None) as run:
            run.log_table("scores", {"label": ["a", "b"], "score": [0.1 + 0.2, 1 / 3], "n": [12, 7]})
            run_id = run.id
    context, page = open_pages(browser, lab, run_id, name="values-format")
    try:
        values = tab(run_page(page, run_id), "values")
        cells = values.locator(".mlws-Value[data-key='scores'] tbody td:nth-child(2)")
        cells.first.wait_for()
        assert cells.all_inner_texts() == ["0.3", "0.3333"]
        assert cells.first.get_attribute("title") == "0.30000000000000004"
        assert values.locator(".mlws-Value[data-key='scores'] tbody td:nth-child(3)").all_inner_texts() == ["12", "7"]
    finally:
        context.close()
