"""A model registered elsewhere (the SDK, the CLI) reaches the open navigator and the Models page
by itself: the server's model-change event, nothing polls and nobody clicks ⟳."""

from __future__ import annotations

from pathlib import Path

from jupyter_mlws import Workspace


def test_a_model_registered_through_the_sdk_appears_in_the_navigator_and_the_models_page(page, lab, tmp_path):
    page.goto(f"{lab['url']}{lab['home']}?mlws=open&token={lab['token']}")
    page.wait_for_selector(".mlws-Sidebar .mlws-NavModel")
    page.locator(".mlws-OpenModels").click()
    table = page.locator("#jp-main-dock-panel .mlws-Page").last
    table.locator("table").first.wait_for()
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "weights.txt").write_text("live")
    with Workspace.open(Path(lab["log"]).parent / "ws") as ws:
        ws.register_model("arrived-live", tmp_path / "m")
        page.locator(".mlws-Sidebar .mlws-NavModel", has_text="arrived-live").wait_for(timeout=15_000)
        table.locator("tr", has_text="arrived-live").wait_for(timeout=15_000)
        ws.models.set_alias("arrived-live", "prod", 1)
        table.locator("tr", has_text="arrived-live").locator(".mlws-Alias", has_text="@prod").wait_for(
            timeout=15_000)
