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
        view = page.locator(f"#jp-main-dock-panel .mlws-RunPage[data-run-id='{run.id}']")
        status = view.locator(".mlws-RunPageHeader .mlws-Status")
        status.filter(has_text="running").wait_for()

        # the snapshot, as a folder tree; a file's text beside it
        view.locator(".mlws-RunTab[data-tab='snapshot']").click()
        snapshot = view.locator(".mlws-RunSection[data-tab='snapshot']")
        snapshot.locator(".mlws-Tree summary[data-folder='pkg']").wait_for()
        assert snapshot.locator(".mlws-TreeFile").evaluate_all("fs => fs.map(f => f.dataset.path)") == [
            "pkg/model.py", "train.py"]
        snapshot.locator(".mlws-TreeFile[data-path='pkg/model.py']").click()
        snapshot.locator(".mlws-Preview pre", has_text="W = 1").wait_for()

        # register a model from an artifact: its page opens
        view.locator(".mlws-RunTab[data-tab='artifacts']").click()
        artifacts = view.locator(".mlws-RunSection[data-tab='artifacts']")
        artifacts.locator(".mlws-TreeFile[data-path='weights.bin']").click()
        artifacts.locator(".mlws-RegisterArtifact").click()
        # the name offered: the run's experiment, as 'weights' says nothing of the model
        assert page.locator(".jp-Dialog .mlws-RegisterName").input_value() == "actions"
        # an empty name cannot be sent (never a default in its place), and the dialog says why
        page.locator(".jp-Dialog .mlws-RegisterName").fill("")
        assert page.locator(".jp-Dialog button", has_text="Register").is_disabled()
        assert page.locator(".jp-Dialog .mlws-RegisterNameHint").inner_text().startswith("Required: letters")
        page.locator(".jp-Dialog .mlws-RegisterName").fill("from-ui")
        page.locator(".jp-Dialog button", has_text="Register").click()
        page.locator(".jp-Dialog", has_text="from-ui:1").wait_for()
        page.locator(".jp-Dialog button", has_text="Ok").click()
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Model from-ui").wait_for()
        assert ws.models.resolve("from-ui:1").run_id == run.id

        # cancel, after a confirmation
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="to-cancel").click()
        view.locator(".mlws-CancelRun").click()
        page.locator(".jp-Dialog button", has_text="Cancel run").click()
        status.filter(has_text="canceled").wait_for()
        # a neutral note says who stopped it: a canceled run did not fail
        view.locator(".mlws-RunTab[data-tab='overview']").click()
        note = view.locator(".mlws-RunSection[data-tab='overview'] .mlws-Canceled")
        note.wait_for()
        assert note.inner_text().split() == ["Canceled", "canceled", "by", "the", "user"]
        assert view.locator(".mlws-Failure").count() == 0
        page.screenshot(path=str(SCREENSHOTS / "run-actions.png"))
        assert ws.runs.get(run.id).status == "canceled"
        assert not view.locator(".mlws-CancelRun").count()
