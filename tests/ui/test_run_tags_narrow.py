"""A run's tags in a narrow panel: long values are cut with an ellipsis inside the panel (their
full text in the chip's title), never drawn over the sections beside them."""

from __future__ import annotations

from jupyter_mlws import Workspace

from .test_run_page import open_pages, run_page

LONG = "x" * 300


def test_long_tags_stay_inside_a_narrow_run_page(browser, lab):
    with Workspace.open(lab["root"]) as ws:
        with ws.experiment("tags-narrow").start_run("tagged", snapshot=False, outputs=None) as run:
            run.set_tags({"note": LONG, "short": "ok"})
            run.log("loss", 0.5)
            run_id = run.id
    context, page = open_pages(browser, lab, run_id, name="tags-narrow")
    try:
        page.set_viewport_size({"width": 700, "height": 900})
        view = run_page(page, run_id)
        tag = view.locator(".mlws-Tag[data-tag='note']")
        tag.wait_for()
        assert tag.locator(".mlws-TagText").get_attribute("title") == f"note={LONG}"
        page.wait_for_function(
            """id => { const page = document.querySelector(`.mlws-RunPage[data-run-id='${id}']`).getBoundingClientRect();
                 const tags = [...document.querySelectorAll(`.mlws-RunPage[data-run-id='${id}'] .mlws-Tag`)];
                 return tags.length === 2 && tags.every(t => t.getBoundingClientRect().right <= page.right + 1); }""",
            arg=run_id)
    finally:
        context.close()
