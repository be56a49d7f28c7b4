"""Live updates: what the SDK does elsewhere shows in the open navigator and a run's page without a
reload or a click."""

from __future__ import annotations

from pathlib import Path

from jupyter_mlws import Workspace

from .conftest import SCREENSHOTS


def test_a_new_run_its_points_and_its_end_reach_the_navigator_and_its_page(page, lab):
    # ?mlws=open opens the panel (an activation, where a click on its tab would toggle it)
    page.goto(f"{lab['url']}{lab['home']}?mlws=open&token={lab['token']}")
    page.wait_for_selector(".mlws-Sidebar .mlws-NavRun")
    page.locator(".mlws-NavExperiment").select_option("")  # every experiment
    with Workspace.open(Path(lab["log"]).parent / "ws") as ws:
        run = ws.experiment("live").start_run("live-run", snapshot=False, outputs=None)
        try:
            # a new run appears in the navigator by itself (the server's run-status event)
            row = page.locator(f'.mlws-NavRun[data-run-id="{run.id}"]')
            row.wait_for(timeout=15_000)
            row.locator(".mlws-NavOpen").click()
            view = page.locator(f"#jp-main-dock-panel .mlws-RunView[data-run-id='{run.id}']")
            view.locator(".mlws-Status", has_text="running").wait_for()
            # points logged now are drawn without a reload (the run-metrics event)
            run.log_batch("live_loss", [1.0, 0.5, 0.25])
            view.locator(".mlws-Metrics", has_text="live_loss").wait_for(timeout=15_000)
            # what it prints is tailed live (the run-logs event; only the new bytes are fetched)
            log = ws.artifacts.live_file(run.id, "stdout.log")
            with open(log, "a") as f:
                f.write("epoch 1: loss 0.5\n")
            logs = view.locator(".mlws-Logs")
            logs.locator("pre", has_text="epoch 1: loss 0.5").wait_for(timeout=15_000)
            fetched = []
            page.on("request", lambda r: fetched.append(r.url) if "/logs" in r.url else None)
            with open(log, "a") as f:
                f.write("epoch 2: loss 0.25\n")
            logs.locator("pre", has_text="epoch 2: loss 0.25").wait_for(timeout=15_000)
            assert "epoch 1: loss 0.5\nepoch 2: loss 0.25" in logs.inner_text()
            assert any("since_bytes=18" in url for url in fetched), fetched
            run.end("completed")
            view.locator(".mlws-Status", has_text="completed").wait_for(timeout=15_000)
            # once stored, the whole log downloads from its heading
            link = logs.locator("summary a", has_text="download")
            link.wait_for()
            assert page.request.get(link.get_attribute("href")).text() == (
                "epoch 1: loss 0.5\nepoch 2: loss 0.25\n")
            page.screenshot(path=str(SCREENSHOTS / "live.png"))
        finally:
            if run.is_active:
                run.end("canceled")
