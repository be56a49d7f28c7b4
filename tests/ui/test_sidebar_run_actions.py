"""A run page's actions in a real browser (opened from the navigator): cancel a run, browse its
snapshot, register a model.

(Named after test_sidebar.py so that it runs after it: its runs would change what that test sees.)
"""

from __future__ import annotations

from pathlib import Path

from jupyter_mlws import Workspace

from .conftest import SCREENSHOTS


def test_cancel_a_run_browse_its_snapshot_and_register_a_model(page, lab, tmp_path):
    source = tmp_path / "project"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg" / "model.py").write_text("W = 1\n")
    (source / "train.py").write_text("print('hi')\n")
    with Workspace.open(Path(lab["log"]).parent / "ws") as ws:
        run = ws.experiment("actions").start_run("to-cancel", snapshot=source, outputs=None)
        run.upload_file("weights.bin", source / "train.py")
        run.flush()
        page.goto(f"{lab['url']}{lab['home']}?mlws=open&token={lab['token']}")
        page.locator(".mlws-NavExperiment").select_option("actions")
        page.locator(f'.mlws-NavRun[data-run-id="{run.id}"] .mlws-NavOpen').click()
        view = page.locator(f"#jp-main-dock-panel .mlws-RunView[data-run-id='{run.id}']")
        view.locator(".mlws-Status", has_text="running").wait_for()

        # the snapshot, as a folder tree
        view.locator(".mlws-Snapshot summary", has_text="Snapshot of the source (2 files)").click()
        view.locator(".mlws-Snapshot summary", has_text="pkg/").click()
        assert view.locator(".mlws-Snapshot a", has_text="model.py").is_visible()

        # register a model from an artifact
        view.locator("li[data-path='weights.bin'] .mlws-RegisterArtifact").click()
        page.locator(".jp-Dialog .mlws-RegisterName").fill("from-ui")
        page.locator(".jp-Dialog button", has_text="Register").click()
        page.locator(".jp-Dialog", has_text="from-ui:1").wait_for()
        page.locator(".jp-Dialog button", has_text="Ok").click()
        assert ws.models.resolve("from-ui:1").run_id == run.id

        # cancel, after a confirmation
        view.locator(".mlws-CancelRun").click()
        page.locator(".jp-Dialog button", has_text="Cancel run").click()
        view.locator(".mlws-Status", has_text="canceled").wait_for()
        page.screenshot(path=str(SCREENSHOTS / "run-actions.png"))
        assert ws.runs.get(run.id).status == "canceled"
        assert not view.locator(".mlws-CancelRun").count()
